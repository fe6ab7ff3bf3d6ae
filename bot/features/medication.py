"""Daily (medication) reminders in the chat: Taken · Later · Skip, and /reminders.

A client sets their own times (`/reminders 9:00 21:00`, `/reminders off`); a clinician
sets a client's (`/reminders CODE 09:00`). Opting in is also a set-up question
(Settings → daily reminder). The rules live in bot/medication.py.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.content import render
from bot.db import session_scope
from bot.invites import normalize_code
from bot.keyboards import PRIVATE_NEW, data_fields, edit_buttons
from bot.medication import ANSWERS, MED_REMINDER, record_answer, times_of, valid_times
from bot.models import Client, ClinicianRole, Delivery
from bot.people import identify
from bot.roster import audit, find_client_by_code
from bot.services import AnyApplication, services


def now_utc() -> datetime:
    """The answer's time (a function so a test can press a button at 23:50)."""
    return datetime.now(UTC)


async def answer_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """md:{reminder id}:{t|l|s}: checked against the reminder row and the presser."""
    from bot.features.crisis import send_now

    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, delivery_id, code = data_fields(query.data, 3)
    now = now_utc()
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        client = who.client
        reminder = await session.get(Delivery, int(delivery_id)) if delivery_id.isdigit() else None
        pack = svc.content.language(who.language or user.language_code)
        texts = pack.sessions.client
        if (
            client is None
            or reminder is None
            or reminder.kind != MED_REMINDER.name
            or reminder.client_id != client.id
            or code not in ANSWERS
        ):
            await query.answer(pack.setup.stale_button)
            return
        outcome = await record_answer(
            session,
            content=svc.content,
            client=client,
            reminder=reminder,
            answer=ANSWERS[code],
            now=now,
        )
    await query.answer()
    if outcome != "later_used":  # nothing recorded: Taken and Skip stay to be pressed
        with contextlib.suppress(BadRequest):
            await edit_buttons(query, None)
    if outcome == "skipped":
        send_now(context)
    reply = {
        "taken": texts.taken_thanks,
        "later": texts.later_ok,
        "skipped": texts.skipped_ok,
    }.get(outcome)
    if reply:
        await chat.send_message(reply)


async def reminders_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reminders [CODE] HH:MM … | off"""
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    args = list(context.args or [])
    now = now_utc()
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        client: Client | None = who.client
        staff = svc.content.language(None).sessions.staff
        code = None
        if who.clinician is not None:
            code = normalize_code(args.pop(0)) if args else None
            client = (
                await find_client_by_code(session, program_id=who.clinician.program_id, code=code)
                if code
                else None
            )
            if client is not None and (
                who.clinician.role is not ClinicianRole.admin
                and client.primary_clinician_id != who.clinician.id
            ):
                client = None
            if client is None:
                await chat.send_message(staff["usage_reminders"])
                return
        if client is None:
            from bot.features import welcome

            await welcome.anything_else(update, context)
            return
        texts = svc.content.language(client.language).sessions.client
        off = bool(args) and args[0].lower() == "off"
        times = None if off else valid_times(args)
        if not off and times is None:
            await chat.send_message(
                staff["usage_reminders"] if who.clinician else texts.daily_usage
            )
            return
        client.medication_reminders = not off
        if times:
            client.medication_times = times
        audit(
            session,
            actor=f"clinician:{who.clinician.id}" if who.clinician else f"client:{client.id}",
            action="daily_reminder_off" if off else "daily_reminder_set",
            subject=f"client:{client.id}",
            at=now,
        )
        shown = ", ".join(times_of(client))
    if who.clinician is not None:
        key = "daily_off" if off else "daily_set"
        await chat.send_message(render(staff[key], code=client.code, times=shown))
    else:
        await chat.send_message(
            texts.daily_off if off else render(texts.daily_set, times=shown),
        )


def register(application: AnyApplication) -> None:
    application.add_handler(CommandHandler("reminders", reminders_command, filters=PRIVATE_NEW))
    application.add_handler(CallbackQueryHandler(answer_pressed, pattern=r"^md:"))
