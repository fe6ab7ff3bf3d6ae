"""The check-in prompt end to end: sent by the engine, pressed by the client through the
real bot; the press starts the check-in and cancels the nudge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.content import Content
from bot.features.delivery import build_engine
from bot.inbox import inbox_of
from bot.models import Delivery, DeliveryStatus
from bot.scheduling.clock import ManualClock
from tests.delivery.conftest import a_program, enrolled_client
from tests.harness import BotHarness

CLIENT = 7701


async def test_pressing_check_in_starts_the_check_in_and_cancels_the_nudge(
    bot: BotHarness, content: Content
) -> None:
    program = await a_program(bot.services)
    client = await enrolled_client(bot.services, bot.server, program, CLIENT)
    # The engine on the running bot's own Bot object, on a clock the test drives.
    clock = ManualClock(datetime(2026, 6, 11, 0, 0, tzinfo=UTC))  # 20:00 in New York
    engine = build_engine(bot.services, bot.application.bot, clock=clock)
    inbox = inbox_of(bot.application)
    assert inbox is not None
    inbox.clock = clock  # the press "arrives" on the same clock
    await engine.run_once()
    clock.advance(timedelta(minutes=10))
    alex = bot.person(CLIENT, "Alex")
    prompt = await alex.last_message()
    ui = content.language("en").ui
    assert prompt.text == ui.checkin_prompt
    texts = content.language("en").checkin
    lead, question = await alex.press(ui.checkin_button)
    assert lead.text == texts.start
    assert question.text == texts.craving.text
    clock.advance(timedelta(hours=2))  # 22:10: the nudge (22:00) would be due
    await engine.run_once()
    async with bot.services.sessions() as session:
        nudge = (
            await session.exec(
                select(Delivery).where(
                    Delivery.dedupe_key == f"checkin_nudge:{client.id}:2026-06-10"
                )
            )
        ).one()
    assert (nudge.status, nudge.reason) == (DeliveryStatus.skipped, "client already started")
    assert [m.text for m in await alex.messages()] == [
        ui.checkin_prompt,
        texts.start,
        texts.craving.text,
    ]


async def test_a_forged_or_foreign_check_in_press_changes_nothing(
    bot: BotHarness, content: Content
) -> None:
    program = await a_program(bot.services)
    await enrolled_client(bot.services, bot.server, program, CLIENT)
    await enrolled_client(bot.services, bot.server, program, CLIENT + 1)
    clock = ManualClock(datetime(2026, 6, 11, 0, 0, tzinfo=UTC))
    await build_engine(bot.services, bot.application.bot, clock=clock).run_once()
    other = await bot.person(CLIENT + 1, "Kim").last_message()
    data = other.data_for(content.language("en").ui.checkin_button)
    alex = bot.person(CLIENT, "Alex")
    mine = await alex.last_message()
    # Alex presses Kim's prompt id (forged), and an id that does not exist.
    assert await alex.press_data(data, mine.message_id) == []
    assert await alex.press_data("ci:999999", mine.message_id) == []
