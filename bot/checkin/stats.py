"""Check-in trends for the client's /progress and the clinician's digest (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import mean

from bot.checkin.items import CORE, SHORT_SLEEP, SUBSTANCE_STEPS, split_keys


@dataclass(frozen=True)
class Record:
    """A day's check-in with what the trends need."""

    local_date: date
    complete: bool
    craving: int | None = None
    mood: int | None = None
    confidence: int | None = None
    sleep_hours: str | None = None
    sleep_quality: str | None = None
    triggers: str | None = None
    use: str | None = None
    medicine: str | None = None
    support: str | None = None


def is_complete(answers: dict[str, object]) -> bool:
    # A mental-health-only program asks neither the urge nor the use question.
    asked_substance = answers.get("craving") is not None or answers.get("use") is not None
    return all(
        answers.get(k) is not None for k in CORE if asked_substance or k not in SUBSTANCE_STEPS
    )


def streak(completed_days: Sequence[date], today: date) -> int:
    """Days in a row with a check-in, ending today (or yesterday, if today is not done)."""
    days = set(completed_days)
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def trend(values: Sequence[int | None], *, margin: float = 1.0) -> str | None:
    """ "up", "down" or "steady" from the first half's mean to the second half's; None with
    fewer than two answers in either half. `values` oldest first."""
    half = len(values) // 2
    first = [v for v in values[:half] if v is not None]
    second = [v for v in values[half:] if v is not None]
    if len(first) < 1 or len(second) < 1 or len(first) + len(second) < 3:
        return None
    change = mean(second) - mean(first)
    return "up" if change >= margin else "down" if change <= -margin else "steady"


@dataclass(frozen=True)
class Week:
    """Seven days of one client, for the digest."""

    completed: int
    days: int
    craving_mean: float | None
    craving_max: int | None
    craving_trend: str | None  # against the week before
    mood_mean: float | None
    mood_min: int | None
    mood_trend: str | None
    short_nights: int
    top_triggers: list[tuple[str, int]]
    use_days: int
    medicine_missed: int
    support_days: int


def week(records: Sequence[Record], cravings: Sequence[int], end: date, days: int = 7) -> Week:
    """`records`: the client's check-ins of the last 14 days (for the trend); `cravings`:
    every craving moment of the last `days` days (mean and max count each moment)."""
    start = end - timedelta(days=days - 1)
    this = [r for r in records if start <= r.local_date <= end]
    before = [r for r in records if start - timedelta(days=days) <= r.local_date < start]
    craving_values = list(cravings) or [r.craving for r in this if r.craving is not None]
    moods = [r.mood for r in this if r.mood is not None]
    triggers = Counter(t for r in this for t in split_keys(r.triggers))
    return Week(
        completed=sum(r.complete for r in this),
        days=days,
        craving_mean=round(mean(craving_values), 1) if craving_values else None,
        craving_max=max(craving_values) if craving_values else None,
        craving_trend=_compare(
            [r.craving for r in before if r.craving is not None], craving_values
        ),
        mood_mean=round(mean(moods), 1) if moods else None,
        mood_min=min(moods) if moods else None,
        mood_trend=_compare([r.mood for r in before if r.mood is not None], moods),
        short_nights=sum(r.sleep_hours in SHORT_SLEEP for r in this),
        top_triggers=triggers.most_common(3),
        use_days=sum(r.use == "yes" for r in this),
        medicine_missed=sum(r.medicine == "missed" for r in this),
        support_days=sum(r.support == "yes" for r in this),
    )


def _compare(before: Sequence[int], now: Sequence[int]) -> str | None:
    if not before or not now:
        return None
    change = mean(now) - mean(before)
    return "up" if change >= 1 else "down" if change <= -1 else "steady"


def last_days(records: Sequence[Record], end: date, days: int = 14) -> list[Record | None]:
    """One slot per day, oldest first, None where there was no check-in."""
    by_date = {r.local_date: r for r in records}
    return [by_date.get(end - timedelta(days=back)) for back in range(days - 1, -1, -1)]
