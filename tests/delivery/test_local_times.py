"""Next local times (pure): a daily time stays at its local wall time through
daylight-saving changes, and fires exactly once on every local date."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.scheduling.local_times import (
    daily_slots,
    end_of_local_day,
    one_off,
    slot_on,
)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _days(zone: str, hhmm: str, first: date, days: int) -> dict[date, datetime]:
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC) - timedelta(days=1)
    slots = daily_slots(zone, hhmm, start, start + timedelta(days=days + 2))
    local_dates = [s.local_date for s in slots]
    assert len(local_dates) == len(set(local_dates)), "a local date fired twice"
    return {s.local_date: s.at for s in slots}


def test_a_daily_time_stays_at_local_time_across_spring_forward_in_new_york() -> None:
    slots = _days("America/New_York", "20:00", date(2026, 3, 7), 3)
    assert slots[date(2026, 3, 7)] == _utc(2026, 3, 8, 1)  # EST, UTC-5
    assert slots[date(2026, 3, 8)] == _utc(2026, 3, 9, 0)  # EDT, UTC-4


def test_the_skipped_hour_fires_once_an_hour_later_on_the_wall() -> None:
    # 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:30 does not exist that day.
    slots = _days("America/New_York", "02:30", date(2026, 3, 7), 3)
    assert slots[date(2026, 3, 8)] == _utc(2026, 3, 8, 7, 30)  # = 03:30 EDT
    assert slots[date(2026, 3, 7)] == _utc(2026, 3, 7, 7, 30)
    assert slots[date(2026, 3, 9)] == _utc(2026, 3, 9, 6, 30)
    assert len([d for d in slots if date(2026, 3, 7) <= d <= date(2026, 3, 9)]) == 3


def test_the_repeated_hour_fires_once_the_first_time() -> None:
    # 2026-11-01 02:00 EDT falls back to 01:00 EST: 01:30 happens twice.
    slots = _days("America/New_York", "01:30", date(2026, 10, 31), 3)
    assert slots[date(2026, 11, 1)] == _utc(2026, 11, 1, 5, 30)  # 01:30 EDT, not EST
    assert slots[date(2026, 11, 2)] == _utc(2026, 11, 2, 6, 30)


def test_a_window_that_starts_between_the_two_instances_gets_no_second_one() -> None:
    between = _utc(2026, 11, 1, 6, 0)  # after 01:30 EDT, before 01:30 EST
    assert daily_slots("America/New_York", "01:30", between, between + timedelta(hours=2)) == []


@pytest.mark.parametrize(
    ("hhmm", "spring_day", "expected"),
    [
        # Europe/London: 2026-03-29 01:00 GMT -> 02:00 BST; 01:30 is skipped.
        ("01:30", date(2026, 3, 29), _utc(2026, 3, 29, 1, 30)),  # = 02:30 BST
        ("09:00", date(2026, 3, 29), _utc(2026, 3, 29, 8, 0)),
    ],
)
def test_london_spring_forward(hhmm: str, spring_day: date, expected: datetime) -> None:
    slots = _days("Europe/London", hhmm, spring_day - timedelta(days=1), 3)
    assert slots[spring_day] == expected


def test_london_fall_back_repeated_hour_fires_once() -> None:
    # 2026-10-25 02:00 BST -> 01:00 GMT: 01:30 happens twice.
    slots = _days("Europe/London", "01:30", date(2026, 10, 24), 3)
    assert slots[date(2026, 10, 25)] == _utc(2026, 10, 25, 0, 30)  # 01:30 BST
    assert slots[date(2026, 10, 26)] == _utc(2026, 10, 26, 1, 30)  # GMT


def test_utc_plus_13_and_utc_minus_10_on_the_same_utc_day() -> None:
    # One UTC day: 2026-06-10. Tonga (UTC+13) is already on the 11th in the afternoon,
    # Honolulu (UTC-10) still on the 9th in the morning.
    start, end = _utc(2026, 6, 10), _utc(2026, 6, 11)
    tonga = daily_slots("Pacific/Tongatapu", "20:00", start, end)
    honolulu = daily_slots("Pacific/Honolulu", "20:00", start, end)
    assert [(s.local_date, s.at) for s in tonga] == [(date(2026, 6, 10), _utc(2026, 6, 10, 7))]
    assert [(s.local_date, s.at) for s in honolulu] == [(date(2026, 6, 9), _utc(2026, 6, 10, 6))]
    early = daily_slots("Pacific/Tongatapu", "08:00", start, end)
    assert [(s.local_date, s.at) for s in early] == [(date(2026, 6, 11), _utc(2026, 6, 10, 19))]


def test_a_window_is_half_open() -> None:
    at = _utc(2026, 6, 11, 0)  # 20:00 EDT on the 10th
    assert [s.at for s in daily_slots("America/New_York", "20:00", at, at)] == []
    assert [
        s.at for s in daily_slots("America/New_York", "20:00", at, at + timedelta(seconds=1))
    ] == [at]
    assert daily_slots("America/New_York", "20:00", at - timedelta(hours=1), at) == []


def test_the_end_of_a_local_day_and_one_offs() -> None:
    assert end_of_local_day("America/New_York", date(2026, 6, 10)) == _utc(2026, 6, 11, 4)
    assert slot_on("America/New_York", "02:30", date(2026, 3, 8)).at == _utc(2026, 3, 8, 7, 30)
    assert one_off("Europe/London", datetime(2026, 7, 1, 18, 0)) == _utc(2026, 7, 1, 17, 0)
    with pytest.raises(ValueError):
        one_off("Europe/London", _utc(2026, 7, 1, 18, 0))


@pytest.mark.parametrize(
    "zone",
    ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Beirut", "Pacific/Chatham"],
)
def test_any_windows_give_one_slot_per_local_date_at_its_wall_time(zone: str) -> None:
    """Ticks of any length, over a whole year with both changes: every local date once,
    at the instant PEP 495 (fold=0) gives its wall time."""
    rng = random.Random(zone)
    for hhmm in ("00:00", "00:30", "01:30", "02:30", "08:00", "23:30"):
        at = time(*map(int, hhmm.split(":")))
        seen: dict[date, datetime] = {}
        cursor, end = _utc(2025, 12, 30), _utc(2027, 1, 2)
        while cursor < end:
            width = timedelta(minutes=rng.choice([1, 5, 30, 60, 180, 1440]))
            for slot in daily_slots(zone, hhmm, cursor, cursor + width):
                assert slot.local_date not in seen, (hhmm, slot)
                seen[slot.local_date] = slot.at
            cursor += width
        year = [d for d in seen if d.year == 2026]
        assert len(year) == 365, hhmm
        for day, instant in seen.items():
            assert instant == datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_apscheduler_chained_searches_skip_a_day_so_each_date_is_searched_alone() -> None:
    """Pins the APScheduler 3.11 behaviour daily_slots works around: searching from
    the previous fire, the 00:00 after 00:00 EST on the spring-forward Sunday is
    Tuesday's. If this starts failing, APScheduler fixed it (daily_slots stays right)."""
    trigger = CronTrigger(hour=0, minute=0, timezone=ZoneInfo("America/New_York"))
    sunday = datetime(2026, 3, 8, tzinfo=ZoneInfo("America/New_York"))
    after = trigger.get_next_fire_time(sunday, sunday)
    assert after is not None and after.date() == date(2026, 3, 10)
    slots = daily_slots("America/New_York", "00:00", _utc(2026, 3, 8), _utc(2026, 3, 11))
    assert [s.local_date for s in slots] == [date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10)]
