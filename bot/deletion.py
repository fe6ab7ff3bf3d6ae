"""A client's /delete, when the care team is still acting on an alert (no Telegram here).

Erasing an open crisis would leave the team with "No open alerts" while someone may be in
danger. So a deletion while an alert is open erases everything at once except that alert
as the team needs it — the pseudonym, tier, category, times and the team's own presses
and notes, never the client's words — and the client row that holds the pseudonym, with
its Telegram ids and settings wiped. When a clinician resolves the last open alert, the
rest is erased (`erase_if_released`), exactly as a plain deletion would.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts import detail_text
from bot.content import Content
from bot.invites import sender_hash
from bot.models import (
    Alert,
    AlertAction,
    AuditEvent,
    CheckIn,
    CheckinFlag,
    Client,
    ClientStatus,
    Clinician,
    CravingMoment,
    Delivery,
    EnrollmentAttempt,
    ExerciseRun,
    Invitation,
    LessonOverride,
    LessonProgress,
    PracticeSettings,
    RecentMessage,
    SafetyPlan,
    Screening,
    UnsureQuestion,
)
from bot.roster import (
    _erase_sessions_data,
    audit,
    erase_client,
    erase_screen_marks,
    existing_attempt_secret,
)
from bot.scheduling.kinds import ALERT
from bot.scheduling.planner import register_plan_step


async def open_alert_ids(session: AsyncSession, client_id: int) -> list[int]:
    """The client's alerts no clinician has resolved yet (urgent or same-day)."""
    rows = await session.exec(
        select(Alert.id).where(Alert.client_id == client_id, col(Alert.resolved_at).is_(None))
    )
    return [i for i in rows.all() if i is not None]


async def erase_or_keep_open_alerts(
    session: AsyncSession,
    *,
    content: Content,
    client: Client,
    now: datetime,
    attempt_key: bytes | None = None,
) -> bool:
    """Erase the client now, or (an alert is open) all but the open alerts; True when
    something is kept until the team resolves it."""
    assert client.id is not None
    keep = await open_alert_ids(session, client.id)
    if not keep:
        await erase_client(session, client=client, now=now, attempt_key=attempt_key)
        return False
    subject = f"client:{client.id}"
    gone_alerts = select(Alert.id).where(Alert.client_id == client.id, col(Alert.id).not_in(keep))
    for model in (CheckinFlag, CravingMoment, Screening, CheckIn):
        await session.exec(delete(model).where(col(model.client_id) == client.id))  # type: ignore[call-overload,attr-defined]
    await session.exec(delete(AlertAction).where(col(AlertAction.alert_id).in_(gone_alerts)))  # type: ignore[call-overload]
    await session.exec(  # type: ignore[call-overload]
        update(Clinician)
        .where(col(Clinician.note_for_alert_id).in_(gone_alerts))
        .values(note_for_alert_id=None)
    )
    await _erase_sessions_data(session, client.id)
    await erase_screen_marks(session, client)
    await session.exec(  # type: ignore[call-overload]
        delete(Alert).where(col(Alert.client_id) == client.id, col(Alert.id).not_in(keep))
    )
    # The rows below go with the client row in a plain deletion (ON DELETE CASCADE);
    # this row stays for now, so they are deleted by hand.
    for model in (  # type: ignore[assignment]
        Invitation,
        SafetyPlan,
        LessonProgress,
        LessonOverride,
        PracticeSettings,
        ExerciseRun,
        RecentMessage,
        UnsureQuestion,
    ):
        await session.exec(delete(model).where(col(model.client_id) == client.id))  # type: ignore[call-overload,attr-defined]
    await session.exec(  # type: ignore[call-overload]
        delete(AuditEvent).where(
            or_(col(AuditEvent.subject) == subject, col(AuditEvent.actor) == subject)
        )
    )
    secret = await existing_attempt_secret(session, attempt_key)
    if client.telegram_user_id is not None and secret is not None:
        await session.exec(  # type: ignore[call-overload]
            delete(EnrollmentAttempt).where(
                col(EnrollmentAttempt.sender_hash) == sender_hash(client.telegram_user_id, secret)
            )
        )
    # The kept alerts lose the client's words; the team's presses and notes stay.
    alerts = (await session.exec(select(Alert).where(col(Alert.id).in_(keep)))).all()
    for alert in alerts:
        alert.evidence = None
        alert.why = None  # it quotes the words a rule matched
    # Their copies to the team (and escalations still to come) stay, without the words;
    # anything else for the client (the follow-up question, reminders) goes.
    deliveries = (await session.exec(select(Delivery).where(Delivery.client_id == client.id))).all()
    wanted = {f"alert:{alert_id}:" for alert_id in keep}
    kept: list[Delivery] = []
    own_chats = {client.chat_id, client.telegram_user_id}
    for delivery in deliveries:
        to_team = delivery.recipient_chat_id not in own_chats
        if to_team and any(delivery.dedupe_key.startswith(prefix) for prefix in wanted):
            kept.append(delivery)
        else:
            await session.delete(delivery)
    client.telegram_user_id = None
    client.chat_id = None
    client.label = None
    client.status = ClientStatus.discharged
    client.left_at = client.left_at or now
    client.setup_step = None
    client.session_reminders = False
    client.medication_reminders = False
    client.medication_times = []
    client.checkin_time = None
    client.checkin_days = None
    client.checkin_thresholds = None
    client.erase_nonce = None
    client.erase_requested_at = now
    await session.flush()
    for delivery in kept:
        if delivery.kind == ALERT.name and delivery.recipient_chat_id > 0:
            alert = next((a for a in alerts if a.id == delivery.payload.get("alert_id")), None)
            if alert is not None:  # a private copy: its text quoted the client
                text = await detail_text(session, content, alert)
                delivery.payload = {**delivery.payload, "text": text}
    audit(
        session,
        actor="system",
        action="client_data_deleted_but_open_alerts",
        at=now,
        program_id=client.program_id,
        alerts=len(keep),
    )
    return True


async def erase_if_released(
    session: AsyncSession, *, client_id: int, now: datetime, attempt_key: bytes | None = None
) -> bool:
    """After an alert is resolved: erase what a deletion kept once no alert is open.
    True when the client was erased."""
    client = await session.get(Client, client_id)
    if client is None or client.erase_requested_at is None:
        return False
    if await open_alert_ids(session, client_id):
        return False
    await erase_client(session, client=client, now=now, attempt_key=attempt_key)
    return True


async def erase_released_clients(
    engine: AsyncEngine, start: datetime, end: datetime, now: datetime, content: Any = None
) -> dict[str, int]:
    """Planner step: finish every deletion whose alerts were all resolved, whichever way
    they were resolved (the resolve handler finishes its own at once)."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        waiting = (
            await session.exec(select(Client.id).where(col(Client.erase_requested_at).is_not(None)))
        ).all()
        for client_id in waiting:
            if client_id is not None:
                await erase_if_released(session, client_id=client_id, now=now)
        await session.commit()
    return {}


register_plan_step("finish_deletions", erase_released_clients)
