"""🆘 Help now: the crisis card for anyone, enrolled or not, from anywhere in any flow.

`/help`, the "🆘 Help now" button (in every language's label) and any free text that
the safety screen finds concerning all lead here, before any other handler runs.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import safety
from bot.content import LanguagePack
from bot.keyboards import NEW_MESSAGE, PRIVATE_NEW
from bot.people import Who, crisis_region, identify
from bot.services import AnyApplication, services

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "help:"
REGIONS_DATA = "help:regions"

# Handlers in this group run before every feature's own handlers.
SCREEN_GROUP = -10


def _card_keyboard(pack: LanguagePack) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(pack.ui.other_regions_button, callback_data=REGIONS_DATA)]]
    )


async def _who_and_pack(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Who, str]:
    svc = services(context)
    user = update.effective_user
    assert user is not None
    async with svc.sessions() as session:
        who = await identify(session, user.id)
        region = await crisis_region(session, who, svc.settings.default_region)
    return who, region


def _pack(context: ContextTypes.DEFAULT_TYPE, update: Update, who: Who) -> LanguagePack:
    user = update.effective_user
    return services(context).content.language(
        who.language or (user.language_code if user else None)
    )


async def send_crisis_card(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who, region = await _who_and_pack(update, context)
    pack = _pack(context, update, who)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_message(pack.crisis_card(region), reply_markup=_card_keyboard(pack))


async def help_now(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send_crisis_card(update, context)
    # Help is the whole answer: no other feature should also react to this message.
    raise ApplicationHandlerStop


async def screen_free_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Screen every private free-text message first; a concerning one gets the card now."""
    message = update.effective_message
    if message is None or not message.text:
        return
    user = update.effective_user
    result = safety.screen(message.text, (user.language_code or "en") if user else "en")
    if result.urgency == "none":
        return
    # Log the rule, never the words: logs are not a place for a client's health information.
    log.warning(
        "screen flagged update %s: %s/%s (%s)",
        update.update_id,
        result.urgency,
        result.category,
        result.rule,
    )
    await send_crisis_card(update, context)
    raise ApplicationHandlerStop


async def region_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who, _ = await _who_and_pack(update, context)
    pack = _pack(context, update, who)
    content = services(context).content
    chat = update.effective_chat
    assert chat is not None
    if query.data == REGIONS_DATA:
        buttons = [
            [InlineKeyboardButton(pack.region_name(r), callback_data=f"{CALLBACK_PREFIX}{r}")]
            for r in content.regions
        ]
        await chat.send_message(pack.ui.choose_region, reply_markup=InlineKeyboardMarkup(buttons))
        return
    region = query.data.removeprefix(CALLBACK_PREFIX)
    if region not in content.regions:
        # Forged or outdated data: still show help, for the person's own region.
        _, region = await _who_and_pack(update, context)
    await chat.send_message(pack.crisis_card(region), reply_markup=_card_keyboard(pack))


def register(application: AnyApplication) -> None:
    content = services(application).content
    help_labels = sorted({content.language(code).ui.help_button for code in content.languages})
    private = PRIVATE_NEW
    # /help works in any chat: the card carries no client information.
    application.add_handler(CommandHandler("help", help_now, filters=NEW_MESSAGE), SCREEN_GROUP)
    application.add_handler(
        MessageHandler(private & filters.Text(help_labels), help_now), SCREEN_GROUP
    )
    application.add_handler(
        MessageHandler(
            private & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE,
            screen_free_text,
        ),
        SCREEN_GROUP + 1,
    )
    application.add_handler(CallbackQueryHandler(region_pressed, pattern=r"^help:"))
