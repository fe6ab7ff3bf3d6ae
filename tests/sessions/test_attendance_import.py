"""`python -m bot admin sessions attendance FILE.csv` (the admin's command line): present, absent
and excused rows through the same code as the one-tap /attendance; one flag for an absence
without notice, none again on a re-import; a bad row named by its row number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.models import Alert, AlertTier, AuditEvent, SessionAttendance
from tests.e2e.conftest import CLINICIAN
from tests.e2e.enrollment_steps import admin, client_row, only_program
from tests.factories import add_client
from tests.harness import BotHarness
from tests.sessions.conftest import add_series

NY = ZoneInfo("America/New_York")


def local(at: datetime) -> datetime:
    return at.astimezone(NY).replace(tzinfo=None, second=0, microsecond=0)


async def missed_alerts(bot: BotHarness) -> list[Alert]:
    async with bot.services.sessions() as session:
        return list(
            (await session.exec(select(Alert).where(Alert.category == "missed_session"))).all()
        )


# A mark that changes nothing re-renders the same attendance message: Telegram refuses the
# edit ("message is not modified") and the bot rightly lets it be.
@pytest.mark.sandbox_refusals("message is not modified")
async def test_import_marks_flags_once_and_reports_a_bad_row(
    team: tuple[BotHarness, str], tmp_path: Path
) -> None:
    bot, code = team
    program = await only_program(bot.services)
    alex = await client_row(bot.services, code)
    kim = await add_client(bot.services, program, telegram_user_id=7391, code="KIM-1")
    lee = await add_client(bot.services, program, telegram_user_id=7392, code="LEE-2")
    may = await add_client(bot.services, program, telegram_user_id=7393, code="MAY-3")
    began = local(datetime.now(UTC) - timedelta(hours=1))
    series = await add_series(bot.services, program, start=began, rrule=None, title="Group A")
    later_start = local(datetime.now(UTC) + timedelta(days=2))
    later = await add_series(bot.services, program, start=later_start, rrule=None, title="Group B")
    key = f"{began:%Y%m%dT%H%M}"
    async with bot.services.sessions() as session:  # Kim said she can't make it
        session.add(
            SessionAttendance(
                series_id=series.id or 0,
                client_id=kim.id or 0,
                occurrence=key,
                starts_at=began.replace(tzinfo=NY).astimezone(UTC),
                rsvp="cant",
                rsvp_at=datetime.now(UTC),
            )
        )
        await session.commit()
    day = began.date().isoformat()
    good = [
        f"{series.id},{day},{code},absent",  # row 2: no notice -> one flag
        f"{series.id},{day},kim-1,Absent",  # row 3: she said so -> no flag
        f"{series.id},{day},LEE-2,present",  # row 4
        f"{series.id},{day},MAY-3,excused",  # row 5
    ]
    bad = [
        f"{series.id},{day},ZZZ-9,present",  # row 6: unknown client
        f"{series.id},{day},LEE-2,maybe",  # row 7: unknown status
        f"{later.id},{later_start.date()},LEE-2,present",  # row 8: not yet
        f"999,{day},LEE-2,present",  # row 9: no such session
        f"{series.id},2020-01-01,LEE-2,present",  # row 10: no session that day
    ]
    csv_file = tmp_path / "attendance.csv"
    csv_file.write_text("session,date,client,status\n" + "\n".join(good + bad) + "\n")

    status, out, err = await admin(bot, "sessions", "attendance", str(csv_file))
    assert status == 2, (out, err)
    assert "Riverside IOP: 4 marked, 0 unchanged, 5 bad row(s)" in out
    assert "1 absence(s) without notice flagged" in out
    lines = err.strip().splitlines()
    assert len(lines) == 5, err
    assert "row 6: there is no client ZZZ-9 in Riverside IOP." in lines[0]
    assert "row 7: status 'maybe' must be one of present, absent, excused." in lines[1]
    assert "row 8:" in lines[2] and "has not begun yet" in lines[2]
    assert "row 9: there is no session 999" in lines[3]
    assert "row 10:" in lines[4] and "does not meet on 2020-01-01" in lines[4]

    async with bot.services.sessions() as session:
        rows = (await session.exec(select(SessionAttendance))).all()
        marks = {a.client_id: (a.attendance, a.marked_by) for a in rows}
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.actor == "admin-cli"))
        ).all()
    assert marks == {
        alex.id: ("absent", None),
        kim.id: ("absent", None),
        lee.id: ("present", None),
        may.id: ("excused", None),
    }
    assert sorted(e.action for e in events if e.action.startswith("attendance_")) == [
        "attendance_absent",
        "attendance_absent",
        "attendance_excused",
        "attendance_present",
    ]
    (flag,) = await missed_alerts(bot)
    assert flag.client_id == alex.id
    assert flag.tier is AlertTier.same_day and flag.source == "sessions"
    assert "Group A" in flag.evidence

    # The same file again: nothing changes, nothing new is raised.
    status, out, err = await admin(bot, "sessions", "attendance", str(csv_file))
    assert status == 2
    assert "0 marked, 4 unchanged, 5 bad row(s)" in out and "0 absence(s)" in out
    assert len(err.strip().splitlines()) == 5
    assert len(await missed_alerts(bot)) == 1

    # The good rows alone: exit 0; and the clinician's one tap after it raises nothing new.
    clean = tmp_path / "clean.csv"
    clean.write_text("\ufeffSession,Date,Client,Status\r\n" + "\r\n".join(good) + "\r\n")
    status, out, err = await admin(bot, "sessions", "attendance", str(clean))
    assert (status, err) == (0, "")
    assert "0 marked, 4 unchanged, 0 bad row(s)" in out
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    (sheet,) = await rivera.send("/attendance")
    assert f"{code}: no answer · absent" in (sheet.text or "")
    await rivera.press_data(f"at:{series.id}:{key}:{alex.id}:a", sheet.message_id)
    assert len(await missed_alerts(bot)) == 1


async def test_a_file_without_the_columns_changes_nothing(
    team: tuple[BotHarness, str], tmp_path: Path
) -> None:
    bot, _ = team
    csv_file = tmp_path / "attendance.csv"
    csv_file.write_text("session,client,status\n1,K7Q-2,present\n")
    status, out, err = await admin(bot, "sessions", "attendance", str(csv_file))
    assert status == 2 and out == ""
    assert "missing: date" in err
    status, _, err = await admin(bot, "sessions", "attendance", str(tmp_path / "none.csv"))
    assert status == 2 and "Cannot read" in err
