"""Keyboards shared by several features. Callback data carries ids, never payloads,
and is at most 64 bytes (Telegram's limit); every press is validated on arrival."""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, ReplyKeyboardMarkup
from telegram.ext import filters

from bot.content import LanguagePack


def help_only_keyboard(pack: LanguagePack) -> ReplyKeyboardMarkup:
    """The persistent keyboard for people not (yet) enrolled: help is always one tap away."""
    return ReplyKeyboardMarkup([[pack.ui.help_button]], resize_keyboard=True, is_persistent=True)


def data_fields(data: str | None, count: int) -> list[str]:
    """Split callback data "a:b:c" into exactly `count` fields (missing ones empty).

    Data can be forged, so callers validate every field; this only never raises.
    """
    fields = (data or "").split(":", count - 1)
    return fields + [""] * (count - len(fields))


def main_menu(pack: LanguagePack) -> ReplyKeyboardMarkup:
    """The enrolled client's persistent menu; 🆘 Help now is always on it."""
    menu = pack.menu
    return ReplyKeyboardMarkup(
        [
            [menu.checkin, menu.learn],
            [menu.breathe, menu.sessions],
            [menu.settings, pack.ui.help_button],
        ],
        resize_keyboard=True,
        is_persistent=True,
    )


# New private messages only: an edited message is not a new request and must not be
# answered (or acted on) a second time.
PRIVATE_NEW = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
NEW_MESSAGE = filters.UpdateType.MESSAGE


# python-telegram-bot sends the Defaults' parse_mode with editMessageReplyMarkup, which
# takes none (the sandbox refuses it, as an unknown parameter); None here is dropped.
_NO_PARSE_MODE: dict[str, Any] = {"parse_mode": None}


async def edit_buttons(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> object:
    """Replace (or, with None, remove) the inline keyboard of the message pressed."""
    return await query.edit_message_reply_markup(markup, api_kwargs=_NO_PARSE_MODE)
