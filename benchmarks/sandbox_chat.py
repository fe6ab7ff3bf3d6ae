"""Shared by the latency benchmarks: talk to the local sandbox's control API as a person,
wait for the bot's messages, and print a latency line."""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from telegram import Update
from telegram.ext import Application, BaseHandler, ContextTypes, MessageHandler, filters

from bot.telegram_http import AiohttpRequest
from bot.telegram_sandbox import SandboxServer


async def events(http: httpx.AsyncClient, chat_id: int) -> list[dict[str, Any]]:
    """Everything the bot sent or edited in a chat, oldest first."""
    return (await http.get(f"/sandbox/chats/{chat_id}/messages")).json()  # type: ignore[no-any-return]


async def wait_for(server: SandboxServer, chat_id: int, count: int, start: float) -> float:
    """Seconds from `start` until the chat holds `count` events (sent or edited).

    Woken by the in-process sandbox as each event is recorded. (Polling, over its HTTP
    control API until 2026-11-23 and then its memory every 0.2 ms, kept the event loop
    and the interpreter lock busy while the bot worked: the harness's cost, not the
    bot's, and heavier on a bot that waits on a database thread.)"""
    state = server.state
    while True:
        woken = state.event_pulse.current
        chat = state.chats.get(chat_id)
        if chat is not None and len(chat.events) >= count:
            return time.perf_counter() - start
        await woken.wait()


class InProcess:
    """A sandbox in the benchmark's own process: waits read its memory, woken as it
    records each message, and time is taken here."""

    def __init__(self) -> None:
        self.server = SandboxServer()
        self.url = ""

    async def start(self) -> str:
        self.url = await self.server.start()
        return self.url

    async def stop(self) -> None:
        await self.server.stop()

    async def wait(self, http: httpx.AsyncClient, chat: int, count: int, start: float) -> float:
        return await wait_for(self.server, chat, count, start)


class Remote:
    """One sandbox of `benchmarks/latency_sandbox.py`, in a process of its own as Telegram
    is: it times each wait on its own clock, from the update it queued for the chat to the
    chat's `count`th message, so the bot's process carries none of Telegram's work."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def start(self) -> str:
        return self.url

    async def stop(self) -> None:
        pass

    async def wait(self, http: httpx.AsyncClient, chat: int, count: int, start: float) -> float:
        answer = await http.get("/bench/wait", params={"chat": chat, "count": count})
        answer.raise_for_status()
        return float(answer.json()["seconds"])


Sandbox = InProcess | Remote


@contextmanager
def remote_sandboxes(count: int) -> Iterator[list[Remote]]:
    """`count` independent sandboxes, served by one other process."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("latency_sandbox.py")), str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield [Remote(url) for url in json.loads(process.stdout.readline())["urls"]]
    finally:
        process.terminate()
        process.wait(timeout=10)


@asynccontextmanager
async def bare_bot(
    token: str, url: str, *handlers: BaseHandler[Any, Any, Any], aiohttp: bool = False
) -> AsyncIterator[httpx.AsyncClient]:
    """A bare python-telegram-bot Application with these handlers, polling the sandbox at
    `url` for the block; yields a client of the sandbox's control API. With `aiohttp`, on
    Waypoint's transport (bot/telegram_http.py) instead of python-telegram-bot's httpx."""
    builder = Application.builder().token(token).base_url(f"{url}/bot")
    if aiohttp:
        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(1))
    app = builder.build()
    for handler in handlers:
        app.add_handler(handler)
    async with app, httpx.AsyncClient(base_url=url) as http:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=5)
        try:
            yield http
        finally:
            await app.updater.stop()
            await app.stop()


async def echo_latencies(
    token: str, chats: int, sandbox: Sandbox | None = None, *, aiohttp: bool = False
) -> AsyncIterator[float]:
    """The baseline of the latency benchmarks: a bare python-telegram-bot handler that
    echoes a text, on its own sandbox. Each step of the iterator sends one message (round
    the `chats` chats) and yields the seconds from injection to the echo; close it
    (`aclose`) to stop the bot. An iterator, so a benchmark can interleave it with what it
    measures and both see the machine in the same moment."""
    sandbox = sandbox or InProcess()
    url = await sandbox.start()

    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat and update.effective_message
        await update.effective_chat.send_message(update.effective_message.text or "")

    try:
        async with bare_bot(
            token, url, MessageHandler(filters.TEXT, echo), aiohttp=aiohttp
        ) as http:
            for i in itertools.count():
                user = 50_000 + i % chats
                before = len(await events(http, user))
                start = time.perf_counter()
                await inject_text(http, user, "hello")
                yield await sandbox.wait(http, user, before + 1, start)
    finally:
        await sandbox.stop()


async def echo_baseline(token: str, messages: int, chats: int, pause: float = 0.0) -> list[float]:
    """`messages` echo latencies in a row, `pause` seconds apart."""
    times = []
    echoes = echo_latencies(token, chats)
    try:
        for _ in range(messages):
            times.append(await anext(echoes))
            await asyncio.sleep(pause)
    finally:
        await echoes.aclose()
    return times


async def inject_text(http: httpx.AsyncClient, user_id: int, text: str) -> None:
    body = {"user": {"id": user_id, "first_name": "P"}, "text": text}
    (await http.post("/sandbox/messages", json=body)).raise_for_status()


async def press(http: httpx.AsyncClient, user_id: int, message_id: int, data: str) -> None:
    body = {"user_id": user_id, "chat_id": user_id, "message_id": message_id, "data": data}
    (await http.post("/sandbox/callbacks", json=body)).raise_for_status()


def latency_line(name: str, values: list[float], width: int = 40) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"{name:<{width}} median {statistics.median(values) * 1000:7.1f} ms   "
        f"p95 {p95 * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms"
    )
