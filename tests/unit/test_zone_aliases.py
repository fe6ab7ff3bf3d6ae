"""Typed places and zone names at set-up's "Something else"."""

from __future__ import annotations

import pytest

from bot.zone_aliases import resolve_place


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Milwaukee", "America/Chicago"),
        ("milwaukee, WI", "America/Chicago"),
        ("central time", "America/Chicago"),
        ("Central Time Zone", "America/Chicago"),
        ("CST", "America/Chicago"),
        ("St. Louis", "America/Chicago"),
        ("eastern", "America/New_York"),
        ("EST", "America/New_York"),
        ("Boston", "America/New_York"),
        ("pacific time", "America/Los_Angeles"),
        ("PST", "America/Los_Angeles"),
        ("Seattle", "America/Los_Angeles"),
        ("mountain time", "America/Denver"),
        ("Salt Lake City", "America/Denver"),
        ("Arizona", "America/Phoenix"),
        ("Hawaii", "Pacific/Honolulu"),
        # zoneinfo's own names and cities still work, misspelled ones too.
        ("Chicago", "America/Chicago"),
        ("Detroit", "America/Detroit"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("Chicgo", "America/Chicago"),
    ],
)
def test_common_places_and_zone_names_resolve(typed: str, zone: str) -> None:
    assert resolve_place(typed) == zone


@pytest.mark.parametrize("typed", ["", "asdfgh", "my house", "time", "x" * 80])
def test_nonsense_resolves_to_nothing(typed: str) -> None:
    assert resolve_place(typed) is None
