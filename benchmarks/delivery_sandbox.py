"""The sandbox for the delivery benchmarks, in its own process (as Telegram would be).

    python benchmarks/delivery_sandbox.py CHATS

Opens CHATS private chats (ids from 1,000,000), prints {"url": ...} and serves until
terminated. GET /bench/counts answers {messages received: number of chats}.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web

from bot.telegram_sandbox import SandboxServer

FIRST_CHAT = 1_000_000


async def main(chats: int) -> None:
    server = SandboxServer()

    async def counts(_request: web.Request) -> web.Response:
        received = Counter(
            sum(1 for e in server.state.chats[FIRST_CHAT + i].events if e["event"] == "sent")
            for i in range(chats)
        )
        return web.json_response({str(k): v for k, v in received.items()})

    server.app.router.add_get("/bench/counts", counts)
    for i in range(chats):
        user = server.state.upsert_user({"id": FIRST_CHAT + i, "first_name": "Client"})
        server.state.private_chat(user)
    url = await server.start()
    print(json.dumps({"url": url}), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
