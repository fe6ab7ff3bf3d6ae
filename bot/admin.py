"""`python -m bot admin …`: a program admin's commands at the terminal.

program add|list|set, clinician invite|list|deactivate, screen-marks (clinicians' marks on the
safety screen, as JSON lines), sessions
import|export|list|add|skip|cancel|reminders|attendance. Every mistake is answered with
one sentence (AdminError) and exit code 2; nothing is half-written. The one exception is
`sessions attendance FILE.csv`: its bad rows are listed, one line each, and its good rows
applied (exit code 2 all the same).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.error import TelegramError

from bot.checkin import rules
from bot.db import ensure_schema_current, make_engine, make_sessionmaker, session_scope
from bot.invites import deep_link
from bot.models import (
    Client,
    Clinician,
    ClinicianRole,
    Program,
    ScreenMark,
    SessionAudience,
    SessionSeries,
)
from bot.roster import audit, invite_clinician
from bot.sealed import configure_encryption
from bot.settings import REGIONS, Settings


class AdminError(Exception):
    """A mistake in an admin command; the message is one sentence."""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    admin = sub.add_parser("admin", help="program admin: programs, clinicians and sessions")
    what = admin.add_subparsers(dest="admin_what", required=True)

    program = what.add_parser("program", help="create, list and change programs")
    p_sub = program.add_subparsers(dest="admin_action", required=True)
    add = p_sub.add_parser("add", help="create a program")
    add.add_argument("--name", required=True)
    add.add_argument("--timezone", required=True, help="IANA zone, e.g. America/Chicago")
    add.add_argument("--region", required=True, help="crisis lines: " + ", ".join(REGIONS))
    _program_options(add)
    p_sub.add_parser("list", help="list programs")
    change = p_sub.add_parser("set", help="change a program")
    change.add_argument("program", help="the program's name or id")
    change.add_argument("--name")
    change.add_argument("--timezone")
    change.add_argument("--region")
    _program_options(change)

    clinician = what.add_parser("clinician", help="invite, list and deactivate clinicians")
    c_sub = clinician.add_subparsers(dest="admin_action", required=True)
    invite = c_sub.add_parser("invite", help="print a one-time enrollment link")
    invite.add_argument("--program", required=True, help="the program's name or id")
    invite.add_argument("--role", required=True, choices=[r.value for r in ClinicianRole])
    invite.add_argument("--name", default="", help="how the clinician is shown to colleagues")
    listing = c_sub.add_parser("list", help="list clinicians")
    listing.add_argument("--program", help="only this program (name or id)")
    deactivate = c_sub.add_parser("deactivate", help="remove a clinician's access")
    deactivate.add_argument("clinician_id", type=int)
    on_call = c_sub.add_parser("on-call", help="put a clinician on call, or take them off")
    on_call.add_argument("clinician_id", type=int)
    on_call.add_argument("state", choices=["on", "off"])

    marks = what.add_parser(
        "screen-marks",
        help="clinicians' marks on the safety screen (false alarms, missed), as JSON lines",
        description="One JSON object a line, oldest first: kind (false_alarm or missed), "
        "client (the pseudonym), alert, category, rule, clinician, at, and text only where "
        "the clinician typed the words in. For growing the screen's corpus.",
    )
    marks.add_argument("--program", help="only this program (name or id)")
    marks.add_argument("--kind", choices=["false_alarm", "missed"])

    sessions = what.add_parser("sessions", help="the program's session timetable")
    s_sub = sessions.add_subparsers(dest="admin_action", required=True)
    imp = s_sub.add_parser("import", help="add or update sessions from an iCalendar (.ics) file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--program", help="the program's name or id (needed if there are several)")
    imp.add_argument(
        "--cancel-missing",
        action="store_true",
        help="cancel sessions imported earlier whose event is no longer in this file"
        " (the file is the whole timetable)",
    )
    exp = s_sub.add_parser("export", help="write the program's sessions as an iCalendar file")
    exp.add_argument("file", nargs="?", type=Path, help="default: print to the screen")
    exp.add_argument("--program", help="the program's name or id")
    s_list = s_sub.add_parser("list", help="list the program's sessions")
    s_list.add_argument("--program", help="the program's name or id")
    s_add = s_sub.add_parser("add", help="add a weekly or one-off session")
    s_add.add_argument("--program", help="the program's name or id")
    s_add.add_argument("--title", required=True)
    s_add.add_argument("--start", required=True, help="first local date and time: 2026-03-03T18:00")
    s_add.add_argument("--minutes", type=int, default=60)
    s_add.add_argument("--days", help="weekly on these days: TU,TH")
    s_add.add_argument("--rrule", help="any iCalendar RRULE instead of --days")
    s_add.add_argument("--client", help="a one-off (or series) for one client: their code")
    s_add.add_argument("--kind", default="group", choices=["group", "individual", "family"])
    s_add.add_argument("--aftercare", action="store_true", help="an aftercare group")
    s_skip = s_sub.add_parser("skip", help="no session on one date (a holiday)")
    s_skip.add_argument("session_id", type=int)
    s_skip.add_argument("date", type=date.fromisoformat)
    s_cancel = s_sub.add_parser("cancel", help="cancel a session and its reminders")
    s_cancel.add_argument("session_id", type=int)
    s_rem = s_sub.add_parser("reminders", help="when session reminders go out")
    s_rem.add_argument("--program", help="the program's name or id")
    s_rem.add_argument("--day-before", help="local time the day before (18:00), or off")
    s_rem.add_argument("--hours-before", help="hours before the start (2), or off")
    s_att = s_sub.add_parser(
        "attendance",
        help="mark attendance from a CSV file with the columns session,date,client,status",
        description="Mark attendance from a CSV file. Columns: session (the id `sessions "
        "list` prints), date (the local date of the session, YYYY-MM-DD), client (the "
        "pseudonym code) and status (present, absent or excused). An absence without an "
        '"I can\'t make it" raises one same-day flag, as the one-tap /attendance does; '
        "importing the same file again changes nothing. Bad rows are reported by their "
        "row number (the header is row 1) and the good rows are still applied; the exit "
        "code is 2 if any row was bad.",
    )
    s_att.add_argument("file", type=Path)
    s_att.add_argument("--program", help="the program's name or id")


QUIET_MAX_HOURS = 72  # three days: longer, and a client in a hard week loses the lessons


def _program_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--care-team-chat", help="the care team's Telegram group chat id")
    parser.add_argument("--digest-times", help="comma-separated local times, e.g. 08:00,16:00")
    parser.add_argument(
        "--on-call-24-7",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether someone is on call around the clock",
    )
    parser.add_argument("--hours", help="the care team's hours, e.g. 'Mon-Fri 9am-5pm'")
    parser.add_argument(
        "--escalate-after",
        type=int,
        metavar="MINUTES",
        help="an unacknowledged urgent alert goes to every clinician after "
        "this, to the admins after twice this (default 15)",
    )
    parser.add_argument(
        "--quiet-after-alert",
        type=int,
        metavar="HOURS",
        help="after an urgent or same-day alert about a client, hold their lesson "
        "reminders and other bulk messages this long (default 12)",
    )
    parser.add_argument(
        "--checkin-flags",
        metavar="KEY=N,...",
        help="check-in flag thresholds for the program, e.g. craving=8,low_mood=2 "
        "('default' clears them); clinicians may override them per client",
    )


# --- validation ------------------------------------------------------------------------


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise AdminError(
            f"--timezone {value!r} is not an IANA time zone name such as America/Chicago."
        ) from None
    return value


def _region(value: str) -> str:
    code = value.strip().upper()
    if code not in REGIONS:
        raise AdminError(f"--region {value!r} must be one of {', '.join(REGIONS)}.")
    return code


def _digest_times(value: str) -> list[str]:
    times = [t.strip() for t in value.split(",") if t.strip()]
    for t in times:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", t):
            raise AdminError(f"--digest-times {t!r} is not a time like 08:00 (24-hour clock).")
    if not times:
        raise AdminError("--digest-times needs at least one time, like 08:00.")
    return sorted(set(times))


def _chat_id(value: str) -> int:
    try:
        chat_id = int(value)
    except ValueError:
        raise AdminError(
            f"--care-team-chat {value!r} is not a Telegram chat id (a number)."
        ) from None
    if chat_id >= 0:
        raise AdminError(
            f"--care-team-chat {value} is not a group: group chat ids are negative numbers."
        )
    return chat_id


def _name(value: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > 120:
        raise AdminError("--name must be 1 to 120 characters.")
    return name


def _apply_options(program: Program, args: argparse.Namespace) -> None:
    if getattr(args, "name", None) is not None:
        program.name = _name(args.name)
    if getattr(args, "timezone", None) is not None:
        program.timezone = _timezone(args.timezone)
    if getattr(args, "region", None) is not None:
        program.region = _region(args.region)
    if args.care_team_chat is not None:
        program.care_team_chat_id = _chat_id(args.care_team_chat)
    if args.digest_times is not None:
        program.digest_times = _digest_times(args.digest_times)
    if args.on_call_24_7 is not None:
        program.on_call_24_7 = args.on_call_24_7
    if args.hours is not None:
        program.care_team_hours = " ".join(args.hours.split())[:120] or None
    if args.escalate_after is not None:
        if not 1 <= args.escalate_after <= 240:
            raise AdminError("--escalate-after must be between 1 and 240 minutes.")
        program.escalate_after_minutes = args.escalate_after
    if args.quiet_after_alert is not None:
        if not 1 <= args.quiet_after_alert <= QUIET_MAX_HOURS:
            raise AdminError(f"--quiet-after-alert must be between 1 and {QUIET_MAX_HOURS} hours.")
        program.quiet_after_alert_hours = args.quiet_after_alert
    if args.checkin_flags is not None:
        if args.checkin_flags.strip() == "default":
            program.checkin_thresholds = None
        else:
            try:
                program.checkin_thresholds = {
                    **(program.checkin_thresholds or {}),
                    **rules.parse_overrides(args.checkin_flags.replace(",", " ").split()),
                }
            except ValueError as exc:
                raise AdminError(f"--checkin-flags: {exc}.") from exc


async def _find_program(session: AsyncSession, ref: str) -> Program:
    query = select(Program).where(
        Program.id == int(ref) if ref.isdigit() else col(Program.name) == ref
    )
    program = (await session.exec(query)).first()
    if program is None:
        raise AdminError(
            f"There is no program {ref!r}; `python -m bot admin program list` shows them."
        )
    return program


def _describe(program: Program) -> str:
    on_call = "24/7 on call" if program.on_call_24_7 else "no 24/7 on call"
    digests = ",".join(program.digest_times)
    return (
        f"{program.id}  {program.name}  [{program.region}, {program.timezone}]  "
        f"care-team chat {program.care_team_chat_id or '-'}  digests {digests}"
        f"  {on_call}  hours: {program.care_team_hours or '-'}"
        f"  escalate after {program.escalate_after_minutes} min"
        f"  quiet after an alert {program.quiet_after_alert_hours} h"
        f"  check-in flags: {_flags(program)}"
    )


def _flags(program: Program) -> str:
    th = rules.thresholds(program.checkin_thresholds)
    return ",".join(f"{k}={getattr(th, k)}" for k in rules.THRESHOLD_KEYS)


async def _bot_username(settings: Settings) -> str:
    if settings.bot_username:
        return settings.bot_username
    if settings.telegram_bot_token is None:
        raise AdminError("Set TELEGRAM_BOT_TOKEN (or BOT_USERNAME) so the link can name the bot.")
    try:
        async with Bot(settings.require_token(), base_url=settings.bot_api_url) as bot:
            return bot.username
    except TelegramError as exc:
        raise AdminError(
            f"Could not ask Telegram for the bot's name ({exc}); set BOT_USERNAME instead."
        ) from None


# --- commands -------------------------------------------------------------------------


async def run_admin(
    args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO | None = None
) -> int:
    # Rows the bot sealed (a client's label, notes) are read, and new ones sealed, with the
    # same key as the bot's: without it, reading them fails after the change was saved.
    key = settings.encryption_key
    configure_encryption(key.get_secret_value() if key else None)
    engine = make_engine(settings.database_url)
    status = 0
    try:
        await ensure_schema_current(engine)
        sessions = make_sessionmaker(engine)
        now = datetime.now(UTC)
        changed: list[int] = []
        async with session_scope(sessions) as session:
            if args.admin_what == "program":
                await _program(session, args, out, now)
            elif args.admin_what == "sessions" and args.admin_action == "attendance":
                status = await _attendance(session, args, out, err or sys.stderr, now)
            elif args.admin_what == "sessions":
                changed = await _sessions(session, args, out, now)
            elif args.admin_what == "screen-marks":
                await _screen_marks(session, args, out)
            else:
                await _clinician(session, args, out, now, settings)
        if changed:
            from bot.sessions import replan

            await replan(engine, changed, now)
    except IntegrityError:
        raise AdminError("A program with that name already exists.") from None
    finally:
        await engine.dispose()
    return status


async def _program(
    session: AsyncSession, args: argparse.Namespace, out: TextIO, now: datetime
) -> None:
    if args.admin_action == "list":
        programs = (await session.exec(select(Program).order_by(col(Program.id)))).all()
        for program in programs:
            print(_describe(program), file=out)
        if not programs:
            print("No programs yet: `python -m bot admin program add --help`.", file=out)
        return
    if args.admin_action == "add":
        program = Program(
            name=_name(args.name),
            timezone=_timezone(args.timezone),
            region=_region(args.region),
            created_at=now,
        )
        _apply_options(
            program,
            argparse.Namespace(**{**vars(args), "name": None, "timezone": None, "region": None}),
        )
        session.add(program)
        await session.flush()
        audit(
            session,
            actor="admin-cli",
            action="program_added",
            subject=f"program:{program.id}",
            at=now,
        )
        print(f"Added program {_describe(program)}", file=out)
        return
    program = await _find_program(session, args.program)
    _apply_options(program, args)
    await session.flush()
    audit(
        session,
        actor="admin-cli",
        action="program_changed",
        subject=f"program:{program.id}",
        at=now,
    )
    print(f"Changed program {_describe(program)}", file=out)


async def _clinician(
    session: AsyncSession, args: argparse.Namespace, out: TextIO, now: datetime, settings: Settings
) -> None:
    if args.admin_action == "invite":
        program = await _find_program(session, args.program)
        username = await _bot_username(settings)
        new = await invite_clinician(
            session,
            program=program,
            role=ClinicianRole(args.role),
            name=" ".join(args.name.split())[:120],
            now=now,
            ttl=timedelta(days=settings.invite_ttl_days),
        )
        print(
            f"Clinician invite for {program.name} (role {args.role}). Open this link in "
            f"Telegram; it works once, for {settings.invite_ttl_days} days:\n"
            f"{deep_link(username, new.token)}",
            file=out,
        )
        return
    if args.admin_action == "list":
        query = select(Clinician).order_by(col(Clinician.id))
        if args.program:
            program = await _find_program(session, args.program)
            query = query.where(Clinician.program_id == program.id)
        for c in (await session.exec(query)).all():
            state = "active" if c.active else "deactivated"
            joined = "joined" if c.telegram_user_id else "invited"
            print(
                f"{c.id}  {c.display_name or '-'}  {c.role.value}  program {c.program_id}  "
                f"{joined}  {state}",
                file=out,
            )
        return
    clinician = await session.get(Clinician, args.clinician_id)
    if clinician is None:
        raise AdminError(f"There is no clinician {args.clinician_id}.")
    if args.admin_action == "on-call":
        clinician.on_call = args.state == "on"
        audit(
            session,
            actor="admin-cli",
            action=f"clinician_on_call_{args.state}",
            subject=f"clinician:{clinician.id}",
            at=now,
        )
        state = "on call" if clinician.on_call else "not on call"
        print(f"Clinician {clinician.id} ({clinician.display_name or '-'}) is {state}.", file=out)
        return
    clinician.active = False
    audit(
        session,
        actor="admin-cli",
        action="clinician_deactivated",
        subject=f"clinician:{clinician.id}",
        at=now,
    )
    print(f"Clinician {clinician.id} ({clinician.display_name or '-'}) is deactivated.", file=out)


# --- sessions ---------------------------------------------------------------------------


async def _screen_marks(session: AsyncSession, args: argparse.Namespace, out: TextIO) -> None:
    query = select(ScreenMark).order_by(col(ScreenMark.at), col(ScreenMark.id))
    if args.program:
        program = await _find_program(session, args.program)
        query = query.where(ScreenMark.program_id == program.id)
    if args.kind:
        query = query.where(ScreenMark.kind == args.kind)
    for mark in (await session.exec(query)).all():
        row: dict[str, object] = {
            "kind": mark.kind,
            "program": mark.program_id,
            "client": mark.client_code,
            "alert": mark.alert_id,
            "category": mark.category,
            "rule": mark.rule,
            "clinician": mark.clinician_id,
            "at": mark.at.astimezone(UTC).isoformat(timespec="seconds"),
        }
        if mark.text:
            row["text"] = mark.text
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


async def _one_program(session: AsyncSession, ref: str | None) -> Program:
    if ref:
        return await _find_program(session, ref)
    programs = (await session.exec(select(Program).limit(2))).all()
    if len(programs) != 1:
        raise AdminError("Name the program with --program (there is not exactly one).")
    return programs[0]


def _describe_series(series: SessionSeries, code: str | None) -> str:
    who = code or ("aftercare group" if series.audience.value == "aftercare" else "everyone")
    repeat = series.rrule or "once"
    skips = f"  except {','.join(series.exdates)}" if series.exdates else ""
    state = "  CANCELLED" if series.cancelled_at else ""
    return (
        f"{series.id}  {series.title}  {series.starts_on} {series.start_time} "
        f"({series.duration_minutes} min, {series.timezone})  {repeat}  [{who}]{skips}{state}"
    )


async def _attendance(
    session: AsyncSession, args: argparse.Namespace, out: TextIO, err: TextIO, now: datetime
) -> int:
    """`sessions attendance FILE.csv`: 0, or 2 if any row was bad (the rest applied)."""
    from bot.attendance_import import AttendanceFileError, import_attendance, read_rows
    from bot.content import DEFAULT_CONTENT_DIR, load_content

    program = await _one_program(session, args.program)
    try:
        rows = read_rows(args.file.read_bytes())
    except OSError as exc:
        raise AdminError(f"Cannot read {args.file}: {exc.strerror}.") from None
    except AttendanceFileError as exc:
        raise AdminError(f"{args.file}: {exc}.") from None
    result = await import_attendance(
        session, content=load_content(DEFAULT_CONTENT_DIR), program=program, rows=rows, now=now
    )
    for line in result.bad:
        print(f"{args.file.name} {line}", file=err)
    print(
        f"{program.name}: {result.marked} marked, {result.unchanged} unchanged, "
        f"{len(result.bad)} bad row(s) from {args.file.name}; "
        f"{result.flagged} absence(s) without notice flagged to the care team.",
        file=out,
    )
    return 2 if result.bad else 0


async def _sessions(
    session: AsyncSession, args: argparse.Namespace, out: TextIO, now: datetime
) -> list[int]:
    """The sessions commands; returns the ids of series whose reminders must be replanned."""
    from bot.calendar_ics import ExportedSeries, IcsError, read_ics, write_ics
    from bot.session_schedule import validate_session_rrule
    from bot.sessions import withdraw_reminders

    action = args.admin_action
    if action in ("skip", "cancel"):
        series = await session.get(SessionSeries, args.session_id)
        if series is None:
            raise AdminError(f"There is no session {args.session_id}.")
        if action == "cancel":
            series.cancelled_at = now
        else:
            series.exdates = sorted({*series.exdates, args.date.isoformat()})
        series.updated_at = now
        await session.flush()
        withdrawn = await withdraw_reminders(session, [series.id or 0])
        audit(session, actor="admin-cli", action=f"session_{action}", at=now, series=series.id)
        print(
            f"{_describe_series(series, None)}\n{withdrawn} planned reminder(s) withdrawn.",
            file=out,
        )
        return [series.id or 0]
    program = await _one_program(session, args.program)
    assert program.id is not None
    if action == "reminders":
        for name in ("day_before", "hours_before"):
            value = getattr(args, name)
            if value is None:
                continue
            if value.lower() == "off":
                setattr(program, f"reminder_{name}", None)
            elif name == "day_before":
                try:
                    hh, mm = (int(p) for p in value.split(":"))
                    if not (0 <= hh < 24 and 0 <= mm < 60):
                        raise ValueError
                except ValueError:
                    raise AdminError("--day-before must be a time like 18:00, or off.") from None
                program.reminder_day_before = f"{hh:02d}:{mm:02d}"
            else:
                if not value.isdigit() or not 1 <= int(value) <= 48:
                    raise AdminError("--hours-before must be 1 to 48, or off.")
                program.reminder_hours_before = int(value)
        print(
            f"{program.name}: day before at {program.reminder_day_before or 'off'}, "
            f"{program.reminder_hours_before or 'off'} hour(s) before.",
            file=out,
        )
        return []
    existing = (
        await session.exec(
            select(SessionSeries)
            .where(SessionSeries.program_id == program.id)
            .order_by(col(SessionSeries.id))
        )
    ).all()
    if action == "list":
        for series in existing:
            code = None
            if series.client_id is not None:
                client = await session.get(Client, series.client_id)
                code = client.code if client else "?"
            print(_describe_series(series, code), file=out)
        if not existing:
            print("No sessions yet: `python -m bot admin sessions import FILE.ics`.", file=out)
        return []
    if action == "export":
        data = write_ics(
            [
                ExportedSeries(
                    uid=s.uid or f"waypoint-session-{s.id}@{program.id}",
                    title=s.title,
                    zone=s.timezone,
                    starts_on=s.starts_on,
                    start_time=s.start_time,
                    duration_minutes=s.duration_minutes,
                    rrule=s.rrule,
                    exdates=tuple(s.exdates),
                )
                for s in existing
                if s.cancelled_at is None and s.audience.value != "client"
            ],
            program.name,
        )
        if args.file is None:
            print(data.decode(), file=out, end="")
        else:
            args.file.write_bytes(data)
            print(f"Wrote {args.file}.", file=out)
        return []
    if action == "add":
        try:
            start = datetime.fromisoformat(args.start)
        except ValueError:
            raise AdminError("--start must look like 2026-03-03T18:00.") from None
        rule = None
        try:
            if args.rrule:
                rule = validate_session_rrule(args.rrule)
            elif args.days:
                rule = validate_session_rrule(f"FREQ=WEEKLY;BYDAY={args.days.upper()}")
        except ValueError as exc:
            raise AdminError(f"That rule cannot be read: {exc}.") from None
        client_id = None
        if args.client:
            client = (
                await session.exec(
                    select(Client).where(
                        Client.program_id == program.id, Client.code == args.client.upper()
                    )
                )
            ).first()
            if client is None:
                raise AdminError(f"There is no client {args.client} in {program.name}.")
            client_id = client.id
        series = SessionSeries(
            program_id=program.id,
            title=_name(args.title)[:120],
            kind=args.kind if client_id else "group",
            audience=SessionAudience.client
            if client_id
            else (SessionAudience.aftercare if args.aftercare else SessionAudience.program),
            client_id=client_id,
            timezone=program.timezone,
            starts_on=start.date(),
            start_time=f"{start:%H:%M}",
            duration_minutes=max(1, args.minutes),
            rrule=rule,
            created_by="admin-cli",
            created_at=now,
            updated_at=now,
        )
        session.add(series)
        await session.flush()
        audit(session, actor="admin-cli", action="session_added", at=now, series=series.id)
        print(_describe_series(series, args.client), file=out)
        return [series.id or 0]
    # import
    try:
        events = read_ics(args.file.read_bytes(), program.timezone)
    except OSError as exc:
        raise AdminError(f"Cannot read {args.file}: {exc.strerror}.") from None
    except IcsError as exc:
        raise AdminError(f"{args.file}: {exc}.") from None
    except ValueError as exc:
        raise AdminError(f"{args.file}: a rule cannot be read ({exc}).") from None
    by_uid = {s.uid: s for s in existing if s.uid}
    changed: list[int] = []
    added = updated = cancelled = 0
    for event in events:
        series = by_uid.get(event.uid)
        if series is None:
            if event.cancelled:
                continue
            series = SessionSeries(
                program_id=program.id,
                title=event.title,
                uid=event.uid,
                timezone=event.zone,
                starts_on=event.starts_on,
                start_time=event.start_time,
                duration_minutes=event.duration_minutes,
                rrule=event.rrule,
                exdates=event.exdates,
                created_by="admin-cli",
                created_at=now,
                updated_at=now,
            )
            session.add(series)
            added += 1
        else:
            series.title = event.title
            series.timezone = event.zone
            series.starts_on = event.starts_on
            series.start_time = event.start_time
            series.duration_minutes = event.duration_minutes
            series.rrule = event.rrule
            series.exdates = event.exdates
            series.updated_at = now
            if event.cancelled and series.cancelled_at is None:
                series.cancelled_at = now
                cancelled += 1
            else:
                updated += 1
        await session.flush()
        changed.append(series.id or 0)
    # Imported earlier, still on, and gone from this file: deleted in the clinic's
    # calendar, or only left out of a partial export. The file cannot tell which, so the
    # admin decides: cancelled with --cancel-missing, otherwise named and kept.
    in_file = {event.uid for event in events}
    missing = [
        row for row in existing if row.uid and row.uid not in in_file and not row.cancelled_at
    ]
    if args.cancel_missing:
        for series in missing:
            series.cancelled_at = now
            series.updated_at = now
            changed.append(series.id or 0)
        cancelled += len(missing)
    withdrawn = await withdraw_reminders(session, changed)
    audit(
        session,
        actor="admin-cli",
        action="sessions_imported",
        at=now,
        program_id=program.id,
        added=added,
        updated=updated,
        cancelled=cancelled,
    )
    print(
        f"{program.name}: {added} session(s) added, {updated} updated, {cancelled} cancelled"
        f" from {args.file.name}; {withdrawn} planned reminder(s) withdrawn.",
        file=out,
    )
    if missing and not args.cancel_missing:
        titles = ", ".join(f"{s.title} (#{s.id})" for s in missing)
        print(
            f"{len(missing)} session(s) imported earlier are not in this file and stay"
            f" scheduled: {titles}. If they were deleted from the calendar, import again"
            " with --cancel-missing.",
            file=out,
        )
    return changed
