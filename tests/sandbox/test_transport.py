"""Waypoint's Bot API transport (bot/telegram_http.py): what python-telegram-bot's own
transport does when Telegram is slow, unreachable or busy, and a clean restart."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.telegram_http import AiohttpRequest, PollingRequest
from bot.telegram_sandbox import SandboxServer

from .conftest import TOKEN


def a_bot(server: SandboxServer, request: AiohttpRequest) -> Bot:
    return Bot(TOKEN, base_url=server.bot_api_url, request=request)


async def test_a_slow_answer_times_out_instead_of_hanging(
    server: SandboxServer, http: httpx.AsyncClient, user_chat: int
) -> None:
    await http.post("/sandbox/faults", json={"latency": 2.0, "methods": ["sendMessage"]})
    async with a_bot(server, AiohttpRequest(read_timeout=0.2)) as bot:
        began = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(user_chat, "hello")
        assert time.monotonic() - began < 1.5
        # A call's own read timeout wins over the transport's.
        await http.post("/sandbox/faults", json={"clear": True})
        await http.post("/sandbox/faults", json={"latency": 0.4, "methods": ["sendMessage"]})
        sent = await bot.send_message(user_chat, "patient", read_timeout=3)
        assert sent.text == "patient"


async def test_an_unreachable_server_is_a_network_error_without_the_token() -> None:
    request = AiohttpRequest(connect_timeout=2)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:9/bot{TOKEN}/sendMessage")
    finally:
        await request.shutdown()
    assert not isinstance(raised.value, TimedOut)
    assert "Cannot connect" in str(raised.value) and TOKEN not in str(raised.value)


async def test_a_full_pool_is_a_timeout_and_the_call_is_not_sent(
    server: SandboxServer, http: httpx.AsyncClient, user_chat: int
) -> None:
    await http.post(
        "/sandbox/faults", json={"latency": 1.0, "count": 1, "methods": ["sendMessage"]}
    )
    async with a_bot(server, AiohttpRequest(connection_pool_size=1, pool_timeout=0.1)) as bot:
        slow = asyncio.create_task(bot.send_message(user_chat, "first"))
        await asyncio.sleep(0.2)  # the only connection is now busy with "first"
        with pytest.raises(TimedOut):
            await bot.send_message(user_chat, "second")
        assert (await slow).text == "first"
    texts = [e.get("text") for e in (await http.get(f"/sandbox/chats/{user_chat}/messages")).json()]
    assert "first" in texts and "second" not in texts


async def test_it_starts_again_after_a_shutdown(server: SandboxServer, user_chat: int) -> None:
    request = AiohttpRequest()
    bot = a_bot(server, request)
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{server.bot_api_url}{TOKEN}/getMe")
    for round_ in range(2):
        async with bot:
            assert (await bot.send_message(user_chat, f"round {round_}")).text == f"round {round_}"


async def test_polling_keeps_each_batch_of_updates_as_telegram_sent_it(
    server: SandboxServer, http: httpx.AsyncClient, user_chat: int
) -> None:
    polling = PollingRequest()
    async with Bot(TOKEN, base_url=server.bot_api_url, get_updates_request=polling) as bot:
        (first,) = await bot.get_updates()
        sent = polling.as_sent(first.update_id)
        assert sent is not None and sent["update_id"] == first.update_id
        assert sent["message"]["text"] == "hi" and sent["message"]["from"]["first_name"] == "Ana"
        # The next batch replaces it: the inbox stored a batch before the next was asked.
        await http.post(
            "/sandbox/messages", json={"user": {"id": user_chat, "first_name": "Ana"}, "text": "2"}
        )
        (second,) = await bot.get_updates(offset=first.update_id + 1)
        assert polling.as_sent(first.update_id) is None
        assert polling.as_sent(second.update_id)["message"]["text"] == "2"  # type: ignore[index]
        # Other calls on that connection leave the batch alone.
        await bot.get_me()
        assert polling.as_sent(second.update_id) is not None
