"""When a local wall time happens, in UTC, for one person's time zone (pure).

APScheduler's CronTrigger does the calendar arithmetic in the person's zone, so a daily
20:00 stays at 20:00 local across daylight-saving changes. Two edges are settled here:
a time skipped by spring-forward fires once, an hour later on the wall (APScheduler
and PEP 495 fold=0 agree: 02:30 -> 03:30 EDT), and a time repeated by fall-back fires
once, the first time (APScheduler 3.11 fires both; the repeat is dropped).

Each local date is searched on its own, from its midnight. Chained searches (from the
previous fire to the next) skip a day in APScheduler 3.11.3: after 00:00 EST on the
spring-forward Sunday the next 00:00 it finds is Tuesday's (tests/delivery pin this).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger


@dataclass(frozen=True, slots=True)
class Slot:
    """One occurrence of a daily time: the person's local date and its UTC instant."""

    local_date: date
    at: datetime


def parse_hhmm(value: str) -> time:
    hour, _, minute = value.partition(":")
    if not (hour.isdigit() and minute.isdigit()):
        raise ValueError(f"{value!r} is not a time like 20:00")
    return time(int(hour), int(minute))


@lru_cache(maxsize=4096)
def _daily_trigger(zone: str, hhmm: str) -> CronTrigger:
    at = parse_hhmm(hhmm)
    return CronTrigger(hour=at.hour, minute=at.minute, timezone=ZoneInfo(zone))


def _is_repeat(fire: datetime) -> bool:
    """The second of the two instants a fall-back night gives one wall time."""
    return fire.fold == 1 and fire.replace(fold=0).utcoffset() != fire.utcoffset()


def daily_slots(zone: str, hhmm: str, start: datetime, end: datetime) -> list[Slot]:
    """Every slot of the daily local time `hhmm` in `zone` with start <= at < end:
    one per local date, and the same one whatever window asks."""
    at = parse_hhmm(hhmm)
    tz = ZoneInfo(zone)
    slots: list[Slot] = []
    day = local_date_of(zone, start) - timedelta(days=1)
    last = local_date_of(zone, end) + timedelta(days=1)
    margin = timedelta(hours=3)  # more than any daylight-saving shift
    while day <= last:
        # The plain wall-clock instant is within an hour of the slot: only dates near
        # the window ask the trigger.
        rough = datetime.combine(day, at, tzinfo=tz)
        if start - margin <= rough <= end + margin:
            instant = _slot_instant(zone, hhmm, day)
            if start <= instant < end:
                slots.append(Slot(local_date=day, at=instant))
        day += timedelta(days=1)
    return slots


def _slot_instant(zone: str, hhmm: str, day: date) -> datetime:
    fire = _daily_trigger(zone, hhmm).get_next_fire_time(None, local_midnight(zone, day))
    if fire is not None and fire.date() == day and not _is_repeat(fire):
        return fire.astimezone(UTC)
    # The time lies in a gap that begins at midnight (Asia/Beirut, America/Santiago):
    # the trigger jumps to the next day; PEP 495 fold=0 gives the same answer as above.
    return datetime.combine(day, parse_hhmm(hhmm), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def slot_on(zone: str, hhmm: str, local_date: date) -> Slot:
    """The slot of `hhmm` on one local date (the same rules as daily_slots)."""
    day_start = local_midnight(zone, local_date)
    (slot,) = [
        s
        for s in daily_slots(zone, hhmm, day_start, local_midnight(zone, local_date + timedelta(1)))
        if s.local_date == local_date
    ]
    return slot


def local_midnight(zone: str, local_date: date) -> datetime:
    """The UTC instant a local date begins (a skipped midnight resolves forward)."""
    return datetime.combine(local_date, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def end_of_local_day(zone: str, local_date: date) -> datetime:
    """The UTC instant a local date ends: nothing for that day is sent after it."""
    return local_midnight(zone, local_date + timedelta(days=1))


def local_date_of(zone: str, instant: datetime) -> date:
    return instant.astimezone(ZoneInfo(zone)).date()


def one_off(zone: str, local: datetime) -> datetime:
    """The UTC instant of a one-off local date and time (a session, a reminder)."""
    if local.tzinfo is not None:
        raise ValueError("one_off takes a local wall time without a time zone")
    run_date = DateTrigger(run_date=local, timezone=ZoneInfo(zone)).run_date
    return run_date.astimezone(UTC)
