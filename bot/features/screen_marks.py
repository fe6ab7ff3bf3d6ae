"""Clinicians mark the safety screen's mistakes, so its corpus can grow from real use.

- "False alarm" under an alert's private detail: the alert, what fired and its category
  are recorded (the alert itself is untouched: it is still acknowledged and resolved as
  usual).
- `/missed CODE [words]`: a recent message of the client should have been flagged; the
  clinician picks the kind of concern from buttons. The client's words are kept only when
  the clinician types them after the code.

Only an active clinician of the client's program may mark; anyone else is refused (and a
refused button press is audited, like every alert press). Listed and exported for the
corpus by `python -m bot admin screen-marks`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.content import render
from bot.db import session_scope
from bot.features import careteam, welcome
from bot.features.careteam_alerts import _allowed
from bot.keyboards import PRIVATE_NEW, data_fields
from bot.models import Client, ScreenMark
from bot.people import identify
from bot.roster import audit, find_client_by_code
from bot.safety.models import CATEGORY_PRIORITY
from bot.services import AnyApplication, services

TEXT_MAX = 1000  # words a clinician copies in: one message, not a transcript


async def false_alarm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "False alarm" on an alert: recorded once per clinician and alert."""
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
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        done = (
            await session.exec(
                select(ScreenMark.id).where(
                    ScreenMark.kind == "false_alarm",
                    ScreenMark.alert_id == alert.id,
                    ScreenMark.clinician_id == clinician.id,
                )
            )
        ).first()
        if done is None:
            client = await session.get(Client, alert.client_id)
            assert client is not None and clinician.id is not None
            session.add(
                ScreenMark(
                    program_id=alert.program_id,
                    kind="false_alarm",
                    client_code=client.code,
                    alert_id=alert.id,
                    category=alert.category,
                    rule=alert.rule,
                    clinician_id=clinician.id,
                    at=now,
                )
            )
            audit(
                session,
                actor=f"clinician:{clinician.id}",
                action="screen_false_alarm",
                subject=f"client:{alert.client_id}",
                at=now,
                alert_id=alert.id,
            )
    await query.answer(staff.false_alarm_recorded if done is None else staff.already_done)


def _category_buttons(mark_id: int, labels: dict[str, str]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(labels.get(cat, cat), callback_data=f"msc:{mark_id}:{i}")
        for i, cat in enumerate(CATEGORY_PRIORITY)
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def missed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/missed CODE [words]: record the miss now; the buttons then say which kind."""
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    pack = svc.content.language(None)
    staff = pack.alerts.staff
    args = list(context.args or [])
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        clinician = (await identify(session, user.id)).clinician
        if clinician is None:  # not on a care team: nothing is recorded or said
            await welcome.anything_else(update, context)
            return
        if not args:
            await chat.send_message(staff.missed_usage)
            return
        code, problem = careteam.typed_code(pack, args[:1], "missed")
        if code is None:
            await chat.send_message(problem)
            return
        client = await find_client_by_code(session, program_id=clinician.program_id, code=code)
        if client is None:
            await chat.send_message(render(pack.staff.client_not_found, code=code))
            return
        words = " ".join(args[1:]).strip()[:TEXT_MAX] or None
        assert clinician.id is not None
        mark = ScreenMark(
            program_id=clinician.program_id,
            kind="missed",
            client_code=client.code,
            clinician_id=clinician.id,
            at=now,
            text=words,
        )
        session.add(mark)
        await session.flush()
        assert mark.id is not None
        mark_id = mark.id
        audit(
            session,
            actor=f"clinician:{clinician.id}",
            action="screen_missed",
            subject=f"client:{client.id}",
            at=now,
            mark_id=mark_id,
        )
        shown = client.code
    await chat.send_message(
        render(staff.missed_ask, code=shown),
        reply_markup=_category_buttons(mark_id, staff.categories),
    )


async def missed_category(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The kind of concern for a /missed mark: only its own clinician may choose it."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.from_user is not None
    _, mark_ref, index = data_fields(query.data, 3)
    staff = svc.content.language(None).alerts.staff
    ok = mark_ref.isdigit() and len(mark_ref) < 19 and index.isdigit()
    ok = ok and int(index) < len(CATEGORY_PRIORITY)
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        clinician = (await identify(session, query.from_user.id)).clinician
        mark = await session.get(ScreenMark, int(mark_ref)) if ok and clinician else None
        if clinician is None or mark is None or mark.clinician_id != clinician.id:
            audit(
                session,
                actor=f"clinician:{clinician.id}" if clinician else "unknown",
                action="screen_mark_refused",
                subject=f"mark:{mark_ref}"[:64],
                at=now,
            )
            await query.answer(staff.not_allowed, show_alert=True)
            return
        category = CATEGORY_PRIORITY[int(index)]
        mark.category = category
        code = mark.client_code
    await query.answer()
    await query.edit_message_text(
        render(
            staff.missed_recorded,
            code=code,
            category=staff.categories.get(category, category),
        )
    )


def register(application: AnyApplication) -> None:
    application.add_handler(CallbackQueryHandler(false_alarm, pattern=r"^alf:"))
    application.add_handler(CallbackQueryHandler(missed_category, pattern=r"^msc:"))
    application.add_handler(CommandHandler("missed", missed, filters=PRIVATE_NEW))
