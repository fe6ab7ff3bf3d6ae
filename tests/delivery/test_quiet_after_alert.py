"""After an urgent or same-day alert, a client's bulk messages (lesson reminders, nudges,
offers) are held for the program's quiet period and dropped, never sent in the minute of
a crisis reply; the daily check-in waits out the crisis minutes; session and medication
reminders are not held. Time is driven by a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.content import Content, LanguagePack
from bot.db import session_scope
from bot.features.delivery import build_engine
from bot.models import Alert, Client, Delivery, DeliveryStatus, Program
from bot.scheduling.clock import ManualClock
from bot.scheduling.kinds import CRISIS_GAP, AfterAlert, get_kind
from bot.telegram_sandbox import Person
from tests.delivery.conftest import open_chat
from tests.e2e.enrollment_steps import admin
from tests.factories import add_client, add_clinician, add_program
from tests.harness import BotHarness

CLIENT, CLINICIAN = 7461, 9461
URGENT = "i want to kill myself tonight"


@pytest.fixture
def pack(content: Content) -> LanguagePack:
    return content.language("en")


@pytest.fixture
async def alex(bot: BotHarness) -> Person:
    """An enrolled client in their first week (a lesson is waiting for them)."""
    program = await add_program(bot.services)
    rivera = await add_clinician(bot.services, program, telegram_user_id=CLINICIAN)
    # Dr. Rivera has written to the bot before, so her copy of the alert reaches her.
    open_chat(bot.server, CLINICIAN, "Dr. Rivera")
    client = await add_client(bot.services, program, telegram_user_id=CLIENT)
    async with session_scope(bot.services.sessions) as session:
        row = await session.get(Client, client.id)
        assert row is not None
        row.primary_clinician_id = rivera.id
        row.enrolled_at = row.created_at
    return bot.person(CLIENT, "Alex")


async def _queue(bot: BotHarness, kind: str, due: datetime, key: str) -> None:
    """A row as the planner queues it for Alex."""
    async with session_scope(bot.services.sessions) as session:
        client = (await session.exec(select(Client).where(Client.chat_id == CLIENT))).one()
        session.add(
            Delivery(
                kind=kind,
                recipient_chat_id=CLIENT,
                client_id=client.id,
                due_at=due,
                payload={},
                dedupe_key=key,
                created_at=due,
            )
        )


async def _crisis(bot: BotHarness, alex: Person) -> datetime:
    """Alex writes crisis words; the time the alert was raised."""
    await alex.send(URGENT)
    async with bot.services.sessions() as session:
        return (await session.exec(select(Alert))).one().raised_at


async def _run(bot: BotHarness, at: datetime) -> None:
    engine = build_engine(bot.services, bot.application.bot, clock=ManualClock(at))
    await engine.run_once()


async def _row(bot: BotHarness, key: str) -> Delivery:
    async with bot.services.sessions() as session:
        return (await session.exec(select(Delivery).where(Delivery.dedupe_key == key))).one()


async def _texts(alex: Person) -> list[str]:
    return [m.text or "" for m in await alex.messages()]


async def test_no_lesson_offer_in_the_minute_of_a_crisis_reply(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    raised = await _crisis(bot, alex)
    # The weekly lesson reminder falls due in the same minute as the crisis reply.
    await _queue(bot, "lesson_nudge", raised, "lesson_nudge:test:now")
    await _run(bot, raised + timedelta(seconds=20))
    assert pack.learning.learn.nudge not in await _texts(alex)
    row = await _row(bot, "lesson_nudge:test:now")
    # Dropped, not kept for later: a stale reminder hours after a crisis helps nobody.
    assert row.status is DeliveryStatus.skipped and row.reason == "quiet after an alert"


async def test_bulk_messages_wait_out_the_programs_quiet_period(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    nudge = pack.learning.learn.nudge
    raised = await _crisis(bot, alex)
    async with bot.services.sessions() as session:
        assert (await session.exec(select(Program))).one().quiet_after_alert_hours == 12
    late = raised + timedelta(hours=11, minutes=59)
    await _queue(bot, "lesson_nudge", late, "lesson_nudge:test:11h59")
    await _run(bot, late)
    assert nudge not in await _texts(alex)
    assert (await _row(bot, "lesson_nudge:test:11h59")).status is DeliveryStatus.skipped
    after = raised + timedelta(hours=12, minutes=1)
    await _queue(bot, "lesson_nudge", after, "lesson_nudge:test:12h01")
    await _run(bot, after)
    assert (await _texts(alex)).count(nudge) == 1


async def test_the_quiet_period_is_a_program_setting(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    status, out, err = await admin(
        bot, "program", "set", "Riverside IOP", "--quiet-after-alert", "2"
    )
    assert status == 0, err
    assert "quiet after an alert 2 h" in out
    status, _, err = await admin(bot, "program", "set", "Riverside IOP", "--quiet-after-alert", "0")
    assert status != 0 and "--quiet-after-alert must be between 1 and 72 hours" in err
    raised = await _crisis(bot, alex)
    at = raised + timedelta(hours=1, minutes=59)
    await _queue(bot, "lesson_nudge", at, "lesson_nudge:test:1h59")
    await _run(bot, at)
    assert (await _row(bot, "lesson_nudge:test:1h59")).status is DeliveryStatus.skipped
    at = raised + timedelta(hours=2, minutes=1)
    await _queue(bot, "lesson_nudge", at, "lesson_nudge:test:2h01")
    await _run(bot, at)
    assert (await _texts(alex)).count(pack.learning.learn.nudge) == 1


async def test_the_check_in_waits_out_the_crisis_minutes(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    raised = await _crisis(bot, alex)
    await _queue(bot, "checkin", raised, "checkin:test:today")
    await _run(bot, raised + timedelta(seconds=30))
    assert pack.ui.checkin_prompt not in await _texts(alex)
    row = await _row(bot, "checkin:test:today")
    # Deferred, not dropped: check-ins in the days after an alert are watched (SPEC §5.1).
    assert row.status is DeliveryStatus.pending
    assert row.available_at == raised + CRISIS_GAP
    await _run(bot, raised + CRISIS_GAP + timedelta(seconds=1))
    assert (await _texts(alex)).count(pack.ui.checkin_prompt) == 1


def test_session_and_medication_reminders_and_alerts_are_never_held() -> None:
    import bot.alerts
    import bot.features.learn
    import bot.medication
    import bot.sessions  # noqa: F401  (each declares its kinds)

    now = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
    just_now, quiet = now - timedelta(seconds=5), timedelta(hours=12)
    for name in ("session_reminder", "session_notice", "med_reminder", "alert", "alert_followup"):
        kind = get_kind(name)
        assert kind is not None and kind.after_alert is AfterAlert.send, name
        assert kind.held_after_alert(just_now, quiet, now) is None, name
    nudge = get_kind("lesson_nudge")
    assert nudge is not None
    assert nudge.held_after_alert(just_now, quiet, now) == (AfterAlert.drop, just_now + quiet)
    assert nudge.held_after_alert(now - quiet, quiet, now) is None
    assert nudge.held_after_alert(None, quiet, now) is None
    for name in ("checkin", "checkin_nudge"):
        kind = get_kind(name)
        assert kind is not None
        assert kind.held_after_alert(just_now, quiet, now) == (
            AfterAlert.defer,
            just_now + CRISIS_GAP,
        )
