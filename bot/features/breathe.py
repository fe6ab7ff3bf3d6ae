"""Breathe: guided practice in the chat, paced step by step, with a 0-10 rating before
and after, and the distress rule (SPEC §2). `/practice CODE` for clinicians.

What is offered, the steps and the rule live in bot/exercises.py; this module is the
chat. A practice is an ExerciseRun row: its step and when the next one is due are
committed before anything is sent, so a restart or another worker goes on from the
row. The timer is one repeating job (`advance_due`, every second) that sends the steps
now due, each claimed with a conditional UPDATE; a step overdue by more than
STALE_AFTER (the bot was down) is not sent: the practice ends with one message and the
after-rating. Tests call `advance_due` with the instant they want.

Every button carries ids only and is checked against the client's own row.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.alerts import Finding, raise_alert
from bot.content import LanguagePack, render
from bot.content.learning import ExerciseFile, ExerciseVariant
from bot.db import session_scope
from bot.exercises import (
    RATINGS,
    STALE_AFTER,
    PlanStep,
    Restrictions,
    claim_status,
    claim_step,
    distress_rose,
    due_runs,
    live_runs,
    offered,
    offered_variants,
    restrictions_of,
    step_plan,
)
from bot.features import welcome
from bot.invites import normalize_code
from bot.keyboards import PRIVATE_NEW, data_fields, help_only_keyboard
from bot.lessons import now_utc
from bot.models import (
    AlertTier,
    Client,
    ClientStatus,
    Clinician,
    ClinicianRole,
    ExerciseRun,
    PracticeSettings,
    Program,
    RunStatus,
)
from bot.people import identify
from bot.roster import audit, find_client_by_code
from bot.services import AnyApplication, AnyContext, Services, services

log = logging.getLogger(__name__)

PREFIX = "br"
TICK_SECONDS = 1.0
SOURCES = {"": "menu", "l": "lesson", "c": "checkin", "s": "screen"}


# --- helpers ---------------------------------------------------------------------------


def urge_surfing_button(pack: LanguagePack, source: str = "c") -> InlineKeyboardButton:
    """A button that starts urge surfing (for the check-in's high-craving answer)."""
    exercise = pack.exercise("urge_surfing")
    assert exercise is not None
    return InlineKeyboardButton(exercise.title, callback_data=f"{PREFIX}:x:urge_surfing:{source}")


def practice_button(exercise: ExerciseFile, source: str = "") -> InlineKeyboardButton:
    data = f"{PREFIX}:x:{exercise.slug}" + (f":{source}" if source else "")
    return InlineKeyboardButton(exercise.title, callback_data=data)


def _rating_keyboard(run_id: int, which: str, pack: LanguagePack) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(str(n), callback_data=f"{PREFIX}:{which}:{run_id}:{n}")
        for n in RATINGS
    ]
    skip = InlineKeyboardButton(
        pack.learning.breathe.skip_button, callback_data=f"{PREFIX}:{which}:{run_id}:x"
    )
    return InlineKeyboardMarkup([buttons[:6], buttons[6:], [skip]])


def _menu_keyboard(pack: LanguagePack) -> InlineKeyboardMarkup:
    texts = pack.learning.breathe
    rows = [
        [InlineKeyboardButton(need.label, callback_data=f"{PREFIX}:n:{key}")]
        for key, need in texts.needs.items()
    ]
    rows.append([InlineKeyboardButton(texts.all_button, callback_data=f"{PREFIX}:all")])
    return InlineKeyboardMarkup(rows)


def _list_message(
    pack: LanguagePack, intro: str, exercises: list[ExerciseFile]
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [intro, ""] + [f"• <b>{render('{t}', t=e.title)}</b>: {e.about}" for e in exercises]
    keyboard = InlineKeyboardMarkup([[practice_button(e)] for e in exercises])
    return "\n".join(lines), keyboard


async def _client_context(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[Client | None, Program | None, LanguagePack]:
    svc = services(context)
    user = update.effective_user
    assert user is not None
    async with svc.sessions() as session:
        who = await identify(session, user.id)
    return who.client, who.program, svc.content.language(who.language or user.language_code)


async def _restrictions(svc: Services, client: Client) -> Restrictions:
    assert client.id is not None
    async with svc.sessions() as session:
        return await restrictions_of(session, client.id)


# --- the menu ------------------------------------------------------------------------


async def breathe_menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    client, _, pack = await _client_context(update, context)
    chat = update.effective_chat
    assert chat is not None
    if client is None:
        await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))
        return
    await chat.send_message(pack.learning.breathe.menu_intro, reply_markup=_menu_keyboard(pack))


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every Breathe button: br:n:NEED, br:all, br:x:SLUG[:SRC], br:v:SLUG:KEY[:SRC],
    br:b:RUN:N, br:nx:RUN:STEP, br:s:RUN, br:a:RUN:N."""
    query = update.callback_query
    assert query is not None
    client, program, pack = await _client_context(update, context)
    if client is None or program is None:
        await query.answer()
        return
    _, action, rest = data_fields(query.data, 3)
    handler = _ACTIONS.get(action)
    if handler is None:
        await query.answer()
        return
    await handler(update, context, client, program, pack, rest)


async def _need(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    program: Program,
    pack: LanguagePack,
    rest: str,
) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    await query.answer()
    texts = pack.learning.breathe
    need = texts.needs.get(rest)
    if need is None:
        return
    allowed = offered(
        [e for slug in need.exercises if (e := pack.exercise(slug)) is not None],
        await _restrictions(services(context), client),
    )
    text, keyboard = _list_message(pack, texts.need_intro, allowed)
    await chat.send_message(text, reply_markup=keyboard)


async def _all(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    program: Program,
    pack: LanguagePack,
    rest: str,
) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    await query.answer()
    allowed = offered(pack.exercises, await _restrictions(services(context), client))
    text, keyboard = _list_message(pack, pack.learning.breathe.all_intro, allowed)
    await chat.send_message(text, reply_markup=keyboard)


def _not_offered(
    pack: LanguagePack, restrictions: Restrictions
) -> tuple[str, InlineKeyboardMarkup]:
    """A practice this client may not be offered (a forged or old button): say so kindly
    and list the ones they can do."""
    return _list_message(
        pack, pack.learning.breathe.not_offered, offered(pack.exercises, restrictions)
    )


async def _pick(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    program: Program,
    pack: LanguagePack,
    rest: str,
) -> None:
    """br:x:SLUG[:SRC]: one version offered starts at once; several: which one?"""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    await query.answer()
    slug, _, source = rest.partition(":")
    exercise = pack.exercise(slug)
    restrictions = await _restrictions(services(context), client)
    variants = offered_variants(exercise, restrictions) if exercise else []
    if exercise is None or not variants:
        text, keyboard = _not_offered(pack, restrictions)
        await chat.send_message(text, reply_markup=keyboard)
        return
    if len(variants) == 1:
        await start_practice(context, chat.id, client, program, pack, exercise, variants[0], source)
        return
    suffix = f":{source}" if source else ""
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(v.label, callback_data=f"{PREFIX}:v:{slug}:{v.key}{suffix}")]
            for v in variants
        ]
    )
    await chat.send_message(
        f"<b>{render('{t}', t=exercise.title)}</b>\n{pack.learning.breathe.choose_version}",
        reply_markup=keyboard,
    )


async def _version(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    program: Program,
    pack: LanguagePack,
    rest: str,
) -> None:
    """br:v:SLUG:KEY[:SRC] — checked against what this client may be offered (forgeable)."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    await query.answer()
    slug, key, source = data_fields(rest, 3)
    exercise = pack.exercise(slug)
    restrictions = await _restrictions(services(context), client)
    variant = exercise.variant(key) if exercise else None
    if (
        exercise is None
        or variant is None
        or variant not in offered_variants(exercise, restrictions)
    ):
        text, keyboard = _not_offered(pack, restrictions)
        await chat.send_message(text, reply_markup=keyboard)
        return
    await start_practice(context, chat.id, client, program, pack, exercise, variant, source)


# --- a practice ------------------------------------------------------------------------


async def start_practice(
    context: AnyContext,
    chat_id: int,
    client: Client,
    program: Program,
    pack: LanguagePack,
    exercise: ExerciseFile,
    variant: ExerciseVariant,
    source: str = "",
) -> None:
    """The rule-1 opening and the cautions, then the before-rating. Another practice
    still open is ended: one at a time."""
    svc = services(context)
    assert client.id is not None
    now = now_utc()
    async with session_scope(svc.sessions) as session:
        for old in await live_runs(session, client.id):
            old.status = RunStatus.ended
            old.next_at = None
            old.ended_at = now
            session.add(old)
        run = ExerciseRun(
            client_id=client.id,
            exercise=exercise.slug,
            variant=variant.key,
            source=SOURCES.get(source, "menu"),
            started_at=now,
        )
        session.add(run)
        await session.flush()
        assert run.id is not None
        run_id = run.id
    texts = pack.learning.breathe
    opening = [f"<b>{render('{t}', t=exercise.title)}</b>", texts.in_charge]
    opening += [f"⚠️ {caution}" for caution in exercise.cautions]
    await context.bot.send_message(chat_id, "\n\n".join(opening))
    ask = texts.before_craving if exercise.rating == "craving" else texts.before_distress
    await context.bot.send_message(chat_id, ask, reply_markup=_rating_keyboard(run_id, "b", pack))


async def _close(bot: Bot, chat_id: int, run: ExerciseRun, pack: LanguagePack) -> None:
    """Take the buttons off the step the client has moved past (old buttons would only
    answer "that has passed"); nothing is lost if this fails."""
    message_id = run.message_id
    if message_id is None:
        return
    exercise, variant = _exercise_of(pack, run)
    plan = step_plan(variant)
    if not 0 <= run.step < len(plan):
        return
    try:
        await bot.edit_message_text(
            _step_text(pack, exercise, plan[run.step]),
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=None,
        )
    except TelegramError as exc:
        log.debug("could not close the buttons of message %s: %s", message_id, exc)


async def close_pressed(update: Update) -> None:
    """Take the buttons off the message just pressed (the step is done)."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    message = query.message
    try:
        # Telegram HTML of the message as it is, without its buttons.
        await query.edit_message_text(message.text_html, reply_markup=None)  # type: ignore[union-attr]
    except (TelegramError, AttributeError) as exc:
        log.debug("could not close the pressed buttons: %s", exc)


def _rating(value: str) -> int | None:
    return int(value) if value.isdigit() and int(value) in RATINGS else None


async def _own_run(svc: Services, client: Client, run_id: str) -> ExerciseRun | None:
    if not run_id.isdigit():
        return None
    async with svc.sessions() as session:
        run = await session.get(ExerciseRun, int(run_id))
    return run if run is not None and run.client_id == client.id else None


def _exercise_of(pack: LanguagePack, run: ExerciseRun) -> tuple[ExerciseFile, ExerciseVariant]:
    exercise = pack.exercise(run.exercise)
    variant = exercise.variant(run.variant) if exercise else None
    if exercise is None or variant is None:
        raise LookupError(f"practice {run.exercise}/{run.variant} is not in the content")
    return exercise, variant


async def _before(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    program: Program,
    pack: LanguagePack,
    rest: str,
) -> None:
    query = update.callback_query
    assert query is not None
    svc = services(context)
    run_id, _, value = rest.partition(":")
    run = await _own_run(svc, client, run_id)
    rating = _rating(value)
    if run is None or (rating is None and value != "x"):
        await query.answer()
        return
    exercise, variant = _exercise_of(pack, run)
    plan = step_plan(variant)
    now = now_utc()
    async with session_scope(svc.sessions) as session:
        claimed = await claim_status(
            session,
            run.id or 0,
            from_status=RunStatus.rating_before,
            status=RunStatus.running.value,
            before=rating,
            step=0,
            next_at=now + timedelta(seconds=plan[0].seconds),
        )
    if not claimed:
        await query.answer(pack.setup.stale_button)
        return
    await query.answer()
    await close_pressed(update)
    await _show_step(context.bot, svc, run.id or 0, client, pack, exercise, plan, 0)


def _step_keyboard(
    run_id: int, index: int, plan: list[PlanStep], pack: LanguagePack
) -> InlineKeyboardMarkup:
    texts = pack.learning.breathe
    last = index == len(plan) - 1
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.done_button if last else texts.next_button,
                    callback_data=f"{PREFIX}:nx:{run_id}:{index}",
                ),
                InlineKeyboardButton(texts.stop_button, callback_data=f"{PREFIX}:s:{run_id}"),
            ]
        ]
    )


def _step_text(pack: LanguagePack, exercise: ExerciseFile, step: PlanStep) -> str:
    texts = pack.learning.breathe
    header = render(texts.step_header, title=exercise.title)
    if step.text is not None:
        return f"{header}\n\n{step.text}"
    phase = {"in": texts.breath_in, "hold": texts.breath_hold, "out": texts.breath_out}[
        step.phase or "in"
    ]
    line = render(
        texts.breath_line, round=step.round, rounds=step.rounds, phase=phase, count=step.seconds
    )
    return f"{header}\n\n{line}"


async def _show_step(
    bot: Bot,
    svc: Services,
    run_id: int,
    client: Client,
    pack: LanguagePack,
    exercise: ExerciseFile,
    plan: list[PlanStep],
    index: int,
    previous: ExerciseRun | None = None,
) -> None:
    """Send step `index` (already claimed), or edit the breathing count in place;
    `previous` is the practice as it was before the claim (the step shown until now)."""
    assert client.chat_id is not None
    step = plan[index]
    text = _step_text(pack, exercise, step)
    keyboard = _step_keyboard(run_id, index, plan, pack)
    if step.edits_previous and previous is not None and previous.message_id is not None:
        try:
            await bot.edit_message_text(
                text, chat_id=client.chat_id, message_id=previous.message_id, reply_markup=keyboard
            )
            return
        except TelegramError as exc:
            log.info("could not edit the breathing count (%s); sending it anew", exc)
    if previous is not None:
        await _close(bot, client.chat_id, previous, pack)
    message = await bot.send_message(client.chat_id, text, reply_markup=keyboard)
    async with session_scope(svc.sessions) as session:
        run = await session.get(ExerciseRun, run_id)
        if run is not None:
            run.message_id = message.message_id
            session.add(run)


async def _move_on(
    bot: Bot,
    svc: Services,
    run: ExerciseRun,
    client: Client,
    pack: LanguagePack,
    *,
    to: int,
    now: datetime,
) -> bool:
    """Step on from run.step to `to` (or to the after-rating past the last step)."""
    exercise, variant = _exercise_of(pack, run)
    plan = step_plan(variant)
    assert run.id is not None
    if to >= len(plan):
        async with session_scope(svc.sessions) as session:
            claimed = await claim_status(
                session,
                run.id,
                from_status=RunStatus.running,
                at_step=run.step,
                status=RunStatus.rating_after.value,
                next_at=None,
            )
        if claimed:
            await _ask_after(bot, client, pack, exercise, run)
        return claimed
    async with session_scope(svc.sessions) as session:
        claimed = await claim_step(
            session,
            run.id,
            from_step=run.step,
            to_step=to,
            next_at=now + timedelta(seconds=plan[to].seconds),
        )
    if claimed:
        await _show_step(bot, svc, run.id, client, pack, exercise, plan, to, run)
    return claimed


async def _ask_after(
    bot: Bot,
    client: Client,
    pack: LanguagePack,
    exercise: ExerciseFile,
    run: ExerciseRun,
    lead: str | None = None,
) -> None:
    """The after-rating; the last step's buttons are closed first."""
    assert client.chat_id is not None and run.id is not None
    run_id = run.id
    await _close(bot, client.chat_id, run, pack)
    texts = pack.learning.breathe
    ask = texts.after_craving if exercise.rating == "craving" else texts.after_distress
    await bot.send_message(
        client.chat_id,
        f"{lead}\n\n{ask}" if lead else ask,
        reply_markup=_rating_keyboard(run_id, "a", pack),
    )


async def _next(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    program: Program,
    pack: LanguagePack,
    rest: str,
) -> None:
    """br:nx:RUN:STEP — on a breathing count, Next skips the rest of the count."""
    query = update.callback_query
    assert query is not None
    svc = services(context)
    run_id, _, step = rest.partition(":")
    run = await _own_run(svc, client, run_id)
    if (
        run is None
        or run.status is not RunStatus.running
        or not step.isdigit()
        or int(step) != run.step
    ):
        await query.answer(pack.setup.stale_button)
        return
    await query.answer()
    _, variant = _exercise_of(pack, run)
    plan = step_plan(variant)
    to = run.step + 1
    while to < len(plan) and plan[to].edits_previous:
        to += 1
    await _move_on(context.bot, svc, run, client, pack, to=to, now=now_utc())


async def _stop(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    program: Program,
    pack: LanguagePack,
    rest: str,
) -> None:
    query = update.callback_query
    assert query is not None
    svc = services(context)
    run = await _own_run(svc, client, rest)
    if run is None or run.status is not RunStatus.running or run.id is None:
        await query.answer(pack.setup.stale_button)
        return
    async with session_scope(svc.sessions) as session:
        claimed = await claim_status(
            session,
            run.id,
            from_status=RunStatus.running,
            status=RunStatus.rating_after.value,
            stopped_early=True,
            next_at=None,
        )
    await query.answer()
    if claimed:
        exercise, _ = _exercise_of(pack, run)
        await _ask_after(context.bot, client, pack, exercise, run, pack.learning.breathe.stopped)


async def _after(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    program: Program,
    pack: LanguagePack,
    rest: str,
) -> None:
    """br:a:RUN:N — the after-rating; the distress rule raises its flag exactly once (the
    status change and the alert are one transaction, and only one press can win it)."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    svc = services(context)
    run_id, _, value = rest.partition(":")
    run = await _own_run(svc, client, run_id)
    rating = _rating(value)
    if run is None or run.id is None or (rating is None and value != "x"):
        await query.answer()
        return
    exercise, _ = _exercise_of(pack, run)
    rose = rating is not None and distress_rose(run.before, rating)
    now = now_utc()
    async with session_scope(svc.sessions) as session:
        claimed = await claim_status(
            session,
            run.id,
            from_status=RunStatus.rating_after,
            status=RunStatus.finished.value,
            after=rating,
            distress_rose=rose,
            ended_at=now,
        )
        if claimed and rose:
            row = await session.get(Client, client.id)
            assert row is not None
            await raise_alert(
                session,
                content=svc.content,
                client=row,
                finding=Finding(
                    tier=AlertTier.same_day,
                    category="exercise_distress",
                    rule="practice made distress worse (up 3+ or 8+)",
                    evidence=f"{exercise.title}: before {_shown(run.before)}, after {rating}",
                ),
                now=now,
                source="exercise",
            )
    if not claimed:
        await query.answer(pack.setup.stale_button)
        return
    await query.answer()
    await close_pressed(update)
    texts = pack.learning.breathe
    if rose:
        _send_now(context)
        await chat.send_message(f"{texts.distress_stop}\n\n{texts.grounding}")
        await chat.send_message(pack.crisis_card(program.region), protect_content=True)
        await chat.send_message(texts.team_told)
        return
    closing = texts.thanks
    if rating is not None and run.before is not None and rating < run.before:
        closing = texts.urge_passed if exercise.rating == "craving" else texts.went_down
    again = InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.again_button, callback_data=f"{PREFIX}:m")]]
    )
    await chat.send_message(closing, reply_markup=again)


def _shown(value: int | None) -> str:
    return "-" if value is None else str(value)


async def _menu_again(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    program: Program,
    pack: LanguagePack,
    rest: str,
) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    await query.answer()
    await chat.send_message(pack.learning.breathe.menu_intro, reply_markup=_menu_keyboard(pack))


_ACTIONS = {
    "m": _menu_again,
    "n": _need,
    "all": _all,
    "x": _pick,
    "v": _version,
    "b": _before,
    "nx": _next,
    "s": _stop,
    "a": _after,
}


def _send_now(context: AnyContext) -> None:
    """The alert is in the outbox; start a drain now rather than at the next tick."""
    try:
        from bot.features.delivery import delivery_engine

        delivery_engine(context).kick()
    except (ImportError, KeyError):
        log.warning("no delivery engine in this process; the alert waits for a dispatcher")


# --- the timer -------------------------------------------------------------------------


async def advance_due(svc: Services, bot: Bot, now: datetime) -> int:
    """Send every step due at `now` (one step per practice per call), or end a practice
    whose step is long overdue with one message. Returns how many practices moved."""
    async with svc.sessions() as session:
        runs = await due_runs(session, now)
        clients = {run.client_id: await session.get(Client, run.client_id) for run in runs}
    moved = 0
    for run in runs:
        client = clients.get(run.client_id)
        if client is None or client.chat_id is None or run.id is None or run.next_at is None:
            continue
        pack = svc.content.language(client.language)
        try:
            if client.status not in (ClientStatus.active, ClientStatus.paused):
                # Left or unreachable since (a paused client still uses what they
                # start themselves): end quietly; nothing more is sent.
                async with session_scope(svc.sessions) as session:
                    await claim_status(
                        session,
                        run.id,
                        from_status=RunStatus.running,
                        at_step=run.step,
                        status=RunStatus.ended.value,
                        next_at=None,
                        ended_at=now,
                    )
                continue
            if now - run.next_at > STALE_AFTER:
                async with session_scope(svc.sessions) as session:
                    claimed = await claim_status(
                        session,
                        run.id,
                        from_status=RunStatus.running,
                        at_step=run.step,
                        status=RunStatus.rating_after.value,
                        interrupted=True,
                        next_at=None,
                    )
                if claimed:
                    exercise, _ = _exercise_of(pack, run)
                    await _ask_after(bot, client, pack, exercise, run, pack.learning.breathe.away)
                    moved += 1
            elif await _move_on(bot, svc, run, client, pack, to=run.step + 1, now=now):
                moved += 1
        except (TelegramError, LookupError) as exc:
            log.warning("practice %s could not move on: %s", run.id, exc)
    return moved


async def _tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        await advance_due(services(context), context.bot, now_utc())
    except Exception:
        log.exception("practice tick failed; the next one tries again")


# --- /practice CODE (clinicians) ----------------------------------------------------------


async def _clinician_and_client(
    svc: Services, user_id: int, code: str | None, client_id: int | None = None
) -> tuple[Clinician | None, Client | None]:
    async with svc.sessions() as session:
        clinician = (await identify(session, user_id)).clinician
        if clinician is None:
            return None, None
        if client_id is not None:
            client = await session.get(Client, client_id)
        elif code is not None:
            client = await find_client_by_code(session, program_id=clinician.program_id, code=code)
        else:
            client = None
    if (
        client is None
        or client.program_id != clinician.program_id
        or (
            clinician.role is not ClinicianRole.admin
            and client.primary_clinician_id != clinician.id
        )
    ):
        return clinician, None
    return clinician, client


def _settings_keyboard(
    pack: LanguagePack, client_id: int, settings: Restrictions
) -> InlineKeyboardMarkup:
    staff = pack.learning.staff

    def state(on: bool) -> str:
        return staff.on_word if on else staff.off_word

    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    render(staff.holds_button, state=state(settings.no_breath_holds)),
                    callback_data=f"pr:{client_id}:h",
                )
            ],
            [
                InlineKeyboardButton(
                    render(staff.inward_button, state=state(settings.no_long_inward)),
                    callback_data=f"pr:{client_id}:i",
                )
            ],
        ]
    )


async def practice_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    pack = svc.content.language(None)
    code = normalize_code(" ".join(context.args or []))
    clinician, client = await _clinician_and_client(svc, user.id, code)
    if clinician is None:
        await welcome.anything_else(update, context)
        return
    if code is None:
        await chat.send_message(pack.learning.staff.practice_usage)
        return
    if client is None or client.id is None:
        await chat.send_message(render(pack.staff.client_not_found, code=code))
        return
    settings = await _restrictions(svc, client)
    await chat.send_message(
        render(pack.learning.staff.practice_header, code=client.code),
        reply_markup=_settings_keyboard(pack, client.id, settings),
    )


async def practice_toggle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, client_id, which = data_fields(query.data, 3)
    pack = svc.content.language(None)
    if not client_id.isdigit() or which not in ("h", "i"):
        await query.answer()
        return
    clinician, client = await _clinician_and_client(svc, user.id, None, int(client_id))
    if clinician is None or client is None or client.id is None:
        await query.answer()  # not theirs, or forged: change nothing
        return
    now = now_utc()
    async with session_scope(svc.sessions) as session:
        row = await session.get(PracticeSettings, client.id)
        if row is None:
            row = PracticeSettings(client_id=client.id)
        if which == "h":
            row.no_breath_holds = not row.no_breath_holds
        else:
            row.no_long_inward = not row.no_long_inward
        row.updated_by = clinician.id
        row.updated_at = now
        session.add(row)
        audit(
            session,
            actor=f"clinician:{clinician.id}",
            action="practice_settings_changed",
            subject=f"client:{client.id}",
            at=now,
            no_breath_holds=row.no_breath_holds,
            no_long_inward=row.no_long_inward,
        )
        settings = Restrictions.of(row)
    await query.answer()
    staff = pack.learning.staff
    await chat.send_message(
        render(
            staff.practice_saved,
            code=client.code,
            holds=staff.on_word if settings.no_breath_holds else staff.off_word,
            inward=staff.on_word if settings.no_long_inward else staff.off_word,
        ),
        reply_markup=_settings_keyboard(pack, client.id, settings),
    )


def register(application: AnyApplication) -> None:
    svc = services(application)
    content = svc.content
    labels = sorted({content.language(code).menu.breathe for code in content.languages})
    application.add_handler(MessageHandler(PRIVATE_NEW & filters.Text(labels), breathe_menu))
    application.add_handler(CommandHandler("practice", practice_command, filters=PRIVATE_NEW))
    application.add_handler(CallbackQueryHandler(pressed, pattern=rf"^{PREFIX}:"))
    application.add_handler(CallbackQueryHandler(practice_toggle, pattern=r"^pr:"))
    job_queue = application.job_queue
    # Tests run without timers (dispatch_interval 0) and drive advance_due themselves.
    if job_queue is not None and svc.settings.dispatch_interval > 0:
        job_queue.run_repeating(_tick, interval=TICK_SECONDS, first=1.0, name="breathe.tick")
