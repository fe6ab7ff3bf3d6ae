"""Local times and time zones as people type them (pure).

Times are kept as local wall-clock "HH:MM" with an IANA zone; the UTC instant of a
local time is computed per date, so 20:00 stays 20:00 across daylight-saving changes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from rapidfuzz import fuzz, process

_TIME_RE = re.compile(
    r"^\s*(?P<hour>\d{1,2})(?:\s*[:.h]\s*(?P<minute>\d{2}))?\s*(?P<ampm>[ap])?\.?\s*m?\.?\s*$",
    re.IGNORECASE,
)


def parse_time_of_day(text: str) -> time | None:
    """'8pm', '20:00', '8:30 pm', '8.30pm', '0830' -> a time; anything else -> None."""
    text = text.strip().lower()
    if re.fullmatch(r"\d{4}", text):
        text = f"{text[:2]}:{text[2:]}"
    match = _TIME_RE.match(text)
    if not match:
        return None
    hour = int(match["hour"])
    minute = int(match["minute"] or 0)
    ampm = match["ampm"]
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "p" else 0)
    elif match["minute"] is None and not text.rstrip(".").endswith("m"):
        # A bare number such as "8" is ambiguous (8 am or 8 pm?): ask again.
        return None
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def format_hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def parse_hhmm(value: str) -> time:
    hour, minute = value.split(":")
    return time(int(hour), int(minute))


@cache
def _zone_names() -> dict[str, str]:
    """Searchable names -> IANA zone: the full name and its city, lowercased."""
    names: dict[str, str] = {}
    for zone in sorted(available_timezones()):
        if zone.startswith(("Etc/", "SystemV/", "posix/", "right/")) or "/" not in zone:
            continue
        names[zone.lower()] = zone
        city = zone.rsplit("/", 1)[-1].replace("_", " ").lower()
        names.setdefault(city, zone)
    return names


def resolve_timezone(text: str) -> str | None:
    """A typed zone or city ('Europe/Berlin', 'new york', 'Chicgo') -> IANA name, or None.

    Fuzzy matching is bounded (a high score on the whole name) so nonsense gets None and
    a clear "try again", never a wrong zone chosen silently.
    """
    cleaned = " ".join(text.strip().split())
    if not cleaned or len(cleaned) > 64:
        return None
    try:
        ZoneInfo(cleaned)
        if "/" in cleaned:
            return cleaned
    except (ZoneInfoNotFoundError, ValueError):
        pass
    names = _zone_names()
    key = cleaned.lower().replace("_", " ")
    if key in names:
        return names[key]
    if len(key) < 4:
        return None
    best = process.extractOne(key, names.keys(), scorer=fuzz.ratio, score_cutoff=85)
    return names[best[0]] if best else None


def local_instant(day: date, at: time, zone: str) -> datetime:
    """The UTC instant of a local wall time on a local date.

    A time skipped by a spring-forward change resolves to the same offset as before the
    change (fold=0), i.e. one hour later on the wall; a repeated time is its first instance.
    """
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# Zones offered at set-up, by crisis-resources region; the program's own zone goes first.
REGION_ZONES: dict[str, tuple[str, ...]] = {
    "US": (
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Phoenix",
        "America/Los_Angeles",
        "America/Anchorage",
        "Pacific/Honolulu",
    ),
    "UK": ("Europe/London",),
    "IE": ("Europe/Dublin",),
    "CA": (
        "America/Toronto",
        "America/Winnipeg",
        "America/Edmonton",
        "America/Vancouver",
        "America/Halifax",
        "America/St_Johns",
    ),
    "AU": (
        "Australia/Sydney",
        "Australia/Brisbane",
        "Australia/Adelaide",
        "Australia/Perth",
        "Australia/Darwin",
        "Australia/Hobart",
    ),
    "EU": (
        "Europe/Paris",
        "Europe/Berlin",
        "Europe/Madrid",
        "Europe/Rome",
        "Europe/Amsterdam",
        "Europe/Warsaw",
        "Europe/Athens",
        "Europe/Helsinki",
        "Europe/Lisbon",
    ),
}

# Common check-in times offered as one tap; anything else can be typed.
CHECKIN_CHOICES: tuple[time, ...] = (time(8), time(12), time(18), time(20), time(21))


def zones_for(region: str, program_zone: str) -> list[str]:
    zones = [program_zone, *REGION_ZONES.get(region, ())]
    return list(dict.fromkeys(zones))


def zone_label(zone: str) -> str:
    """'America/New_York' -> 'New York' (a proper name, the same in every language)."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def time_label(value: time, lang: str = "en") -> str:
    """How a time reads: '8:00 pm' in English, '20:00' elsewhere."""
    if lang != "en":
        return format_hhmm(value)
    hour = value.hour % 12 or 12
    suffix = "am" if value.hour < 12 else "pm"
    return f"{hour}:{value.minute:02d} {suffix}"
