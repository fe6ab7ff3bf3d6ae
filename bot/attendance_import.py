"""Attendance from a CSV file (`python -m bot admin sessions attendance FILE.csv`).

Columns: session (the id `admin sessions list` prints), date (the occurrence's local
YYYY-MM-DD), client (the pseudonym code) and status (present, absent or excused). Rows
are numbered as a spreadsheet shows them: the header is row 1.

Each row goes through the same code as the clinician's one-tap /attendance
(`bot.sessions.mark_attendance`), so an absence without an "I can't make it" raises one
same-day flag, and importing the same file again changes nothing and raises nothing.
A bad row is reported (its number and the problem) and the good rows are still applied.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.models import Client, Program, SessionSeries
from bot.roster import audit
from bot.session_schedule import Occurrence, occurrences
from bot.sessions import (
    attendance_row,
    attendees,
    local_day_bounds,
    mark_attendance,
    spec_of,
)

COLUMNS = ("session", "date", "client", "status")
STATUSES = ("present", "absent", "excused")


class AttendanceFileError(ValueError):
    """The file as a whole cannot be read (no header, a missing column)."""


@dataclass
class ImportResult:
    marked: int = 0
    unchanged: int = 0
    flagged: int = 0
    bad: list[str] = field(default_factory=list)  # "row 4: …", one line per bad row


class BadRow(Exception):
    pass


def read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(row number, {column: value}) for each non-blank data row."""
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's UTF-8 export starts with a BOM
    except UnicodeDecodeError:
        raise AttendanceFileError("the file is not UTF-8 text (save it as CSV UTF-8)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise AttendanceFileError("the file is empty; the first row must name the columns")
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise AttendanceFileError(
            f"the first row must name the columns {', '.join(COLUMNS)} "
            f"(missing: {', '.join(missing)})"
        )
    index = {c: names.index(c) for c in COLUMNS}
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        rows.append(
            (
                number,
                {c: cells[i].strip() if i < len(cells) else "" for c, i in index.items()},
            )
        )
    return rows


async def _series(session: AsyncSession, program: Program, value: str) -> SessionSeries:
    if not value.isdigit():
        raise BadRow(f"session {value!r} is not a session id (a number from `sessions list`)")
    series = await session.get(SessionSeries, int(value))
    if series is None or series.program_id != program.id:
        raise BadRow(f"there is no session {value} in {program.name}")
    if series.cancelled_at is not None:
        raise BadRow(f"session {value} is cancelled")
    return series


def _occurrence(series: SessionSeries, value: str, now: datetime) -> Occurrence:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRow(f"date {value!r} is not a date like 2026-06-02") from None
    start, end = local_day_bounds(series.timezone, day)
    found = [o for o in occurrences(spec_of(series), start, end) if o.local_start.date() == day]
    if not found:
        raise BadRow(f"session {series.id} ({series.title}) does not meet on {value}")
    if len(found) > 1:
        raise BadRow(f"session {series.id} meets more than once on {value}")
    if found[0].starts_at > now:
        raise BadRow(f"session {series.id} on {value} has not begun yet")
    return found[0]


async def _client(session: AsyncSession, program: Program, value: str) -> Client:
    if not value:
        raise BadRow("the client column is empty")
    client = (
        await session.exec(
            select(Client).where(Client.program_id == program.id, Client.code == value.upper())
        )
    ).first()
    if client is None:
        raise BadRow(f"there is no client {value} in {program.name}")
    return client


async def import_attendance(
    session: AsyncSession,
    *,
    content: Content,
    program: Program,
    rows: list[tuple[int, dict[str, str]]],
    now: datetime,
    actor: str = "admin-cli",
) -> ImportResult:
    """Apply the rows in the caller's transaction; bad rows are listed, not applied."""
    result = ImportResult()
    expected: dict[int, set[int | None]] = {}
    for number, row in rows:
        try:
            series = await _series(session, program, row["session"])
            occurrence = _occurrence(series, row["date"], now)
            client = await _client(session, program, row["client"])
            mark = row["status"].lower()
            if mark not in STATUSES:
                raise BadRow(f"status {row['status']!r} must be one of {', '.join(STATUSES)}")
            assert series.id is not None and client.id is not None
            if series.id not in expected:
                expected[series.id] = {c.id for c in await attendees(session, series)}
            if client.id not in expected[series.id]:
                raise BadRow(f"client {client.code} is not expected at session {series.id}")
        except BadRow as exc:
            result.bad.append(f"row {number}: {exc}.")
            continue
        existing = await attendance_row(session, series.id, client.id, occurrence.key)
        if existing is not None and existing.attendance == mark:
            result.unchanged += 1
            continue
        if await mark_attendance(
            session,
            content=content,
            series=series,
            occurrence=occurrence,
            client=client,
            mark=mark,
            clinician_id=None,
            now=now,
        ):
            result.flagged += 1
        audit(
            session,
            actor=actor,
            action=f"attendance_{mark}",
            subject=f"client:{client.id}",
            at=now,
            series=series.id,
            occurrence=occurrence.key,
        )
        result.marked += 1
    return result
