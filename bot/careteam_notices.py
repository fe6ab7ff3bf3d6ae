"""Telling the care team what a client did (joined, paused, left, deleted their data).

A notice is a Delivery row in the outbox, committed with the change it reports, so it
cannot be lost; it goes to the primary clinician's private chat and carries the
pseudonym code only, never the client's words.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import render
from bot.models import Client, Clinician, Delivery
from bot.scheduling.kinds import Kind, Rule, register_kind
from bot.scheduling.rendering import DueDelivery, Outgoing, RenderContext, register_renderer

NOTICE_KIND = "careteam_notice"
EVENTS = ("joined", "paused", "resumed", "left", "deleted", "reachable")

# The care team must learn of every change (a duplicate is harmless, a loss is not), and a
# notice about a client who left is still sent: the client need not be active.
NOTICE = register_kind(Kind(NOTICE_KIND, Rule.at_least_once, grace=None, needs_active_client=False))


async def notify_care_team(
    session: AsyncSession, *, client: Client, event: str, now: datetime, linked: bool = True
) -> Delivery | None:
    """Queue a notice to the client's primary clinician; None when there is nobody to tell.

    `linked=False` for a deletion: the notice must not point at a row that is erased.
    """
    assert event in EVENTS, event
    if client.primary_clinician_id is None:
        return None
    clinician = await session.get(Clinician, client.primary_clinician_id)
    if clinician is None or clinician.telegram_user_id is None or not clinician.active:
        return None
    delivery = Delivery(
        kind=NOTICE_KIND,
        recipient_chat_id=clinician.telegram_user_id,
        client_id=client.id if linked else None,
        due_at=now,
        payload={"event": event, "code": client.code},
        dedupe_key=f"{NOTICE_KIND}:{event}:{client.program_id}:{client.code}:{now.isoformat()}",
        created_at=now,
    )
    session.add(delivery)
    return delivery


async def render_notice(ctx: RenderContext, item: DueDelivery) -> Outgoing:
    staff = ctx.content.language(None).staff
    return Outgoing(render(staff.notices[item.payload["event"]], code=item.payload["code"]))


register_renderer(NOTICE_KIND, render_notice)
