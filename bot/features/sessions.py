"""Sessions in the chat: the client's "Sessions" menu and RSVP buttons; clinicians'
/sessions, /session add (a guided flow), /session cancel|skip and /attendance.

The rules live in bot/sessions.py and bot/session_schedule.py. Every button carries ids
only (a series id and an occurrence's local start) and is checked against the database
on every press: a forged press, another client's session or a session that moved
changes nothing.

The guided `/session add` keeps its answers in a SessionDraft row (DESIGN: conversations
are rows). Typed answers are read at ANSWER_GROUP, after the safety screen, and only
while the clinician has a draft waiting for typed text; anything else goes on to other
features.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select
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
from bot.keyboards import PRIVATE_NEW, data_fields, edit_buttons, main_menu
from bot.models import (
    Client,
    Clinician,
    ClinicianRole,
    Program,
    SessionAudience,
    SessionDraft,
    SessionSeries,
)
from bot.people import identify
from bot.roster import audit, find_client_by_code
from bot.services import AnyApplication, services
from bot.session_schedule import Occurrence, weekly_rule
from bot.sessions import (
    MARKS,
    REASONS,
    RSVP_ANSWERS,
    attendance_for,
    attendance_row,
    attendees,
    attends,
    client_zone,
    mark_attendance,
    memberships,
    replan,
    resolve_occurrence,
    rsvp_buttons,
    upcoming,
    upcoming_for_client,
    when_text,
    withdraw_reminders,
)

ANSWER_GROUP = -3  # after the safety screen (-9); typed answers of /session add
DAYS_AHEAD = 7
DURATIONS = (60, 90, 120, 180)


def now_utc() -> datetime:
    return datetime.now(UTC)


def _markup(rows: tuple[tuple[object, ...], ...]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.callback_data) for b in row] for row in rows]  # type: ignore[attr-defined]
    )


def kind_label(pack: LanguagePack, series: SessionSeries) -> str:
    c = pack.sessions.client
    return {"individual": c.kind_individual, "family": c.kind_family}.get(series.kind, c.kind_group)


# --- the client ------------------------------------------------------------------------


async def show_sessions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Sessions" in the menu: the next 7 days, in the client's own time zone."""
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    now = now_utc()
    async with svc.sessions() as session:
        who = await identify(session, user.id)
        if who.client is None or who.program is None:
            if who.clinician is not None:
                await clinician_sessions(update, context)
                return
            from bot.features import welcome

            await welcome.anything_else(update, context)
            return
        client, program = who.client, who.program
        planned = await upcoming_for_client(session, client, now, now + timedelta(days=DAYS_AHEAD))
        answers = {}
        for series, occurrence in planned:
            assert series.id is not None and client.id is not None
            row = await attendance_row(session, series.id, client.id, occurrence.key)
            answers[(series.id, occurrence.key)] = row.rsvp if row else None
    pack = svc.content.language(client.language)
    texts = pack.sessions.client
    if not planned:
        await chat.send_message(texts.list_empty, reply_markup=main_menu(pack))
        return
    zone = client_zone(client, program)
    lines, buttons = [texts.list_header], []
    for series, occurrence in planned:
        day, clock = when_text(pack, occurrence.starts_at, zone)
        answer = answers[(series.id, occurrence.key)]
        kind = kind_label(pack, series)
        if answer:
            label = {"going": texts.answer_going, "late": texts.answer_late}.get(
                answer, texts.answer_cant
            )
            lines.append(
                render(texts.list_line_answered, day=day, time=clock, kind=kind, answer=label)
            )
        else:
            lines.append(render(texts.list_line, day=day, time=clock, kind=kind))
        buttons.append(
            [
                InlineKeyboardButton(
                    f"{day}, {clock}", callback_data=f"so:{series.id}:{occurrence.key}"
                )
            ]
        )
    lines.append(texts.list_hint)
    await chat.send_message("\n".join(lines), reply_markup=InlineKeyboardMarkup(buttons))


async def _client_occurrence(
    update: Update, context: ContextTypes.DEFAULT_TYPE, series_id: str, key: str
) -> tuple[Client, Program, SessionSeries, Occurrence] | None:
    """The presser as a client, and the occurrence if it is one of theirs."""
    user = update.effective_user
    assert user is not None
    async with services(context).sessions() as session:
        who = await identify(session, user.id)
        if who.client is None or who.program is None or who.client.id is None:
            return None
        found = await resolve_occurrence(session, series_id, key)
        if found is None:
            return None
        series, occurrence = found
        if not attends(who.client, series, await memberships(session, who.client.id)):
            return None
        return who.client, who.program, series, occurrence


async def open_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A session in the client's list: ask whether they can come."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    _, series_id, key = data_fields(query.data, 3)
    found = await _client_occurrence(update, context, series_id, key)
    svc = services(context)
    if found is None:
        user = update.effective_user
        pack = svc.content.language(user.language_code if user else None)
        await query.answer(pack.sessions.client.not_found)
        return
    client, program, series, occurrence = found
    await query.answer()
    pack = svc.content.language(client.language)
    day, clock = when_text(pack, occurrence.starts_at, client_zone(client, program))
    assert series.id is not None
    await chat.send_message(
        render(
            pack.sessions.client.choose_answer, day=day, time=clock, kind=kind_label(pack, series)
        ),
        reply_markup=_markup(rsvp_buttons(pack, series.id, occurrence.key)),
    )


async def rsvp_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """I'll be there · Running late · I can't make it (on a reminder or from the list)."""
    from bot.sessions import notify_clinician

    svc = services(context)
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    _, series_id, key, code = data_fields(query.data, 4)
    found = await _client_occurrence(update, context, series_id, key)
    answer = RSVP_ANSWERS.get(code)
    user = update.effective_user
    fallback = svc.content.language(user.language_code if user else None)
    if found is None or answer is None:
        await query.answer(fallback.sessions.client.not_found)
        return
    client, program, series, occurrence = found
    pack = svc.content.language(client.language)
    texts = pack.sessions.client
    now = now_utc()
    if now >= occurrence.ends_at or (answer != "late" and now >= occurrence.starts_at):
        await query.answer(texts.already_started)
        return
    await query.answer()
    assert client.id is not None and series.id is not None
    async with session_scope(svc.sessions) as session:
        row = await attendance_for(session, series, client.id, occurrence)
        changed = row.rsvp != answer
        row.rsvp, row.rsvp_at = answer, now
        if answer != "cant":
            row.rsvp_reason = None
        audit(
            session,
            actor=f"client:{client.id}",
            action=f"session_rsvp_{answer}",
            subject=f"client:{client.id}",
            at=now,
            series=series.id,
            occurrence=occurrence.key,
        )
        if answer == "cant" and changed:
            await notify_clinician(
                session, svc.content, client, program, series, occurrence, "notice_cant", now
            )
    if answer == "going":
        await chat.send_message(texts.going_thanks)
        return
    if answer == "late":
        await chat.send_message(texts.late_thanks)
        return
    reasons = [
        [
            InlineKeyboardButton(
                getattr(texts, f"reason_{r}"), callback_data=f"rr:{series.id}:{occurrence.key}:{r}"
            )
            for r in pair
        ]
        for pair in (REASONS[:2], REASONS[2:4], REASONS[4:])
    ]
    reasons[-1].append(
        InlineKeyboardButton(
            texts.reason_none, callback_data=f"rr:{series.id}:{occurrence.key}:none"
        )
    )
    await chat.send_message(texts.cant_thanks, reply_markup=InlineKeyboardMarkup(reasons))


async def reason_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The optional reason after "I can't make it"; for an individual or family session,
    the offer to ask for another time."""
    from bot.sessions import notify_clinician

    svc = services(context)
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    _, series_id, key, reason = data_fields(query.data, 4)
    found = await _client_occurrence(update, context, series_id, key)
    user = update.effective_user
    fallback = svc.content.language(user.language_code if user else None)
    if found is None or reason not in (*REASONS, "none"):
        await query.answer(fallback.sessions.client.not_found)
        return
    client, program, series, occurrence = found
    texts = svc.content.language(client.language).sessions.client
    now = now_utc()
    assert client.id is not None and series.id is not None
    async with session_scope(svc.sessions) as session:
        row = await attendance_for(session, series, client.id, occurrence)
        if row.rsvp != "cant":
            await query.answer(texts.not_found)
            return
        await query.answer()
        if reason != "none" and row.rsvp_reason != reason:
            row.rsvp_reason = reason
            await notify_clinician(
                session,
                svc.content,
                client,
                program,
                series,
                occurrence,
                "notice_reason",
                now,
                reason=reason,
            )
    await _close(query)
    if series.audience is SessionAudience.client:
        await chat.send_message(
            f"{texts.reason_thanks}\n\n{texts.reschedule_offer}",
            reply_markup=InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            texts.reschedule_button,
                            callback_data=f"rq:{series.id}:{occurrence.key}",
                        )
                    ]
                ]
            ),
        )
    else:
        await chat.send_message(texts.reason_thanks)


async def reschedule_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A request to the clinician for another time: never an automatic booking."""
    from bot.sessions import notify_clinician

    svc = services(context)
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    _, series_id, key = data_fields(query.data, 3)
    found = await _client_occurrence(update, context, series_id, key)
    user = update.effective_user
    fallback = svc.content.language(user.language_code if user else None)
    if found is None or found[2].audience is not SessionAudience.client:
        await query.answer(fallback.sessions.client.not_found)
        return
    client, program, series, occurrence = found
    texts = svc.content.language(client.language).sessions.client
    now = now_utc()
    assert client.id is not None
    async with session_scope(svc.sessions) as session:
        row = await attendance_for(session, series, client.id, occurrence)
        if row.reschedule_requested_at is None:
            row.reschedule_requested_at = now
            await notify_clinician(
                session, svc.content, client, program, series, occurrence, "notice_reschedule", now
            )
    await query.answer()
    await _close(query)
    await chat.send_message(texts.reschedule_sent)


async def _close(query: object) -> None:
    with contextlib.suppress(BadRequest):
        await edit_buttons(query, None)  # type: ignore[arg-type]


# --- clinicians ------------------------------------------------------------------------


async def _clinician(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Clinician | None:
    user = update.effective_user
    assert user is not None
    async with services(context).sessions() as session:
        return (await identify(session, user.id)).clinician


def _staff(context: ContextTypes.DEFAULT_TYPE) -> dict[str, str]:
    return services(context).content.language(None).sessions.staff


def _who(series: SessionSeries, staff: dict[str, str], codes: dict[int, str]) -> str:
    if series.audience is SessionAudience.client:
        return codes.get(series.client_id or 0, "?")
    if series.audience is SessionAudience.aftercare:
        return staff["aftercare_group"]
    return staff["everyone"]


async def clinician_sessions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sessions: the program's next 7 days, in the program's zone."""
    svc = services(context)
    clinician = await _clinician(update, context)
    chat = update.effective_chat
    assert chat is not None
    if clinician is None:
        await show_sessions(update, context)
        return
    staff = _staff(context)
    now = now_utc()
    async with svc.sessions() as session:
        program = await session.get(Program, clinician.program_id)
        assert program is not None
        planned = await upcoming(session, program.id or 0, now, now + timedelta(days=DAYS_AHEAD))
        codes = {}
        for series, _ in planned:
            if series.client_id is not None and series.client_id not in codes:
                c = await session.get(Client, series.client_id)
                codes[series.client_id] = c.code if c else "?"
    if not planned:
        await chat.send_message(staff["sessions_empty"])
        return
    lines = [render(staff["sessions_header"], zone=program.timezone)]
    for series, occurrence in planned:
        lines.append(
            render(
                staff["sessions_line"],
                id=series.id,
                day=f"{occurrence.local_start:%a %d %b}",
                time=f"{occurrence.local_start:%H:%M}",
                title=series.title,
                who=_who(series, staff, codes),
            )
        )
    lines.append(staff.get("sessions_footer", ""))
    await chat.send_message("\n".join(lines), protect_content=True)


async def session_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/session add · /session cancel ID · /session skip ID YYYY-MM-DD"""
    svc = services(context)
    clinician = await _clinician(update, context)
    chat = update.effective_chat
    assert chat is not None
    if clinician is None:
        from bot.features import welcome

        await welcome.anything_else(update, context)
        return
    staff = _staff(context)
    args = context.args or []
    action = args[0].lower() if args else ""
    now = now_utc()
    if action == "add":
        async with session_scope(svc.sessions) as session:
            draft = await _draft(session, clinician)
            draft.step, draft.answers, draft.updated_at = "kind", {}, now
        await chat.send_message(staff["add_kind"], reply_markup=_kind_keyboard(staff))
        return
    if action in ("cancel", "skip") and len(args) >= 2 and args[1].lstrip("#").isdigit():
        series_id = int(args[1].lstrip("#"))
        skip_day: date | None = None
        if action == "skip":
            try:
                skip_day = date.fromisoformat(args[2]) if len(args) > 2 else None
            except ValueError:
                skip_day = None
            if skip_day is None:
                await chat.send_message(staff["bad_date"])
                return
        async with session_scope(svc.sessions) as session:
            series = await session.get(SessionSeries, series_id)
            if series is None or series.program_id != clinician.program_id:
                await chat.send_message(render(staff["not_found"], id=series_id))
                return
            if skip_day is None:
                series.cancelled_at = now
            else:
                series.exdates = sorted({*series.exdates, skip_day.isoformat()})
            series.updated_at = now
            audit(
                session,
                actor=f"clinician:{clinician.id}",
                action=f"session_{action}",
                at=now,
                series=series_id,
            )
            await session.flush()
            await withdraw_reminders(session, [series_id])
        await replan(svc.engine, [series_id], now)
        text = (
            render(staff["cancelled"], id=series_id)
            if skip_day is None
            else render(staff["skipped_date"], id=series_id, date=skip_day.isoformat())
        )
        await chat.send_message(text)
        return
    await chat.send_message(staff["usage_session"])


async def _draft(session: AsyncSession, clinician: Clinician) -> SessionDraft:
    draft = (
        await session.exec(select(SessionDraft).where(SessionDraft.clinician_id == clinician.id))
    ).first()
    if draft is None:
        assert clinician.id is not None
        draft = SessionDraft(clinician_id=clinician.id, step="kind")
        session.add(draft)
    return draft


def _kind_keyboard(staff: dict[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(staff["kind_group"], callback_data="ss:kind:group"),
                InlineKeyboardButton(staff["kind_aftercare"], callback_data="ss:kind:aftercare"),
            ],
            [
                InlineKeyboardButton(staff["kind_individual"], callback_data="ss:kind:individual"),
                InlineKeyboardButton(staff["kind_family"], callback_data="ss:kind:family"),
            ],
        ]
    )


def _days_keyboard(staff: dict[str, str], chosen: list[int]) -> InlineKeyboardMarkup:
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    row = [
        InlineKeyboardButton(
            ("✓ " if i + 1 in chosen else "") + name, callback_data=f"ss:day:{i + 1}"
        )
        for i, name in enumerate(names)
    ]
    return InlineKeyboardMarkup(
        [row[:4], row[4:], [InlineKeyboardButton(staff["done_button"], callback_data="ss:day:0")]]
    )


async def add_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button of the /session add flow: checked against the draft's current step, so an
    old button changes nothing."""
    svc = services(context)
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    _, step, value = data_fields(query.data, 3)
    clinician = await _clinician(update, context)
    staff = _staff(context)
    if clinician is None:
        await query.answer(staff["not_allowed"])
        return
    reply: tuple[str, InlineKeyboardMarkup | None] | None = None
    finish = False
    async with session_scope(svc.sessions) as session:
        draft = await _draft(session, clinician)
        answers = dict(draft.answers)
        program = await session.get(Program, clinician.program_id)
        assert program is not None
        if step != draft.step:
            await query.answer()
            return
        if step == "kind" and value in ("group", "aftercare", "individual", "family"):
            answers["kind"] = value
            draft.step = "client" if value in ("individual", "family") else "title"
            reply = (staff["add_client"] if draft.step == "client" else staff["add_title"], None)
        elif step == "repeat" and value in ("weekly", "once"):
            answers["repeat"] = value
            if value == "weekly":
                draft.step, answers["days"] = "day", []
                reply = (staff["add_days"], _days_keyboard(staff, []))
            else:
                draft.step = "date"
                reply = (staff["add_date"], None)
        elif step == "day" and value.isdigit() and 0 <= int(value) <= 7:
            days = list(answers.get("days", []))
            if int(value) == 0:
                if days:
                    draft.step = "date"
                    reply = (staff["add_date"], None)
            else:
                day = int(value)
                days = sorted(set(days) ^ {day})
                answers["days"] = days
                draft.answers = answers
                await query.answer()
                with contextlib.suppress(BadRequest):  # unchanged: nothing to show
                    await edit_buttons(query, _days_keyboard(staff, days))
                return
        elif step == "duration" and value.isdigit() and int(value) in DURATIONS:
            answers["duration"] = int(value)
            finish = True
        else:
            await query.answer()
            return
        draft.answers = answers
        draft.updated_at = now_utc()
        if finish:
            text, new_id = await _create_from_draft(session, clinician, program, draft, staff)
            await session.delete(draft)
            reply = (text, None)
    await query.answer()
    if finish:
        await replan(svc.engine, [new_id], now_utc())
    assert reply is not None
    await chat.send_message(reply[0], reply_markup=reply[1])


async def add_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed answer of /session add (client code, title, date, time); anything else, or
    a clinician without a draft waiting for text, goes on to other features."""
    svc = services(context)
    user, message, chat = update.effective_user, update.effective_message, update.effective_chat
    if user is None or message is None or chat is None or not message.text:
        return
    text = message.text.strip()
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        clinician = who.clinician
        if clinician is None or who.program is None:
            return
        draft = (
            await session.exec(
                select(SessionDraft).where(SessionDraft.clinician_id == clinician.id)
            )
        ).first()
        if draft is None or draft.step not in ("client", "title", "date", "time"):
            return
        staff = svc.content.language(None).sessions.staff
        answers = dict(draft.answers)
        keyboard: InlineKeyboardMarkup | None = None
        if draft.step == "client":
            code = normalize_code(text)
            client = (
                await find_client_by_code(session, program_id=clinician.program_id, code=code)
                if code
                else None
            )
            if client is None or (
                clinician.role is not ClinicianRole.admin
                and client.primary_clinician_id != clinician.id
            ):
                reply = render(staff["bad_code"], code=text[:16])
            else:
                answers["client_id"], answers["code"] = client.id, client.code
                draft.step, reply = "title", staff["add_title"]
        elif draft.step == "title":
            answers["title"] = " ".join(text.split())[:120]
            draft.step, reply = "repeat", staff["add_repeat"]
            keyboard = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            staff["repeat_weekly"], callback_data="ss:repeat:weekly"
                        ),
                        InlineKeyboardButton(staff["repeat_once"], callback_data="ss:repeat:once"),
                    ]
                ]
            )
        elif draft.step == "date":
            try:
                answers["date"] = date.fromisoformat(text).isoformat()
                draft.step = "time"
                reply = render(staff["add_time"], zone=who.program.timezone)
            except ValueError:
                reply = staff["bad_date"]
        else:
            from bot.medication import valid_times

            times = valid_times([text])
            if not times:
                reply = staff["bad_time"]
            else:
                answers["time"] = times[0]
                draft.step, reply = "duration", staff["add_duration"]
                keyboard = InlineKeyboardMarkup(
                    [
                        [
                            InlineKeyboardButton(
                                f"{m // 60}h{m % 60:02d}" if m % 60 else f"{m // 60}h",
                                callback_data=f"ss:duration:{m}",
                            )
                            for m in DURATIONS
                        ]
                    ]
                )
        draft.answers = answers
        draft.updated_at = now_utc()
    await chat.send_message(reply, reply_markup=keyboard)
    raise ApplicationHandlerStop


async def cancel_draft(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel during /session add."""
    svc = services(context)
    clinician = await _clinician(update, context)
    chat = update.effective_chat
    if clinician is None or chat is None:
        return
    async with session_scope(svc.sessions) as session:
        draft = (
            await session.exec(
                select(SessionDraft).where(SessionDraft.clinician_id == clinician.id)
            )
        ).first()
        if draft is None:
            return
        await session.delete(draft)
    await chat.send_message(_staff(context)["add_cancelled"])
    raise ApplicationHandlerStop


async def _create_from_draft(
    session: AsyncSession,
    clinician: Clinician,
    program: Program,
    draft: SessionDraft,
    staff: dict[str, str],
) -> tuple[str, int]:
    a = draft.answers
    kind = a["kind"]
    audience = {
        "aftercare": SessionAudience.aftercare,
        "individual": SessionAudience.client,
        "family": SessionAudience.client,
    }.get(kind, SessionAudience.program)
    starts_on = date.fromisoformat(a["date"])
    rule = None
    if a.get("repeat") == "weekly":
        rule = weekly_rule(a["days"])
        # The first occurrence is the first chosen weekday on or after the date.
        while starts_on.isoweekday() not in a["days"]:
            starts_on += timedelta(days=1)
    series = SessionSeries(
        program_id=program.id or 0,
        title=a.get("title") or kind,
        kind="group" if kind == "aftercare" else kind,
        audience=audience,
        client_id=a.get("client_id") if audience is SessionAudience.client else None,
        timezone=program.timezone,
        starts_on=starts_on,
        start_time=a["time"],
        duration_minutes=int(a.get("duration", 60)),
        rrule=rule,
        created_by=f"clinician:{clinician.id}",
    )
    session.add(series)
    await session.flush()
    audit(
        session,
        actor=f"clinician:{clinician.id}",
        action="session_added",
        at=now_utc(),
        series=series.id,
    )
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    when = (
        "every " + "/".join(names[d - 1] for d in a["days"]) + f" {a['time']}"
        if rule
        else f"{starts_on.isoformat()} {a['time']}"
    )
    return render(staff["added"], id=series.id, title=series.title, when=when), series.id or 0


# --- attendance ------------------------------------------------------------------------


async def attendance_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/attendance: each session that started in the last 24 hours, with its clients and
    ✓ / ✗ / excused buttons."""
    svc = services(context)
    clinician = await _clinician(update, context)
    chat = update.effective_chat
    assert chat is not None
    if clinician is None:
        from bot.features import welcome

        await welcome.anything_else(update, context)
        return
    staff = _staff(context)
    now = now_utc()
    messages = []
    async with svc.sessions() as session:
        program = await session.get(Program, clinician.program_id)
        assert program is not None
        for series, occurrence in await upcoming(
            session, program.id or 0, now - timedelta(hours=24), now
        ):
            messages.append(
                await _attendance_message(session, staff, series, occurrence, clinician)
            )
    if not messages:
        await chat.send_message(staff["attendance_none"])
        return
    for text, keyboard in messages:
        await chat.send_message(text, reply_markup=keyboard, protect_content=True)


async def _attendance_message(
    session: AsyncSession,
    staff: dict[str, str],
    series: SessionSeries,
    occurrence: Occurrence,
    clinician: Clinician,
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        render(
            staff["attendance_header"],
            title=series.title,
            day=f"{occurrence.local_start:%a %d %b}",
            time=f"{occurrence.local_start:%H:%M}",
        )
    ]
    rows = []
    for client in await attendees(session, series):
        assert client.id is not None and series.id is not None
        a = await attendance_row(session, series.id, client.id, occurrence.key)
        rsvp = staff.get(f"rsvp_{a.rsvp}" if a and a.rsvp else "rsvp_none", "-")
        mark = staff.get(f"mark_{a.attendance}" if a and a.attendance else "mark_none", "-")
        lines.append(render(staff["attendance_line"], code=client.code, rsvp=rsvp, mark=mark))
        data = f"at:{series.id}:{occurrence.key}:{client.id}"
        rows.append(
            [
                InlineKeyboardButton(
                    f"{staff['present_button']} {client.code}", callback_data=f"{data}:p"
                ),
                InlineKeyboardButton(staff["absent_button"], callback_data=f"{data}:a"),
                InlineKeyboardButton(staff["excused_button"], callback_data=f"{data}:e"),
            ]
        )
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def attendance_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One tap: ✓ / ✗ / excused for one client at one session."""
    from bot.features.crisis import send_now

    svc = services(context)
    query = update.callback_query
    assert query is not None
    _, series_id, key, client_id, code = data_fields(query.data, 5)
    clinician = await _clinician(update, context)
    staff = _staff(context)
    mark = MARKS.get(code)
    now = now_utc()
    flagged = False
    async with session_scope(svc.sessions) as session:
        found = await resolve_occurrence(session, series_id, key) if clinician else None
        client = await session.get(Client, int(client_id)) if client_id.isdigit() else None
        if (
            clinician is None
            or found is None
            or client is None
            or mark is None
            or found[0].program_id != clinician.program_id
            or client.program_id != clinician.program_id
            or found[1].starts_at > now
        ):
            await query.answer(staff["not_allowed"])
            return
        series, occurrence = found
        if client.id not in {c.id for c in await attendees(session, series)}:
            await query.answer(staff["not_allowed"])
            return
        assert clinician.id is not None
        flagged = await mark_attendance(
            session,
            content=svc.content,
            series=series,
            occurrence=occurrence,
            client=client,
            mark=mark,
            clinician_id=clinician.id,
            now=now,
        )
        audit(
            session,
            actor=f"clinician:{clinician.id}",
            action=f"attendance_{mark}",
            subject=f"client:{client.id}",
            at=now,
            series=series.id,
            occurrence=occurrence.key,
        )
        text, keyboard = await _attendance_message(session, staff, series, occurrence, clinician)
    if flagged:
        send_now(context)
    await query.answer(render(staff["marked"], code=client.code, mark=staff[f"mark_{mark}"]))
    with contextlib.suppress(BadRequest):  # unchanged (the same mark twice)
        await query.edit_message_text(text, reply_markup=keyboard)


# --- wiring ----------------------------------------------------------------------------


def register(application: AnyApplication) -> None:
    content = services(application).content
    packs = [content.language(code) for code in content.languages]
    private = PRIVATE_NEW
    application.add_handler(
        MessageHandler(private & filters.Text([p.menu.sessions for p in packs]), show_sessions)
    )
    application.add_handler(CommandHandler("sessions", clinician_sessions, filters=private))
    application.add_handler(CommandHandler("session", session_command, filters=private))
    application.add_handler(CommandHandler("attendance", attendance_command, filters=private))
    application.add_handler(CommandHandler("cancel", cancel_draft, filters=private), ANSWER_GROUP)
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, add_typed), ANSWER_GROUP
    )
    application.add_handler(CallbackQueryHandler(open_pressed, pattern=r"^so:"))
    application.add_handler(CallbackQueryHandler(rsvp_pressed, pattern=r"^rv:"))
    application.add_handler(CallbackQueryHandler(reason_pressed, pattern=r"^rr:"))
    application.add_handler(CallbackQueryHandler(reschedule_pressed, pattern=r"^rq:"))
    application.add_handler(CallbackQueryHandler(add_pressed, pattern=r"^ss:"))
    application.add_handler(CallbackQueryHandler(attendance_pressed, pattern=r"^at:"))
