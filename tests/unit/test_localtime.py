"""Times and time zones as people type them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.localtime import local_instant, parse_time_of_day, resolve_timezone, time_label, zones_for


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("8pm", time(20)),
        ("8 pm", time(20)),
        ("8:30 pm", time(20, 30)),
        ("8.30pm", time(20, 30)),
        ("20:00", time(20)),
        ("0830", time(8, 30)),
        ("12am", time(0)),
        ("12pm", time(12)),
        ("7:45AM", time(7, 45)),
        ("8 p.m.", time(20)),
        ("21h00", time(21)),
    ],
)
def test_times_people_type(typed: str, expected: time) -> None:
    assert parse_time_of_day(typed) == expected


@pytest.mark.parametrize("typed", ["8", "25:00", "13pm", "0pm", "soon", "", "8:61", "x" * 500])
def test_times_that_are_refused(typed: str) -> None:
    assert parse_time_of_day(typed) is None


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("Chicgo", "America/Chicago"),
        ("los_angeles", "America/Los_Angeles"),
        ("  Denver ", "America/Denver"),
        ("london", "Europe/London"),
    ],
)
def test_zones_from_cities_and_names(typed: str, zone: str) -> None:
    assert resolve_timezone(typed) == zone


@pytest.mark.parametrize("typed", ["qwzx", "the moon", "", "abc", "x" * 200, "UTC+99"])
def test_nonsense_is_not_turned_into_a_zone(typed: str) -> None:
    assert resolve_timezone(typed) is None


def test_the_programs_zone_is_offered_first_and_once() -> None:
    zones = zones_for("US", "America/Denver")
    assert zones[0] == "America/Denver"
    assert zones.count("America/Denver") == 1
    assert "America/New_York" in zones


def test_labels() -> None:
    assert time_label(time(20), "en") == "8:00 pm"
    assert time_label(time(0, 5), "en") == "12:05 am"
    assert time_label(time(20), "es") == "20:00"


def test_spring_forward_and_fall_back_in_london() -> None:
    # 01:30 does not exist on 29 March 2026 in London; it resolves to 01:30 GMT (fold=0).
    assert local_instant(date(2026, 3, 29), time(1, 30), "Europe/London") == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )
    # 01:30 happens twice on 25 October 2026; the first (BST) is taken.
    assert local_instant(date(2026, 10, 25), time(1, 30), "Europe/London") == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
