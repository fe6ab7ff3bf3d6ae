"""The client's data: /mydata sends all of it as a readable JSON document; /delete erases it.

Both work for any client row tied to this Telegram account, including one who has left
the program: leaving does not take away the right to see or erase one's data.
"""

from __future__ import annotations

import io
import json
import secrets
from datetime import UTC, datetime

from sqlalchemy import update as sql_update
from sqlmodel import col
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.careteam_notices import notify_care_team
from bot.db import session_scope
from bot.deletion import erase_if_released, erase_or_keep_open_alerts, open_alert_ids
from bot.export import export_client
from bot.keyboards import PRIVATE_NEW, data_fields, help_only_keyboard
from bot.models import Client
from bot.roster import client_by_telegram_id, configured_attempt_key
from bot.services import AnyApplication, services

NONCE_BYTES = 8  # 11 characters: "del:y:<nonce>" stays far below 64 bytes


async def send_my_data(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with session_scope(svc.sessions) as session:
        client = await client_by_telegram_id(session, telegram_user_id=user.id)
        pack = svc.content.language(client.language if client else user.language_code)
        if client is None:
            await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))
            return
        document = await export_client(session, client=client, now=datetime.now(UTC))
    body = json.dumps(document, indent=2, ensure_ascii=False).encode()
    await chat.send_document(
        io.BytesIO(body),
        filename="waypoint-my-data.json",
        caption=pack.account.mydata_caption,
        protect_content=True,
    )


async def ask_delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The confirmation, with a one-time nonce in its buttons: only the latest prompt's
    "Yes" erases, once; "No", an older prompt or a forged press erase nothing."""
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    nonce = secrets.token_urlsafe(NONCE_BYTES)
    async with session_scope(svc.sessions) as session:
        client = await client_by_telegram_id(session, telegram_user_id=user.id)
        pack = svc.content.language(client.language if client else user.language_code)
        if client is None:
            await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))
            return
        assert client.id is not None
        client.erase_nonce = nonce
        alerts_open = bool(await open_alert_ids(session, client.id))
    buttons = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(pack.account.delete_yes, callback_data=f"del:y:{nonce}")],
            [InlineKeyboardButton(pack.account.delete_no, callback_data=f"del:n:{nonce}")],
        ]
    )
    text = pack.account.delete_confirm_open_alert if alerts_open else pack.account.delete_confirm
    await chat.send_message(text, reply_markup=buttons)


async def delete_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, answer, nonce = data_fields(query.data, 3)
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        client = await client_by_telegram_id(session, telegram_user_id=user.id)
        pack = svc.content.language(client.language if client else user.language_code)
        if client is None or answer not in ("y", "n") or not nonce:
            await query.answer(pack.account.delete_stale)  # already deleted, or forged
            return
        # Spend the nonce in one statement: of two presses at once, one wins.
        spent = await session.exec(  # type: ignore[call-overload]
            sql_update(Client)
            .where(col(Client.id) == client.id, col(Client.erase_nonce) == nonce)
            .values(erase_nonce=None)
        )
        if spent.rowcount != 1:
            await query.answer(pack.account.delete_stale)
            return
        await query.answer()
        if answer == "n":
            await chat.send_message(pack.account.delete_cancelled)
            return
        await session.refresh(client)
        await notify_care_team(session, client=client, event="deleted", now=now, linked=False)
        kept = await erase_or_keep_open_alerts(
            session,
            content=svc.content,
            client=client,
            now=now,
            attempt_key=configured_attempt_key(svc.settings),
        )
        kept_alerts = await open_alert_ids(session, client.id) if kept else []  # type: ignore[arg-type]
    from bot.features.careteam_alerts import refresh_everywhere

    for alert_id in kept_alerts:  # the copies the team already has lose the words too
        await refresh_everywhere(context, alert_id)
    text = pack.account.deleted_open_alert if kept else pack.account.deleted
    await chat.send_message(text, reply_markup=help_only_keyboard(pack))


async def alert_resolved(context: ContextTypes.DEFAULT_TYPE, client_id: int) -> None:
    """Called once an alert is resolved: a deletion that waited for it now finishes."""
    svc = services(context)
    async with session_scope(svc.sessions) as session:
        await erase_if_released(
            session,
            client_id=client_id,
            now=datetime.now(UTC),
            attempt_key=configured_attempt_key(svc.settings),
        )


def register(application: AnyApplication) -> None:
    private = PRIVATE_NEW
    application.add_handler(CommandHandler("mydata", send_my_data, filters=private))
    application.add_handler(CommandHandler("delete", ask_delete, filters=private))
    application.add_handler(CallbackQueryHandler(delete_pressed, pattern=r"^del:"))
