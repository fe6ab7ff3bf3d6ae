"""The promise of when the care team will see an alert, for each hour, weekday and
on-call setting (issue 18). The clock is passed in, never slept."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.careteam_promise import (
    OfficeHours,
    Promise,
    choose_promise,
    office_hours_sentence,
    parse_hours,
    promise_sentence,
)
from bot.content import DEFAULT_CONTENT_DIR, load_content

NY = "America/New_York"
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
HOURS = "Mon-Fri 9am-5pm"


def at(day: int, hour: int, minute: int = 0, zone: str = NY) -> datetime:
    """December 2026, local time in `zone`: the 7th is a Monday, the 11th a Friday."""
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo(zone))


@pytest.mark.parametrize(
    ("now", "key", "values"),
    [
        (at(8, 10), Promise.today, {}),  # Tuesday mid-morning
        (at(8, 15, 59), Promise.today, {}),  # an hour and a minute before closing
        (at(8, 7), Promise.later_today, {"time": "9 am"}),  # before opening
        (at(8, 16, 30), Promise.tomorrow, {"time": "9 am"}),  # too close to closing
        (at(8, 23), Promise.tomorrow, {"time": "9 am"}),  # night
        (at(11, 20), Promise.on_day, {"day": "Monday", "time": "9 am"}),  # Friday night
        (at(12, 10), Promise.on_day, {"day": "Monday", "time": "9 am"}),  # Saturday
        (at(13, 10), Promise.tomorrow, {"time": "9 am"}),  # Sunday: Monday is tomorrow
        (at(14, 8, 59), Promise.later_today, {"time": "9 am"}),  # Monday, a minute early
    ],
)
def test_the_promise_follows_the_office_clock(
    now: datetime, key: Promise, values: dict[str, str]
) -> None:
    choice = choose_promise(now, NY, HOURS, on_call_24_7=False, weekdays=WEEKDAYS)
    assert (choice.key, choice.values) == (key, values)


def test_the_programs_time_zone_decides_not_the_servers() -> None:
    # 03:00 UTC on Saturday the 12th is 22:00 on Friday in New York: Monday, not today.
    now = datetime(2026, 12, 12, 3, 0, tzinfo=UTC)
    assert choose_promise(now, NY, HOURS, False, WEEKDAYS).key is Promise.on_day
    # ... and 11:00 on Saturday in Sydney? Closed: Monday there too.
    assert choose_promise(now, "Australia/Sydney", HOURS, False, WEEKDAYS).values == {
        "day": "Monday",
        "time": "9 am",
    }


@pytest.mark.parametrize("now", [at(8, 10), at(8, 23), at(12, 3)])
def test_on_call_programs_say_so_at_every_hour(now: datetime) -> None:
    assert choose_promise(now, NY, HOURS, True, WEEKDAYS).key is Promise.on_call
    assert choose_promise(now, NY, None, True, WEEKDAYS).key is Promise.on_call


@pytest.mark.parametrize("hours", [None, "", "weekdays, business hours", "Mon-Fri 5pm-9am"])
def test_hours_that_cannot_be_read_promise_no_time(hours: str | None) -> None:
    assert choose_promise(at(8, 10), NY, hours, False, WEEKDAYS).key is Promise.unknown


@pytest.mark.parametrize(
    ("text", "days", "opens", "closes"),
    [
        ("Mon-Fri 9am-5pm", range(5), time(9), time(17)),
        ("Mon–Fri 09:00–17:00", range(5), time(9), time(17)),
        ("Monday to Friday 9 to 5", range(5), time(9), time(17)),
        ("Mon-Sat 8:30am-4pm", range(6), time(8, 30), time(16)),
    ],
)
def test_office_hours_are_read_from_what_admins_type(
    text: str, days: range, opens: time, closes: time
) -> None:
    assert parse_hours(text) == OfficeHours(frozenset(days), opens, closes)


def test_the_sentences_a_client_reads() -> None:
    texts = load_content(DEFAULT_CONTENT_DIR).language("en").alerts.promise
    friday_night = at(11, 22)
    assert promise_sentence(texts, friday_night, NY, HOURS, False, WEEKDAYS) == (
        "Your care team will see this on Monday, when the office opens at 9 am."
    )
    assert promise_sentence(texts, at(8, 7), NY, HOURS, False, WEEKDAYS) == (
        "Your care team will see this today, when the office opens at 9 am."
    )
    assert promise_sentence(texts, at(8, 10), NY, HOURS, False, WEEKDAYS) == (
        "Your care team will see this today."
    )
    for now in (friday_night, at(8, 10)):
        sentence = promise_sentence(texts, now, NY, HOURS, True, WEEKDAYS)
        assert "on call" in sentence and "call you" not in sentence
    # Never a promise of a call, whatever the hour.
    for key in Promise:
        assert "will call" not in getattr(texts, key.value)
    assert office_hours_sentence(texts, HOURS, WEEKDAYS) == (
        "Your team is in the office Monday to Friday, 9 am to 5 pm."
    )
    assert office_hours_sentence(texts, "by appointment", WEEKDAYS) == "by appointment"
