"""/progress: the client's own view of what they have done: the check-in's 14-day chart,
lessons and practice (each feature adds its part through bot.progress_view)."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bot.keyboards import PRIVATE_NEW, help_only_keyboard
from bot.people import identify
from bot.progress_view import sections
from bot.services import AnyApplication, services


async def show_progress(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    now = datetime.now(UTC)
    async with svc.sessions() as session:
        who = await identify(session, user.id)
        pack = svc.content.language(who.language or user.language_code)
        if who.client is None or who.program is None:
            await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))
            return
        parts = [
            part
            for section in sections()
            if (part := await section(session, pack, who.client, who.program, now))
        ]
    for part in parts:
        if isinstance(part, tuple):
            png, caption = part
            await chat.send_photo(png, caption=caption, protect_content=True)
    texts = [part for part in parts if isinstance(part, str)]
    header = pack.learning.progress.header
    await chat.send_message("\n\n".join([header, *texts]))


def register(application: AnyApplication) -> None:
    application.add_handler(CommandHandler("progress", show_progress, filters=PRIVATE_NEW))
