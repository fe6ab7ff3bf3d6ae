"""/start and the answer to anything else: who Waypoint is, and what it needs to start.

Someone without an invitation gets the same short welcome whatever they send, and
nothing about them is stored. Enrollment by invitation link arrives with its own
feature; until then `/start <token>` is answered like `/start`.
"""

from __future__ import annotations

from telegram import ReplyKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.content import LanguagePack
from bot.free_text import reply_to
from bot.keyboards import PRIVATE_NEW, help_only_keyboard, main_menu
from bot.people import Who, identify
from bot.services import AnyApplication, services


async def _identify(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Who, LanguagePack]:
    svc = services(context)
    user = update.effective_user
    assert user is not None
    async with svc.sessions() as session:
        who = await identify(session, user.id)
    return who, svc.content.language(who.language or user.language_code)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who, pack = await _identify(update, context)
    chat = update.effective_chat
    assert chat is not None
    if who.is_clinician:
        await chat.send_message(pack.staff.clinician_welcome)
    elif who.is_client:
        await chat.send_message(pack.ui.welcome_back, reply_markup=main_menu(pack))
    else:
        await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))


async def anything_else(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A private message no feature handled: text, sticker, photo, voice note, …"""
    who, pack = await _identify(update, context)
    chat = update.effective_chat
    message = update.effective_message
    assert chat is not None and message is not None
    reply = reply_to(message.text, pack.ui) if message.text else None
    if reply == pack.ui.real_person:
        # Asked whether a person is here: the truthful answer, to anyone, every time.
        await chat.send_message(reply, reply_markup=_keyboard(who, pack))
    elif not who.is_client and not who.is_clinician:
        await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))
    elif who.is_clinician:
        # The care team's own wording: they have commands, not a client's menu.
        text = pack.staff.not_understood if message.text else pack.staff.unsupported_message
        await chat.send_message(text, reply_markup=help_only_keyboard(pack))
    elif reply is not None:
        # Never a refusal: a kind reply (naming a feeling when there is one) and what
        # helps right now.
        await chat.send_message(reply, reply_markup=_keyboard(who, pack))
    else:
        await chat.send_message(pack.ui.unsupported_message, reply_markup=_keyboard(who, pack))


def _keyboard(who: Who, pack: LanguagePack) -> ReplyKeyboardMarkup:
    return main_menu(pack) if who.is_client else help_only_keyboard(pack)


async def stale_button(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press no feature claimed (an old or forged button): stop the spinner, change nothing."""
    query = update.callback_query
    assert query is not None
    await query.answer()


def register(application: AnyApplication) -> None:
    """Register LAST: in group 0 the first matching handler wins, so these only answer
    what no other feature claimed."""
    private = PRIVATE_NEW
    application.add_handler(CommandHandler("start", start, filters=private))
    # New messages only: an edited message is not a new request and gets no second answer.
    application.add_handler(MessageHandler(private & filters.UpdateType.MESSAGE, anything_else))
    application.add_handler(CallbackQueryHandler(stale_button))
