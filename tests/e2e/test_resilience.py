"""Errors never stop the bot: a crash in a handler or a Telegram error gets a calm answer
(when one can be sent) and the next message is handled as usual."""

from __future__ import annotations

import pytest

from bot.content import Content
from bot.features import welcome
from tests.harness import BotHarness

STRANGER = 5550002


async def test_a_crash_in_a_handler_gets_a_calm_answer_and_the_bot_goes_on(
    bot: BotHarness, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_identify = welcome.identify
    calls = 0

    async def broken_once(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database hiccup")
        return await real_identify(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(welcome, "identify", broken_once)
    sam = bot.person(STRANGER, "Sam")
    (apology,) = await sam.send("/start")
    assert apology.text == content.language("en").ui.error
    (reply,) = await sam.send("/start")
    assert reply.text == content.language("en").ui.welcome


async def test_telegram_server_errors_do_not_stop_the_bot(
    bot: BotHarness, content: Content
) -> None:
    sam = bot.person(STRANGER, "Sam")
    # The reply and the apology both fail with 500: nothing reaches Sam, nothing crashes.
    await bot.sandbox.set_faults(error_code=500, count=2, methods=["sendMessage"])
    assert await sam.send("/start") == []
    failed = [r for r in await bot.sandbox.requests("sendMessage") if not r["ok"]]
    assert [r["error_code"] for r in failed] == [500, 500]
    (reply,) = await sam.send("/start")
    assert reply.text == content.language("en").ui.welcome


async def test_a_person_who_blocked_the_bot_causes_no_retry_storm(
    bot: BotHarness, content: Content
) -> None:
    sam = bot.person(STRANGER, "Sam")
    await sam.send("/start")
    await bot.sandbox.block(sam.chat_id)
    before = len(await bot.sandbox.requests("sendMessage"))
    assert await sam.send("/help") == []
    # One refused send, and no apology attempt to a chat that refuses everything.
    assert len(await bot.sandbox.requests("sendMessage")) == before + 1
    await bot.sandbox.unblock(sam.chat_id)
    (card,) = await sam.send("/help")
    assert card.text == content.language("en").crisis_card("US")


async def test_a_group_chat_gets_no_answer_to_ordinary_messages(bot: BotHarness) -> None:
    group = -100777
    sam = bot.person(STRANGER, "Sam")
    assert await sam.send_in(group, "hello everyone") == []


async def test_help_works_in_a_group_chat_and_carries_no_client_information(
    bot: BotHarness, content: Content
) -> None:
    (card,) = await bot.person(STRANGER, "Sam").send_in(-100778, "/help")
    assert card.text == content.language("en").crisis_card("US")
