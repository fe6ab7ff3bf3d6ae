"""The crisis reply never waits behind a burst (issue 21): while this same process has
check-in prompts queued in its rate limiter (30 a second), a client's crisis message is
answered at once, ahead of the prompts, and the care team's alert goes before them too."""

from __future__ import annotations

import asyncio

from bot.features.delivery import delivery_engine
from bot.scheduling.priority import Priority, sending_as
from tests.e2e.conftest import CLIENT, GROUP
from tests.harness import BotHarness

URGENT = "honestly i want to kill myself tonight"
BACKLOG = 150  # five seconds of prompts at 30 a second


async def test_the_crisis_reply_goes_ahead_of_the_prompts_queued_in_the_same_process(
    team: tuple[BotHarness, str],
) -> None:
    bot, _ = team
    state = bot.server.state
    chats = range(900_000, 900_000 + BACKLOG)
    for chat in chats:
        state.private_chat(state.upsert_user({"id": chat, "first_name": "P"}))

    async def prompt(chat: int) -> None:
        with sending_as(Priority.bulk, retries=0):
            await bot.application.bot.send_message(chat, "Time for your check-in.")

    backlog = [asyncio.create_task(prompt(chat)) for chat in chats]
    try:
        await asyncio.sleep(0)  # the prompts are queued in the limiter
        replies = await bot.person(CLIENT, "Alex").send(URGENT)
        assert replies  # the crisis reply came
        await delivery_engine(bot.application).wait_idle()  # the alert's copies
        sends = [
            int(entry["params"]["chat_id"])
            for entry in state.requests
            if entry["method"] == "sendMessage" and entry.get("ok")
        ]
        last_reply = max(i for i, chat in enumerate(sends) if chat == CLIENT)
        prompts_before = sum(1 for chat in sends[:last_reply] if chat in chats)
        # The whole reply went out while most prompts were still waiting.
        assert prompts_before < BACKLOG // 3, prompts_before
        (group_post,) = [i for i, chat in enumerate(sends) if chat == GROUP]
        assert sum(1 for chat in sends[:group_post] if chat in chats) < BACKLOG // 3
    finally:
        for task in backlog:
            task.cancel()
        # What the prompts met (cancelled, or a slow machine's timeout) is not this test's.
        await asyncio.gather(*backlog, return_exceptions=True)
