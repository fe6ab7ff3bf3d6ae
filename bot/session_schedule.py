"""When sessions happen and when their reminders are due (pure: no database, no Telegram).

A session series is a local wall time in a zone, a first local date, and either an
iCalendar RRULE (recurring) or nothing (one-off), minus exception dates. Occurrences are
expanded on local wall times with dateutil's rrule, then each is placed in UTC from its
own local date (PEP 495 fold=0: a time skipped by spring-forward moves an hour later on
the wall, a repeated one is its first instance), so a weekly 18:00 group stays at 18:00
local across daylight-saving changes.

An occurrence is named by its local start, "20260310T1800": RSVPs, attendance and
reminder keys use that name, so moving a session to another time makes it a different
occurrence (the old reminders no longer match and are cancelled).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from bot.scheduling.local_times import parse_hhmm, slot_on

OCCURRENCE_FORMAT = "%Y%m%dT%H%M"
# Reminder offsets: the day before (at the program's local hour, in the client's zone)
# and a few hours before.
DAY_BEFORE = "day"
HOURS_BEFORE = "soon"


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """What the calendar needs of a SessionSeries row."""

    id: int
    zone: str
    starts_on: date
    start_time: str  # "HH:MM"
    duration_minutes: int
    rrule: str | None
    exdates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Occurrence:
    series_id: int
    key: str  # local start, "20260310T1800"
    local_start: datetime  # naive wall time in the series' zone
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC


@dataclass(frozen=True, slots=True)
class Reminder:
    offset: str  # DAY_BEFORE or HOURS_BEFORE
    due_at: datetime  # UTC
    expires_at: datetime  # UTC: never after the session began (or the reminder's day ended)


def occurrence_key(local_start: datetime) -> str:
    return local_start.strftime(OCCURRENCE_FORMAT)


def parse_occurrence_key(key: str) -> datetime | None:
    try:
        return datetime.strptime(key, OCCURRENCE_FORMAT)
    except ValueError:
        return None


def to_utc(local: datetime, zone: str) -> datetime:
    """A naive local wall time in `zone` as a UTC instant (fold=0)."""
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def validate_rrule(rule: str) -> str:
    """The rule, normalised (no "RRULE:" prefix); ValueError when dateutil cannot read it
    or it has no end and no frequency."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    # dtstart is a local wall time, so an UNTIL in UTC ("…Z", as calendars export it) is
    # read as local: at most a few hours' difference at the very end of a series.
    text = re.sub(r"(UNTIL=\d{8}(?:T\d{6})?)Z", r"\1", text, flags=re.IGNORECASE)
    if "FREQ=" not in text.upper():
        raise ValueError(f"{rule!r} is not an RRULE (it needs FREQ=…)")
    rrulestr(text, dtstart=datetime(2026, 1, 1))
    return text


# A session repeats at most once a day: a rule more frequent than that would send every
# client a reminder a minute and make the sessions list longer than a message.
TOO_FREQUENT = ("SECONDLY", "MINUTELY", "HOURLY")


def validate_session_rrule(rule: str) -> str:
    """`validate_rrule`, refusing a rule that repeats more often than daily."""
    text = validate_rrule(rule)
    freq = re.search(r"FREQ=([A-Z]+)", text.upper())
    if freq and freq.group(1) in TOO_FREQUENT:
        raise ValueError(
            f"FREQ={freq.group(1)} repeats more often than once a day; "
            "sessions can repeat daily, weekly, monthly or yearly"
        )
    return text


def weekly_rule(weekdays: Iterable[int], until: date | None = None) -> str:
    """RRULE for a weekly session on ISO weekdays (1 = Monday)."""
    names = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
    days = sorted(set(weekdays))
    if not days or any(not 1 <= d <= 7 for d in days):
        raise ValueError("weekdays must be 1 (Monday) to 7 (Sunday)")
    rule = "FREQ=WEEKLY;BYDAY=" + ",".join(names[d - 1] for d in days)
    if until is not None:
        rule += f";UNTIL={until:%Y%m%d}T235959"
    return rule


def occurrences(spec: SeriesSpec, start: datetime, end: datetime) -> list[Occurrence]:
    """Occurrences that start in [start, end) (UTC instants), in order."""
    first = datetime.combine(spec.starts_on, parse_hhmm(spec.start_time))
    tz = ZoneInfo(spec.zone)
    # A local window a day wider than the UTC one on each side covers every offset.
    lo = start.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    hi = end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    if spec.rrule:
        rule = rrulestr(validate_rrule(spec.rrule), dtstart=first)
        locals_ = rule.between(lo, hi, inc=True)  # type: ignore[union-attr]
    else:
        locals_ = [first] if lo <= first <= hi else []
    skipped = set(spec.exdates)
    out = []
    for local in locals_:
        if local.date().isoformat() in skipped or occurrence_key(local) in skipped:
            continue
        at = to_utc(local, spec.zone)
        if start <= at < end:
            out.append(
                Occurrence(
                    series_id=spec.id,
                    key=occurrence_key(local),
                    local_start=local,
                    starts_at=at,
                    ends_at=at + timedelta(minutes=spec.duration_minutes),
                )
            )
    return out


def find_occurrence(spec: SeriesSpec, key: str) -> Occurrence | None:
    """The occurrence named `key`, if the series (still) has it."""
    local = parse_occurrence_key(key)
    if local is None:
        return None
    at = to_utc(local, spec.zone)
    for occurrence in occurrences(spec, at - timedelta(minutes=1), at + timedelta(minutes=1)):
        if occurrence.key == key:
            return occurrence
    return None


def reminders_for(
    occurrence: Occurrence,
    client_zone: str,
    *,
    day_before: str | None,
    hours_before: int | None,
) -> list[Reminder]:
    """The reminders of one occurrence for a client in `client_zone`.

    The day-before one comes at the program's chosen local hour on the day before the
    session's date as the client sees it, and not after the day it is sent on ends; the
    other `hours_before` hours before the start. Neither is sent once the session began.
    """
    out: list[Reminder] = []
    if day_before:
        local_day = occurrence.starts_at.astimezone(ZoneInfo(client_zone)).date()
        slot = slot_on(client_zone, day_before, local_day - timedelta(days=1))
        if slot.at < occurrence.starts_at:
            day_end = datetime.combine(local_day, time(0), tzinfo=ZoneInfo(client_zone))
            out.append(
                Reminder(
                    DAY_BEFORE,
                    slot.at,
                    min(occurrence.starts_at, day_end.astimezone(UTC)),
                )
            )
    if hours_before:
        out.append(
            Reminder(
                HOURS_BEFORE,
                occurrence.starts_at - timedelta(hours=hours_before),
                occurrence.starts_at,
            )
        )
    return out


# The longest a reminder can come before its session: the day before at a late hour, in
# a zone far from the session's.
MAX_LEAD = timedelta(days=3)


def reminder_key(client_id: int, occurrence: Occurrence, offset: str) -> str:
    return f"sr:{client_id}:{occurrence.series_id}:{occurrence.key}:{offset}"


def parse_reminder_key(key: str) -> tuple[int, int, str, str] | None:
    parts = key.split(":")
    if len(parts) != 5 or parts[0] != "sr" or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    return int(parts[1]), int(parts[2]), parts[3], parts[4]


def weekday_set(days: str | None) -> frozenset[int] | None:
    """ "135" -> {1, 3, 5}; None or "" -> None (every day)."""
    if not days:
        return None
    return frozenset(int(c) for c in days if c in "1234567")


def attendance_rate(marks: Sequence[str | None]) -> float | None:
    """Share of marked attendances that were present (excused ones do not count)."""
    counted = [m for m in marks if m in ("present", "absent")]
    if not counted:
        return None
    return sum(1 for m in counted if m == "present") / len(counted)
