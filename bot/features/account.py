"""The client's own controls: the main menu, /settings, /pause, /resume and /stop.

Every change is one row update committed before the answer, and the care team is told
(through the outbox) when a client pauses, resumes or leaves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.careteam_notices import notify_care_team
from bot.content import LanguagePack, render
from bot.db import session_scope
from bot.features.enrollment import ask_step
from bot.inbox import inbox_of
from bot.keyboards import PRIVATE_NEW, data_fields, help_only_keyboard, main_menu
from bot.localtime import parse_hhmm, time_label, zone_label
from bot.models import Client, ClientStatus
from bot.people import ENROLLED, identify
from bot.roster import audit
from bot.services import AnyApplication, services

# Settings buttons -> the set-up step they ask again.
_EDITS = {
    "lang": "language",
    "tz": "timezone",
    "time": "checkin_time",
    "sess": "session_reminders",
    "meds": "medication_reminders",
}

# last_contact_at is written at most this often per client: the digest counts days.
CONTACT_RESOLUTION = timedelta(hours=1)


def now_utc() -> datetime:
    return datetime.now(UTC)


def settings_text(client: Client, pack: LanguagePack, language_name: str) -> str:
    on, off = pack.account.on, pack.account.off
    return render(
        pack.account.settings_summary,
        language=language_name,
        zone=zone_label(client.timezone or ""),
        time=time_label(parse_hhmm(client.checkin_time), pack.code) if client.checkin_time else "-",
        sessions=on if client.session_reminders else off,
        medicine=on if client.medication_reminders else off,
    )


def settings_keyboard(client: Client, pack: LanguagePack) -> InlineKeyboardMarkup:
    a = pack.account
    pause = (
        InlineKeyboardButton(a.resume_button, callback_data="set:resume")
        if client.status is ClientStatus.paused
        else InlineKeyboardButton(a.pause_button, callback_data="set:pause")
    )
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(a.language_button, callback_data="set:lang"),
                InlineKeyboardButton(a.timezone_button, callback_data="set:tz"),
            ],
            [InlineKeyboardButton(a.checkin_button, callback_data="set:time")],
            [
                InlineKeyboardButton(a.sessions_button, callback_data="set:sess"),
                InlineKeyboardButton(a.medicine_button, callback_data="set:meds"),
            ],
            *([[_plan_button(pack)]] if client.care_stage == "aftercare" else []),
            [pause, InlineKeyboardButton(a.leave_button, callback_data="set:stop")],
            [
                InlineKeyboardButton(a.mydata_button, callback_data="set:data"),
                InlineKeyboardButton(a.delete_button, callback_data="set:del"),
            ],
        ]
    )


def _plan_button(pack: LanguagePack) -> InlineKeyboardButton:
    """The aftercare plan (bot/features/aftercare.py), once a client has stepped down."""
    return InlineKeyboardButton(pack.sessions.client.plan_button, callback_data="set:after")


async def _client(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[Client | None, LanguagePack]:
    svc = services(context)
    user = update.effective_user
    assert user is not None
    async with svc.sessions() as session:
        who = await identify(session, user.id)
    return who.client, svc.content.language(who.language or user.language_code)


async def show_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    client, pack = await _client(update, context)
    chat = update.effective_chat
    assert chat is not None
    if client is None:
        await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))
        return
    name = services(context).content.language(client.language).language_name
    await chat.send_message(
        settings_text(client, pack, name), reply_markup=settings_keyboard(client, pack)
    )


async def settings_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query = update.callback_query
    assert query is not None
    _, item = data_fields(query.data, 2)
    client, pack = await _client(update, context)
    if client is None:
        await query.answer()
        return
    if item in _EDITS:
        await query.answer()
        async with session_scope(svc.sessions) as session:
            row = await session.get(Client, client.id)
            assert row is not None
            row.setup_step = f"edit:{_EDITS[item]}"
        await ask_step(update, context, row, pack)
    elif item == "pause":
        await query.answer()
        await pause(update, context)
    elif item == "resume":
        await query.answer()
        await resume(update, context)
    elif item == "stop":
        await query.answer()
        await ask_stop(update, context)
    elif item == "after":
        from bot.features import aftercare

        await query.answer()
        await aftercare.show_plan(update, context)
    elif item in ("data", "del"):
        from bot.features import privacy

        await query.answer()
        await (privacy.send_my_data if item == "data" else privacy.ask_delete)(update, context)
    else:
        await query.answer(pack.setup.stale_button)


async def _set_status(update: Update, context: ContextTypes.DEFAULT_TYPE, *, pausing: bool) -> None:
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    now = now_utc()
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        client = who.client
        pack = svc.content.language(who.language or user.language_code)
        if client is None:
            await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))
            return
        paused = client.status is ClientStatus.paused
        if pausing == paused:
            text = pack.account.already_paused if pausing else pack.account.not_paused
            await chat.send_message(text, reply_markup=main_menu(pack))
            return
        client.status = ClientStatus.paused if pausing else ClientStatus.active
        client.paused_at = now if pausing else None
        event = "paused" if pausing else "resumed"
        audit(
            session,
            actor=f"client:{client.id}",
            action=f"client_{event}",
            subject=f"client:{client.id}",
            at=now,
        )
        await notify_care_team(session, client=client, event=event, now=now)
    text = pack.account.paused if pausing else pack.account.resumed
    await chat.send_message(text, reply_markup=main_menu(pack))


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _set_status(update, context, pausing=True)


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _set_status(update, context, pausing=False)


async def ask_stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    client, pack = await _client(update, context)
    chat = update.effective_chat
    assert chat is not None
    if client is None:
        await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))
        return
    buttons = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(pack.account.stop_yes, callback_data="stop:y")],
            [InlineKeyboardButton(pack.account.stop_no, callback_data="stop:n")],
        ]
    )
    await chat.send_message(pack.account.stop_confirm, reply_markup=buttons)


async def stop_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, answer = data_fields(query.data, 2)
    now = now_utc()
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        client = who.client
        pack = svc.content.language(who.language or user.language_code)
        if client is None or answer not in ("y", "n"):
            await query.answer(pack.setup.stale_button)  # already left, or forged
            return
        await query.answer()
        if answer == "n":
            await chat.send_message(pack.account.stop_cancelled, reply_markup=main_menu(pack))
            return
        client.status = ClientStatus.discharged
        client.left_at = now
        client.setup_step = None
        audit(
            session,
            actor=f"client:{client.id}",
            action="client_left",
            subject=f"client:{client.id}",
            at=now,
        )
        await notify_care_team(session, client=client, event="left", now=now)
    await chat.send_message(pack.account.stopped, reply_markup=help_only_keyboard(pack))


async def menu_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Menu buttons whose features are not built yet."""
    client, pack = await _client(update, context)
    chat = update.effective_chat
    assert chat is not None
    if client is None:
        await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))
        return
    await chat.send_message(pack.ui.coming_soon, reply_markup=main_menu(pack))


async def note_contact(connection: AsyncConnection, chat_id: int, received_at: datetime) -> None:
    """Inbox activity hook, in the transaction that marks an update done: note that a
    client was heard from, and make one marked unreachable (they had blocked the bot)
    who writes again reachable. It runs after the answer went out, so it costs the
    client nothing, and it runs even when a handler failed."""
    # Joined to the inbox's transaction: the flush writes into it, and closing the
    # session leaves that transaction to the inbox, which commits it with the "done".
    async with AsyncSession(bind=connection) as session:
        row = (
            await session.exec(
                select(Client).where(Client.chat_id == chat_id, col(Client.status).in_(ENROLLED))
            )
        ).first()
        if row is None:
            return
        heard = row.last_contact_at
        stale = heard is None or received_at - heard > CONTACT_RESOLUTION
        if not stale and row.status is not ClientStatus.unreachable:
            return  # the common case writes nothing
        row.last_contact_at = received_at
        if row.status is ClientStatus.unreachable:
            row.status = ClientStatus.paused if row.paused_at else ClientStatus.active
            audit(
                session,
                actor=f"client:{row.id}",
                action="client_reachable",
                subject=f"client:{row.id}",
                at=received_at,
            )
            await notify_care_team(session, client=row, event="reachable", now=received_at)
        await session.flush()


def register(application: AnyApplication) -> None:
    content = services(application).content
    private = PRIVATE_NEW
    packs = [content.language(code) for code in content.languages]
    inbox = inbox_of(application)
    if inbox is not None:
        inbox.activity_hooks.append(note_contact)
    application.add_handler(CommandHandler("settings", show_settings, filters=private))
    application.add_handler(CommandHandler("pause", pause, filters=private))
    application.add_handler(CommandHandler("resume", resume, filters=private))
    application.add_handler(CommandHandler("stop", ask_stop, filters=private))
    application.add_handler(CallbackQueryHandler(settings_pressed, pattern=r"^set:"))
    application.add_handler(CallbackQueryHandler(stop_pressed, pattern=r"^stop:"))
    application.add_handler(
        MessageHandler(private & filters.Text([p.menu.settings for p in packs]), show_settings)
    )
    later = [label for p in packs for label in (p.menu.learn, p.menu.breathe, p.menu.sessions)]
    application.add_handler(MessageHandler(private & filters.Text(later), menu_pressed))
