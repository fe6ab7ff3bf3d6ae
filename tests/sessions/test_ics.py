"""`python -m bot admin sessions import FILE.ics` (the admin's command line): a recurring event with
an exception, re-imported after the clinic moved it, and exported again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from icalendar import Calendar
from sqlmodel import select

from bot.models import Delivery, DeliveryStatus, SessionSeries
from bot.scheduling.clock import ManualClock
from tests.delivery.conftest import a_program, enrolled_client
from tests.e2e.enrollment_steps import admin
from tests.harness import BotHarness
from tests.sessions.conftest import engine_on

CLIENT = 7811

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Clinic calendar//EN
BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:STANDARD
DTSTART:20251102T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20260308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:evening-group-1@clinic.example
DTSTAMP:20260201T120000Z
SUMMARY:Evening group
DTSTART;TZID=America/New_York:20260602T{start}
DTEND;TZID=America/New_York:20260602T{end}
RRULE:FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20261231T235959Z
EXDATE;TZID=America/New_York:20260604T{start}
END:VEVENT
END:VCALENDAR
"""


def write(tmp_path: Path, start: str, end: str) -> Path:
    path = tmp_path / "clinic.ics"
    path.write_text(ICS.format(start=start, end=end).replace("\n", "\r\n"))
    return path


async def test_import_a_recurring_event_with_an_exception_then_a_move(
    bot: BotHarness, tmp_path: Path
) -> None:
    program = await a_program(bot.services)
    await enrolled_client(bot.services, bot.server, program, CLIENT, checkin_time=None)  # type: ignore[arg-type]
    status, out, err = await admin(
        bot, "sessions", "import", str(write(tmp_path, "180000", "210000"))
    )
    assert status == 0, err
    assert "1 session(s) added" in out
    async with bot.services.sessions() as session:
        (series,) = (await session.exec(select(SessionSeries))).all()
    assert (series.start_time, series.duration_minutes, series.exdates) == (
        "18:00",
        180,
        ["2026-06-04"],
    )
    status, listing, err = await admin(bot, "sessions", "list")
    assert status == 0 and "Evening group" in listing and "except 2026-06-04" in listing

    # The engine plans the 16:00 reminder of Tuesday 2 June a few minutes ahead …
    clock = ManualClock(datetime(2026, 6, 2, 19, 58, tzinfo=UTC))  # 15:58 New York
    engine = engine_on(bot, clock)
    await engine.run_once()
    async with bot.services.sessions() as session:
        (planned,) = (
            await session.exec(select(Delivery).where(Delivery.status == DeliveryStatus.pending))
        ).all()
    assert planned.due_at == datetime(2026, 6, 2, 20, 0, tzinfo=UTC)

    # … then the clinic moves the group to 19:00 and the file is imported again.
    status, out, err = await admin(
        bot, "sessions", "import", str(write(tmp_path, "190000", "220000"))
    )
    assert status == 0, err
    assert "0 session(s) added, 1 updated" in out and "1 planned reminder(s) withdrawn" in out
    async with bot.services.sessions() as session:
        old = await session.get(Delivery, planned.id)
    assert old is not None
    assert (old.status, old.reason) == (DeliveryStatus.skipped, "schedule changed")
    clock.set(datetime(2026, 6, 2, 20, 1, tzinfo=UTC))
    await engine.run_once()
    assert await bot.person(CLIENT, "Alex").messages() == []  # the old time is not sent
    clock.set(datetime(2026, 6, 2, 21, 0, tzinfo=UTC))  # 17:00: two hours before 19:00
    await engine.run_once()
    (reminder,) = await bot.person(CLIENT, "Alex").messages()
    assert reminder.text == "Reminder: you have an appointment today at 7:00 pm."
    # Thursday the 4th is the exception: nothing is planned for it.
    for at in (datetime(2026, 6, 3, 22, 0, tzinfo=UTC), datetime(2026, 6, 4, 21, 0, tzinfo=UTC)):
        clock.set(at)
        await engine.run_once()
    assert len(await bot.person(CLIENT, "Alex").messages()) == 1

    status, exported, err = await admin(bot, "sessions", "export")
    assert status == 0, err
    (event,) = Calendar.from_ical(exported).walk("VEVENT")
    assert str(event["UID"]) == "evening-group-1@clinic.example"
    assert event.decoded("DTSTART").hour == 19
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(hours=3)
    assert "BYDAY=TU,TH" in event["RRULE"].to_ical().decode()
    assert [d.dt.date().isoformat() for d in event["EXDATE"].dts] == ["2026-06-04"]


async def test_a_broken_file_is_refused_with_one_sentence(bot: BotHarness, tmp_path: Path) -> None:
    await a_program(bot.services)
    path = tmp_path / "bad.ics"
    path.write_text("this is not a calendar")
    # The real `python -m bot admin` process: one sentence on its stderr, no traceback.
    status, _out, err = await admin(bot, "sessions", "import", str(path), real_process=True)
    assert status == 2 and "Traceback" not in err and err.startswith("Waypoint admin:")
