"""Session reminders end to end: planned and sent by the delivery engine on a clock the
test drives, read by clients in two time zones through the sandbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot.content import Content
from bot.models import Delivery, DeliveryStatus
from bot.scheduling.clock import ManualClock
from tests.delivery.conftest import a_program, enrolled_client
from tests.harness import BotHarness
from tests.sessions.conftest import add_series, engine_on

NY_CLIENT, LONDON_CLIENT = 7801, 7802

# Words a reminder must never contain (SPEC §4, §7.3): diagnoses, substances, medicines and
# kinds of program, beyond the content's own discreet list.
DENY = (
    "addiction",
    "alcohol",
    "opioid",
    "heroin",
    "cocaine",
    "methadone",
    "suboxone",
    "naltrexone",
    "depression",
    "bipolar",
    "schizophrenia",
    "psychosis",
    "PTSD",
    "IOP",
    "rehab",
    "detox",
    "therapy",
    "treatment",
    "group",
    "medication",
    "medicine",
    "pill",
    "recovery",
    "Riverside",
)


def assert_discreet(texts: list[str], content: Content, extra: tuple[str, ...] = ()) -> None:
    style = content.language("en").style
    words = {*DENY, *style.discreet_words, *style.stigmatizing_words, *extra}
    for text in texts:
        for word in words:
            assert not re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE), (word, text)


async def test_a_weekly_group_reminds_two_zones_at_their_local_hour_across_dst(
    bot: BotHarness, content: Content
) -> None:
    program = await a_program(bot.services)  # America/New_York
    ny = await enrolled_client(bot.services, bot.server, program, NY_CLIENT, checkin_time=None)  # type: ignore[arg-type]
    await enrolled_client(
        bot.services,
        bot.server,
        program,
        LONDON_CLIENT,
        checkin_time=None,  # type: ignore[arg-type]
        timezone="Europe/London",
    )
    # Tuesdays 18:00-21:00 New York; US clocks go forward on Sunday 8 March 2026,
    # London's not until the 29th.
    await add_series(bot.services, program, start=datetime(2026, 3, 3, 18, 0))
    clock = ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    engine = engine_on(bot, clock)
    await engine.run_once()
    expected = {
        # (UTC instant): {client: text}
        datetime(2026, 3, 2, 18, 0, tzinfo=UTC): {LONDON_CLIENT: "tomorrow at 11:00 pm"},
        datetime(2026, 3, 2, 23, 0, tzinfo=UTC): {NY_CLIENT: "tomorrow at 6:00 pm"},
        datetime(2026, 3, 3, 21, 0, tzinfo=UTC): {
            NY_CLIENT: "today at 6:00 pm",
            LONDON_CLIENT: "today at 11:00 pm",
        },
        datetime(2026, 3, 9, 18, 0, tzinfo=UTC): {LONDON_CLIENT: "tomorrow at 10:00 pm"},
        datetime(2026, 3, 9, 22, 0, tzinfo=UTC): {NY_CLIENT: "tomorrow at 6:00 pm"},
        datetime(2026, 3, 10, 20, 0, tzinfo=UTC): {
            NY_CLIENT: "today at 6:00 pm",
            LONDON_CLIENT: "today at 10:00 pm",
        },
    }
    seen: dict[int, list[str]] = {NY_CLIENT: [], LONDON_CLIENT: []}
    for at, wanted in sorted(expected.items()):
        clock.set(at - timedelta(minutes=5))
        await engine.run_once()  # planned ahead, not yet due
        for user_id in seen:
            assert len(await bot.person(user_id, "x").messages()) == len(seen[user_id]), at
        clock.set(at)
        await engine.run_once()
        for user_id in seen:
            messages = await bot.person(user_id, "x").messages()
            if user_id in wanted:
                seen[user_id].append(wanted[user_id])
                assert len(messages) == len(seen[user_id]), (at, user_id)
                last = messages[-1]
                assert last.text == f"Reminder: you have an appointment {wanted[user_id]}."
                assert last.buttons == [["I'll be there", "Running late"], ["I can't make it"]]
            else:
                assert len(messages) == len(seen[user_id]), (at, user_id)
    texts = [m.text or "" for u in seen for m in await bot.person(u, "x").messages()]
    assert_discreet(texts, content, ("Evening",))
    async with bot.services.sessions() as session:
        rows = (await session.exec(select(Delivery).where(Delivery.client_id == ny.id))).all()
    assert {r.status for r in rows} == {DeliveryStatus.sent}


async def test_a_reminder_is_skipped_once_the_session_began(bot: BotHarness) -> None:
    program = await a_program(bot.services)
    client = await enrolled_client(bot.services, bot.server, program, NY_CLIENT, checkin_time=None)  # type: ignore[arg-type]
    await add_series(bot.services, program, start=datetime(2026, 6, 9, 18, 0), rrule=None)
    # The worker was down from before the day-before reminder until after the start.
    clock = ManualClock(datetime(2026, 6, 8, 12, 0, tzinfo=UTC))
    engine = engine_on(bot, clock)
    await engine.run_once()
    clock.set(datetime(2026, 6, 9, 22, 30, tzinfo=UTC))  # 18:30 New York: it began
    await engine.run_once()
    assert await bot.person(NY_CLIENT, "x").messages() == []
    async with bot.services.sessions() as session:
        rows = (
            await session.exec(
                select(Delivery)
                .where(Delivery.client_id == client.id)
                .order_by(col(Delivery.due_at))
            )
        ).all()
    assert [(r.payload["offset"], r.status) for r in rows] == [
        ("day", DeliveryStatus.skipped),
        ("soon", DeliveryStatus.skipped),
    ]


async def test_a_client_who_turned_reminders_off_gets_none(bot: BotHarness) -> None:
    program = await a_program(bot.services)
    client = await enrolled_client(bot.services, bot.server, program, NY_CLIENT, checkin_time=None)  # type: ignore[arg-type]
    async with bot.services.sessions() as session:
        row = await session.get(type(client), client.id)
        assert row is not None
        row.session_reminders = False
        session.add(row)
        await session.commit()
    await add_series(bot.services, program, start=datetime(2026, 6, 9, 18, 0), rrule=None)
    clock = ManualClock(datetime(2026, 6, 8, 12, 0, tzinfo=UTC))
    engine = engine_on(bot, clock)
    for hour in (22, 46):  # the day before at 18:00, and 16:00 on the day (New York)
        clock.set(datetime(2026, 6, 8, 0, 0, tzinfo=UTC) + timedelta(hours=hour))
        await engine.run_once()
    assert await bot.person(NY_CLIENT, "x").messages() == []
