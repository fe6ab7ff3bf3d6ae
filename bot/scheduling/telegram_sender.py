"""The one place the delivery engine speaks Telegram: send, and classify what went wrong."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.scheduling import priority
from bot.scheduling.errors import Failure, SendFailed
from bot.scheduling.rendering import Outgoing


def _retry_after_seconds(exc: RetryAfter) -> float:
    # A timedelta with PTB_TIMEDELTA set (bot/__init__.py), python-telegram-bot 22's
    # opt-in to its next major version; seconds only if a deployment turned it off.
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(exc: TelegramError) -> SendFailed:
    """python-telegram-bot's exception -> what it means for a delivery.

    Order matters: BadRequest and TimedOut are NetworkError subclasses.
    """
    text = str(exc)[:300]
    if isinstance(exc, RetryAfter):
        return SendFailed(Failure.rate_limited, text, retry_after=_retry_after_seconds(exc))
    if isinstance(exc, ChatMigrated):
        return SendFailed(Failure.chat_migrated, text, migrate_to_chat_id=exc.new_chat_id)
    if isinstance(exc, Forbidden):
        return SendFailed(Failure.forbidden, text)
    if isinstance(exc, InvalidToken | Conflict | EndPointNotFound):
        return SendFailed(Failure.fatal, text)
    if isinstance(exc, BadRequest):
        return SendFailed(Failure.bad_request, text)
    if isinstance(exc, TimedOut):
        return SendFailed(Failure.timed_out, text)
    if isinstance(exc, NetworkError):
        return SendFailed(Failure.transient, text)
    return SendFailed(Failure.transient, text)


def _markup(message: Outgoing) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.text, callback_data=b.callback_data) for b in row]
            for row in message.buttons
        ]
    )


class TelegramSender:
    """Sends through a python-telegram-bot Bot (with its rate limiter, if it has one).

    With `paid_broadcast` (TELEGRAM_PAID_BROADCAST), the bulk class goes as Telegram's
    paid broadcast (`allow_paid_broadcast`: up to 1,000 a second, Stars for each message
    over the free rate); every other class stays free, within the shared cap."""

    def __init__(self, bot: Any, *, paid_broadcast: bool = False) -> None:
        self._bot = bot
        self.paid_broadcast = paid_broadcast

    async def send(self, chat_id: int, message: Outgoing) -> int:
        extra: dict[str, Any] = {}
        if self.paid_broadcast and priority.current().priority is priority.Priority.bulk:
            extra["allow_paid_broadcast"] = True
        try:
            if message.photo is not None:
                sent = await self._bot.send_photo(
                    chat_id=chat_id,
                    photo=message.photo,
                    caption=message.text or None,
                    reply_markup=_markup(message),
                    protect_content=True,
                    **extra,
                )
            else:
                sent = await self._bot.send_message(
                    chat_id=chat_id, text=message.text, reply_markup=_markup(message), **extra
                )
        except TelegramError as exc:
            raise classify(exc) from exc
        return int(sent.message_id)
