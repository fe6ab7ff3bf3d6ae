"""Learn: short lessons card by card, check questions with kind feedback, the weekly
reminder, and the clinicians' `/assign CODE N` and `/lessons`.

Which lessons are open and which comes next live in bot/lessons.py; this module is the
chat. Where a client is in a lesson is their LessonProgress row, moved on with a
conditional UPDATE on its position, so a double tap or an old button changes nothing,
and a restart goes on from the row. Only positions, completion and right/wrong are
stored; the client never types anything here (free text still goes to the safety
screen first, as everywhere).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot import learning_views  # noqa: F401  (registers the digest, /client, /progress parts)
from bot.content import LanguagePack, render
from bot.content.learning import ModuleFile
from bot.db import session_scope
from bot.features import welcome
from bot.features.breathe import close_pressed as _close_pressed
from bot.features.breathe import practice_button
from bot.invites import normalize_code
from bot.keyboards import PRIVATE_NEW, data_fields, help_only_keyboard
from bot.lessons import (
    LessonState,
    Status,
    answer,
    is_card,
    next_lesson,
    now_utc,
    program_week,
    question_index,
    record_first_answer,
    set_override,
    states_for,
    total_positions,
)
from bot.models import (
    Client,
    ClientStatus,
    ClinicianRole,
    Delivery,
    LessonAccess,
    LessonOverride,
    LessonProgress,
    Program,
    ProgramLessons,
)
from bot.people import identify
from bot.roster import audit, find_client_by_code
from bot.scheduling.kinds import AfterAlert, Kind, Rule, register_kind
from bot.scheduling.local_times import Slot
from bot.scheduling.program_cron import ProgramSchedule, register_program_schedule
from bot.scheduling.rendering import (
    Button,
    DueDelivery,
    Outgoing,
    RenderContext,
    Skip,
    register_renderer,
)
from bot.services import AnyApplication, services

PREFIX = "ln"
# chat.send_message: how the views below send (text, reply_markup=...).
Send = Callable[..., Awaitable[object]]

# The weekly reminder: at most one per program week (its key) and never two within
# NUDGE_GAP; sent at NUDGE_TIME in the program's zone, only while a lesson is waiting.
# Bulk: dropped during the quiet period after an alert (kinds.AfterAlert).
NUDGE = register_kind(
    Kind(
        "lesson_nudge",
        Rule.at_most_once,
        grace=timedelta(hours=3),
        after_alert=AfterAlert.drop,
    )
)
NUDGE_TIME = "17:00"
NUDGE_GAP = timedelta(days=6)
OVERRIDE_ACTIONS = {
    "assign": LessonAccess.assigned,
    "unlock": LessonAccess.unlocked,
    "hide": LessonAccess.hidden,
    "reset": None,
}


# --- who is asking ------------------------------------------------------------------------


async def _client(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[Client | None, Program | None, LanguagePack]:
    svc = services(context)
    user = update.effective_user
    assert user is not None
    async with svc.sessions() as session:
        who = await identify(session, user.id)
    return who.client, who.program, svc.content.language(who.language or user.language_code)


async def _states(
    context: ContextTypes.DEFAULT_TYPE, client: Client, program: Program, pack: LanguagePack
) -> list[LessonState]:
    async with services(context).sessions() as session:
        return await states_for(session, pack.modules, client, program, now_utc())


# --- the Learn menu and the list -----------------------------------------------------------


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=f"{PREFIX}:{data}")


async def learn_menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    client, program, pack = await _client(update, context)
    chat = update.effective_chat
    assert chat is not None
    if client is None or program is None:
        await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))
        return
    await _offer_next(chat.send_message, await _states(context, client, program, pack), pack)


async def _offer_next(send: Send, states: list[LessonState], pack: LanguagePack) -> None:
    texts = pack.learning.learn
    upcoming = next_lesson(states)
    list_row = [_button(texts.list_button, "list")]
    if upcoming is None:
        visible = [s for s in states if s.status is not Status.hidden]
        done = all(s.status is Status.done for s in visible)
        await send(
            texts.all_done if done else texts.all_open_done,
            reply_markup=InlineKeyboardMarkup([list_row]),
        )
        return
    module = upcoming.module
    open_button = _button(
        texts.continue_button if upcoming.status is Status.in_progress else texts.start_button,
        f"o:{module.number}",
    )
    if upcoming.status is Status.in_progress:
        text = render(texts.continue_intro, title=module.title)
    elif upcoming.assigned:
        text = render(texts.assigned_intro, title=module.title, minutes=module.minutes)
    else:
        text = render(texts.next_intro, title=module.title, minutes=module.minutes)
    await send(text, reply_markup=InlineKeyboardMarkup([[open_button], list_row]))


def _state_label(state: LessonState, pack: LanguagePack) -> str:
    texts = pack.learning.learn
    return {
        Status.done: texts.state_done,
        Status.in_progress: texts.state_in_progress,
        Status.new: texts.state_new,
    }.get(state.status) or render(texts.state_locked, week=state.module.week)


async def _list(send: Send, states: list[LessonState], pack: LanguagePack) -> None:
    texts = pack.learning.learn
    visible = [s for s in states if s.status is not Status.hidden]
    lines = [texts.list_header, ""]
    buttons = []
    for state in visible:
        module = state.module
        lines.append(
            render(
                texts.list_line,
                number=module.number,
                title=module.title,
                state=_state_label(state, pack),
            )
        )
        lock = "🔒 " if state.status is Status.locked else ""
        buttons.append(_button(f"{lock}{module.number}. {module.title}"[:40], f"o:{module.number}"))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await send("\n".join(lines), reply_markup=InlineKeyboardMarkup(rows))


# --- inside a lesson -------------------------------------------------------------------


async def _show(send: Send, module: ModuleFile, position: int, pack: LanguagePack) -> None:
    texts = pack.learning.learn
    if is_card(module, position):
        header = render(
            texts.card_header, title=module.title, step=position + 1, total=len(module.cards)
        )
        keyboard = InlineKeyboardMarkup(
            [[_button(texts.next_button, f"c:{module.number}:{position}")]]
        )
        await send(f"{header}\n\n{module.cards[position]}", reply_markup=keyboard)
        return
    await _ask(send, module, position, pack)


async def _ask(
    send: Send, module: ModuleFile, position: int, pack: LanguagePack, lead: str | None = None
) -> None:
    index = question_index(module, position)
    assert index is not None
    question = module.questions[index]
    keyboard = InlineKeyboardMarkup(
        [
            [_button(option, f"q:{module.number}:{position}:{i}")]
            for i, option in enumerate(question.options)
        ]
    )
    text = f"{pack.learning.learn.question_header}\n{question.ask}"
    await send(f"{lead}\n\n{text}" if lead else text, reply_markup=keyboard)


async def _open(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    program: Program,
    pack: LanguagePack,
    number: int,
) -> None:
    """Start or resume lesson `number` if it is open to this client; a finished lesson
    starts again from its first card (its first result is kept)."""
    chat = update.effective_chat
    assert chat is not None and client.id is not None
    texts = pack.learning.learn
    states = await _states(context, client, program, pack)
    state = next((s for s in states if s.module.number == number), None)
    if state is None or state.status is Status.hidden:
        await chat.send_message(texts.not_on_list)
        return
    if state.status is Status.locked:
        await chat.send_message(render(texts.locked, week=state.module.week))
        return
    module = state.module
    now = now_utc()
    async with session_scope(services(context).sessions) as session:
        row = (
            await session.exec(
                select(LessonProgress).where(
                    LessonProgress.client_id == client.id, LessonProgress.module == number
                )
            )
        ).first()
        if row is None:
            row = LessonProgress(client_id=client.id, module=number, started_at=now)
        if row.position >= total_positions(module):
            row.position = 0  # reading it again
        row.updated_at = now
        session.add(row)
        position = row.position
    await _show(chat.send_message, module, position, pack)


async def _move(
    session: AsyncSession, row_id: int, *, from_position: int, **values: object
) -> bool:
    table = LessonProgress.__table__  # type: ignore[attr-defined]
    result = await session.exec(  # type: ignore[call-overload]
        sa.update(table)
        .where(table.c.id == row_id, table.c.position == from_position)
        .values(**values)
    )
    return bool(result.rowcount == 1)


async def _progress_row(
    session: AsyncSession, client_id: int, number: int
) -> LessonProgress | None:
    return (
        await session.exec(
            select(LessonProgress).where(
                LessonProgress.client_id == client_id, LessonProgress.module == number
            )
        )
    ).first()


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ln:next, ln:list, ln:o:N, ln:c:N:POS, ln:q:N:POS:OPTION."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    client, program, pack = await _client(update, context)
    if client is None or program is None or client.id is None:
        await query.answer()
        return
    _, action, a, b, c = data_fields(query.data, 5)
    if action == "next":
        await query.answer()
        await _offer_next(chat.send_message, await _states(context, client, program, pack), pack)
        return
    if action == "list":
        await query.answer()
        await _list(chat.send_message, await _states(context, client, program, pack), pack)
        return
    module = pack.module(int(a)) if a.isdigit() else None
    if module is None:
        await query.answer()
        return
    if action == "o":
        await query.answer()
        await _open(update, context, client, program, pack, module.number)
        return
    # An old button of a lesson taken off the client's list since changes nothing.
    states = await _states(context, client, program, pack)
    if not any(s.module.number == module.number and s.open for s in states):
        await query.answer(pack.setup.stale_button)
    elif action == "c" and b.isdigit():
        await _card_next(update, context, client, pack, module, int(b))
    elif action == "q" and b.isdigit() and c.isdigit():
        await _answer(update, context, client, pack, module, int(b), int(c))
    else:
        await query.answer()


async def _card_next(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    pack: LanguagePack,
    module: ModuleFile,
    position: int,
) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None and client.id is not None
    async with session_scope(services(context).sessions) as session:
        row = await _progress_row(session, client.id, module.number)
        moved = (
            row is not None
            and row.id is not None
            and is_card(module, position)
            and await _move(
                session, row.id, from_position=position, position=position + 1, updated_at=now_utc()
            )
        )
    if not moved:
        await query.answer(pack.setup.stale_button)
        return
    await query.answer()
    await _close_pressed(update)
    await _show(chat.send_message, module, position + 1, pack)


async def _answer(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    pack: LanguagePack,
    module: ModuleFile,
    position: int,
    option: int,
) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None and client.id is not None
    result = answer(module, position, option)
    index = question_index(module, position)
    if result is None or index is None:
        await query.answer()
        return
    now = now_utc()
    finished = result.correct and result.next_position is None
    async with session_scope(services(context).sessions) as session:
        row = await _progress_row(session, client.id, module.number)
        moved = False
        if row is not None and row.id is not None and row.position == position:
            values: dict[str, object] = {
                "results": record_first_answer(row.results, index, result.correct),
                "updated_at": now,
            }
            if result.correct:
                values["position"] = total_positions(module) if finished else result.next_position
            if finished and row.completed_at is None:
                values["completed_at"] = now
            moved = await _move(session, row.id, from_position=position, **values)
    if not moved:
        await query.answer(pack.setup.stale_button)
        return
    await query.answer()
    await _close_pressed(update)
    texts = pack.learning.learn
    if not result.correct:
        await _ask(
            chat.send_message,
            module,
            position,
            pack,
            lead=f"{result.feedback}\n\n{texts.try_again}",
        )
        return
    await chat.send_message(result.feedback)
    if result.next_position is not None:
        await _show(chat.send_message, module, result.next_position, pack)
        return
    rows = []
    text = render(texts.finished, title=module.title)
    exercise = pack.exercise(module.practice) if module.practice else None
    if exercise is not None:
        text += "\n\n" + texts.practice_offer
        rows.append([practice_button(exercise, "l")])
    rows.append([_button(texts.next_lesson_button, "next"), _button(texts.list_button, "list")])
    await chat.send_message(text, reply_markup=InlineKeyboardMarkup(rows))


# --- clinicians: /assign and /lessons ------------------------------------------------------


async def assign(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/assign CODE N [assign|unlock|hide|reset]"""
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    pack = svc.content.language(None)
    staff = pack.learning.staff
    async with svc.sessions() as session:
        clinician = (await identify(session, user.id)).clinician
    if clinician is None:
        await welcome.anything_else(update, context)
        return
    args = list(context.args or [])
    code = normalize_code(args[0]) if args else None
    action = args[2].lower() if len(args) > 2 else "assign"
    if code is None or len(args) < 2 or len(args) > 3 or action not in OVERRIDE_ACTIONS:
        await chat.send_message(staff.assign_usage)
        return
    module = pack.module(int(args[1])) if args[1].isdigit() else None
    if module is None:
        await chat.send_message(render(staff.unknown_lesson, lesson=args[1]))
        return
    now = now_utc()
    async with session_scope(svc.sessions) as session:
        client = await find_client_by_code(session, program_id=clinician.program_id, code=code)
        if (
            client is None
            or client.id is None
            or (
                clinician.role is not ClinicianRole.admin
                and client.primary_clinician_id != clinician.id
            )
        ):
            await chat.send_message(render(pack.staff.client_not_found, code=code))
            return
        if action == "assign":
            # One assigned lesson at a time: an earlier assignment becomes "unlocked".
            overrides = LessonOverride.__table__  # type: ignore[attr-defined]
            await session.exec(  # type: ignore[call-overload]
                sa.update(overrides)
                .where(
                    overrides.c.client_id == client.id,
                    overrides.c.access == LessonAccess.assigned.value,
                )
                .values(access=LessonAccess.unlocked.value)
            )
        await set_override(
            session,
            client_id=client.id,
            module=module.number,
            access=OVERRIDE_ACTIONS[action],
            clinician_id=clinician.id,
            now=now,
        )
        audit(
            session,
            actor=f"clinician:{clinician.id}",
            action=f"lesson_{action}",
            subject=f"client:{client.id}",
            at=now,
            lesson=module.number,
        )
    await chat.send_message(
        render(
            staff.assign_done,
            code=code,
            number=module.number,
            title=module.title,
            action=staff.actions[action],
        )
    )


async def lessons_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/lessons: the list for clinicians; `/lessons mh-only on|off` (admins) hides or
    shows the substance-specific lessons for the whole program."""
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    pack = svc.content.language(None)
    staff = pack.learning.staff
    async with svc.sessions() as session:
        clinician = (await identify(session, user.id)).clinician
    if clinician is None:
        await welcome.anything_else(update, context)
        return
    args = [a.lower() for a in context.args or []]
    if args:
        if clinician.role is not ClinicianRole.admin:
            await chat.send_message(staff.admin_only)
            return
        if len(args) != 2 or args[0] != "mh-only" or args[1] not in ("on", "off"):
            await chat.send_message(staff.lessons_shown)
            return
        now = now_utc()
        async with session_scope(svc.sessions) as session:
            row = await session.get(ProgramLessons, clinician.program_id)
            if row is None:
                row = ProgramLessons(program_id=clinician.program_id)
            row.mental_health_only = args[1] == "on"
            row.updated_at = now
            session.add(row)
            audit(
                session,
                actor=f"clinician:{clinician.id}",
                action="program_lessons_changed",
                at=now,
                mental_health_only=row.mental_health_only,
            )
        state = staff.state_hidden_all if args[1] == "on" else staff.state_shown_all
        await chat.send_message(render(staff.program_set, state=state))
        return
    async with svc.sessions() as session:
        row = await session.get(ProgramLessons, clinician.program_id)
    lines = [staff.lessons_header]
    for module in pack.modules:
        lines.append(
            render(
                staff.lessons_line,
                number=module.number,
                week=module.week,
                title=module.title,
                mark=staff.substance_mark if module.substance_specific else "",
            )
        )
    lines += ["", staff.lessons_hidden if row and row.mental_health_only else staff.lessons_shown]
    await chat.send_message("\n".join(lines))


# --- the weekly reminder ------------------------------------------------------------------


def _nudge_key(client_id: int, week: int) -> str:
    return f"{NUDGE.name}:{client_id}:w{week}"


async def build_nudges(
    session: AsyncSession, program: Program, slot: Slot, hhmm: str
) -> list[dict[str, Any]]:
    """One reminder for each active client with a lesson waiting, once per program week
    and never within NUDGE_GAP of the last one."""
    content = _CONTENT.get("content")
    if content is None or program.id is None:
        return []
    clients = (
        await session.exec(
            select(Client).where(
                Client.program_id == program.id,
                Client.status == ClientStatus.active,
                col(Client.chat_id).is_not(None),
            )
        )
    ).all()
    rows: list[dict[str, Any]] = []
    for client in clients:
        assert client.id is not None and client.chat_id is not None
        zone = client.timezone or program.timezone
        week = program_week(client.enrolled_at or client.created_at, slot.at, zone)
        recent = (
            await session.exec(
                select(Delivery.id).where(
                    Delivery.client_id == client.id,
                    Delivery.kind == NUDGE.name,
                    sa.or_(
                        Delivery.dedupe_key == _nudge_key(client.id, week),
                        col(Delivery.due_at) > slot.at - NUDGE_GAP,
                    ),
                )
            )
        ).first()
        if recent is not None:
            continue  # this week's is queued, or one went out less than NUDGE_GAP ago
        pack = content.language(client.language)
        states = await states_for(session, pack.modules, client, program, slot.at)
        if next_lesson(states) is None:
            continue
        rows.append(
            {
                "kind": NUDGE.name,
                "recipient_chat_id": client.chat_id,
                "client_id": client.id,
                "due_at": slot.at,
                "payload": {},
                "dedupe_key": _nudge_key(client.id, week),
            }
        )
    return rows


async def render_nudge(ctx: RenderContext, item: DueDelivery) -> Outgoing | Skip:
    """Sent only while a lesson is still waiting (it may have been done or hidden)."""
    client = ctx.client(item)
    if client is None:
        return Skip("client gone")
    program = await ctx.session.get(Program, client.program_id)
    assert program is not None
    pack = ctx.content.language(client.language)
    states = await states_for(ctx.session, pack.modules, client, program, ctx.now)
    if next_lesson(states) is None:
        return Skip("no lesson waiting")
    texts = pack.learning.learn
    return Outgoing(texts.nudge, ((Button(texts.nudge_button, f"{PREFIX}:next"),),))


# The program schedule's build has no content argument; register() puts it here.
_CONTENT: dict[str, Any] = {}

register_renderer(NUDGE.name, render_nudge)
register_program_schedule(
    ProgramSchedule(
        kind=NUDGE.name,
        times=lambda program: [NUDGE_TIME],
        build=build_nudges,
        # No single row marks a slot done (each client has their own), so the minute's
        # catch-up rebuilds within this window; the unique keys keep each to once.
        key=lambda program, slot, hhmm: f"{NUDGE.name}:program:{program.id}:{slot.local_date}",
        catch_up=timedelta(hours=2),
    )
)


def register(application: AnyApplication) -> None:
    content = services(application).content
    _CONTENT["content"] = content
    labels = sorted({content.language(code).menu.learn for code in content.languages})
    application.add_handler(MessageHandler(PRIVATE_NEW & filters.Text(labels), learn_menu))
    application.add_handler(CommandHandler("assign", assign, filters=PRIVATE_NEW))
    application.add_handler(CommandHandler("lessons", lessons_command, filters=PRIVATE_NEW))
    application.add_handler(CallbackQueryHandler(pressed, pattern=rf"^{PREFIX}:"))
