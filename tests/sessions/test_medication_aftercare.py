"""Daily reminders (Taken · Later · Skip, the missed-two-days flag, the D6 answers) and the
step-down to aftercare (cadence, history kept, the plan in a crisis reply)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.content import Content
from bot.medication import has_medication_reminders, medicine_answer
from bot.models import Alert, AuditEvent, Client, ClientStatus, Delivery
from bot.scheduling.clock import ManualClock
from bot.scheduling.planner import plan_window
from tests.delivery.conftest import a_program, enrolled_client
from tests.e2e.conftest import CLIENT, CLINICIAN
from tests.e2e.enrollment_steps import client_row
from tests.harness import BotHarness
from tests.sessions.conftest import engine_on

MED_CLIENT = 7821
NY = ZoneInfo("America/New_York")


async def opt_in(bot: BotHarness, client: Client, times: list[str]) -> None:
    async with bot.services.sessions() as session:
        row = await session.get(Client, client.id)
        assert row is not None
        row.medication_reminders, row.medication_times = True, times
        session.add(row)
        await session.commit()


async def test_taken_later_and_skip(bot: BotHarness, content: Content) -> None:
    program = await a_program(bot.services)
    client = await enrolled_client(bot.services, bot.server, program, MED_CLIENT, checkin_time=None)  # type: ignore[arg-type]
    # A time a minute from now (the presses are handled on the real clock).
    soon = (datetime.now(UTC) + timedelta(minutes=1)).astimezone(NY)
    await opt_in(bot, client, [f"{soon:%H:%M}"])
    clock = ManualClock(datetime.now(UTC))
    engine = engine_on(bot, clock)
    await engine.run_once()
    clock.set(soon.replace(second=0, microsecond=0).astimezone(UTC))
    await engine.run_once()
    texts = content.language("en").sessions.client
    person = bot.person(MED_CLIENT, "Sam")
    (reminder,) = await person.messages()
    assert reminder.text == texts.daily_reminder == "Daily reminder ✓"
    assert reminder.buttons == [[texts.taken_button, texts.later_button, texts.skip_button]]
    replies = await person.press(texts.later_button, reminder)
    assert replies[-1].text == texts.later_ok
    # Later works once: the second reminder, half an hour on, has no Later.
    clock.advance(timedelta(minutes=31))
    await engine.run_once()
    again = (await person.messages())[-1]
    assert again.text == texts.daily_reminder
    assert again.buttons == [[texts.taken_button, texts.skip_button]]
    snooze_again = again.data_for(texts.taken_button).replace(":t", ":l")
    assert await person.press_data(snooze_again, again.message_id) == []
    replies = await person.press(texts.taken_button, again)
    assert replies[-1].text == texts.taken_thanks
    day = soon.date()
    async with bot.services.sessions() as session:
        assert await has_medication_reminders(session, client.id or 0)
        assert await medicine_answer(session, client.id or 0, day) == "taken"
        assert await medicine_answer(session, client.id or 0, day - timedelta(days=1)) is None
    # Skip on a new day's reminder.
    clock.set(clock.now() + timedelta(days=1) - timedelta(minutes=31))
    await engine.run_once()
    skip_me = (await person.messages())[-1]
    assert skip_me.text == texts.daily_reminder
    replies = await person.press(texts.skip_button, skip_me)
    assert replies[-1].text == texts.skipped_ok
    async with bot.services.sessions() as session:
        assert await medicine_answer(session, client.id or 0, day + timedelta(days=1)) == "skipped"
        assert (await session.exec(select(Alert))).all() == []  # one day is not a flag


async def test_later_just_before_midnight_still_reminds_after_midnight(
    bot: BotHarness, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dose snoozed at 23:50 is still owed a reminder at 00:20: the snooze is not cut
    off by the end of the reminder's day (this once failed only when CI ran near midnight
    in New York)."""
    from bot.features import medication as feature

    program = await a_program(bot.services)
    client = await enrolled_client(bot.services, bot.server, program, MED_CLIENT, checkin_time=None)  # type: ignore[arg-type]
    await opt_in(bot, client, ["23:50"])
    tomorrow = datetime.now(NY).date() + timedelta(days=1)
    at_2350 = datetime.combine(tomorrow, time(23, 50), NY).astimezone(UTC)
    clock = ManualClock(at_2350 - timedelta(minutes=2))
    engine = engine_on(bot, clock)
    await engine.run_once()
    clock.set(at_2350)
    await engine.run_once()
    texts = content.language("en").sessions.client
    person = bot.person(MED_CLIENT, "Sam")
    (reminder,) = await person.messages()
    monkeypatch.setattr(feature, "now_utc", lambda: at_2350 + timedelta(seconds=20))
    replies = await person.press(texts.later_button, reminder)
    assert replies[-1].text == texts.later_ok
    clock.set(at_2350 + timedelta(minutes=31))  # 00:21 the next day
    await engine.run_once()
    again = (await person.messages())[-1]
    assert again.text == texts.daily_reminder
    assert again.buttons == [[texts.taken_button, texts.skip_button]]
    monkeypatch.setattr(feature, "now_utc", lambda: at_2350 + timedelta(minutes=32))
    replies = await person.press(texts.taken_button, again)
    assert replies[-1].text == texts.taken_thanks
    async with bot.services.sessions() as session:
        # Taken counts for the day the dose belonged to, not the day it was pressed.
        assert await medicine_answer(session, client.id or 0, tomorrow) == "taken"
        assert await medicine_answer(session, client.id or 0, tomorrow + timedelta(days=1)) is None


async def test_two_days_without_taken_raise_exactly_one_same_day_flag(
    bot: BotHarness, content: Content
) -> None:
    program = await a_program(bot.services)
    client = await enrolled_client(bot.services, bot.server, program, MED_CLIENT, checkin_time=None)  # type: ignore[arg-type]
    await opt_in(bot, client, ["09:00"])
    clock = ManualClock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    engine = engine_on(bot, clock)
    await engine.run_once()
    for day in range(2, 6):  # reminders on 2-5 June, none answered
        clock.set(datetime(2026, 6, day, 13, 0, tzinfo=UTC))  # 09:00 New York
        await engine.run_once()
        clock.set(datetime(2026, 6, day, 23, 0, tzinfo=UTC))
        await engine.run_once()
        clock.set(datetime(2026, 6, day + 1, 4, 1, tzinfo=UTC))  # just after local midnight
        await engine.run_once()
    async with bot.services.sessions() as session:
        answers = [
            await medicine_answer(session, client.id or 0, date(2026, 6, d)) for d in range(2, 6)
        ]
        alerts = (
            await session.exec(select(Alert).where(Alert.category == "medication_missed"))
        ).all()
    assert answers == ["missed"] * 4
    (alert,) = alerts  # one flag for the run of missed days, not one a day
    assert alert.tier.value == "same_day" and alert.client_id == client.id
    assert alert.raised_at == datetime(2026, 6, 4, 4, 1, tzinfo=UTC)  # when day 2 ended


async def test_step_down_changes_cadence_and_keeps_history(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    staff = content.language("en").sessions.staff
    texts = content.language("en").sessions.client
    before = await client_row(bot.services, code)
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    (ask,) = await rivera.send(f"/discharge {code} aftercare")
    assert code in (ask.text or "")
    replies = await rivera.press(staff["cadence_3"], ask)
    assert any("in aftercare now" in (m.text or "") for m in replies)
    after = await client_row(bot.services, code)
    assert (after.status, after.care_stage, after.checkin_days) == (
        ClientStatus.active,
        "aftercare",
        "135",
    )
    assert (after.id, after.enrolled_at, after.code) == (before.id, before.enrolled_at, code)
    alex = bot.person(CLIENT, "Alex")
    told = (await alex.messages())[-1]
    assert told.text == "\n".join(
        [
            "You are moving to the next step of your care. Well done for getting here.",
            "Check-ins now come on Mon, Wed, Fri. Your plan for this next step is under Settings.",
        ]
    )
    async with bot.services.sessions() as session:
        audits = (
            await session.exec(
                select(AuditEvent.action).where(AuditEvent.subject == f"client:{after.id}")
            )
        ).all()
    assert "client_stepped_down" in audits and len(audits) > 1  # earlier history is kept
    # Check-ins are planned on Mon, Wed and Fri only (20:00 New York).
    async with bot.services.engine.begin() as connection:
        created = await plan_window(
            connection,
            datetime(2026, 6, 1, tzinfo=UTC),  # Monday
            datetime(2026, 6, 8, tzinfo=UTC),
            client_ids=[after.id or 0],
        )
    assert created["checkin"] == 3
    async with bot.services.sessions() as session:
        days = sorted(
            d.payload["local_date"]
            for d in (
                await session.exec(
                    select(Delivery).where(
                        Delivery.kind == "checkin", col(Delivery.client_id) == after.id
                    )
                )
            ).all()
        )
    assert days == ["2026-06-01", "2026-06-03", "2026-06-05"]
    # The plan under Settings, then in a crisis reply beside the safety plan.
    await alex.send(content.language("en").menu.settings)
    (plan,) = await alex.press(texts.plan_button)
    assert texts.plan_empty in (plan.text or "")
    (question,) = await alex.press(texts.part_people, plan)
    assert question.text == texts.ask_people
    (saved,) = await alex.send("Sam, my sister")
    assert "Sam, my sister" in (saved.text or "") and saved.protect_content
    crisis = await alex.send("I want to kill myself")
    assert any(
        texts.crisis_intro in (m.text or "") and "Sam, my sister" in (m.text or "") for m in crisis
    )
