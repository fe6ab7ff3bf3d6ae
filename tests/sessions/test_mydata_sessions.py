"""The sessions feature's rows in the client's /mydata: their own session, RSVP with its
reason, attendance, a flag, a medication reminder answer and times, care stage and
check-in days, and the aftercare plan in their own words. End to end through the sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.content import Content
from bot.models import Client
from bot.scheduling.clock import ManualClock
from tests.e2e.conftest import CLIENT, CLINICIAN
from tests.e2e.enrollment_steps import client_row, only_program
from tests.harness import BotHarness
from tests.sessions.conftest import add_series, engine_on

NY = ZoneInfo("America/New_York")


def local(at: datetime) -> datetime:
    return at.astimezone(NY).replace(tzinfo=None, second=0, microsecond=0)


async def test_mydata_holds_sessions_answers_attendance_medication_and_aftercare(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    pack = content.language("en")
    texts = pack.sessions.client
    staff = pack.sessions.staff
    program = await only_program(bot.services)
    row = await client_row(bot.services, code)
    alex = bot.person(CLIENT, "Alex")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")

    # RSVP "can't make it" (childcare) to their own one-to-one tomorrow.
    tomorrow = local(datetime.now(UTC) + timedelta(days=1)).replace(minute=0)
    own = await add_series(
        bot.services, program, start=tomorrow, rrule=None, client=row, title="Alex 1:1"
    )
    (listing,) = await alex.send(pack.menu.sessions)
    (ask,) = await alex.press(listing.buttons[0][0])
    (cant,) = await alex.press(texts.cant_button, ask)
    await alex.press(texts.reason_childcare, cant)

    # Attendance at a group that began an hour ago: absent (a flag), then present.
    began = local(datetime.now(UTC) - timedelta(hours=1))
    group = await add_series(bot.services, program, start=began, rrule=None, title="Group A")
    key = f"{began:%Y%m%dT%H%M}"
    (sheet,) = await rivera.send("/attendance")
    await rivera.press_data(f"at:{group.id}:{key}:{row.id}:a", sheet.message_id)
    await rivera.press_data(f"at:{group.id}:{key}:{row.id}:p", sheet.message_id)

    # A medication reminder a minute from now, answered Taken.
    soon = (datetime.now(UTC) + timedelta(minutes=1)).astimezone(NY)
    async with bot.services.sessions() as session:
        client = await session.get(Client, row.id)
        assert client is not None
        client.medication_reminders, client.medication_times = True, [f"{soon:%H:%M}"]
        session.add(client)
        await session.commit()
    clock = ManualClock(datetime.now(UTC))
    engine = engine_on(bot, clock)
    await engine.run_once()
    clock.set(soon.replace(second=0, microsecond=0).astimezone(UTC))
    await engine.run_once()
    reminder = [m for m in await alex.messages() if m.text == texts.daily_reminder][-1]
    replies = await alex.press(texts.taken_button, reminder)
    assert replies[-1].text == texts.taken_thanks

    # Step down to aftercare (3 check-ins a week) and fill one part of the plan.
    (discharge,) = await rivera.send(f"/discharge {code} aftercare")
    await rivera.press(staff["cadence_3"], discharge)
    await alex.send(pack.menu.settings)
    (plan,) = await alex.press(texts.plan_button)
    await alex.press(texts.part_people, plan)
    (saved,) = await alex.send("Sam, my sister")
    assert "Sam, my sister" in (saved.text or "")

    (document,) = await alex.send("/mydata")
    assert document.document is not None
    data = json.loads(await bot.sandbox.download(document.document["file_id"]))

    assert data["you"]["care_stage"] == "aftercare"
    settings = data["settings"]
    assert settings["medication_reminders"] is True
    assert settings["medication_reminder_times"] == [f"{soon:%H:%M}"]
    assert settings["check_in_days"] == ["Monday", "Wednesday", "Friday"]
    assert settings["session_reminders"] is True

    sessions = data["sessions"]
    (mine,) = sessions["your_own_sessions"]
    assert (mine["session"], mine["title"], mine["kind"], mine["repeats"]) == (
        own.id,
        "Alex 1:1",
        "individual",
        "once",
    )
    answers = {a["session"]: a for a in sessions["your_answers_and_attendance"]}
    assert answers[own.id]["your_answer"] == "cant"
    assert answers[own.id]["reason"] == "childcare"
    assert answers[own.id]["answered_at"] is not None
    assert answers[own.id]["attendance"] is None
    assert answers[group.id]["attendance"] == "present"
    assert answers[group.id]["title"] == "Group A"
    assert answers[group.id]["attendance_marked_at"] is not None
    assert [f["about"] for f in sessions["flags_raised_for_your_care_team"]] == ["missed_session"]

    (taken,) = data["medication_reminder_answers"]
    assert (taken["date"], taken["reminder_time"], taken["answer"]) == (
        soon.date().isoformat(),
        f"{soon:%H:%M}",
        "taken",
    )

    aftercare = data["aftercare_plan"]
    assert aftercare["people_to_call"] == "Sam, my sister"
    assert aftercare["continuing_therapy"] is None
    assert aftercare["updated_at"] is not None
