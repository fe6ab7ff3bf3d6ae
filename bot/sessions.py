"""Sessions in the database: who attends, reminders through the delivery engine, RSVPs,
attendance and the flags they raise, and the digest and /client sections.

No Telegram here. The calendar arithmetic is bot/session_schedule.py.

Reminders are planned like check-ins (bot/scheduling/planner.py): a plan step creates the
reminder rows due in the planner's window, each under a unique key
`sr:{client}:{series}:{occurrence}:{offset}`. A reminder is checked again when it is
rendered (the session still has that occurrence, the client still attends and still wants
reminders, and has not said they can't come), and it is never sent after the session
began (its expires_at). When a schedule changes, `withdraw_reminders` skips the pending
reminders that no longer match (their keys are freed, so the same slot can be planned
again if the change is undone) and `replan` plans the new ones at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts import Finding, raise_alert
from bot.client_view import register_client_section
from bot.content import Content, LanguagePack, render
from bot.digest import DigestScope, register_digest_section
from bot.localtime import time_label
from bot.models import (
    AlertTier,
    CareFlag,
    Client,
    ClientStatus,
    Clinician,
    Delivery,
    DeliveryStatus,
    PlannerCursor,
    Program,
    SessionAttendance,
    SessionAudience,
    SessionMember,
    SessionSeries,
)
from bot.scheduling.kinds import Kind, Rule, register_kind
from bot.scheduling.planner import insert_new, register_plan_step
from bot.scheduling.rendering import (
    Button,
    DueDelivery,
    Outgoing,
    RenderContext,
    Skip,
    register_renderer,
)
from bot.session_schedule import (
    MAX_LEAD,
    Occurrence,
    SeriesSpec,
    find_occurrence,
    occurrences,
    parse_reminder_key,
    reminder_key,
    reminders_for,
)

# At most once (a second identical reminder is worse than none); an hour late at most,
# and never after the session began (each row's expires_at).
SESSION_REMINDER = register_kind(
    Kind("session_reminder", Rule.at_most_once, grace=timedelta(hours=1))
)
RSVP_ANSWERS = {"g": "going", "l": "late", "c": "cant"}
REASONS = ("sick", "work", "transport", "childcare", "other")
MARKS = {"p": "present", "a": "absent", "e": "excused"}
CANT_OFTEN = 3  # "can't make it" this many times in CANT_WINDOW shows in the digest
CANT_WINDOW = timedelta(days=14)

delivery_t = Delivery.__table__  # type: ignore[attr-defined]


def spec_of(series: SessionSeries) -> SeriesSpec:
    assert series.id is not None
    return SeriesSpec(
        id=series.id,
        zone=series.timezone,
        starts_on=series.starts_on,
        start_time=series.start_time,
        duration_minutes=series.duration_minutes,
        rrule=series.rrule,
        exdates=tuple(series.exdates or ()),
    )


def client_zone(client: Client, program: Program) -> str:
    return client.timezone or program.timezone


# --- who attends -----------------------------------------------------------------------


def attends(client: Client, series: SessionSeries, member_of: set[int]) -> bool:
    """Whether a client is expected at a series: the program's groups while in the
    program, their own one-offs always, aftercare groups they were named for."""
    if series.cancelled_at is not None or client.program_id != series.program_id:
        return False
    if series.audience is SessionAudience.client:
        return series.client_id == client.id
    if series.audience is SessionAudience.aftercare:
        return series.id in member_of
    return client.care_stage != "aftercare"


async def memberships(session: AsyncSession, client_id: int) -> set[int]:
    rows = await session.exec(
        select(SessionMember.series_id).where(SessionMember.client_id == client_id)
    )
    return set(rows.all())


async def attendees(session: AsyncSession, series: SessionSeries) -> list[Client]:
    """Enrolled clients (active or paused) expected at a series."""
    query = select(Client).where(
        Client.program_id == series.program_id,
        col(Client.status).in_([ClientStatus.active, ClientStatus.paused]),
    )
    if series.audience is SessionAudience.client:
        query = query.where(Client.id == series.client_id)
    elif series.audience is SessionAudience.aftercare:
        members = select(SessionMember.client_id).where(SessionMember.series_id == series.id)
        query = query.where(col(Client.id).in_(members))
    else:
        query = query.where(Client.care_stage != "aftercare")
    return list((await session.exec(query.order_by(col(Client.code)))).all())


async def live_series(session: AsyncSession, program_id: int) -> list[SessionSeries]:
    return list(
        (
            await session.exec(
                select(SessionSeries)
                .where(
                    SessionSeries.program_id == program_id,
                    col(SessionSeries.cancelled_at).is_(None),
                )
                .order_by(col(SessionSeries.id))
            )
        ).all()
    )


async def upcoming(
    session: AsyncSession, program_id: int, start: datetime, end: datetime
) -> list[tuple[SessionSeries, Occurrence]]:
    """Every occurrence of the program's live series starting in [start, end), in order."""
    out = []
    for series in await live_series(session, program_id):
        out.extend((series, o) for o in occurrences(spec_of(series), start, end))
    return sorted(out, key=lambda pair: pair[1].starts_at)


async def upcoming_for_client(
    session: AsyncSession, client: Client, start: datetime, end: datetime
) -> list[tuple[SessionSeries, Occurrence]]:
    assert client.id is not None
    member_of = await memberships(session, client.id)
    return [
        (series, o)
        for series, o in await upcoming(session, client.program_id, start, end)
        if attends(client, series, member_of)
    ]


# --- reminders -------------------------------------------------------------------------


async def plan_session_reminders(
    engine: AsyncEngine,
    start: datetime,
    end: datetime,
    now: datetime,
    content: Content | None = None,
    *,
    series_ids: Sequence[int] | None = None,
) -> dict[str, int]:
    """Create the session reminders due in [start, end) (a planner step)."""
    rows: list[dict[str, Any]] = []
    async with AsyncSession(engine, expire_on_commit=False) as session:
        query = select(SessionSeries).where(col(SessionSeries.cancelled_at).is_(None))
        if series_ids is not None:
            query = query.where(col(SessionSeries.id).in_(series_ids))
        programs: dict[int, Program | None] = {}
        for series in (await session.exec(query)).all():
            found = occurrences(spec_of(series), start, end + MAX_LEAD)
            if not found:
                continue
            if series.program_id not in programs:
                programs[series.program_id] = await session.get(Program, series.program_id)
            program = programs[series.program_id]
            if program is None:
                continue
            clients = [
                c
                for c in await attendees(session, series)
                if c.status is ClientStatus.active and c.session_reminders and c.chat_id
            ]
            for occurrence in found:
                for client in clients:
                    assert client.id is not None and client.chat_id is not None
                    for reminder in reminders_for(
                        occurrence,
                        client_zone(client, program),
                        day_before=program.reminder_day_before,
                        hours_before=program.reminder_hours_before,
                    ):
                        if not start <= reminder.due_at < end:
                            continue
                        rows.append(
                            {
                                "kind": SESSION_REMINDER.name,
                                "recipient_chat_id": client.chat_id,
                                "client_id": client.id,
                                "due_at": reminder.due_at,
                                "available_at": reminder.due_at,
                                "expires_at": reminder.expires_at,
                                "payload": {
                                    "series_id": occurrence.series_id,
                                    "occurrence": occurrence.key,
                                    "offset": reminder.offset,
                                },
                                "status": DeliveryStatus.pending.value,
                                "attempts": 0,
                                "dedupe_key": reminder_key(client.id, occurrence, reminder.offset),
                                "created_at": now,
                            }
                        )
    if not rows:
        return {}
    async with engine.begin() as connection:
        return {SESSION_REMINDER.name: await insert_new(connection, rows)}


async def replan(engine: AsyncEngine, series_ids: Sequence[int], now: datetime) -> int:
    """After a change: plan the reminders of these series due from now to where the
    planner has gone already (the planner's next windows take the rest)."""
    async with AsyncSession(engine) as session:
        cursor = await session.get(PlannerCursor, "daily")
    until = cursor.planned_until if cursor is not None else now
    if until <= now:
        return 0
    created = await plan_session_reminders(engine, now, until, now, series_ids=series_ids)
    return created.get(SESSION_REMINDER.name, 0)


async def reminder_still_wanted(
    session: AsyncSession, client: Client, series_id: int, key: str, offset: str
) -> tuple[SessionSeries, Occurrence] | str:
    """The series and occurrence a reminder is for, or why it should not be sent."""
    series = await session.get(SessionSeries, series_id)
    if series is None or series.cancelled_at is not None:
        return "session cancelled"
    occurrence = find_occurrence(spec_of(series), key)
    if occurrence is None:
        return "schedule changed"
    assert client.id is not None
    if not attends(client, series, await memberships(session, client.id)):
        return "client no longer attends"
    if not client.session_reminders:
        return "client turned session reminders off"
    program = await session.get(Program, client.program_id)
    if program is not None:
        planned = [
            r.offset
            for r in reminders_for(
                occurrence,
                client_zone(client, program),
                day_before=program.reminder_day_before,
                hours_before=program.reminder_hours_before,
            )
        ]
        if offset not in planned:
            return "program changed its reminders"
    answer = await attendance_row(session, series_id, client.id, key)
    if answer is not None and answer.rsvp == "cant":
        return "client said they can't come"
    return series, occurrence


async def withdraw_reminders(session: AsyncSession, series_ids: Sequence[int]) -> int:
    """Skip every pending reminder of these series that no longer matches the schedule
    (moved, cancelled, a client who no longer attends), in the caller's transaction.
    Its key is freed (suffixed with the row id), so the slot can be planned again."""
    rows = (
        await session.exec(
            select(Delivery).where(
                Delivery.kind == SESSION_REMINDER.name,
                Delivery.status == DeliveryStatus.pending,
            )
        )
    ).all()
    withdrawn = 0
    for row in rows:
        parsed = parse_reminder_key(row.dedupe_key)
        if parsed is None or parsed[1] not in series_ids or row.client_id is None:
            continue
        client = await session.get(Client, row.client_id)
        verdict = (
            "client gone"
            if client is None
            else await reminder_still_wanted(session, client, parsed[1], parsed[2], parsed[3])
        )
        if isinstance(verdict, str):
            row.status = DeliveryStatus.skipped
            row.reason = verdict
            row.dedupe_key = f"{row.dedupe_key}:x{row.id}"
            withdrawn += 1
    return withdrawn


def when_text(pack: LanguagePack, at: datetime, zone: str) -> tuple[str, str]:
    """(day, time) as a client reads them: ("Tue 10 Mar", "6:00 pm")."""
    local = at.astimezone(ZoneInfo(zone))
    texts = pack.sessions
    day = f"{texts.weekdays[local.weekday()]} {local.day} {texts.months[local.month - 1]}"
    return day, time_label(local.time(), pack.code)


def rsvp_buttons(pack: LanguagePack, series_id: int, key: str) -> tuple[tuple[Button, ...], ...]:
    c = pack.sessions.client
    return (
        (
            Button(c.going_button, f"rv:{series_id}:{key}:g"),
            Button(c.late_button, f"rv:{series_id}:{key}:l"),
        ),
        (Button(c.cant_button, f"rv:{series_id}:{key}:c"),),
    )


async def render_session_reminder(ctx: RenderContext, item: DueDelivery) -> Outgoing | Skip:
    client = ctx.client(item)
    parsed = parse_reminder_key(item.dedupe_key)
    if client is None or parsed is None:
        return Skip("no such client or reminder")
    _, series_id, key, offset = parsed
    verdict = await reminder_still_wanted(ctx.session, client, series_id, key, offset)
    if isinstance(verdict, str):
        return Skip(verdict)
    _, occurrence = verdict
    if ctx.now >= occurrence.starts_at:
        return Skip("the session has begun")
    program = await ctx.session.get(Program, client.program_id)
    assert program is not None
    zone = client_zone(client, program)
    pack = ctx.content.language(client.language)
    _, clock = when_text(pack, occurrence.starts_at, zone)
    same_day = (
        occurrence.starts_at.astimezone(ZoneInfo(zone)).date()
        == ctx.now.astimezone(ZoneInfo(zone)).date()
    )
    texts = pack.sessions.client
    template = texts.reminder_today if same_day else texts.reminder_tomorrow
    return Outgoing(render(template, time=clock), rsvp_buttons(pack, series_id, key))


register_renderer(SESSION_REMINDER.name, render_session_reminder)

# A notice to the client's primary clinician ("can't make it", a reason, a request for
# another time): at least once, sent even if the client paused meanwhile.
SESSION_NOTICE = register_kind(
    Kind("session_notice", Rule.at_least_once, grace=None, needs_active_client=False)
)


async def notify_clinician(
    session: AsyncSession,
    content: Content,
    client: Client,
    program: Program,
    series: SessionSeries,
    occurrence: Occurrence,
    what: str,
    now: datetime,
    **values: str,
) -> None:
    """Queue a notice to the primary clinician's private chat (the pseudonym, never a
    name), in the caller's transaction."""
    if client.primary_clinician_id is None:
        return
    clinician = await session.get(Clinician, client.primary_clinician_id)
    if clinician is None or clinician.telegram_user_id is None or not clinician.active:
        return
    staff = content.language(None).sessions.staff
    text = render(
        staff[what],
        code=client.code,
        title=series.title,
        day=f"{occurrence.local_start:%a %d %b}",
        time=f"{occurrence.local_start:%H:%M}",
        **values,
    )
    session.add(
        Delivery(
            kind=SESSION_NOTICE.name,
            recipient_chat_id=clinician.telegram_user_id,
            client_id=client.id,
            due_at=now,
            payload={"text": text},
            dedupe_key=f"sn:{what}:{client.id}:{series.id}:{occurrence.key}:{now.timestamp():.0f}",
            created_at=now,
        )
    )


async def render_notice(ctx: RenderContext, item: DueDelivery) -> Outgoing:
    return Outgoing(str(item.payload["text"]))


register_renderer(SESSION_NOTICE.name, render_notice)
register_plan_step("session_reminders", plan_session_reminders)


# --- RSVP and attendance ---------------------------------------------------------------


async def attendance_row(
    session: AsyncSession, series_id: int, client_id: int, key: str
) -> SessionAttendance | None:
    return (
        await session.exec(
            select(SessionAttendance).where(
                SessionAttendance.series_id == series_id,
                SessionAttendance.client_id == client_id,
                SessionAttendance.occurrence == key,
            )
        )
    ).first()


async def attendance_for(
    session: AsyncSession, series: SessionSeries, client_id: int, occurrence: Occurrence
) -> SessionAttendance:
    """The client's row for an occurrence, created if needed (a unique row: a second
    worker creating it at the same instant makes the caller retry, not a duplicate)."""
    assert series.id is not None
    row = await attendance_row(session, series.id, client_id, occurrence.key)
    if row is None:
        row = SessionAttendance(
            series_id=series.id,
            client_id=client_id,
            occurrence=occurrence.key,
            starts_at=occurrence.starts_at,
        )
        session.add(row)
        await session.flush()
    return row


async def resolve_occurrence(
    session: AsyncSession, series_id: str, key: str
) -> tuple[SessionSeries, Occurrence] | None:
    """A series and occurrence named in button data, if they exist (data can be forged)."""
    if not series_id.isdigit():
        return None
    series = await session.get(SessionSeries, int(series_id))
    if series is None or series.cancelled_at is not None:
        return None
    occurrence = find_occurrence(spec_of(series), key)
    return (series, occurrence) if occurrence is not None else None


async def raise_once(
    session: AsyncSession,
    *,
    content: Content,
    client: Client,
    key: str,
    finding: Finding,
    now: datetime,
    source: str,
) -> bool:
    """Raise an alert unless one was raised under `key` (a unique row, inserted with
    ON CONFLICT DO NOTHING in the caller's transaction: a double tap, a second clinician
    or a second worker raises nothing more). True when raised now."""
    assert client.id is not None
    bind = session.get_bind()
    insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    table = CareFlag.__table__  # type: ignore[attr-defined]
    result = await session.exec(  # type: ignore[call-overload]
        insert(table)
        .values(key=key[:120], client_id=client.id, at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.id)
    )
    flag_id = result.scalar_one_or_none()
    if flag_id is None:
        return False
    alert = await raise_alert(
        session, content=content, client=client, finding=finding, now=now, source=source
    )
    flag = await session.get(CareFlag, flag_id)
    if flag is not None:
        flag.alert_id = alert.id
    return True


async def mark_attendance(
    session: AsyncSession,
    *,
    content: Content,
    series: SessionSeries,
    occurrence: Occurrence,
    client: Client,
    mark: str,
    clinician_id: int | None,
    now: datetime,
) -> bool:
    """Record ✓ / ✗ / excused; an absence without an "I can't make it" raises one
    same-day flag (SPEC §5.1 Tier 1, "missed session without notice"). True if flagged.

    The clinician's one tap and the admin's CSV import (clinician_id None) both come
    here, so the flag is raised the same way, once, whichever marks the absence."""
    assert client.id is not None and series.id is not None
    row = await attendance_for(session, series, client.id, occurrence)
    row.attendance = mark
    row.marked_by = clinician_id
    row.marked_at = now
    if mark != "absent" or row.rsvp == "cant":
        return False
    return await raise_once(
        session,
        content=content,
        client=client,
        key=f"missed_session:{client.id}:{series.id}:{occurrence.key}",
        finding=Finding(
            tier=AlertTier.same_day,
            category="missed_session",
            rule="absent without notice",
            evidence=f"{series.title} {occurrence.local_start:%a %d %b %H:%M}",
        ),
        now=now,
        source="sessions",
    )


async def cant_count(session: AsyncSession, client_id: int, now: datetime) -> int:
    rows = await session.exec(
        select(SessionAttendance.id).where(
            SessionAttendance.client_id == client_id,
            SessionAttendance.rsvp == "cant",
            col(SessionAttendance.starts_at) >= now - CANT_WINDOW,
            col(SessionAttendance.starts_at) <= now + CANT_WINDOW,
        )
    )
    return len(rows.all())


# --- digest and /client ----------------------------------------------------------------


def _week_start(program: Program, now: datetime) -> datetime:
    zone = ZoneInfo(program.timezone)
    local = now.astimezone(zone).date()
    monday = local - timedelta(days=local.weekday())
    return datetime.combine(monday, datetime.min.time(), tzinfo=zone).astimezone(UTC)


async def digest_section(session: AsyncSession, content: Content, scope: DigestScope) -> str | None:
    """This week's sessions per client (RSVP / attendance), the program's attendance
    rate, and clients who said "can't make it" 3 times in two weeks."""
    staff = content.language(None).sessions.staff
    program, now = scope.program, scope.now
    start = _week_start(program, now)
    end = start + timedelta(days=7)
    ids = [c.id for c in scope.caseload if c.id is not None]
    if not ids:
        return None
    codes = {c.id: c.code for c in scope.caseload}
    # No sessions this week (a holiday week, or just after the week turned) still leaves
    # the "can't make it" pattern to report, so no early return here.
    planned = await upcoming(session, program.id or 0, start, end)
    answers = {
        (a.series_id, a.client_id, a.occurrence): a
        for a in (
            await session.exec(
                select(SessionAttendance).where(
                    col(SessionAttendance.client_id).in_(ids),
                    col(SessionAttendance.starts_at) >= start,
                    col(SessionAttendance.starts_at) < end,
                )
            )
        ).all()
    }
    zone = ZoneInfo(program.timezone)
    items: dict[int, list[str]] = defaultdict(list)
    marks: list[str | None] = []
    for series, occurrence in planned:
        for client in await attendees(session, series):
            if client.id not in codes:
                continue
            a = answers.get((series.id or 0, client.id, occurrence.key))
            rsvp = staff.get(f"rsvp_{a.rsvp}" if a and a.rsvp else "rsvp_none", "-")
            mark = staff.get(f"mark_{a.attendance}" if a and a.attendance else "mark_none", "-")
            if occurrence.starts_at <= now:
                marks.append(a.attendance if a else None)
            day = f"{occurrence.starts_at.astimezone(zone):%a %H:%M}"
            items[client.id].append(render(staff["digest_item"], day=day, rsvp=rsvp, mark=mark))
    lines: list[str] = []
    for client_id in sorted(items, key=lambda i: codes[i]):
        lines.append(
            render(
                staff["digest_client_line"],
                code=codes[client_id],
                items="; ".join(items[client_id]),
            )
        )
    counted = [m for m in marks if m in ("present", "absent")]
    if counted:
        present = sum(1 for m in counted if m == "present")
        lines.append(
            render(
                staff["digest_rate"],
                rate=round(100 * present / len(counted)),
                present=present,
                counted=len(counted),
            )
        )
    for client_id in sorted(ids, key=lambda i: codes[i]):
        count = await cant_count(session, client_id, now)
        if count >= CANT_OFTEN:
            lines.append(render(staff["digest_cant_often"], code=codes[client_id], count=count))
    return "\n".join([staff["digest_header"], *lines]) if lines else None


async def client_section(
    session: AsyncSession, content: Content, client: Client, program: Program, now: datetime
) -> str | None:
    """The last 14 days of the client's sessions in the clinician's /client view."""
    staff = content.language(None).sessions.staff
    rows = (
        await session.exec(
            select(SessionAttendance)
            .where(
                SessionAttendance.client_id == client.id,
                col(SessionAttendance.starts_at) >= now - timedelta(days=14),
            )
            .order_by(col(SessionAttendance.starts_at))
        )
    ).all()
    if not rows:
        return None
    zone = ZoneInfo(program.timezone)
    lines = [staff["client_sessions_header"]]
    for a in rows:
        rsvp = staff.get(f"rsvp_{a.rsvp}" if a.rsvp else "rsvp_none", "-")
        if a.rsvp_reason:
            rsvp += f" ({a.rsvp_reason})"
        mark = staff.get(f"mark_{a.attendance}" if a.attendance else "mark_none", "-")
        lines.append(f"{a.starts_at.astimezone(zone):%a %d %b %H:%M}: {rsvp} · {mark}")
    return "\n".join(lines)


register_digest_section(digest_section)
register_client_section(client_section)


def local_day_bounds(zone: str, day: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return start, end.astimezone(UTC)


async def pending_count(engine: AsyncEngine, series_id: int) -> int:
    """Pending reminders of one series (for tests and `admin sessions list`)."""
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.select(delivery_t.c.dedupe_key).where(
                    delivery_t.c.kind == SESSION_REMINDER.name,
                    delivery_t.c.status == DeliveryStatus.pending.value,
                )
            )
        ).scalars()
        return sum(1 for k in rows if (p := parse_reminder_key(k)) and p[1] == series_id)
