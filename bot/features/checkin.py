"""The daily check-in in the chat: one question per message, every answer saved on arrival.

Started from the prompt's button, from "✅ Check in" in the menu, or resumed the same way
after a pause, a crisis reply or a restart. Buttons carry `ck:<check-in id>:<step>:<value>`
and are checked against the database on every tap (bot/checkin/store.py). Typed text is
screened by the safety net first (group -9); what reaches this module is a number for a
0-10 question, the optional note, or text that needs a kind pointer back to the buttons.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import safety
from bot.checkin import charts, ending, items, reports, rules, store
from bot.checkin.items import Shape
from bot.checkin.stats import last_days, streak, trend
from bot.content import LanguagePack, render
from bot.db import session_scope
from bot.features import crisis
from bot.features.breathe import urge_surfing_button
from bot.invites import normalize_code
from bot.keyboards import PRIVATE_NEW, data_fields, edit_buttons, main_menu
from bot.models import (
    AftercarePlan,
    Alert,
    AlertTier,
    CheckIn,
    Client,
    ClientStatus,
    Clinician,
    Delivery,
    Program,
    SafetyPlan,
    Screening,
)
from bot.people import identify
from bot.progress_view import ProgressPart, register_progress_section
from bot.roster import audit, clinicians_client
from bot.scheduling.builtin_kinds import CHECKIN_CALLBACK_PREFIX
from bot.scheduling.engine import register_review
from bot.scheduling.kinds import CHECKIN
from bot.services import AnyApplication, services

log = logging.getLogger(__name__)

# After the safety screen (-9); before the safety plan's (-5), aftercare's (-4) and the
# session flow's (-3) typed answers, which are each one wide handler in their own group.
# Those forms win: a line typed into them is theirs (see _typing_elsewhere).
TYPED_GROUP = -6
# Before the safety screen (crisis.py: -10 and -9), after the safety plan's save (-15):
# the note is saved first, so a note the screen answers with the crisis path is kept.
NOTE_SAVE_GROUP = -12
NOTE_MAX = 2000  # characters of a note kept
PREFIX = "ck"


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- rendering a question ----------------------------------------------------------------


def _options(pack: LanguagePack, step: str) -> dict[str, str]:
    texts = pack.checkin
    source = {
        "sleep_hours": texts.sleep_hours.options,
        "sleep_quality": texts.sleep_quality.options,
        "triggers": texts.triggers.options,
        "use": texts.use.options,
        "substances": texts.substances.options,
        "safe_now": texts.safe_now.options,
        "medicine": texts.medicine.options,
        "support": texts.support.options,
    }.get(step)
    if source is None and step.startswith("asq_"):
        source = texts.asq.options
    return dict(source) if source is not None else {}


def question_text(pack: LanguagePack, step: str, *, first_screen: bool) -> str:
    texts = pack.checkin
    asq = texts.asq
    return {
        "craving": texts.craving.text,
        "mood": texts.mood.text,
        "sleep_hours": texts.sleep_hours.text,
        "sleep_quality": texts.sleep_quality.text,
        "triggers": texts.triggers.text,
        "use": texts.use.text,
        "substances": texts.substances.text,
        "safe_now": texts.safe_now.text,
        "medicine": texts.medicine.text,
        "confidence": texts.confidence.text,
        "support": texts.support.text,
        # The first screen asks "past few weeks" and "ever"; later ones, "since the last
        # time I asked" (the clinician's alert says which).
        "asq_wished": f"{asq.intro}\n\n"
        + (asq.wished_dead if first_screen else asq.wished_dead_since),
        "asq_better": asq.better_off_dead if first_screen else asq.better_off_dead_since,
        "asq_thoughts": asq.thoughts if first_screen else asq.thoughts_since,
        "asq_tried": asq.ever_tried if first_screen else asq.tried_since,
        "asq_how": asq.how_when,
        "asq_now": asq.right_now,
        "note": texts.note.text,
    }[step]


def question_keyboard(pack: LanguagePack, checkin: CheckIn, step: str) -> InlineKeyboardMarkup:
    spec = items.STEPS[step]

    def data(value: str) -> str:
        return f"{PREFIX}:{checkin.id}:{step}:{value}"

    if spec.shape is Shape.scale:
        rows = [
            [InlineKeyboardButton(str(n), callback_data=data(str(n))) for n in range(0, 6)],
            [InlineKeyboardButton(str(n), callback_data=data(str(n))) for n in range(6, 11)],
        ]
    elif spec.shape is Shape.text:
        rows = [[InlineKeyboardButton(pack.checkin.note.skip_button, callback_data=data("skip"))]]
    elif spec.shape is Shape.multi:
        chosen = set(items.split_keys(getattr(checkin, step)))
        labels = _options(pack, step)
        buttons = [
            InlineKeyboardButton(
                ("✓ " if key in chosen else "") + labels[key], callback_data=data(key)
            )
            for key in spec.options
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        last = []
        if step == "triggers":
            last.append(
                InlineKeyboardButton(pack.checkin.triggers.none_button, callback_data=data("none"))
            )
            done = pack.checkin.triggers.done_button
        else:
            done = pack.checkin.substances.done_button
        last.append(InlineKeyboardButton(done, callback_data=data("done")))
        rows.append(last)
    else:
        labels = _options(pack, step)
        buttons = [InlineKeyboardButton(labels[k], callback_data=data(k)) for k in spec.options]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(rows)


def answer_label(pack: LanguagePack, step: str, value: str, selected: list[str]) -> str:
    spec = items.STEPS[step]
    if spec.shape is Shape.scale:
        return f"{value}/10"
    if spec.shape is Shape.text:
        return pack.checkin.note.skip_button
    labels = _options(pack, step)
    if spec.shape is Shape.multi:
        if value == items.NONE or not selected:
            return pack.checkin.triggers.none_button
        return ", ".join(labels[k] for k in selected)
    return labels[value]


# --- sending ------------------------------------------------------------------------------


async def _first_screen(
    client: Client, checkin: CheckIn, context: ContextTypes.DEFAULT_TYPE
) -> bool:
    svc = services(context)
    async with svc.sessions() as session:
        assert client.id is not None
        return not await store.asked_before(session, client.id, checkin.local_date)


async def ask(
    chat: Chat, context: ContextTypes.DEFAULT_TYPE, client: Client, checkin: CheckIn
) -> None:
    """Send the question waiting."""
    step = checkin.step
    if step is None:
        return
    pack = services(context).content.language(client.language)
    # "Past few weeks" and "ever" the first time, "since the last time" after that (ASQ).
    first = await _first_screen(client, checkin, context) if step in items.ASQ_STEPS else False
    text = question_text(pack, step, first_screen=first)
    await chat.send_message(text, reply_markup=question_keyboard(pack, checkin, step))


async def _client(
    context: ContextTypes.DEFAULT_TYPE, user_id: int
) -> tuple[Client | None, Program | None]:
    async with services(context).sessions() as session:
        who = await identify(session, user_id)
    return who.client, who.program if who.client else None


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "✅ Check in" from the menu (or the prompt's button): start, resume or go again."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    svc = services(context)
    client, program = await _client(context, user.id)
    pack = svc.content.language(client.language if client else user.language_code)
    if client is None or program is None:
        await chat.send_message(pack.checkin.not_enrolled)
        return
    if client.status is ClientStatus.paused:
        await chat.send_message(pack.checkin.paused, reply_markup=main_menu(pack))
        return
    async with session_scope(svc.sessions) as session:
        opened = await store.open_checkin(session, client, program, now_utc())
    lead = {
        "new": pack.checkin.start,
        "again": pack.checkin.start_again,
        "resume": pack.checkin.resume,
    }[opened.how]
    await chat.send_message(lead, reply_markup=main_menu(pack))
    await ask(chat, context, client, opened.checkin)


async def prompt_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The button under the daily prompt (and its nudge): `ci:<prompt delivery id>`."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and query.data is not None and chat is not None
    await query.answer()
    svc = services(context)
    async with svc.sessions() as session:
        prompt = await session.get(Delivery, int(query.data.removeprefix(CHECKIN_CALLBACK_PREFIX)))
    # Callback data can be forged: only a prompt sent to this very chat counts.
    if prompt is None or prompt.kind != CHECKIN.name or prompt.recipient_chat_id != chat.id:
        return
    await start(update, context)


# --- answering ----------------------------------------------------------------------------


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, checkin_id, step, value = data_fields(query.data, 4)
    await _answer(update, context, checkin_id, step, value, query=query)


async def _answer(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    checkin_id: str,
    step: str,
    value: str,
    *,
    query: CallbackQuery | None = None,
    note: str | None = None,
) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    svc = services(context)
    now = now_utc()
    # Who is answering is read in the answer's own transaction, with the check-in: one
    # statement before the answer's write, on the path the client waits on.
    async with session_scope(svc.sessions) as session:
        client, program, answered = await store.answering(
            session, user.id, int(checkin_id) if checkin_id.isdigit() else 0
        )
        result = None
        if client is not None and program is not None:
            result = await store.answer(
                session,
                content=svc.content,
                client=client,
                checkin=answered,
                step=step,
                value=value,
                now=now,
                note=note,
                update_id=update.update_id,
                program=program,
            )
    pack = svc.content.language(client.language if client else user.language_code)
    if result is None or client is None or program is None:
        if query is not None:
            await query.answer(pack.checkin.not_valid)
        return
    checkin = result.checkin
    if result.status != "ok" or checkin is None:
        if query is not None:
            await query.answer(
                pack.checkin.already_answered
                if result.status == "stale"
                else pack.checkin.not_valid
            )
        return
    if result.alerts:
        crisis.send_now(context)
    if not result.advanced:
        # A toggle: show the ticks on the same message.
        if query is not None:
            keyboard = question_keyboard(pack, checkin, step)
            await asyncio.gather(query.answer(), _quiet(edit_buttons(query, keyboard)))
        return
    saved = pack.checkin.asq.how_when_saved if step == "asq_how" else pack.checkin.note.saved
    label = saved if note else answer_label(pack, step, value, result.selected)
    # The tap's acknowledgement, the edit showing the answer and the next question go
    # out together: three requests in flight at once instead of one after another.
    shown: list[Awaitable[object]] = []
    if query is not None:
        shown.append(query.answer())
        if query.message is not None and not note:
            original = getattr(query.message, "text_html", None) or ""
            answered = render(pack.checkin.answer_shown, answer=label)
            shown.append(_quiet(query.edit_message_text(f"{original}\n\n<b>{answered}</b>")))
    elif note:
        shown.append(chat.send_message(saved))
    urgent = [a for a in result.alerts if a.tier is AlertTier.urgent]
    if not urgent and result.asq is None and not result.asq_positive and checkin.step is not None:
        await asyncio.gather(*shown, ask(chat, context, client, checkin))
        return
    await asyncio.gather(*shown)
    if urgent:
        # Safety first: the crisis reply, and the check-in waits until they come back.
        if step == "safe_now":
            await chat.send_message(pack.checkin.not_safe_reply)
        for alert in urgent:
            await crisis.reply_to_alert(
                chat, context, client, alert, ask_if_safe=step != "safe_now"
            )
        await chat.send_message(pack.checkin.resumed_after_help)
        return
    if result.asq_positive:
        # Right after the first yes, not at the end: a client who stops here has read
        # that the team was told, and the help lines. When the team will see it, said
        # truthfully for this moment (never a call).
        promise = crisis.promise_now(pack, program)
        await chat.send_message(render(pack.checkin.asq.positive, promise=promise))
        await chat.send_message(pack.crisis_card(program.region), protect_content=True)
    elif result.asq == "negative":
        await chat.send_message(pack.checkin.asq.negative)
    if checkin.step is not None:
        await ask(chat, context, client, checkin)
        return
    await finish(chat, context, client, program, checkin)


async def _quiet(edit: object) -> None:
    """An edit that fails (the message is too old, or unchanged) loses nothing."""
    try:
        await edit  # type: ignore[misc]
    except BadRequest as exc:
        log.info("check-in edit not applied: %s", exc)


async def save_note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before the safety screen: a line typed while the check-in waits for its note is
    saved as the note, and that ends the check-in. Never answers and never stops the
    update: the screen comes next (a note with risk words gets the crisis path and its
    alert), then `typed` says the note was saved and finishes."""
    message, user = update.effective_message, update.effective_user
    if message is None or not message.text or user is None:
        return
    try:
        answered = await _save_note(update, context, user.id, message.text, message.message_id)
    except Exception as exc:  # the screen must run whatever happened here
        # The error's type only: a database error's text can carry the note itself. The
        # note is saved after the screen instead (typed), unless the screen answers it.
        log.warning(
            "check-in note of update %s not saved before the screen: %s",
            update.update_id,
            type(exc).__name__,
        )
        return
    if answered:
        raise ApplicationHandlerStop


async def _save_note(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user_id: int, text: str, message_id: int
) -> bool:
    """Save a typed note (the screen runs next), or answer the risk questions' "how and
    when" (True: answered here, the screen's own reply is not needed)."""
    svc = services(context)
    client, program = await _client(context, user_id)
    if client is None or program is None or client.id is None:
        return False
    if await _typing_elsewhere(context, client, message_id):
        return False
    how_when: CheckIn | None = None
    async with session_scope(svc.sessions) as session:
        checkin = await _waiting(session, client, program, update.update_id)
        if checkin is not None and checkin.step == "asq_how":
            how_when = checkin
        elif checkin is not None and checkin.step == "note":
            await store.answer(
                session,
                content=svc.content,
                client=client,
                checkin=checkin,
                step="note",
                value=items.SKIP,
                now=now_utc(),
                note=text[:NOTE_MAX],
                update_id=update.update_id,
                program=program,
            )
    if how_when is not None:
        return await _how_when(update, context, client, how_when, text)
    return False


async def _how_when(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    checkin: CheckIn,
    text: str,
) -> bool:
    """The typed "how and when" after a yes to "tried". It is a disclosure we asked for:
    it goes to the clinician with the risk questions' own alert (positive, so at least
    same day), and the acuity question comes next. Words of danger now (the screen's
    urgent) get the crisis path at once instead; the answer is saved first either way."""
    urgent = safety.screen(text, client.language or "en").urgency == "urgent"
    if urgent:
        async with session_scope(services(context).sessions) as session:
            program = await session.get(Program, client.program_id)
            await store.answer(
                session,
                content=services(context).content,
                client=client,
                checkin=await session.get(CheckIn, checkin.id),
                step="asq_how",
                value=items.SKIP,
                now=now_utc(),
                note=text[:NOTE_MAX],
                update_id=update.update_id,
                program=program,
            )
        return False  # the screen answers it, with its alert
    await _answer(update, context, str(checkin.id), "asq_how", items.SKIP, note=text)
    return True


async def _waiting(
    session: AsyncSession, client: Client, program: Program, update_id: int
) -> CheckIn | None:
    """The check-in waiting for a typed answer, or the one this very update's note ended
    (saved before the screen, by save_note)."""
    today = store.local_today(client, program, now_utc())
    for c in await store.history(session, client.id or 0):
        if c.step is None and c.last_update_id == update_id:
            return c
        if c.step is not None and (today - c.local_date).days <= store.RESUME_WITHIN_DAYS:
            return c
    return None


async def typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text while a check-in waits: a number for a 0-10 question, the note, or a pointer."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or not message.text or user is None or chat is None:
        return
    svc = services(context)
    client, program = await _client(context, user.id)
    if client is None or program is None:
        return
    async with svc.sessions() as session:
        checkin = await _waiting(session, client, program, update.update_id)
    if checkin is None:
        return  # not ours: other features (or the fallback) answer
    # None: the note of this very message ended the check-in before the screen.
    step = checkin.step or "note"
    spec = items.STEPS[step]
    if spec.shape is Shape.text:
        if await _typing_elsewhere(context, client, message.message_id):
            return  # a line for the safety plan or the aftercare plan, not the note
        # Saves the note (or, saved already, says so) and finishes the check-in.
        note = message.text[:NOTE_MAX]
        await _answer(update, context, str(checkin.id), step, items.SKIP, note=note)
        raise ApplicationHandlerStop
    number = items.parse_typed_scale(message.text)
    if spec.shape is Shape.scale and number is not None:
        await _answer(update, context, str(checkin.id), step, str(number))
        raise ApplicationHandlerStop
    pack = svc.content.language(client.language)
    await chat.send_message(pack.checkin.use_buttons)
    await ask(chat, context, client, checkin)
    raise ApplicationHandlerStop


async def _typing_elsewhere(
    context: ContextTypes.DEFAULT_TYPE, client: Client, message_id: int
) -> bool:
    """The client is filling in their safety plan or aftercare plan: the line is for it."""
    async with services(context).sessions() as session:
        plan = (
            await session.exec(select(SafetyPlan).where(SafetyPlan.client_id == client.id))
        ).first()
        if plan is not None and (
            plan.editing_section is not None or plan.last_message_id == message_id
        ):
            return True
        aftercare = (
            await session.exec(select(AftercarePlan).where(AftercarePlan.client_id == client.id))
        ).first()
        return aftercare is not None and aftercare.editing is not None


# --- the end of a check-in ---------------------------------------------------------------


async def finish(
    chat: Chat,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    program: Program,
    checkin: CheckIn,
) -> None:
    svc = services(context)
    pack = svc.content.language(client.language)
    assert client.id is not None
    async with svc.sessions() as session:
        done_days = [
            c.local_date for c in await store.history(session, client.id) if c.completed_at
        ]
        alerts = (
            await session.exec(
                select(Alert).where(
                    Alert.client_id == client.id,
                    Alert.source == "checkin",
                    col(Alert.raised_at) >= checkin.started_at,
                    Alert.tier == AlertTier.same_day,
                )
            )
        ).all()
        bam_due = await store.weekly_due(session, client, "bam", checkin.local_date)
    days = streak(done_days, checkin.local_date)
    recent = sum((checkin.local_date - d).days < 14 for d in done_days)
    categories = {a.category for a in alerts}
    parts = ending.plan(
        ending.Ending(
            categories=frozenset(categories),
            used=checkin.use == "yes",
            substances=frozenset(items.split_keys(checkin.substances)),
            mood=checkin.mood,
            craving=checkin.craving,
            triggers=tuple(items.split_keys(checkin.triggers)),
            first_time=len(done_days) <= 1,
            streak=days,
            recent=recent,
            bam_due=bam_due,
        )
    )
    for part in parts:
        await _send_part(chat, pack, program, checkin, part)


async def _send_part(
    chat: Chat, pack: LanguagePack, program: Program, checkin: CheckIn, part: ending.Part
) -> None:
    """One message of the check-in's end (bot/checkin/ending.py chose what is in it)."""
    texts = pack.checkin
    reply = pack.alerts.reply
    pieces: list[str] = []
    for key in part.texts:
        if key == "same_day":
            pieces.append(render(reply.same_day, promise=crisis.promise_now(pack, program)))
        elif key == "same_day_craving":
            pieces.append(reply.same_day_craving)
        elif key == "same_day_use":
            pieces.append(reply.same_day_use)
        elif key == "are_you_alone":
            pieces.append(pack.alerts.checks.are_you_alone)
        elif key == "crisis_card":
            pieces.append(pack.crisis_card(program.region))
        elif key.startswith("coping:"):
            pieces.append(f"• {getattr(texts.coping, key.removeprefix('coping:'))}")
        elif key == "bam_offer":
            pieces.append(texts.bam.offer)
        elif key == "streak":
            pieces.append(render(texts.streak, days=part.number))
        elif key == "completion":
            pieces.append(render(texts.completion, days=part.number))
        else:  # a text of checkin.yaml by its key
            pieces.append(getattr(texts, key))
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None
    if part.buttons == "card":
        markup = crisis.card_keyboard(pack, program.region)
    elif part.buttons == "urge":
        markup = InlineKeyboardMarkup([[urge_surfing_button(pack, source="c")]])
    elif part.buttons == "bam":
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        texts.bam.start_button, callback_data=f"bm:{checkin.id}:start"
                    ),
                    InlineKeyboardButton(
                        texts.bam.later_button, callback_data=f"bm:{checkin.id}:later"
                    ),
                ]
            ]
        )
    elif part.buttons == "menu":
        markup = main_menu(pack)
    # Bullets of one list stay together; paragraphs are apart.
    text = ""
    for piece in pieces:
        joint = "\n" if piece.startswith("• ") and text else "\n\n"
        text = f"{text}{joint}{piece}" if text else piece
    await chat.send_message(text, reply_markup=markup, protect_content=part.protect)


# --- /progress -------------------------------------------------------------------------------


def chart_labels(pack: LanguagePack) -> charts.ChartLabels:
    texts = pack.checkin
    return charts.ChartLabels(
        texts.chart_title, texts.chart_craving, texts.chart_mood, texts.chart_confidence,
        texts.chart_sleep,
    )  # fmt: skip


def _trend_word(pack: LanguagePack, value: str | None) -> str:
    texts = pack.checkin
    return {
        "up": texts.trend_up,
        "down": texts.trend_down,
        "steady": texts.trend_steady,
    }.get(value or "", texts.trend_unknown)


async def progress_part(
    session: AsyncSession, pack: LanguagePack, client: Client, program: Program, now: datetime
) -> ProgressPart | None:
    """The check-in's part of /progress: the last 14 days as a chart, with one plain line
    under it (or a line saying the chart comes after the first check-in)."""
    today = store.local_today(client, program, now)
    rows = [store.record_of(c) for c in await store.history(session, client.id or 0)]
    window = last_days(rows, today)
    if not any(window):
        return pack.checkin.progress_empty
    png = await asyncio.to_thread(charts.client_chart, window, today, chart_labels(pack))
    summary = render(
        pack.checkin.progress_summary,
        days=sum(r is not None for r in window),
        craving_trend=_trend_word(pack, trend([r.craving if r else None for r in window])),
        mood_trend=_trend_word(pack, trend([r.mood if r else None for r in window])),
    )
    return png, summary


register_progress_section(progress_part)


# --- the longer weekly check-in (BAM-IOP, adapted) -------------------------------------------


def _bam_keyboard(
    pack: LanguagePack, screen: Screening, item: rules.BamItem
) -> InlineKeyboardMarkup:
    scales = pack.checkin.bam.scales
    labels = dict(getattr(scales, item.scale))
    buttons = [
        InlineKeyboardButton(labels[v], callback_data=f"bm:{screen.id}:{item.key}:{v}")
        for v in rules.BAM_SCALE_VALUES[item.scale]
    ]
    width = 4 if item.scale == "days" else 1 if item.scale in ("amount", "health") else 2
    return InlineKeyboardMarkup([buttons[i : i + width] for i in range(0, len(buttons), width)])


async def _ask_bam(chat: Chat, pack: LanguagePack, screen: Screening) -> None:
    item = next(i for i in rules.BAM_ITEMS if i.key == screen.step)
    await chat.send_message(
        getattr(pack.checkin.bam.items, item.key), reply_markup=_bam_keyboard(pack, screen, item)
    )


async def bam_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """bm:<check-in id>:start|later, then bm:<screening id>:<item>:<value> per answer."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    fields = data_fields(query.data, 4)
    svc = services(context)
    client, program = await _client(context, user.id)
    pack = svc.content.language(client.language if client else user.language_code)
    if client is None or program is None or not fields[1].isdigit():
        await query.answer(pack.checkin.not_valid)
        return
    now = now_utc()
    if fields[2] in ("start", "later"):
        async with session_scope(svc.sessions) as session:
            checkin = await session.get(CheckIn, int(fields[1]))
            if checkin is None or checkin.client_id != client.id:
                await query.answer(pack.checkin.not_valid)
                return
            screen = await store.screening(session, client.id or 0, "bam", checkin.local_date)
            if screen is None:
                screen = Screening(
                    client_id=client.id or 0,
                    kind="bam",
                    local_date=checkin.local_date,
                    step=rules.BAM_KEYS[0] if fields[2] == "start" else None,
                    started_at=now,
                    completed_at=None if fields[2] == "start" else now,
                    result=None if fields[2] == "start" else {"declined": True},
                )
                session.add(screen)
                await session.flush()
            fresh = screen.step is not None and not screen.answers
        await query.answer()
        await _quiet(edit_buttons(query, None))
        if fields[2] == "later":
            await chat.send_message(pack.checkin.bam.later)
        elif fresh:
            await _ask_bam(chat, pack, screen)
        return
    item_key, value = fields[2], fields[3]
    item = next((i for i in rules.BAM_ITEMS if i.key == item_key), None)
    if item is None or value not in rules.BAM_SCALE_VALUES[item.scale]:
        await query.answer(pack.checkin.not_valid)
        return
    async with session_scope(svc.sessions) as session:
        screen = await session.get(Screening, int(fields[1]))
        if screen is None or screen.client_id != client.id or screen.kind != "bam":
            await query.answer(pack.checkin.not_valid)
            return
        if screen.step != item_key:
            await query.answer(pack.checkin.already_answered)
            return
        answers = {**screen.answers, item_key: value}
        index = rules.BAM_KEYS.index(item_key)
        next_key = rules.BAM_KEYS[index + 1] if index + 1 < len(rules.BAM_KEYS) else None
        screen.answers = answers
        screen.step = next_key
        if next_key is None:
            screen.completed_at = now
            screen.result = rules.bam_scores(answers)
            for flag in rules.bam_flags(answers, screen.local_date):
                if await store.fire(session, svc.content, client, flag, now, source="checkin"):
                    crisis.send_now(context)
        session.add(screen)
    await query.answer()
    label = dict(getattr(pack.checkin.bam.scales, item.scale))[value]
    original = getattr(query.message, "text_html", None) or ""
    await _quiet(
        query.edit_message_text(
            f"{original}\n\n<b>{render(pack.checkin.answer_shown, answer=label)}</b>"
        )
    )
    if next_key is None:
        await chat.send_message(pack.checkin.bam.done, reply_markup=main_menu(pack))
    else:
        await _ask_bam(chat, pack, screen)


# --- the client's weekly day, and the clinician's settings ----------------------------------


async def weekly(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/weekly: the client picks the weekday of the weekly questions."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    client, _ = await _client(context, user.id)
    pack = services(context).content.language(client.language if client else user.language_code)
    if client is None:
        await chat.send_message(pack.checkin.not_enrolled)
        return
    days = pack.checkin.weekdays
    buttons = [
        InlineKeyboardButton(name, callback_data=f"wk:{index}") for index, name in enumerate(days)
    ]
    await chat.send_message(
        pack.checkin.weekly_day_question,
        reply_markup=InlineKeyboardMarkup([buttons[0:4], buttons[4:7]]),
    )


async def weekly_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, day = data_fields(query.data, 2)
    svc = services(context)
    async with session_scope(svc.sessions) as session:
        client = (await identify(session, user.id)).client
        pack = svc.content.language(client.language if client else user.language_code)
        if client is None or not day.isdigit() or not 0 <= int(day) <= 6:
            await query.answer(pack.checkin.not_valid)
            return
        client.weekly_day = int(day)
        session.add(client)
    await query.answer()
    await _quiet(edit_buttons(query, None))
    await chat.send_message(
        render(pack.checkin.weekly_day_set, day=pack.checkin.weekdays[int(day)])
    )


async def _staff_client(
    update: Update, context: ContextTypes.DEFAULT_TYPE, usage: str
) -> tuple[Clinician | None, Client | None, list[str]]:
    """The clinician's client named by the first argument, or None after saying why."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    svc = services(context)
    args = list(context.args or [])
    async with svc.sessions() as session:
        clinician = (await identify(session, user.id)).clinician
        if clinician is None:
            return None, None, []
        code = normalize_code(args[0]) if args else None
        client = await clinicians_client(session, clinician=clinician, code=code) if code else None
    staff_pack = svc.content.language(None)
    if code is None:
        await chat.send_message(usage)
    elif client is None:
        await chat.send_message(render(staff_pack.staff.client_not_found, code=code))
    return clinician, client, args[1:]


async def meds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/meds CODE on|off: the check-in's medicine question for one client (audited)."""
    svc = services(context)
    staff = svc.content.language(None).checkin.staff
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    if not await _is_clinician(context, user.id):
        return await _not_staff(update, context)
    clinician, client, rest = await _staff_client(update, context, staff.usage_meds)
    if client is None or clinician is None:
        return
    if rest not in (["on"], ["off"]):
        await chat.send_message(staff.usage_meds)
        return
    async with session_scope(svc.sessions) as session:
        row = await session.get(Client, client.id)
        assert row is not None
        row.checkin_medicine = rest == ["on"]
        session.add(row)
        audit(
            session,
            actor=f"clinician:{clinician.id}",
            action=f"checkin_medicine_{rest[0]}",
            subject=f"client:{client.id}",
            at=now_utc(),
        )
    text = staff.meds_on if rest == ["on"] else staff.meds_off
    await chat.send_message(render(text, code=client.code))


async def flags(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/flags CODE [key=N ... | default]: one client's check-in flag thresholds."""
    svc = services(context)
    staff = svc.content.language(None).checkin.staff
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    if not await _is_clinician(context, user.id):
        return await _not_staff(update, context)
    usage = render(staff.usage_flags, keys=", ".join(rules.THRESHOLD_KEYS))
    clinician, client, rest = await _staff_client(update, context, usage)
    if client is None or clinician is None:
        return
    async with session_scope(svc.sessions) as session:
        row = await session.get(Client, client.id)
        assert row is not None
        if rest:
            try:
                row.checkin_thresholds = (
                    None
                    if rest == ["default"]
                    else {**(row.checkin_thresholds or {}), **rules.parse_overrides(rest)}
                )
            except ValueError as exc:
                await chat.send_message(render(staff.flags_bad, error=str(exc)))
                return
            session.add(row)
            audit(
                session,
                actor=f"clinician:{clinician.id}",
                action="checkin_flags_changed",
                subject=f"client:{client.id}",
                at=now_utc(),
            )
        th = await store.thresholds_for(session, row)
    shown = ", ".join(f"{k}={getattr(th, k)}" for k in rules.THRESHOLD_KEYS)
    await chat.send_message(render(staff.flags_shown, code=client.code, flags=shown))


async def _is_clinician(context: ContextTypes.DEFAULT_TYPE, user_id: int) -> bool:
    async with services(context).sessions() as session:
        return (await identify(session, user_id)).clinician is not None


async def _not_staff(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    from bot.features import welcome

    await welcome.anything_else(update, context)


register_review(reports.review_missed)


def register(application: AnyApplication) -> None:
    content = services(application).content
    labels = [content.language(code).menu.checkin for code in content.languages]
    application.add_handler(MessageHandler(PRIVATE_NEW & filters.Text(labels), start))
    application.add_handler(CommandHandler("checkin", start, filters=PRIVATE_NEW))
    application.add_handler(CommandHandler("weekly", weekly, filters=PRIVATE_NEW))
    application.add_handler(CommandHandler("meds", meds, filters=PRIVATE_NEW))
    application.add_handler(CommandHandler("flags", flags, filters=PRIVATE_NEW))
    application.add_handler(CallbackQueryHandler(weekly_pressed, pattern=r"^wk:"))
    application.add_handler(
        CallbackQueryHandler(prompt_pressed, pattern=rf"^{CHECKIN_CALLBACK_PREFIX}\d{{1,18}}$")
    )
    application.add_handler(CallbackQueryHandler(pressed, pattern=rf"^{PREFIX}:"))
    application.add_handler(CallbackQueryHandler(bam_pressed, pattern=r"^bm:"))
    # The menu's buttons send their labels as text: those are requests, not answers.
    menu = [
        label
        for code in content.languages
        for pack in (content.language(code),)
        for label in (
            pack.menu.checkin,
            pack.menu.learn,
            pack.menu.breathe,
            pack.menu.sessions,
            pack.menu.settings,
            pack.ui.help_button,
        )
    ]
    typed_text = PRIVATE_NEW & filters.TEXT & ~filters.COMMAND & ~filters.Text(menu)
    application.add_handler(MessageHandler(typed_text, save_note), NOTE_SAVE_GROUP)
    application.add_handler(MessageHandler(typed_text, typed), TYPED_GROUP)
