"""🆘 Help now: the crisis card for anyone, enrolled or not, from anywhere in any flow.

`/help`, the "🆘 Help now" button (in every language's label) and any free text that
the safety screen finds concerning all lead here, before any other handler runs.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import safety
from bot.alerts import (
    FOLLOW_UP_ANSWERS,
    Finding,
    raise_alert,
    record,
    reopen,
    requeue_detail,
)
from bot.content import LanguagePack, render
from bot.db import session_scope
from bot.keyboards import NEW_MESSAGE, PRIVATE_NEW, data_fields
from bot.models import Alert, AlertTier, Client, Program
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


def screened_text(message: Message | None) -> str | None:
    """The words a person sent: a message's text (forwarded text too), the caption of any
    media (photo, video, document, audio, voice, animation), or an edit's new text."""
    if message is None:
        return None
    return message.text or message.caption or None


async def screen_free_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Screen every private text first (messages, captions, edits, forwards); a concerning
    one is answered now.

    Clinicians' messages are not screened: their notes about a client are not a
    disclosure. Someone not enrolled gets the crisis card; a client gets the crisis
    reply and their care team an alert. An edit raises one only when it is more urgent
    than what the message already raised.
    """
    message, user = update.effective_message, update.effective_user
    text = screened_text(message)
    if message is None or not text or user is None:
        return
    svc = services(context)
    async with svc.sessions() as session:
        who = await identify(session, user.id)
    if who.is_clinician:
        return
    result = safety.screen(text, who.language or user.language_code or "en")
    if result.urgency == "none":
        return
    edited = update.edited_message
    if (
        edited is not None
        and who.client is not None
        and not await _edit_more_urgent(context, who.client, edited, result)
    ):
        raise ApplicationHandlerStop  # the alert already raised stands; nothing new
    # Log the rule, never the words: logs are not a place for a client's health information.
    log.warning(
        "screen flagged update %s: %s/%s (%s)",
        update.update_id,
        result.urgency,
        result.category,
        result.rule,
    )
    if who.client is None:
        await send_crisis_card(update, context)
    else:
        await _crisis_reply(update, context, who, result, text)
    raise ApplicationHandlerStop


# Telegram's message date and this server's clock may differ a little.
_CLOCK_SLACK = timedelta(minutes=1)
_TIER_RANK = {"none": 0, AlertTier.same_day.value: 1, AlertTier.urgent.value: 2}


async def _edit_more_urgent(
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    edited: Message,
    result: safety.ScreenResult,
) -> bool:
    """Is the edit more urgent than what the message raised when it was sent (or since)?

    The original words are gone (an edit carries only the new ones), so what it raised is
    read back: the client's alerts from messages since it was sent (its date is the
    original's). Equal or less urgent: that alert already covers it.
    """
    since = edited.date - _CLOCK_SLACK
    async with services(context).sessions() as session:
        tiers = (
            await session.exec(
                select(Alert.tier).where(
                    Alert.client_id == client.id,
                    Alert.source == "message",
                    col(Alert.raised_at) >= since,
                )
            )
        ).all()
    raised = max((_TIER_RANK[AlertTier(t).value] for t in tiers), default=0)
    return _TIER_RANK[result.urgency] > raised


def _excerpt(text: str, result: safety.ScreenResult, width: int = 80) -> str:
    """The words that fired with a little context, for the clinician's private view."""
    if not result.evidence:
        return text[: 2 * width]
    first = result.evidence[0]
    start, end = max(0, first.start - width), min(len(text), first.end + width)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


async def _crisis_reply(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    who: Who,
    result: safety.ScreenResult,
    text: str,
) -> None:
    svc = services(context)
    chat = update.effective_chat
    assert chat is not None and who.client is not None
    now = datetime.now(UTC)
    finding = Finding(
        tier=AlertTier(result.urgency),
        category=result.category,
        rule=result.rule or "screen",
        evidence=_excerpt(text, result),
    )
    async with session_scope(svc.sessions) as session:
        client = await session.get(Client, who.client.id)
        assert client is not None
        alert = await raise_alert(
            session, content=svc.content, client=client, finding=finding, now=now
        )
    send_now(context)
    await reply_to_alert(chat, context, client, alert)


async def reply_to_alert(
    chat: Chat,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    alert: Alert,
    *,
    ask_if_safe: bool = True,
) -> None:
    """What the client reads at once when an alert is raised about them (a screened
    message, a check-in answer): for urgent, "are you safe?", the card, who was told and
    their safety plan; for same day, what happens next and, where it fits, the card."""
    svc = services(context)
    async with svc.sessions() as session:
        program = await session.get(Program, client.program_id)
        assert program is not None
        plan = await _safety_plan(session, client, svc.content.language(client.language))
        aftercare = await _aftercare_plan(session, client, svc.content.language(client.language))
    pack = svc.content.language(client.language)
    reply = pack.alerts.reply
    card = pack.crisis_card(program.region)
    if alert.tier is AlertTier.urgent and not ask_if_safe:
        # They already said they are not safe: the numbers first, then who was told.
        await chat.send_message(card, protect_content=True)
    if alert.tier is AlertTier.urgent and ask_if_safe:
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(reply.safe_button, callback_data=f"cr:safe:{alert.id}"),
                    InlineKeyboardButton(
                        reply.not_safe_button, callback_data=f"cr:unsafe:{alert.id}"
                    ),
                ],
                [InlineKeyboardButton(reply.call_button, callback_data=f"cr:call:{alert.id}")],
            ]
        )
        await chat.send_message(reply.urgent_opening, reply_markup=buttons)
        await chat.send_message(card, protect_content=True)
    if alert.tier is AlertTier.urgent:
        told = (
            reply.told_on_call
            if program.on_call_24_7
            else render(reply.told_no_on_call, hours=program.care_team_hours or reply.later_today)
        )
        await chat.send_message(told)
        if plan:
            await chat.send_message(f"{reply.safety_plan_intro}\n\n{plan}", protect_content=True)
        if aftercare:
            await chat.send_message(aftercare, protect_content=True)
        return
    parts = [reply.same_day]
    if alert.category == "high_craving":
        parts.append(reply.same_day_craving)
    elif alert.category == "relapse_or_use":
        parts.append(reply.same_day_use)
    await chat.send_message(
        "\n\n".join(parts), protect_content=True, reply_markup=_skill_keyboard(alert, pack)
    )
    if alert.category in _CARD_WITH_SAME_DAY:
        await chat.send_message(card, protect_content=True)


# Same-day findings whose reply carries the crisis card too (mood, suicide, safety).
_CARD_WITH_SAME_DAY = {
    "suicidal_ideation",
    "suicide_screen",
    "low_mood",
    "self_harm",
    "harm_to_others",
    "unsafe_or_abuse",
    "overdose_or_medical",
}


def _skill_keyboard(alert: Alert, pack: LanguagePack) -> InlineKeyboardMarkup | None:
    """A strong craving gets urge surfing one tap away (SPEC §5.1 Tier 1: the relevant
    skill), when the Breathe feature is installed."""
    if alert.category != "high_craving":
        return None
    try:
        from bot.features.breathe import urge_surfing_button
    except ImportError:
        return None
    return InlineKeyboardMarkup([[urge_surfing_button(pack, source="s")]])


async def _safety_plan(session: AsyncSession, client: Client, pack: LanguagePack) -> str | None:
    """The client's own safety plan, when the safety-plan feature is installed."""
    try:
        from bot.features.safetyplan import safety_plan_text
    except ImportError:
        return None
    assert client.id is not None
    return await safety_plan_text(session, client.id, pack)


async def _aftercare_plan(session: AsyncSession, client: Client, pack: LanguagePack) -> str | None:
    """The short form of the client's aftercare plan, beside the safety plan."""
    try:
        from bot.features.aftercare import aftercare_plan_text
    except ImportError:
        return None
    assert client.id is not None
    return await aftercare_plan_text(session, client.id, pack)


def send_now(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Alerts must not wait for the next tick: start a drain now (the outbox has them)."""
    try:
        from bot.features.delivery import delivery_engine

        delivery_engine(context).kick()
    except (ImportError, KeyError):
        log.warning("no delivery engine in this process; the alert waits for a dispatcher")


async def _own_alert(
    session: AsyncSession, telegram_user_id: int, alert_id: str
) -> tuple[Who, Alert | None]:
    """The presser, and the alert named in the button's data if it is their own (button
    data can be forged: another client's alert id finds nothing)."""
    who = await identify(session, telegram_user_id)
    alert = await session.get(Alert, int(alert_id)) if alert_id.isdigit() else None
    if who.client is None or alert is None or alert.client_id != who.client.id:
        return who, None
    return who, alert


async def safety_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The client's answer to "Are you safe right now?" (or a tap on Call options)."""
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, answer, alert_id = data_fields(query.data, 3)
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        who, alert = await _own_alert(session, user.id, alert_id)
        if who.client is None or alert is None or answer not in ("safe", "unsafe", "call"):
            await query.answer()  # forged, old or not theirs: change nothing
            return
        program = await session.get(Program, alert.program_id)
        assert program is not None
        pack = svc.content.language(who.client.language)
        if answer in ("safe", "unsafe"):
            action = "safe" if answer == "safe" else "not_safe"
            if await record(session, alert=alert, action=action, clinician=None, now=now):
                await requeue_detail(session, svc.content, alert, now, reason=action)
    await query.answer()
    reply = pack.alerts.reply
    card = pack.crisis_card(program.region)
    if answer == "unsafe":
        # The emergency numbers first, then the rest.
        await chat.send_message(reply.not_safe)
        await chat.send_message(card, protect_content=True)
    elif answer == "safe":
        await chat.send_message(reply.safe_now)
    else:
        await chat.send_message(card, protect_content=True)
    if answer != "call":
        send_now(context)


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


async def follow_up_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The client's answer to the next day's question; "no one reached me" reopens."""
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, alert_id, answer = data_fields(query.data, 3)
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        who, alert = await _own_alert(session, user.id, alert_id)
        action = FOLLOW_UP_ANSWERS.get(answer)
        if who.client is None or alert is None or not action:
            await query.answer()  # forged, old or not theirs: change nothing
            return
        if not await record(session, alert=alert, action=action, clinician=None, now=now):
            await query.answer()
            return
        if answer == "none":
            reopen(alert)
            await requeue_detail(session, svc.content, alert, now, reason="not_reached")
        pack = svc.content.language(who.client.language)
    await query.answer()
    reply = pack.alerts.reply
    text = {"worse": reply.followup_worse, "none": reply.followup_not_reached}.get(
        answer, reply.followup_thanks
    )
    await chat.send_message(text)
    if answer == "none":
        send_now(context)


def register(application: AnyApplication) -> None:
    content = services(application).content
    help_labels = sorted({content.language(code).ui.help_button for code in content.languages})
    private = PRIVATE_NEW
    # /help works in any chat: the card carries no client information.
    application.add_handler(CommandHandler("help", help_now, filters=NEW_MESSAGE), SCREEN_GROUP)
    application.add_handler(
        MessageHandler(private & filters.Text(help_labels), help_now), SCREEN_GROUP
    )
    # Every text a person sends: new messages and edits, text and media captions.
    sent_or_edited = filters.UpdateType.MESSAGE | filters.UpdateType.EDITED_MESSAGE
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE
            & sent_or_edited
            & (filters.TEXT | filters.CAPTION)
            & ~filters.COMMAND,
            screen_free_text,
        ),
        SCREEN_GROUP + 1,
    )
    application.add_handler(CallbackQueryHandler(region_pressed, pattern=r"^help:"))
    application.add_handler(CallbackQueryHandler(safety_answer, pattern=r"^cr:"))
    application.add_handler(CallbackQueryHandler(follow_up_answer, pattern=r"^fu:"))
