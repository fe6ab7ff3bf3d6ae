"""Clinicians acting on alerts: Acknowledge · Contacted client · Resolved (with a note), and
"Open details" from the care-team group into a private chat.

Every press is checked against the database — an active clinician of the alert's program,
an alert that exists — and recorded with who and when; a forged or replayed press is
refused and written to the audit log. Each press updates the alert everywhere it was sent.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import client_view, digest  # noqa: F401  (digest: registers its schedule)
from bot.alerts import (
    ACTIONS,
    ESCALATION,
    alert_buttons,
    alert_from_button,
    alert_line,
    alert_ref,
    client_history,
    detail_text,
    group_post_text,
    open_alerts,
    record,
)
from bot.content import Content, render
from bot.db import session_scope
from bot.features import careteam, privacy, welcome
from bot.keyboards import PRIVATE_NEW, data_fields
from bot.models import Alert, Clinician, ClinicianRole, Delivery, DeliveryStatus, Program
from bot.people import identify
from bot.roster import audit, find_client_by_code
from bot.scheduling.kinds import ALERT
from bot.services import AnyApplication, services

log = logging.getLogger(__name__)

# Before the set-up and menu handlers: a clinician's typed resolution note.
NOTE_GROUP = -2


def _keyboard(content: Content, alert: Alert) -> InlineKeyboardMarkup | None:
    if alert.resolved_at is not None or alert.id is None:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for row in alert_buttons(content, alert)
        ]
    )


async def _allowed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, ref: str
) -> tuple[Clinician, Alert] | str:
    """The presser and the alert, when the presser may act on it; else the refusal to
    answer with (audited): not staff or not their program, or a button that no longer
    names the alert it named when it was sent."""
    svc = services(context)
    staff = svc.content.language(None).alerts.staff
    user = update.effective_user
    assert user is not None
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        clinician = who.clinician
        alert = await alert_from_button(session, ref) if clinician is not None else None
        refusal = (
            staff.not_allowed
            if clinician is None
            else staff.out_of_date
            if alert is None
            else staff.not_allowed
            if alert.program_id != clinician.program_id
            else None
        )
        if refusal is not None:
            # Logged without the presser's id if they are not staff: nothing about
            # strangers is stored.
            audit(
                session,
                actor=f"clinician:{clinician.id}" if clinician else "unknown",
                action="alert_press_refused",
                subject=f"alert:{ref}"[:64],
                at=datetime.now(UTC),
                stale=clinician is not None and alert is None,
            )
            return refusal
        assert clinician is not None and alert is not None
        return clinician, alert


async def alert_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query = update.callback_query
    assert query is not None
    _, ref, code = data_fields(query.data, 3)
    staff = svc.content.language(None).alerts.staff
    allowed = await _allowed(update, context, ref)
    if isinstance(allowed, str) or code not in ACTIONS:
        await query.answer(
            allowed if isinstance(allowed, str) else staff.not_allowed, show_alert=True
        )
        return
    clinician, alert = allowed
    action = ACTIONS[code]
    now = datetime.now(UTC)
    if action == "resolved":
        # Closed only with a note: ask for it; the note's arrival resolves the alert.
        async with session_scope(svc.sessions) as session:
            row = await session.get(Clinician, clinician.id)
            assert row is not None
            row.note_for_alert_id = alert.id
        await query.answer()
        await context.bot.send_message(query.from_user.id, staff.ask_resolution_note)
        return
    async with session_scope(svc.sessions) as session:
        row = await session.get(Alert, alert.id)
        assert row is not None
        recorded = await record(session, alert=row, action=action, clinician=clinician, now=now)
        audit(
            session,
            actor=f"clinician:{clinician.id}",
            action=f"alert_{action}",
            subject=f"client:{row.client_id}",
            at=now,
            alert_id=row.id,
        )
    await query.answer(None if recorded else staff.already_done)
    if recorded:
        await refresh_everywhere(context, alert.id)  # type: ignore[arg-type]


async def open_details(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Open details" in the group: the detail goes to the presser's private chat."""
    svc = services(context)
    query = update.callback_query
    assert query is not None
    _, ref = data_fields(query.data, 2)
    staff = svc.content.language(None).alerts.staff
    allowed = await _allowed(update, context, ref)
    if isinstance(allowed, str):
        await query.answer(allowed, show_alert=True)
        return
    clinician, alert = allowed
    async with session_scope(svc.sessions) as session:
        text = await detail_text(session, svc.content, alert)
        audit(
            session,
            actor=f"clinician:{clinician.id}",
            action="alert_viewed",
            subject=f"client:{alert.client_id}",
            at=datetime.now(UTC),
            alert_id=alert.id,
        )
    try:
        sent = await context.bot.send_message(
            query.from_user.id,
            text,
            protect_content=True,
            reply_markup=_keyboard(svc.content, alert),
        )
    except Forbidden:
        await query.answer(staff.not_allowed, show_alert=True)
        return
    # Recorded like the copies the outbox sent, so a later press updates this one too.
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        session.add(
            Delivery(
                kind=ALERT.name,
                recipient_chat_id=query.from_user.id,
                client_id=alert.client_id,
                due_at=now,
                payload={"alert_id": alert.id, "opened": True},
                status=DeliveryStatus.sent,
                sent_at=now,
                telegram_message_id=sent.message_id,
                dedupe_key=f"alert:{alert.id}:opened:{clinician.id}:{sent.message_id}",
                created_at=now,
            )
        )
    await query.answer(staff.sent_to_private)


async def resolution_note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A clinician's typed text while a resolution note is awaited closes the alert."""
    svc = services(context)
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None and message.text
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        clinician = (await identify(session, user.id)).clinician
        if clinician is None or clinician.note_for_alert_id is None:
            return  # not ours
        row = await session.get(Clinician, clinician.id)
        alert = await session.get(Alert, clinician.note_for_alert_id)
        assert row is not None
        row.note_for_alert_id = None
        if alert is None or alert.program_id != clinician.program_id:
            raise ApplicationHandlerStop
        await record(session, alert=alert, action="resolved", clinician=clinician, now=now)
        alert.resolved_at = now
        alert.resolution_note = message.text[:500]
        audit(
            session,
            actor=f"clinician:{clinician.id}",
            action="alert_resolved",
            subject=f"client:{alert.client_id}",
            at=now,
            alert_id=alert.id,
        )
        alert_id, client_id = alert.id, alert.client_id
    assert alert_id is not None
    await refresh_everywhere(context, alert_id)
    await privacy.alert_resolved(context, client_id)  # a deletion waiting for it ends
    raise ApplicationHandlerStop


async def refresh_everywhere(context: ContextTypes.DEFAULT_TYPE, alert_id: int) -> None:
    """Show the alert's new state on every copy of it: each clinician's private message
    (sent, escalated, rerouted or opened from the group) with the detail, and the group
    post with its state (still no name and no words there)."""
    svc = services(context)
    async with svc.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        text = await detail_text(session, svc.content, alert)
        group_text = await group_post_text(session, svc.content, alert)
        sent = (
            await session.exec(
                select(Delivery).where(
                    col(Delivery.dedupe_key).startswith(f"alert:{alert_id}:"),
                    # The care team's copies, never the client's own messages about it
                    # nor the short notes of grouped messages.
                    col(Delivery.kind).in_([ALERT.name, ESCALATION.name]),
                    Delivery.status == DeliveryStatus.sent,
                    col(Delivery.telegram_message_id).is_not(None),
                )
            )
        ).all()
    keyboard = _keyboard(svc.content, alert)
    staff = svc.content.language(None).alerts.staff
    group_keyboard = (
        None
        if alert.resolved_at is not None
        else InlineKeyboardMarkup(
            [[InlineKeyboardButton(staff.open_button, callback_data=f"alx:{alert_ref(alert)}")]]
        )
    )
    for delivery in sent:
        private = delivery.recipient_chat_id > 0
        try:
            await context.bot.edit_message_text(
                text if private else group_text,
                chat_id=delivery.recipient_chat_id,
                message_id=delivery.telegram_message_id,
                reply_markup=keyboard if private else group_keyboard,
            )
        except (BadRequest, Forbidden) as exc:  # unchanged, deleted, or blocked: fine
            log.info("alert %s not refreshed in one chat: %s", alert_id, exc)


async def list_alerts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/alerts: the open alerts, most urgent first (audited)."""
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    now = datetime.now(UTC)
    staff = svc.content.language(None).alerts.staff
    async with session_scope(svc.sessions) as session:
        clinician = (await identify(session, user.id)).clinician
        if clinician is None:
            await welcome.anything_else(update, context)
            return
        rows = await open_alerts(session, clinician=clinician)
        audit(
            session,
            actor=f"clinician:{clinician.id}",
            action="alerts_viewed",
            at=now,
            count=len(rows),
        )
    if not rows:
        await chat.send_message(staff.alerts_none)
        return
    async with svc.sessions() as session:
        program = await session.get(Program, clinician.program_id)
    assert program is not None
    lines = [alert_line(svc.content, alert, code, now, program) for alert, code in rows]
    await chat.send_message(staff.alerts_header + "\n" + "\n".join(lines), protect_content=True)


async def show_client(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/client CODE: one client's record and alert history (every view is audited)."""
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    staff = svc.content.language(None).alerts.staff
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        clinician = (await identify(session, user.id)).clinician
        if clinician is None:
            await welcome.anything_else(update, context)
            return
        code, problem = careteam.typed_code(svc.content.language(None), context.args, "client")
        if code is None:
            await chat.send_message(problem)
            return
        client = await find_client_by_code(session, program_id=clinician.program_id, code=code)
        if client is None or (
            clinician.role is not ClinicianRole.admin
            and client.primary_clinician_id != clinician.id
        ):
            pack = svc.content.language(None)
            await chat.send_message(render(pack.staff.client_not_found, code=code))
            return
        history = await client_history(session, client=client)
        audit(
            session,
            actor=f"clinician:{clinician.id}",
            action="client_viewed",
            subject=f"client:{client.id}",
            at=now,
        )
        program = await session.get(Program, client.program_id)
        assert program is not None
        zone = ZoneInfo(client.timezone or program.timezone)
        lines = [
            render(
                staff.client_header,
                code=client.code,
                status=client.status.value,
                joined=f"{client.enrolled_at.astimezone(zone):%Y-%m-%d}"
                if client.enrolled_at
                else "-",
                checkin=client.checkin_time or "-",
                zone=client.timezone or program.timezone,
            )
        ]
        lines.append(staff.client_alerts_header)
        for alert in history:
            state = (
                staff.state_resolved
                if alert.resolved_at
                else staff.state_acknowledged
                if alert.acknowledged_at
                else staff.state_open
            )
            lines.append(
                render(
                    staff.client_alert_line,
                    time=f"{alert.raised_at.astimezone(zone):%Y-%m-%d %H:%M}",
                    tier=staff.tiers[alert.tier.value],
                    category=staff.categories.get(alert.category, alert.category),
                    state=state,
                )
            )
        if not history:
            lines.append(staff.client_no_alerts)
        extra = [
            text
            for section in client_view.sections()
            if (text := await section(session, svc.content, client, program, now))
        ]
    await chat.send_message("\n".join(lines), protect_content=True)
    for part in extra:
        if isinstance(part, bytes):
            await chat.send_photo(part, protect_content=True)
        else:
            await chat.send_message(part, protect_content=True)


def register(application: AnyApplication) -> None:
    application.add_handler(CallbackQueryHandler(alert_pressed, pattern=r"^al:"))
    application.add_handler(CallbackQueryHandler(open_details, pattern=r"^alx:"))
    application.add_handler(CommandHandler("alerts", list_alerts, filters=PRIVATE_NEW))
    application.add_handler(CommandHandler("client", show_client, filters=PRIVATE_NEW))
    application.add_handler(
        MessageHandler(PRIVATE_NEW & filters.TEXT & ~filters.COMMAND, resolution_note),
        NOTE_GROUP,
    )
