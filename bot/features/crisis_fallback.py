"""The crisis card does not depend on the database.

Every handler that reads who is writing needs the database, and the first one to fail
ends the update's handling (some run before the safety screen). So the inbox, which
notes every failed update (bot/inbox.py), calls `card_while_database_down` when the
database could not be reached: a private message the screen flags gets the crisis card
at once, for the deployment's default region (the program's cannot be read). The update
is not done: the inbox handles it again once the database is back, which raises the
alert and tells the client; that time the card is not sent again (`without_second_card`).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Chat, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot import safety
from bot.content import Content
from bot.services import services

log = logging.getLogger(__name__)

# Same-day findings whose reply carries the card (as in crisis._CARD_WITH_SAME_DAY).
_CARD_WITH_SAME_DAY = frozenset(
    {
        "suicidal_ideation",
        "suicide_screen",
        "low_mood",
        "self_harm",
        "harm_to_others",
        "unsafe_or_abuse",
        "overdose_or_medical",
    }
)


def needs_card(result: safety.ScreenResult) -> bool:
    return result.urgency == "urgent" or (
        result.urgency == "same_day" and result.category in _CARD_WITH_SAME_DAY
    )


async def card_while_database_down(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Send the crisis card when the screen flags this private message; True if sent.

    Needs no database: who is writing is unknown (a clinician's note would get the card
    too: a false alarm is far better than a missed crisis)."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None or chat.type != ChatType.PRIVATE:
        return False
    text = message.text or message.caption
    if not text:
        return False
    svc = services(context)
    if _asks_for_help(text, svc.content):
        log.warning("database unavailable; update %s: crisis card sent", update.update_id)
        await _send_card(update, context)
        return True
    result = safety.screen(text, user.language_code or "en")
    if not needs_card(result):
        return False
    # The rule, never the words.
    log.warning(
        "database unavailable; update %s flagged %s/%s (%s): crisis card sent, alert later",
        update.update_id,
        result.urgency,
        result.category,
        result.rule,
    )
    await _send_card(update, context)
    return True


def _asks_for_help(text: str, content: Content) -> bool:
    """/help or the 🆘 Help now button: the card is the whole answer."""
    command = text.split(maxsplit=1)[0].split("@")[0] if text.strip() else ""
    labels = {content.language(code).ui.help_button for code in content.languages}
    return command == "/help" or text in labels


async def _send_card(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    from bot.features.crisis import _card_keyboard

    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    svc = services(context)
    pack = svc.content.language(user.language_code)
    region = svc.settings.default_region
    await chat.send_message(pack.crisis_card(region), reply_markup=_card_keyboard(pack, region))


class _ChatWithoutCard:
    """The update's chat, except that no crisis card is sent to it again."""

    def __init__(self, chat: Chat, cards: frozenset[str]) -> None:
        self._chat = chat
        self._cards = cards

    async def send_message(self, text: str, *args: Any, **kwargs: Any) -> Any:
        if text in self._cards:
            return None  # sent already, while the database was down
        return await self._chat.send_message(text, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chat, name)


def without_second_card(update: Update, content: Content) -> None:
    """Handlers reach the chat through `update.effective_chat`: from now on that chat
    drops the crisis card (any language's, any region's: whichever the reply picks)."""
    chat = update.effective_chat
    if chat is None or isinstance(chat, _ChatWithoutCard):
        return
    cards = frozenset(
        content.language(code).crisis_card(region)
        for code in content.languages
        for region in content.regions
    )
    with update._unfrozen():
        update._effective_chat = _ChatWithoutCard(chat, cards)  # type: ignore[assignment]
