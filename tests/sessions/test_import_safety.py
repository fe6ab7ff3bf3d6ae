"""`python -m bot admin sessions import|cancel` with ENCRYPTION_KEY set, and .ics files
Waypoint must refuse: recurrences more frequent than daily and unknown time zones
(issue 16, smaller defects)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from bot.calendar_ics import IcsError, read_ics
from bot.db import session_scope
from bot.models import Client, Delivery, PlannerCursor, SessionSeries
from bot.sealed import configure_encryption
from bot.services import Services
from tests.cli import run_cli
from tests.factories import add_client, add_program

ZONE = "America/New_York"


def ics(start: datetime, rrule: str = "FREQ=WEEKLY", tzid: str = ZONE) -> bytes:
    text = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Clinic//EN\nBEGIN:VEVENT\n"
        "UID:group-1@clinic.example\nDTSTAMP:20260201T120000Z\nSUMMARY:Evening group\n"
        f"DTSTART;TZID={tzid}:{start:%Y%m%dT%H%M%S}\nDURATION:PT2H\nRRULE:{rrule}\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )
    return text.replace("\n", "\r\n").encode()


@pytest.fixture
def key() -> Iterator[str]:
    """The bot's key in this process too (reset after: it is process-wide)."""
    value = Fernet.generate_key().decode()
    configure_encryption(value)
    yield value
    configure_encryption(None)


async def test_import_and_cancel_work_with_an_encryption_key_and_plan_reminders(
    services: Services, key: str, tmp_path: Path
) -> None:
    program = await add_program(services, timezone=ZONE)
    client = await add_client(services, program, telegram_user_id=7911)
    now = datetime.now(UTC)
    async with session_scope(services.sessions) as session:
        row = await session.get(Client, client.id)
        assert row is not None
        row.label = "Maria, Tuesday group"  # sealed with the key, as the bot writes it
        session.add(PlannerCursor(name="daily", planned_until=now + timedelta(days=3)))
    # A weekly group starting tomorrow evening: its reminders fall in the planned window.
    tomorrow = (now + timedelta(days=1)).astimezone(ZoneInfo(ZONE))
    path = tmp_path / "clinic.ics"
    path.write_bytes(ics(tomorrow.replace(hour=18, minute=0, second=0, microsecond=0)))
    env = {"DATABASE_URL": services.settings.database_url, "ENCRYPTION_KEY": key}

    imported = run_cli("admin", "sessions", "import", str(path), env=env)
    assert imported.returncode == 0, imported.stderr
    assert "Traceback" not in imported.stderr and "1 session(s) added" in imported.stdout
    async with services.sessions() as session:
        (series,) = (await session.exec(select(SessionSeries))).all()
        planned = (await session.exec(select(Delivery))).all()
    assert [d.kind for d in planned] and {d.client_id for d in planned} == {client.id}

    cancelled = run_cli("admin", "sessions", "cancel", str(series.id), env=env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert "Traceback" not in cancelled.stderr and "withdrawn" in cancelled.stdout
    async with services.sessions() as session:
        assert (await session.get(SessionSeries, series.id)).cancelled_at is not None  # type: ignore[union-attr]
        label = (await session.get(Client, client.id)).label  # type: ignore[union-attr]
    assert label == "Maria, Tuesday group"


@pytest.mark.parametrize("freq", ["SECONDLY", "MINUTELY", "HOURLY"])
def test_a_recurrence_more_frequent_than_daily_is_refused(freq: str) -> None:
    with pytest.raises(IcsError, match=rf"Evening group.*FREQ={freq}.*more often than once a day"):
        read_ics(ics(datetime(2026, 6, 2, 18, 0), rrule=f"FREQ={freq};COUNT=5"), ZONE)


def test_daily_and_weekly_recurrences_are_read() -> None:
    (daily,) = read_ics(ics(datetime(2026, 6, 2, 18, 0), rrule="FREQ=DAILY;COUNT=5"), ZONE)
    assert daily.rrule == "FREQ=DAILY;COUNT=5" and daily.zone == ZONE


def test_an_event_in_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(IcsError, match=r"group-1@clinic.example \(Evening group\).*Mars/Olympus"):
        read_ics(ics(datetime(2026, 6, 2, 18, 0), tzid="Mars/Olympus"), "UTC")


async def test_the_admin_is_told_which_event_was_refused_and_nothing_is_saved(
    services: Services, tmp_path: Path
) -> None:
    await add_program(services, timezone=ZONE)
    path = tmp_path / "clinic.ics"
    path.write_bytes(ics(datetime(2026, 6, 2, 18, 0), rrule="FREQ=MINUTELY"))
    env = {"DATABASE_URL": services.settings.database_url}
    refused = run_cli("admin", "sessions", "import", str(path), env=env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "Evening group" in refused.stderr and "FREQ=MINUTELY" in refused.stderr
    async with services.sessions() as session:
        assert (await session.exec(select(SessionSeries))).all() == []
