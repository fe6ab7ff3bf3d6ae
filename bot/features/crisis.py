"""🆘 Help now: the crisis card for anyone, enrolled or not, from anywhere in any flow.

`/help`, the "🆘 Help now" button (in every language's label) and any free text that
the safety screen finds concerning all lead here, before any other handler runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import conversation, free_text, safety
from bot.alert_why import why_text
from bot.alerts import (
    FOLLOW_UP_ANSWERS,
    Finding,
    alert_from_button,
    alert_ref,
    raise_alert,
    record,
    reopen,
    requeue_detail,
    team_reachable,
    unreached_text,
)
from bot.careteam_promise import promise_sentence
from bot.content import LanguagePack, render
from bot.db import session_scope
from bot.keyboards import NEW_MESSAGE, PRIVATE_NEW, data_fields
from bot.models import Alert, AlertTier, Client, Program
from bot.people import Who, crisis_region, identify
from bot.scheduling.priority import Priority, in_class, sending_as
from bot.sealed import SealedTextError
from bot.services import AnyApplication, services

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "help:"
REGIONS_DATA = "help:regions"
MORE_HELP_PREFIX = "help:more:"

# Handlers in this group run before every feature's own handlers.
SCREEN_GROUP = -10


def _card_keyboard(pack: LanguagePack, region: str) -> InlineKeyboardMarkup:
    """Under every card: the rest of the region's help (domestic violence, poison help,
    naloxone steps, …) one tap away, and the other regions' cards."""
    rows = [[InlineKeyboardButton(pack.ui.other_regions_button, callback_data=REGIONS_DATA)]]
    if pack.crisis_more_help_parts(region):
        more = InlineKeyboardButton(
            pack.ui.more_help_button, callback_data=f"{MORE_HELP_PREFIX}{region}"
        )
        rows.insert(0, [more])
    return InlineKeyboardMarkup(rows)


# Findings whose right resources are on the "More help" list rather than the card's first
# lines (domestic-violence line; poison help, naloxone and "stay with them"): sent with
# the card, not one tap away.
_MORE_HELP_WITH_CARD = {"unsafe_or_abuse", "overdose_or_medical"}


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
    await chat.send_message(pack.crisis_card(region), reply_markup=_card_keyboard(pack, region))


async def help_now(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    with sending_as(Priority.crisis):
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
    lang = who.language or user.language_code or "en"
    edited = update.edited_message
    if who.client is None:
        result = safety.screen(text, lang)
        evidence = _excerpt(text, result)
    else:
        # A client's message is read with their last few of the last 30 minutes.
        result, evidence, in_conversation = await _screen_in_conversation(
            context, who.client, message, text, lang, edited
        )
        from bot.features.ask_when_unsure import ask_if_unsure  # (it imports this module)

        try:
            asked = in_conversation and await ask_if_unsure(update, context, who, result, evidence)
        except Exception:  # asking is a refinement: the screen's own verdict still stands
            log.exception(
                "asking about update %s failed; the screen's verdict stands", update.update_id
            )
            asked = False
        if asked:
            raise ApplicationHandlerStop  # the question is the whole answer for now
    if result.urgency == "none":
        return
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
    # The crisis class: these replies take the next send slot, ahead of any backlog.
    with sending_as(Priority.crisis):
        if who.client is None:
            await send_crisis_card(update, context)
        else:
            await _crisis_reply(update, context, who, result, evidence, text)
    if who.client is not None:
        # Back after a quiet week: "Waypoint is a program" waited for the reply.
        from bot.features.program_reminder import send_pending

        await send_pending(update, context)
    raise ApplicationHandlerStop


async def _screen_in_conversation(
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    message: Message,
    text: str,
    lang: str,
    edited: Message | None,
) -> tuple[safety.ScreenResult, str, bool]:
    """Screen a client's message with their recent ones (bot/conversation.py), and keep a
    new one for the next 30 minutes (an edit replaces nothing: its words were read).
    Returns the result, the words the care team would see (when the earlier messages
    made the difference, those first), and whether it was conversation: a line typed
    into a plan is screened alone and not kept."""
    assert client.id is not None
    now = datetime.now(UTC)
    async with session_scope(services(context).sessions) as session:
        if await conversation.typing_for_a_plan(session, client_id=client.id):
            result = safety.screen(text, lang)
            return result, _excerpt(text, result), False
        try:
            recent = await conversation.history(
                session,
                client_id=client.id,
                now=now,
                before_message=message.message_id if edited is not None else None,
            )
        except SealedTextError:  # sealed with another key: this message is still screened
            log.error("recent messages of client %s cannot be opened; screened alone", client.id)
            recent = []
        result = safety.screen(text, lang, history=recent, now=now)
        if edited is None:
            await conversation.remember(
                session, client_id=client.id, message_id=message.message_id, text=text, now=now
            )
    evidence = _excerpt(text, result)
    if result.context:
        earlier = [_short(recent[i][0]) for i in result.context if i < len(recent)]
        evidence = " / ".join([*earlier, evidence])
    return result, evidence, True


def _short(text: str, width: int = 80) -> str:
    return text if len(text) <= width else "…" + text[-width:]


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
    evidence: str,
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
        evidence=evidence,
        why=why_text(svc.content, result, text),
    )
    async with session_scope(svc.sessions) as session:
        client = await session.get(Client, who.client.id)
        assert client is not None
        alert = await raise_alert(
            session, content=svc.content, client=client, finding=finding, now=now
        )
    send_now(context)
    pack = svc.content.language(client.language)
    await reply_to_alert(chat, context, client, alert, checks=checks_for(pack, result, text))


# The screen's rule for stopping alcohol or a benzodiazepine all at once (issue 17).
WITHDRAWAL_RULE = "od.withdrawal_danger"


@dataclass(frozen=True)
class Checks:
    """What a screened message adds to the reply: the seizure warning after stopping
    alcohol or benzos all at once; "are you alone?" to someone drunk or high now, and
    the overdose-safety card when they name opioids or sedatives."""

    texts: tuple[str, ...] = ()
    overdose_card: bool = False


def checks_for(pack: LanguagePack, result: safety.ScreenResult, text: str) -> Checks:
    checks = pack.alerts.checks
    rules = {result.rule, *(e.rule for e in result.evidence)}
    texts: list[str] = []
    if WITHDRAWAL_RULE in rules:
        texts.append(checks.withdrawal)
    overdose = False
    use = result.category == "relapse_or_use" or any(
        e.category == "relapse_or_use" for e in result.evidence
    )
    if use and free_text.drunk_or_high_now(
        text, checks.drunk_or_high, checks.now_before, checks.now_after
    ):
        texts.append(checks.are_you_alone)
        overdose = free_text.names_any(text, checks.sedating)
    return Checks(tuple(texts), overdose)


async def _send_checks(chat: Chat, pack: LanguagePack, checks: Checks, lead: str = "") -> None:
    text = "\n\n".join([t for t in (lead, *checks.texts) if t])
    if text:
        await chat.send_message(text, protect_content=True)
    if checks.overdose_card:
        await chat.send_message(pack.checkin.overdose_card, protect_content=True)


@in_class(Priority.crisis)
async def reply_to_alert(
    chat: Chat,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    alert: Alert,
    *,
    ask_if_safe: bool = True,
    checks: Checks | None = None,
) -> None:
    """What the client reads at once when an alert is raised about them (a screened
    message, a check-in answer): for urgent, "are you safe?", the card, who was told and
    their safety plan; for same day, what happens next and, where it fits, the card.

    A later message grouped into the same alert is not answered with all of it again: a
    short "I got this too" at most once a minute (a burst of fifty messages gets one
    reply, not fifty cards). "I'm not safe" (ask_if_safe=False) always gets the card."""
    svc = services(context)
    checks = checks or Checks()
    kind = await _reply_kind(svc.sessions, alert, full=not ask_if_safe)
    if kind != "full":
        if kind == "ack":
            # The short "got this too", with what this message needs said (a seizure
            # warning, "are you alone?") even when it joins an open alert.
            pack = svc.content.language(client.language)
            await _send_checks(chat, pack, checks, lead=pack.alerts.reply.repeat_ack)
        return
    async with svc.sessions() as session:
        program = await session.get(Program, client.program_id)
        assert program is not None
        plan = await _safety_plan(session, client, svc.content.language(client.language))
        aftercare = await _aftercare_plan(session, client, svc.content.language(client.language))
        # Say only what is true: nothing on its way to anyone means nobody was told.
        reachable = await team_reachable(session, alert)
    pack = svc.content.language(client.language)
    reply = pack.alerts.reply
    if alert.tier is AlertTier.urgent and not ask_if_safe:
        # They already said they are not safe: the numbers first, then who was told.
        await _send_card(chat, pack, program.region, alert.category)
    if alert.tier is AlertTier.urgent and ask_if_safe:
        ref = alert_ref(alert)
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(reply.safe_button, callback_data=f"cr:safe:{ref}"),
                    InlineKeyboardButton(reply.not_safe_button, callback_data=f"cr:unsafe:{ref}"),
                ],
                [InlineKeyboardButton(reply.call_button, callback_data=f"cr:call:{ref}")],
            ]
        )
        await chat.send_message(reply.urgent_opening, reply_markup=buttons)
        await _send_card(chat, pack, program.region, alert.category)
    if alert.tier is AlertTier.urgent:
        told = (
            reply.team_unreached
            if not reachable
            else reply.told_on_call
            if program.on_call_24_7
            else render(reply.told_no_on_call, promise=_promise(pack, program))
        )
        await chat.send_message(told)
        await _send_checks(chat, pack, checks)
        if plan:
            await chat.send_message(f"{reply.safety_plan_intro}\n\n{plan}", protect_content=True)
        if aftercare:
            await chat.send_message(aftercare, protect_content=True)
        return
    if not reachable:
        await chat.send_message(unreached_text(svc.content, client, program), protect_content=True)
    parts = [render(reply.same_day, promise=_promise(pack, program))] if reachable else []
    if alert.category == "high_craving":
        parts.append(reply.same_day_craving)
    elif alert.category == "relapse_or_use":
        parts.append(reply.same_day_use)
    parts += checks.texts
    if parts:
        await chat.send_message(
            "\n\n".join(parts), protect_content=True, reply_markup=_skill_keyboard(alert, pack)
        )
    if checks.overdose_card:
        await chat.send_message(pack.checkin.overdose_card, protect_content=True)
    if alert.category in _CARD_WITH_SAME_DAY and reachable:
        await _send_card(chat, pack, program.region, alert.category)


async def _send_card(chat: Chat, pack: LanguagePack, region: str, category: str) -> None:
    """The crisis card, and for abuse or an overdose the resources that fit it at once."""
    await chat.send_message(
        pack.crisis_card(region),
        protect_content=True,
        reply_markup=_card_keyboard(pack, region),
    )
    if category in _MORE_HELP_WITH_CARD and pack.crisis_more_help_parts(region):
        await chat.send_message(pack.crisis_more_help(region), protect_content=True)


def card_keyboard(pack: LanguagePack, region: str) -> InlineKeyboardMarkup:
    """The buttons under a crisis card (More help, other regions)."""
    return _card_keyboard(pack, region)


def promise_now(pack: LanguagePack, program: Program) -> str:
    """The promise sentence for this moment (also for the check-in's weekly questions)."""
    return _promise(pack, program)


def _promise(pack: LanguagePack, program: Program) -> str:
    """When the team will see this, said truthfully for this moment: from the program's
    office hours, on-call setting and time zone (never a promise of a call)."""
    return promise_sentence(
        pack.alerts.promise,
        datetime.now(UTC),
        program.timezone,
        program.care_team_hours,
        program.on_call_24_7,
        pack.checkin.weekdays,
    )


# A later message of a burst gets the short acknowledgement at most this often.
ACK_EVERY = timedelta(minutes=1)
# A message grouped into an alert whose full reply is older than this gets it again.
REPLY_AGAIN = timedelta(minutes=30)


async def _reply_kind(
    sessions: async_sessionmaker[AsyncSession], alert: Alert, *, full: bool
) -> str:
    """ "full" when the client gets the whole reply about this alert now (the first time,
    or `full`), "ack" for the short acknowledgement, "none" within a minute of the last
    one. Recorded on the alert, so a burst is answered once whichever worker handles it."""
    now = datetime.now(UTC)
    async with session_scope(sessions) as session:
        row = await session.get(Alert, alert.id)
        if row is None:
            return "full"
        if row.client_replied_at is None or full or now - row.client_replied_at >= REPLY_AGAIN:
            row.client_replied_at = now
            return "full"
        if row.client_acked_at is not None and now - row.client_acked_at < ACK_EVERY:
            return "none"
        row.client_acked_at = now
        return "ack"


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
    session: AsyncSession, telegram_user_id: int, ref: str
) -> tuple[Who, Alert | None]:
    """The presser, and the alert named in the button's data if it still names it and it
    is their own (button data can be forged: another client's alert finds nothing)."""
    who = await identify(session, telegram_user_id)
    alert = await alert_from_button(session, ref)
    if who.client is None or alert is None or alert.client_id != who.client.id:
        return who, None
    return who, alert


async def _out_of_date(
    session: AsyncSession,
    query: CallbackQuery,
    chat: Chat,
    context: ContextTypes.DEFAULT_TYPE,
    who: Who,
    help_: bool,
) -> None:
    """An old or forged alert button changes nothing; one that asked for help still
    gets the crisis card (help is never withheld because a button is old)."""
    svc = services(context)
    pack = svc.content.language(who.language)
    await query.answer(pack.alerts.reply.out_of_date, show_alert=not help_)
    if help_:
        region = await crisis_region(session, who, svc.settings.default_region)
        await chat.send_message(pack.crisis_card(region), protect_content=True)


@in_class(Priority.crisis)
async def safety_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The client's answer to "Are you safe right now?" (or a tap on Call options)."""
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, answer, ref = data_fields(query.data, 3)
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        who, alert = await _own_alert(session, user.id, ref)
        if who.client is None or alert is None or answer not in ("safe", "unsafe", "call"):
            # forged, old or not theirs: change nothing
            await _out_of_date(
                session, query, chat, context, who, help_=answer in ("unsafe", "call")
            )
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
    if answer == "unsafe":
        # The emergency numbers first, then the rest.
        await chat.send_message(reply.not_safe)
        await _send_card(chat, pack, program.region, alert.category)
    elif answer == "safe":
        await chat.send_message(reply.safe_now)
    else:
        await _send_card(chat, pack, program.region, alert.category)
    if answer != "call":
        send_now(context)


@in_class(Priority.crisis)
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
    more = query.data.startswith(MORE_HELP_PREFIX)
    region = query.data.removeprefix(MORE_HELP_PREFIX if more else CALLBACK_PREFIX)
    if region not in content.regions:
        # Forged or outdated data: still show help, for the person's own region.
        _, region = await _who_and_pack(update, context)
    if more and pack.crisis_more_help_parts(region):
        await chat.send_message(pack.crisis_more_help(region), protect_content=True)
        return
    await chat.send_message(pack.crisis_card(region), reply_markup=_card_keyboard(pack, region))


@in_class(Priority.crisis)
async def follow_up_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The client's answer to the next day's question; "no one reached me" reopens."""
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, ref, answer = data_fields(query.data, 3)
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        who, alert = await _own_alert(session, user.id, ref)
        action = FOLLOW_UP_ANSWERS.get(answer)
        if who.client is None or alert is None or not action:
            # forged, old or not theirs: change nothing
            await _out_of_date(
                session, query, chat, context, who, help_=answer in ("worse", "none")
            )
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
