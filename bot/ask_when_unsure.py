"""Ask when unsure (issue 17): one direct question, as the ASQ asks it. No Telegram here.

When the screen is unsure about a client's message (bot/safety/unsure.py), the client is
asked one kind, direct question whose "yes" is a worry ("Are you thinking about killing
yourself?"), with Yes · No · I'd rather not say:

- yes, or "I'd rather not say" (counted as yes, as the ASQ does): the urgent path at
  once, an urgent alert whose detail shows the question and the answer;
- no: a kind reply and nothing raised; the exchange is a line in the care team's next
  digest;
- no answer within 30 minutes: a same-day alert (the delivery engine's minute review).

A client is never asked twice within an hour, and never twice about the same message.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts import (
    EVIDENCE_MAX,
    Finding,
    clock_time,
    detail_copies,
    detail_text,
    raise_alert,
    requeue_detail,
)
from bot.content import Content, render
from bot.db import session_scope
from bot.digest import DigestScope, register_digest_section
from bot.models import (
    Alert,
    AlertAction,
    AlertTier,
    Client,
    DeliveryStatus,
    Program,
    UnsureQuestion,
)

ANSWER_WITHIN = timedelta(minutes=30)  # then a same-day alert
ASK_GAP = timedelta(hours=1)  # never asked twice within this
KEPT_FOR = timedelta(days=7)  # the exchange, for the digest; then it goes
ASKED = "asked"  # the AlertAction that shows the question and the answer
ANSWERS = {"y": "yes", "n": "no", "d": "declined"}
# The question fits what the screen leaned to; every one is asked so that "yes" is a worry.
QUESTION_FOR = {
    "suicidal_ideation": "suicide",
    "self_harm": "self_harm",
    "harm_to_others": "others",
}
_WORRY = ("yes", "declined")


def question_for(category: str) -> str:
    return QUESTION_FOR.get(category, "danger")


def question_ref(question: UnsureQuestion) -> str:
    """How the buttons name a question: "<id>.<token>"."""
    assert question.id is not None
    return f"{question.id}.{question.token}"


async def question_from_button(session: AsyncSession, ref: str) -> UnsureQuestion | None:
    """The question a button named, or None when it is gone or the data was forged."""
    number, _, token = ref.partition(".")
    if not number.isdigit() or len(number) > 18 or not token:
        return None
    question = await session.get(UnsureQuestion, int(number))
    if question is None or not hmac.compare_digest(question.token.encode(), token.encode()):
        return None
    return question


async def may_ask(session: AsyncSession, *, client_id: int, message_id: int, now: datetime) -> str:
    """ "ask"; "asked" when this very message was asked about already (an edit of it, or
    the update handled again after a restart: the answer given covers it); "recent" when
    the client was asked within the hour (the screen's own verdict stands)."""
    rows = (
        await session.exec(
            select(UnsureQuestion.message_id).where(
                UnsureQuestion.client_id == client_id,
                (col(UnsureQuestion.asked_at) > now - ASK_GAP)
                | (col(UnsureQuestion.message_id) == message_id),
            )
        )
    ).all()
    if message_id in rows:
        return "asked"
    return "recent" if rows else "ask"


async def ask(
    session: AsyncSession,
    *,
    client_id: int,
    message_id: int,
    category: str,
    evidence: str,
    now: datetime,
) -> UnsureQuestion:
    """Record the question about to be asked (the caller sends it)."""
    question = UnsureQuestion(
        client_id=client_id,
        message_id=message_id,
        token=secrets.token_hex(4),
        question=question_for(category),
        category=category if category != "none" else "suicidal_ideation",
        evidence=evidence[:EVIDENCE_MAX],
        asked_at=now,
    )
    session.add(question)
    await session.flush()
    return question


async def answer(
    session: AsyncSession,
    *,
    content: Content,
    question: UnsureQuestion,
    answer: str,
    now: datetime,
) -> tuple[str, Alert | None]:
    """Record the client's answer (yes, no, declined). Returns what happened:

    - ("urgent", alert): a yes or "rather not say" (also after a "no" or after the
      30 minutes ran out): the urgent alert, with the question and the answer on it;
    - ("no", alert or None): a kind reply; when the 30 minutes had run out already, the
      same-day alert shows the late "no" too;
    - ("already", None): answered before (a double tap, or a "no" after a yes).
    """
    previous = question.answer
    if answer in _WORRY and previous not in _WORRY:
        # A "yes" always counts, even after a "no" or after the time ran out.
        question.answer, question.answered_at = answer, now
        alert = await _raise(
            session, content, question, AlertTier.urgent, f"ask:{answer}", answer, now
        )
        return "urgent", alert
    if answer == "no" and previous in (None, "none"):
        question.answer, question.answered_at = "no", now
        alert = None
        if previous == "none" and question.alert_id is not None:
            alert = await session.get(Alert, question.alert_id)
            if alert is not None:
                await _show_answer(session, content, alert, question, "no", now, new=False)
        return "no", alert
    return "already", None


async def _raise(
    session: AsyncSession,
    content: Content,
    question: UnsureQuestion,
    tier: AlertTier,
    rule: str,
    shown: str,
    now: datetime,
) -> Alert:
    client = await session.get(Client, question.client_id)
    assert client is not None
    finding = Finding(
        tier=tier, category=question.category, rule=rule, evidence=question.evidence or ""
    )
    alert = await raise_alert(
        session, content=content, client=client, finding=finding, now=now, source="ask"
    )
    question.alert_id = alert.id
    await _show_answer(session, content, alert, question, shown, now, new=alert.raised_at == now)
    return alert


async def _show_answer(
    session: AsyncSession,
    content: Content,
    alert: Alert,
    question: UnsureQuestion,
    shown: str,
    now: datetime,
    *,
    new: bool,
) -> None:
    """Put the question and the answer on the alert, where the team reads it: a new
    alert's copies not sent yet carry it; an alert already sent goes again with it."""
    assert alert.id is not None
    ask = content.language(None).alerts.ask
    program = await session.get(Program, alert.program_id)
    assert program is not None
    client = await session.get(Client, question.client_id)
    # The question as the client read it, in their language.
    asked = content.language(client.language if client else None).alerts.ask
    line = render(
        ask.alert_line,
        question=asked.questions[question.question],
        answer=ask.answers[shown],
        time=clock_time(now.astimezone(ZoneInfo(program.timezone)), day=True),
    )
    session.add(
        AlertAction(alert_id=alert.id, clinician_id=None, action=ASKED, at=now, detail=line)
    )
    await session.flush()
    if not new:
        await requeue_detail(session, content, alert, now, reason=f"asked{question.id}")
        return
    text = await detail_text(session, content, alert)
    for copy in await detail_copies(session, alert.id):
        if copy.status is DeliveryStatus.pending:
            copy.payload = {**copy.payload, "text": text}


async def review_unanswered(
    sessions: async_sessionmaker[AsyncSession], content: Content, now: datetime
) -> int:
    """The delivery engine's minute review: a question unanswered for 30 minutes raises a
    same-day alert (once: the answer is claimed with a conditional update, so two workers
    cannot both raise it). Exchanges older than a week are deleted."""
    raised = 0
    async with session_scope(sessions) as session:
        await session.exec(  # type: ignore[call-overload]
            delete(UnsureQuestion).where(col(UnsureQuestion.asked_at) <= now - KEPT_FOR)
        )
        due = (
            await session.exec(
                select(UnsureQuestion.id).where(
                    col(UnsureQuestion.answer).is_(None),
                    col(UnsureQuestion.asked_at) <= now - ANSWER_WITHIN,
                )
            )
        ).all()
    for question_id in due:
        async with session_scope(sessions) as session:
            claimed = await session.exec(  # type: ignore[call-overload]
                update(UnsureQuestion)
                .where(col(UnsureQuestion.id) == question_id, col(UnsureQuestion.answer).is_(None))
                .values(answer="none", answered_at=now)
            )
            if claimed.rowcount != 1:
                continue
            question = await session.get(UnsureQuestion, question_id)
            assert question is not None
            await session.refresh(question)
            await _raise(
                session, content, question, AlertTier.same_day, "ask:no_answer", "none", now
            )
            raised += 1
    return raised


async def digest_section(session: AsyncSession, content: Content, scope: DigestScope) -> str | None:
    """The questions answered "no" since the last digest: nothing was raised, but the
    team should know they were asked (clinicians' private digests only)."""
    ids = [c.id for c in scope.caseload if c.id is not None]
    if not ids:
        return None
    rows = (
        await session.exec(
            select(UnsureQuestion, Client.code, Client.language)
            .join(Client, col(Client.id) == col(UnsureQuestion.client_id))
            .where(
                col(UnsureQuestion.client_id).in_(ids),
                UnsureQuestion.answer == "no",
                col(UnsureQuestion.answered_at) > scope.since,
                col(UnsureQuestion.answered_at) <= scope.now,
            )
            .order_by(col(UnsureQuestion.asked_at))
        )
    ).all()
    if not rows:
        return None
    ask = content.language(None).alerts.ask
    zone = ZoneInfo(scope.program.timezone)
    lines = [
        render(
            ask.digest_line,
            code=code,
            time=clock_time(question.asked_at.astimezone(zone), day=True),
            question=content.language(language).alerts.ask.questions[question.question],
            answer=ask.answers["no"],
            evidence=question.evidence or "",
        )
        for question, code, language in rows
    ]
    return ask.digest_header + "\n" + "\n".join(lines)


register_digest_section(digest_section)
