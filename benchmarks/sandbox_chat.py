"""Shared by the latency benchmarks: talk to the local sandbox's control API as a person,
wait for the bot's messages, and print a latency line."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx

from bot.telegram_sandbox import SandboxServer


async def events(http: httpx.AsyncClient, chat_id: int) -> list[dict[str, Any]]:
    """Everything the bot sent or edited in a chat, oldest first."""
    return (await http.get(f"/sandbox/chats/{chat_id}/messages")).json()  # type: ignore[no-any-return]


async def wait_for(server: SandboxServer, chat_id: int, count: int, start: float) -> float:
    """Seconds from `start` until the chat holds `count` events (sent or edited).

    Read from the in-process sandbox's memory, not over its HTTP control API: polling
    over HTTP every few milliseconds ran in the same event loop as the bot and taxed it
    (more, the longer the wait), which is the harness's cost, not the bot's."""
    while True:
        chat = server.state.chats.get(chat_id)
        if chat is not None and len(chat.events) >= count:
            return time.perf_counter() - start
        await asyncio.sleep(0.0002)


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
