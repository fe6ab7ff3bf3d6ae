"""The conversation the safety screen reads: a client's last few messages (issue 17).

"I have the pills ready" reads differently after "I can't do this anymore". So each
message a client sends is kept, sealed at rest like other free text, for as long as the
screen may read it with the next ones: the last HISTORY_MAX messages of the last 30
minutes (HISTORY_WINDOW). Older ones are deleted as each message arrives and by the
delivery engine's minute review, so none is kept longer than that. No Telegram here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.db import session_scope
from bot.models import AftercarePlan, RecentMessage, SafetyPlan
from bot.safety.screener import HISTORY_MAX, HISTORY_WINDOW, WINDOW

KEPT_FOR = HISTORY_WINDOW


async def history(
    session: AsyncSession, *, client_id: int, now: datetime, before_message: int | None = None
) -> list[tuple[str, datetime]]:
    """The client's messages of the last 30 minutes, oldest first, as (text, sent at):
    what the screen reads with a new one. `before_message`: an edited message is read
    with the messages sent before it, not with its own old words."""
    query = select(RecentMessage).where(
        RecentMessage.client_id == client_id, col(RecentMessage.sent_at) > now - KEPT_FOR
    )
    if before_message is not None:
        query = query.where(col(RecentMessage.message_id) < before_message)
    rows = (
        await session.exec(
            query.order_by(col(RecentMessage.sent_at).desc(), col(RecentMessage.id).desc()).limit(
                HISTORY_MAX
            )
        )
    ).all()
    return [(row.text, row.sent_at) for row in reversed(rows)]


async def typing_for_a_plan(session: AsyncSession, *, client_id: int) -> bool:
    """Is the client typing lines into their safety plan or aftercare plan? Those lines
    speak of crises by design ("I stop answering my phone", "I can't sleep"): they are
    the plan, not the conversation, so each is screened alone (as any message is), not
    kept, and not asked about."""
    plan = (
        await session.exec(
            select(SafetyPlan.editing_section).where(SafetyPlan.client_id == client_id)
        )
    ).first()
    aftercare = (
        await session.exec(
            select(AftercarePlan.editing).where(AftercarePlan.client_id == client_id)
        )
    ).first()
    return plan is not None or aftercare is not None


async def remember(
    session: AsyncSession, *, client_id: int, message_id: int, text: str, now: datetime
) -> None:
    """Keep a new message for the screen, and let go of what it no longer needs: the
    client's messages older than 30 minutes, and all but the last few."""
    await session.exec(  # type: ignore[call-overload]
        delete(RecentMessage).where(
            col(RecentMessage.client_id) == client_id,
            col(RecentMessage.sent_at) <= now - KEPT_FOR,
        )
    )
    # Ids only: the words are not opened to decide what to keep.
    rows = (
        await session.exec(
            select(RecentMessage.id, RecentMessage.message_id)
            .where(RecentMessage.client_id == client_id)
            .order_by(col(RecentMessage.sent_at).desc(), col(RecentMessage.id).desc())
        )
    ).all()
    if any(kept == message_id for _, kept in rows):
        return  # the same update handled again (a restart): kept once
    older = [row_id for row_id, _ in rows[HISTORY_MAX - 1 :]]
    if older:
        await session.exec(  # type: ignore[call-overload]
            delete(RecentMessage).where(col(RecentMessage.id).in_(older))
        )
    session.add(
        RecentMessage(client_id=client_id, message_id=message_id, text=text[-WINDOW:], sent_at=now)
    )


async def forget_old(session: AsyncSession, now: datetime) -> int:
    """Delete every kept message older than 30 minutes; how many went."""
    result = await session.exec(  # type: ignore[call-overload]
        delete(RecentMessage).where(col(RecentMessage.sent_at) <= now - KEPT_FOR)
    )
    return int(result.rowcount or 0)


async def review_forget(
    sessions: async_sessionmaker[AsyncSession], content: Content, now: datetime
) -> int:
    """The delivery engine's minute review: a client who went quiet keeps nothing past
    30 minutes either. Queues nothing."""
    async with session_scope(sessions) as session:
        await forget_old(session, now)
    return 0
