"""The client's data: /mydata sends all of it as a readable JSON document; /delete erases it.

Both work for any client row tied to this Telegram account, including one who has left
the program: leaving does not take away the right to see or erase one's data.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.careteam_notices import notify_care_team
from bot.db import session_scope
from bot.export import export_client
from bot.keyboards import PRIVATE_NEW, data_fields, help_only_keyboard
from bot.roster import client_by_telegram_id, erase_client
from bot.services import AnyApplication, services


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
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with svc.sessions() as session:
        client = await client_by_telegram_id(session, telegram_user_id=user.id)
    pack = svc.content.language(client.language if client else user.language_code)
    if client is None:
        await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))
        return
    buttons = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(pack.account.delete_yes, callback_data="del:y")],
            [InlineKeyboardButton(pack.account.delete_no, callback_data="del:n")],
        ]
    )
    await chat.send_message(pack.account.delete_confirm, reply_markup=buttons)


async def delete_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, answer = data_fields(query.data, 2)
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        client = await client_by_telegram_id(session, telegram_user_id=user.id)
        pack = svc.content.language(client.language if client else user.language_code)
        if client is None or answer not in ("y", "n"):
            await query.answer(pack.setup.stale_button)  # already deleted, or forged
            return
        await query.answer()
        if answer == "n":
            await chat.send_message(pack.account.delete_cancelled)
            return
        await erase_client(session, client=client, now=now)
        await notify_care_team(session, client=client, event="deleted", now=now, linked=False)
    await chat.send_message(pack.account.deleted, reply_markup=help_only_keyboard(pack))


def register(application: AnyApplication) -> None:
    private = PRIVATE_NEW
    application.add_handler(CommandHandler("mydata", send_my_data, filters=private))
    application.add_handler(CommandHandler("delete", ask_delete, filters=private))
    application.add_handler(CallbackQueryHandler(delete_pressed, pattern=r"^del:"))
