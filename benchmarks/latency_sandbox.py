"""Sandboxes for the latency benchmarks, in their own process (as Telegram would be).

    python benchmarks/latency_sandbox.py COUNT

Starts COUNT independent sandboxes (one per bot being compared), prints {"urls": [...]}
and serves until terminated. Each adds one route for timing, so that every figure is
measured on the sandbox's own clock, as Telegram's side sees it:

    GET /bench/wait?chat=ID&count=N[&timeout=S]

waits until the chat holds N events (messages sent or edited by the bot) and answers
{"seconds": time from the chat's latest injected update to its Nth event}.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web

from bot.telegram_sandbox import SandboxServer
from bot.telegram_sandbox.state import ChatState


def instrument(server: SandboxServer) -> None:
    state = server.state
    injected: dict[int, float] = {}  # chat -> when its latest update was queued
    recorded: dict[int, list[float]] = {}  # chat -> when each of its events was recorded
    add_update, add_event = state.add_update, state.add_event

    def timed_update(kind: str, payload: dict[str, Any]) -> int:
        chat = (payload.get("chat") or payload.get("message", {}).get("chat") or {}).get("id")
        if chat is not None:
            injected[chat] = time.perf_counter()
        return add_update(kind, payload)

    def timed_event(chat: ChatState, event: dict[str, Any]) -> None:
        recorded.setdefault(chat.info["id"], []).append(time.perf_counter())
        add_event(chat, event)

    state.add_update = timed_update  # type: ignore[method-assign]
    state.add_event = timed_event  # type: ignore[method-assign]

    async def wait(request: web.Request) -> web.Response:
        chat, count = int(request.query["chat"]), int(request.query["count"])
        async with asyncio.timeout(float(request.query.get("timeout", "10"))):
            while True:
                woken = state.event_pulse.current
                times = recorded.get(chat, [])
                if len(times) >= count:
                    return web.json_response({"seconds": times[count - 1] - injected[chat]})
                await woken.wait()

    server.app.router.add_get("/bench/wait", wait)


async def main(count: int) -> None:
    servers = [SandboxServer() for _ in range(count)]
    for server in servers:
        instrument(server)
    urls = [await server.start() for server in servers]
    print(json.dumps({"urls": urls}), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for server in servers:
        await server.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
