"""Aftercare: a clinician steps a client down (instead of a plain discharge), and the
client keeps a short plan for after the program (SPEC module 16).

Stepping down keeps the client enrolled and everything recorded about them: their stage
becomes "aftercare", check-ins come only on the weekdays the clinician chose
(`Client.checkin_days`, honoured by the planner), and session reminders follow the
aftercare groups the clinician ticks instead of the program's groups.

The plan has four parts (ongoing care, groups with day and time, people to call, warning
signs), each the client's own words, sealed at rest. It is under Settings and its short
form is shown in a crisis reply beside the safety plan. The part being typed lives on
the plan row; typed text is read at ANSWER_GROUP, after the safety screen.
"""

from __future__ import annotations

import contextlib
import html
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.content import LanguagePack, render
from bot.db import session_scope
from bot.invites import normalize_code
from bot.keyboards import PRIVATE_NEW, data_fields, edit_buttons
from bot.models import (
    AftercarePlan,
    Client,
    ClientStatus,
    Clinician,
    ClinicianRole,
    SessionAudience,
    SessionMember,
    SessionSeries,
)
from bot.people import identify
from bot.roster import audit, find_client_by_code
from bot.scheduling.kinds import CHECKIN, CHECKIN_NUDGE
from bot.scheduling.planner import forget_pending, plan_client
from bot.services import AnyApplication, services
from bot.sessions import SESSION_REMINDER, replan

ANSWER_GROUP = -4  # after the safety screen (-9)
PARTS = ("therapy", "groups", "people", "warning_signs")
PART_MAX = 400
CADENCES = {"7": None, "3": "135", "2": "25", "1": "1"}


def now_utc() -> datetime:
    return datetime.now(UTC)


def days_text(pack: LanguagePack, days: str | None) -> str:
    if not days:
        return pack.sessions.client.every_day
    return ", ".join(pack.sessions.weekdays[int(d) - 1] for d in days)


async def load_plan(session: AsyncSession, client_id: int) -> AftercarePlan | None:
    return (
        await session.exec(select(AftercarePlan).where(AftercarePlan.client_id == client_id))
    ).first()


def plan_text(plan: AftercarePlan | None, pack: LanguagePack, *, short: bool = False) -> str | None:
    """The plan as the client reads it; None when empty. `short`: the parts that help in a
    hard moment (people to call, warning signs, groups), for the crisis reply."""
    texts = pack.sessions.client
    parts = ("people", "warning_signs", "groups") if short else PARTS
    lines = []
    for part in parts:
        value = getattr(plan, part) if plan is not None else None
        if value:
            lines.append(
                f"<b>{html.escape(getattr(texts, f'part_{part}'))}</b>\n{html.escape(value)}"
            )
    return "\n\n".join(lines) if lines else None


async def aftercare_plan_text(
    session: AsyncSession, client_id: int, pack: LanguagePack
) -> str | None:
    """The short form for the crisis reply (bot/features/crisis.py)."""
    plan = await load_plan(session, client_id)
    body = plan_text(plan, pack, short=True)
    return f"{pack.sessions.client.crisis_intro}\n\n{body}" if body else None


def _plan_keyboard(pack: LanguagePack) -> InlineKeyboardMarkup:
    texts = pack.sessions.client
    buttons = [
        InlineKeyboardButton(getattr(texts, f"part_{part}"), callback_data=f"ap:{part}")
        for part in PARTS
    ]
    return InlineKeyboardMarkup([buttons[:2], buttons[2:]])


async def show_plan(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with svc.sessions() as session:
        who = await identify(session, user.id)
        if who.client is None or who.client.id is None:
            return
        plan = await load_plan(session, who.client.id)
    pack = svc.content.language(who.client.language)
    texts = pack.sessions.client
    body = plan_text(plan, pack)
    text = (
        f"{texts.plan_heading}\n\n{body}\n\n{texts.plan_hint}"
        if body
        else (f"{texts.plan_heading}\n\n{texts.plan_empty}")
    )
    await chat.send_message(text, reply_markup=_plan_keyboard(pack), protect_content=True)


async def part_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ap:{part} asks for that part; ap:x cancels."""
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, part = data_fields(query.data, 2)
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        client = who.client
        pack = svc.content.language(who.language or user.language_code)
        if client is None or client.id is None or part not in (*PARTS, "x"):
            await query.answer(pack.setup.stale_button)
            return
        plan = await load_plan(session, client.id)
        if plan is None:
            plan = AftercarePlan(client_id=client.id)
            session.add(plan)
        plan.editing = None if part == "x" else part
    await query.answer()
    texts = pack.sessions.client
    if part == "x":
        await chat.send_message(texts.plan_cancelled)
        return
    cancel = InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.cancel_button, callback_data="ap:x")]]
    )
    await chat.send_message(getattr(texts, f"ask_{part}"), reply_markup=cancel)


async def part_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The typed text of the part being edited; anything else goes on to other features."""
    svc = services(context)
    user, message, chat = update.effective_user, update.effective_message, update.effective_chat
    if user is None or message is None or chat is None or not message.text:
        return
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        client = who.client
        if client is None or client.id is None or client.setup_step is not None:
            return
        plan = await load_plan(session, client.id)
        if plan is None or plan.editing not in PARTS:
            return
        pack = svc.content.language(client.language)
        text = message.text.strip()
        if len(text) > PART_MAX:
            await chat.send_message(pack.sessions.client.plan_too_long)
            raise ApplicationHandlerStop
        setattr(plan, plan.editing, text)
        plan.editing = None
        plan.updated_at = now_utc()
        body = plan_text(plan, pack)
    texts = pack.sessions.client
    await chat.send_message(
        f"{texts.plan_saved}\n\n{body}", reply_markup=_plan_keyboard(pack), protect_content=True
    )
    raise ApplicationHandlerStop


# --- the clinician: step down ------------------------------------------------------------


async def stepdown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stepdown CODE (or /discharge CODE aftercare): ask for the check-in cadence."""
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    staff = svc.content.language(None).sessions.staff
    args = [a for a in (context.args or []) if a.lower() != "aftercare"]
    async with svc.sessions() as session:
        who = await identify(session, user.id)
        clinician = who.clinician
        if clinician is None:
            from bot.features import welcome

            await welcome.anything_else(update, context)
            return
        code = normalize_code(args[0]) if args else None
        client = (
            await find_client_by_code(session, program_id=clinician.program_id, code=code)
            if code
            else None
        )
    if client is None or not _may(clinician, client):
        await chat.send_message(staff["stepdown_usage"])
        return
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(staff["cadence_3"], callback_data=f"sd:{client.id}:3")],
            [InlineKeyboardButton(staff["cadence_2"], callback_data=f"sd:{client.id}:2")],
            [InlineKeyboardButton(staff["cadence_1"], callback_data=f"sd:{client.id}:1")],
            [InlineKeyboardButton(staff["cadence_daily"], callback_data=f"sd:{client.id}:7")],
        ]
    )
    await chat.send_message(
        render(staff["stepdown_cadence"], code=client.code), reply_markup=keyboard
    )


def _may(clinician: Clinician, client: Client) -> bool:
    """The client's own clinician, or an admin, of the same program; enrolled clients."""
    own = clinician.role is ClinicianRole.admin or client.primary_clinician_id == clinician.id
    return (
        client.program_id == clinician.program_id
        and own
        and client.status in (ClientStatus.active, ClientStatus.paused)
    )


async def _groups_keyboard(
    session: AsyncSession, client: Client, staff: dict[str, str]
) -> InlineKeyboardMarkup | None:
    groups = (
        await session.exec(
            select(SessionSeries).where(
                SessionSeries.program_id == client.program_id,
                SessionSeries.audience == SessionAudience.aftercare,
                col(SessionSeries.cancelled_at).is_(None),
            )
        )
    ).all()
    if not groups:
        return None
    members = set(
        (
            await session.exec(
                select(SessionMember.series_id).where(SessionMember.client_id == client.id)
            )
        ).all()
    )
    rows = [
        [
            InlineKeyboardButton(
                ("✓ " if g.id in members else "") + f"#{g.id} {g.title}"[:40],
                callback_data=f"sg:{client.id}:{g.id}",
            )
        ]
        for g in groups
    ]
    rows.append([InlineKeyboardButton(staff["done_button"], callback_data=f"sg:{client.id}:0")])
    return InlineKeyboardMarkup(rows)


async def cadence_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """sd:{client}:{3|2|1|7}: step the client down with that check-in cadence."""
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, client_id, cadence = data_fields(query.data, 3)
    staff = svc.content.language(None).sessions.staff
    now = now_utc()
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        client = await session.get(Client, int(client_id)) if client_id.isdigit() else None
        if (
            who.clinician is None
            or client is None
            or cadence not in CADENCES
            or not _may(who.clinician, client)
        ):
            await query.answer(staff["not_allowed"])
            return
        client.care_stage = "aftercare"
        client.checkin_days = CADENCES[cadence]
        audit(
            session,
            actor=f"clinician:{who.clinician.id}",
            action="client_stepped_down",
            subject=f"client:{client.id}",
            at=now,
            checkin_days=client.checkin_days,
        )
        groups = await _groups_keyboard(session, client, staff)
        client_pack = svc.content.language(client.language)
        days = days_text(client_pack, client.checkin_days)
        staff_days = days_text(svc.content.language(None), client.checkin_days)
        client_chat, code = client.chat_id, client.code
    # Pending check-ins and reminders are planned again under the new stage and cadence
    # (reminders of the program's groups, which the client no longer attends, go).
    await forget_pending(
        svc.engine, client.id or 0, [SESSION_REMINDER.name, CHECKIN.name, CHECKIN_NUDGE.name]
    )
    await plan_client(svc.engine, client.id or 0, now)
    await query.answer()
    with _suppress():
        await edit_buttons(query, None)
    await chat.send_message(render(staff["stepped_down"], code=code, days=staff_days))
    await chat.send_message(
        render(staff["stepdown_groups"], code=code) if groups else staff["stepdown_no_groups"],
        reply_markup=groups,
    )
    if client_chat is not None:
        await context.bot.send_message(
            client_chat, render(client_pack.sessions.client.stepped_down, days=days)
        )


def _suppress() -> contextlib.suppress:
    return contextlib.suppress(BadRequest)


async def group_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """sg:{client}:{series}: add or remove an aftercare group; sg:{client}:0 is Done."""
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, client_id, series_id = data_fields(query.data, 3)
    staff = svc.content.language(None).sessions.staff
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        client = await session.get(Client, int(client_id)) if client_id.isdigit() else None
        series = (
            await session.get(SessionSeries, int(series_id))
            if series_id.isdigit() and series_id != "0"
            else None
        )
        if (
            who.clinician is None
            or client is None
            or not _may(who.clinician, client)
            or (
                series_id != "0"
                and (
                    series is None
                    or series.program_id != client.program_id
                    or series.audience is not SessionAudience.aftercare
                )
            )
        ):
            await query.answer(staff["not_allowed"])
            return
        if series is not None:
            existing = (
                await session.exec(
                    select(SessionMember).where(
                        SessionMember.series_id == series.id, SessionMember.client_id == client.id
                    )
                )
            ).first()
            if existing is None:
                session.add(SessionMember(series_id=series.id or 0, client_id=client.id or 0))
            else:
                await session.delete(existing)
            await session.flush()
        keyboard = await _groups_keyboard(session, client, staff)
        count = len(
            (
                await session.exec(
                    select(SessionMember.id).where(SessionMember.client_id == client.id)
                )
            ).all()
        )
        code = client.code
    await query.answer()
    if series is None:
        with _suppress():
            await edit_buttons(query, None)
        await chat.send_message(render(staff["groups_done"], code=code, count=count))
        return
    await replan(svc.engine, [series.id or 0], now_utc())
    with _suppress():
        await edit_buttons(query, keyboard)


def register(application: AnyApplication) -> None:
    private = PRIVATE_NEW
    with_aftercare = filters.Regex(r"(?i)^/discharge(@\w+)?\s+\S+\s+aftercare\s*$")
    # Before careteam's /discharge (same group, registered earlier in FEATURES).
    application.add_handler(CommandHandler("discharge", stepdown, filters=private & with_aftercare))
    application.add_handler(CommandHandler("stepdown", stepdown, filters=private))
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, part_typed), ANSWER_GROUP
    )
    application.add_handler(CallbackQueryHandler(part_pressed, pattern=r"^ap:"))
    application.add_handler(CallbackQueryHandler(cadence_pressed, pattern=r"^sd:"))
    application.add_handler(CallbackQueryHandler(group_pressed, pattern=r"^sg:"))
