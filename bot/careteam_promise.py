"""When will the care team see an alert? The sentence that says so truthfully (pure).

A reply to a client in trouble must not promise "today" at 11 pm on a Friday, nor a
call at all. From the program's office hours (the free text an admin typed, such as
"Mon-Fri 9am-5pm"), its on-call setting, its time zone and the moment of sending, this
module picks one of the `promise` sentences in alerts.yaml and the values it needs.
No Telegram and no database here: the caller passes `now`, so tests drive the clock.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.content.markup import render
from bot.content.schema import PromiseTexts

# "Today" only while at least this long is left before the office closes: a message sent
# at 4:55 pm is not honestly seen "today".
TODAY_MARGIN = timedelta(hours=1)

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = r"(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
_CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"
_DASH = r"\s*(?:-|–|—|to|until)\s*"
_HOURS = re.compile(rf"^\s*{_DAY}(?:{_DASH}{_DAY})?[\s,]+{_CLOCK}{_DASH}{_CLOCK}\s*$", re.I)


@dataclass(frozen=True)
class OfficeHours:
    days: frozenset[int]  # 0 = Monday
    opens: time
    closes: time


class Promise(StrEnum):
    """The keys of alerts.yaml `promise`."""

    on_call = "on_call"  # someone is on call around the clock
    today = "today"  # the office is open now, with time left
    later_today = "later_today"  # the office opens later today
    tomorrow = "tomorrow"  # the office opens tomorrow
    on_day = "on_day"  # the office opens on {day}
    unknown = "unknown"  # no hours we can read: say "when they are next at work"


@dataclass(frozen=True)
class PromiseChoice:
    key: Promise
    values: dict[str, str] = field(default_factory=dict)  # {time}, {day}


def _clock(hour: str, minute: str | None, half: str | None) -> time | None:
    h, m = int(hour), int(minute or 0)
    half = (half or "").replace(".", "").lower()
    if half and not 1 <= h <= 12:
        return None
    if half == "pm" and h != 12:
        h += 12
    elif half == "am" and h == 12:
        h = 0
    if not (0 <= h <= 23 and 0 <= m <= 59):
        return None
    return time(h, m)


def parse_hours(text: str | None) -> OfficeHours | None:
    """Office hours from an admin's text ("Mon-Fri 9am-5pm", "Mon–Sat 08:30–16:00"),
    or None when they cannot be read for sure (then nothing is promised by the clock)."""
    if not text:
        return None
    found = _HOURS.match(text)
    if not found:
        return None
    first, last, oh, om, ohalf, ch, cm, chalf = found.groups()
    # "9-5": a closing hour without am/pm, before the opening one, is in the afternoon.
    opens = _clock(oh, om, ohalf)
    closes = _clock(ch, cm, chalf)
    if opens and closes and not chalf and closes <= opens and int(ch) <= 12:
        closes = _clock(ch, cm, "pm")
    if opens is None or closes is None or closes <= opens:
        return None
    start = _DAYS.index(first[:3].lower())
    end = _DAYS.index((last or first)[:3].lower())
    days = frozenset((start + i) % 7 for i in range((end - start) % 7 + 1))
    return OfficeHours(days, opens, closes)


def clock_text(t: time) -> str:
    """A time as people say it: "9 am", "5:30 pm", "12 pm"."""
    hour = t.hour % 12 or 12
    half = "am" if t.hour < 12 else "pm"
    return f"{hour} {half}" if t.minute == 0 else f"{hour}:{t.minute:02d} {half}"


def choose_promise(
    now: datetime,
    zone: str,
    hours_text: str | None,
    on_call_24_7: bool,
    weekdays: Sequence[str],
) -> PromiseChoice:
    """The promise to send at `now` (aware) for a program in `zone`.

    `weekdays` are the client's language's day names, Monday first (sessions.yaml).
    """
    if on_call_24_7:
        return PromiseChoice(Promise.on_call)
    hours = parse_hours(hours_text)
    if hours is None:
        return PromiseChoice(Promise.unknown)
    local = now.astimezone(ZoneInfo(zone))
    opens = clock_text(hours.opens)
    today = local.weekday()
    if today in hours.days:
        closing = datetime.combine(local.date(), hours.closes, local.tzinfo)
        opening = datetime.combine(local.date(), hours.opens, local.tzinfo)
        if local < opening:
            return PromiseChoice(Promise.later_today, {"time": opens})
        if local <= closing - TODAY_MARGIN:
            return PromiseChoice(Promise.today)
    for ahead in range(1, 8):
        day = (today + ahead) % 7
        if day in hours.days:
            if ahead == 1:
                return PromiseChoice(Promise.tomorrow, {"time": opens})
            return PromiseChoice(Promise.on_day, {"day": weekdays[day], "time": opens})
    return PromiseChoice(Promise.unknown)  # no office day at all


def office_hours_values(hours_text: str | None, weekdays: Sequence[str]) -> dict[str, str] | None:
    """Values for alerts.yaml `promise.office_hours` ("Monday to Friday, 9 am to 5 pm"),
    or None when the hours cannot be read (then show the admin's own text as it is)."""
    hours = parse_hours(hours_text)
    if hours is None:
        return None
    days = sorted(hours.days)
    # The first day of the run: the one whose day before is not an office day.
    first = next((d for d in days if (d - 1) % 7 not in hours.days), days[0])
    last = (first + len(days) - 1) % 7
    return {
        "first_day": weekdays[first],
        "last_day": weekdays[last],
        "opens": clock_text(hours.opens),
        "closes": clock_text(hours.closes),
    }


def promise_sentence(
    texts: PromiseTexts,
    now: datetime,
    zone: str,
    hours_text: str | None,
    on_call_24_7: bool,
    weekdays: Sequence[str],
) -> str:
    """The client-facing sentence: alerts.yaml `promise`, filled in for `now`."""
    choice = choose_promise(now, zone, hours_text, on_call_24_7, weekdays)
    return render(getattr(texts, choice.key.value), **choice.values)


def office_hours_sentence(texts: PromiseTexts, hours_text: str, weekdays: Sequence[str]) -> str:
    """ "Your team is in the office Monday to Friday, 9 am to 5 pm." (the admin's own
    text, escaped, when it cannot be read)."""
    values = office_hours_values(hours_text, weekdays)
    if values is None:
        return html.escape(hours_text)
    return render(texts.office_hours, **values)
