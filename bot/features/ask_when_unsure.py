"""Ask when unsure (issue 17), the Telegram side: the question and its answers.

The safety screen (bot/features/crisis.py) calls `ask_if_unsure` for each client
message; the decisions and the records are in bot/ask_when_unsure.py. The question has
Yes · No · I'd rather not say, and 🆘 Help now one tap away. Every press is checked:
a forged or old button changes nothing and says so (and a "yes" on one still gets the
crisis card: help is never withheld because a button is old).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot import ask_when_unsure as asking
from bot import conversation, safety
from bot.content import LanguagePack
from bot.db import session_scope
from bot.features.crisis import CALLBACK_PREFIX, _out_of_date, reply_to_alert, send_now
from bot.keyboards import data_fields, edit_buttons
from bot.models import Client
from bot.people import Who, identify
from bot.safety.unsure import band_of, unsure
from bot.scheduling.engine import register_review
from bot.scheduling.priority import Priority, in_class, sending_as
from bot.services import AnyApplication, services

PREFIX = "uq:"


def _help_row(pack: LanguagePack, region: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(pack.ui.help_button, callback_data=f"{CALLBACK_PREFIX}{region}")]


def question_keyboard(pack: LanguagePack, ref: str, region: str) -> InlineKeyboardMarkup:
    ask = pack.alerts.ask
    data = f"{PREFIX}{ref}:"
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(ask.yes_button, callback_data=data + "y"),
                InlineKeyboardButton(ask.no_button, callback_data=data + "n"),
            ],
            [InlineKeyboardButton(ask.rather_not_say_button, callback_data=data + "d")],
            _help_row(pack, region),
        ]
    )


def question_text(pack: LanguagePack, question: str) -> str:
    ask = pack.alerts.ask
    return f"{ask.intro}\n\n<b>{ask.questions[question]}</b>\n\n{ask.wait_note}"


async def ask_if_unsure(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    who: Who,
    result: safety.ScreenResult,
    evidence: str,
) -> bool:
    """Ask the client directly when the screen is unsure about their message and they may
    be asked now; True when the question was sent (nothing else answers the message)."""
    message, chat = update.effective_message, update.effective_chat
    band = band_of(safety.load_screener())
    if who.client is None or message is None or chat is None or band is None:
        return False
    if not unsure(result, band):
        return False
    assert who.client.id is not None
    svc = services(context)
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        may = await asking.may_ask(
            session, client_id=who.client.id, message_id=message.message_id, now=now
        )
        if may == "recent":
            return False  # the screen's own verdict stands (a same-day alert, or nothing)
        if may == "asked":
            return True  # its answer (or the question still open) covers this message
        category = result.category if result.category != "none" else "suicidal_ideation"
        question = await asking.ask(
            session,
            client_id=who.client.id,
            message_id=message.message_id,
            category=category,
            evidence=evidence,
            now=now,
        )
        ref = asking.question_ref(question)
    pack = svc.content.language(who.client.language)
    region = who.program.region if who.program is not None else svc.settings.default_region
    with sending_as(Priority.crisis):
        await chat.send_message(
            question_text(pack, question.question),
            reply_markup=question_keyboard(pack, ref, region),
            protect_content=True,
        )
    return True


@in_class(Priority.crisis)  # the question's answer leads to the crisis reply
async def answer_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Yes · No · I'd rather not say, under the question."""
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, ref, code = data_fields(query.data, 3)
    choice = asking.ANSWERS.get(code)
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        question = await asking.question_from_button(session, ref)
        if (
            who.client is None
            or question is None
            or question.client_id != who.client.id
            or choice is None
        ):
            # forged, old or not theirs: change nothing, and say so
            await _out_of_date(session, query, chat, context, who, help_=code in ("y", "d"))
            return
        outcome, alert = await asking.answer(
            session, content=svc.content, question=question, answer=choice, now=now
        )
        client = await session.get(Client, who.client.id)
        asked_about = question.question
    assert client is not None
    pack = svc.content.language(client.language)
    if outcome == "already":
        await query.answer(pack.alerts.ask.already_answered)
        return
    await query.answer()
    region = who.program.region if who.program is not None else svc.settings.default_region
    # The answer buttons go; 🆘 Help now stays. (A message too old to edit: the answer
    # counts all the same.)
    with suppress(BadRequest):
        await edit_buttons(query, InlineKeyboardMarkup([_help_row(pack, region)]))
    if outcome == "urgent":
        assert alert is not None
        send_now(context)
        # "Yes, I am in danger" is "I'm not safe": the numbers first. Otherwise the
        # urgent reply asks whether they are safe right now, as the ASQ goes on to.
        in_danger = asked_about == "danger" and choice == "yes"
        await reply_to_alert(chat, context, client, alert, ask_if_safe=not in_danger)
        return
    await chat.send_message(pack.alerts.ask.no_reply)
    if alert is not None:
        send_now(context)  # the late "no" goes to the team's alert


register_review(asking.review_unanswered)
register_review(conversation.review_forget)


def register(application: AnyApplication) -> None:
    application.add_handler(CallbackQueryHandler(answer_pressed, pattern=rf"^{PREFIX}"))
