"""iCalendar (.ics) files in and out of the program's timetable, with `icalendar`.

Import reads every VEVENT: its start (with its TZID, else the program's zone; a UTC start
is placed in the program's zone; a TZID that is neither a known zone nor defined in the
file is refused), its end or duration, its RRULE (at most daily) and its EXDATEs (the
exceptions, such as a holiday), and its UID, so importing the same file again updates
the sessions instead of adding them twice. A cancelled event (STATUS:CANCELLED) cancels
its session. Export writes the program's live sessions back with the same UIDs.
No Telegram and no database here: the admin command does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from bot.session_schedule import validate_session_rrule


class IcsError(ValueError):
    """A file the import cannot use; one sentence for the admin."""


@dataclass
class ImportedEvent:
    uid: str
    title: str
    zone: str
    starts_on: date
    start_time: str
    duration_minutes: int
    rrule: str | None
    exdates: list[str] = field(default_factory=list)
    cancelled: bool = False


def _zone_of(value: datetime, default: str) -> tuple[datetime, str]:
    """A start as a local wall time and the zone it is in."""
    if value.tzinfo is None:
        return value, default
    key = getattr(value.tzinfo, "key", None)
    if key:
        return value.replace(tzinfo=None), key
    local = value.astimezone(ZoneInfo(default))
    return local.replace(tzinfo=None), default


def read_ics(data: bytes, default_zone: str) -> list[ImportedEvent]:
    try:
        calendar = Calendar.from_ical(data)
    except ValueError as exc:
        raise IcsError(f"this is not an iCalendar file ({exc})") from None
    events = []
    for component in calendar.walk("VEVENT"):
        uid = str(component.get("UID") or "").strip()
        start = component.decoded("DTSTART", None)
        if not uid or start is None:
            raise IcsError("every event needs a UID and a DTSTART")
        title = str(component.get("SUMMARY") or "Session")[:120]
        name = f"event {uid} ({title})"
        if not isinstance(start, datetime):
            raise IcsError(f"{name}: all-day events are not sessions; give it a time")
        tzid = component.get("DTSTART").params.get("TZID")
        if tzid and start.tzinfo is None:
            # Neither a zone name Waypoint knows nor one the file defines: placing it in
            # the program's zone could put every session at the wrong hour.
            raise IcsError(
                f"{name}: its time zone {tzid!r} is unknown; "
                "use a name like America/New_York or include its VTIMEZONE"
            )
        local, zone = _zone_of(start, default_zone)
        end = component.decoded("DTEND", None)
        if isinstance(end, datetime):
            end_local, _ = _zone_of(end, zone)
            if end.tzinfo is not None and start.tzinfo is not None:
                minutes = int((end - start).total_seconds() // 60)
            else:
                minutes = int((end_local - local).total_seconds() // 60)
        else:
            duration = component.decoded("DURATION", None)
            minutes = int(duration.total_seconds() // 60) if duration else 60
        rrule = None
        if component.get("RRULE") is not None:
            try:
                rrule = validate_session_rrule(component.get("RRULE").to_ical().decode())
            except ValueError as exc:
                raise IcsError(f"{name}: {exc}") from None
        exdates: list[str] = []
        ex = component.get("EXDATE")
        for group in ex if isinstance(ex, list) else ([ex] if ex is not None else []):
            for item in group.dts:
                value = item.dt
                if isinstance(value, datetime):
                    value, _ = _zone_of(value, zone)
                    exdates.append(value.date().isoformat())
                else:
                    exdates.append(value.isoformat())
        events.append(
            ImportedEvent(
                uid=uid[:255],
                title=title,
                zone=zone,
                starts_on=local.date(),
                start_time=f"{local:%H:%M}",
                duration_minutes=max(minutes, 1),
                rrule=rrule,
                exdates=sorted(set(exdates)),
                cancelled=str(component.get("STATUS") or "").upper() == "CANCELLED",
            )
        )
    if not events:
        raise IcsError("the file has no events")
    return events


@dataclass(frozen=True)
class ExportedSeries:
    uid: str
    title: str
    zone: str
    starts_on: date
    start_time: str
    duration_minutes: int
    rrule: str | None
    exdates: tuple[str, ...]


def write_ics(series: list[ExportedSeries], program_name: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Waypoint//sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", program_name)
    now = datetime.now(UTC)
    for s in series:
        hour, minute = (int(p) for p in s.start_time.split(":"))
        tz = ZoneInfo(s.zone)
        start = datetime(
            s.starts_on.year, s.starts_on.month, s.starts_on.day, hour, minute, tzinfo=tz
        )
        event = Event()
        event.add("uid", s.uid)
        event.add("summary", s.title)
        event.add("dtstamp", now)
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=s.duration_minutes))
        if s.rrule:
            event.add("rrule", vRecur.from_ical(s.rrule))
        for day in s.exdates:
            d = date.fromisoformat(day)
            event.add("exdate", datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz))
        calendar.add_component(event)
    return calendar.to_ical()
