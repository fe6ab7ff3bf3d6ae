"""The session calendar (pure): occurrences across daylight-saving changes, exceptions,
reminder times in the client's own zone, and the check-in cadence after a step-down."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.scheduling.planner import checkin_rows
from bot.session_schedule import (
    DAY_BEFORE,
    HOURS_BEFORE,
    SeriesSpec,
    find_occurrence,
    occurrences,
    reminders_for,
    validate_rrule,
    weekly_rule,
)

GROUP = SeriesSpec(
    id=1,
    zone="America/New_York",
    starts_on=date(2026, 3, 3),
    start_time="18:00",
    duration_minutes=180,
    rrule=weekly_rule([2, 4]),
    exdates=("2026-03-12",),
)


def test_a_weekly_group_stays_at_six_pm_local_across_the_spring_change() -> None:
    found = occurrences(GROUP, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 18, tzinfo=UTC))
    assert [o.key for o in found] == [
        "20260303T1800",
        "20260305T1800",
        "20260310T1800",  # Thursday the 12th is an exception (a holiday)
        "20260317T1800",
    ]
    assert [o.starts_at.hour for o in found] == [23, 23, 22, 22]  # EST, then EDT
    assert found[0].ends_at.hour == 2


def test_reminders_come_at_the_clients_own_local_hour() -> None:
    (before_change, after_change) = [
        o
        for o in occurrences(
            GROUP, datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC)
        )
        if o.local_start.weekday() == 1
    ]
    for occurrence, ny_day, london_day, soon in (
        (before_change, 23, 18, 21),
        (after_change, 22, 18, 20),
    ):
        ny = reminders_for(occurrence, "America/New_York", day_before="18:00", hours_before=2)
        london = reminders_for(occurrence, "Europe/London", day_before="18:00", hours_before=2)
        assert [(r.offset, r.due_at.hour) for r in ny] == [
            (DAY_BEFORE, ny_day),
            (HOURS_BEFORE, soon),
        ]
        assert [(r.offset, r.due_at.hour) for r in london] == [
            (DAY_BEFORE, london_day),
            (HOURS_BEFORE, soon),
        ]
        assert all(r.expires_at <= occurrence.starts_at for r in ny + london)


def test_a_program_can_turn_either_reminder_off() -> None:
    (occurrence, *_) = occurrences(
        GROUP, datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)
    )
    assert reminders_for(occurrence, "UTC", day_before=None, hours_before=None) == []
    assert [
        r.offset for r in reminders_for(occurrence, "UTC", day_before=None, hours_before=3)
    ] == [HOURS_BEFORE]


def test_a_moved_occurrence_is_no_longer_found() -> None:
    assert find_occurrence(GROUP, "20260303T1800") is not None
    moved = SeriesSpec(1, GROUP.zone, GROUP.starts_on, "19:00", 180, GROUP.rrule)
    assert find_occurrence(moved, "20260303T1800") is None
    assert find_occurrence(GROUP, "20260312T1800") is None  # the exception
    assert find_occurrence(GROUP, "nonsense") is None


def test_a_one_off_has_one_occurrence() -> None:
    once = SeriesSpec(2, "Europe/London", date(2026, 3, 29), "01:30", 60, None)
    # 01:30 does not exist in London that night: it moves an hour later on the wall.
    (o,) = occurrences(once, datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC))
    assert o.starts_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_rrules_from_calendars_are_accepted_and_nonsense_is_not() -> None:
    assert validate_rrule("RRULE:FREQ=WEEKLY;UNTIL=20261231T235959Z;BYDAY=TU") == (
        "FREQ=WEEKLY;UNTIL=20261231T235959;BYDAY=TU"
    )
    with pytest.raises(ValueError):
        validate_rrule("every tuesday")


def test_check_ins_follow_the_aftercare_cadence() -> None:
    start, end = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 15, tzinfo=UTC)
    every_day = {
        s.local_date for _, s, _, _ in checkin_rows("America/New_York", "20:00", start, end)
    }
    three = {
        s.local_date for _, s, _, _ in checkin_rows("America/New_York", "20:00", start, end, "135")
    }
    assert len(every_day) == 14
    assert sorted({d.isoweekday() for d in three}) == [1, 3, 5]
    assert len(three) == 6
