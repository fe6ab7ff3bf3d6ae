"""`python -m bot admin …`: a program admin's commands at the terminal.

program add|list|set, clinician invite|list|deactivate. Every mistake is answered with
one sentence (AdminError) and exit code 2; nothing is half-written.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.error import TelegramError

from bot.db import ensure_schema_current, make_engine, make_sessionmaker, session_scope
from bot.invites import deep_link
from bot.models import Clinician, ClinicianRole, Program
from bot.roster import audit, invite_clinician
from bot.settings import REGIONS, Settings


class AdminError(Exception):
    """A mistake in an admin command; the message is one sentence."""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    admin = sub.add_parser("admin", help="program admin: programs and clinicians")
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
    )


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


async def run_admin(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    engine = make_engine(settings.database_url)
    try:
        await ensure_schema_current(engine)
        sessions = make_sessionmaker(engine)
        now = datetime.now(UTC)
        async with session_scope(sessions) as session:
            if args.admin_what == "program":
                await _program(session, args, out, now)
            else:
                await _clinician(session, args, out, now, settings)
    except IntegrityError:
        raise AdminError("A program with that name already exists.") from None
    finally:
        await engine.dispose()
    return 0


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
