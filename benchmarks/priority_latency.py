"""An urgent message sent in the middle of a burst of prompts: how long it waits, with
priority classes and without (issue 21). Not a test: prints figures side by side.

One process: the sandbox (Telegram's limits on, the overall cap scaled to --rate) and
python-telegram-bot's Bot on Waypoint's transport with Waypoint's rate limiter
(bot/scheduling/rate_limiter.py). --prompts bulk sends are queued at once; after a
second, --alerts crisis-class sends go out one every 0.25 s, each to its own chat, and
each one's wait (request made -> Telegram's answer) is measured. The same run is made
with classes off (PRIORITY_CLASSES=0: one queue, first come first served).

This measures the rate limiter's part (the handler's crisis reply, and an alert the
dispatcher already holds); the outbox's claim (by class, then due) adds at most one
batch on top, see benchmarks/README.md.

    .venv/bin/python benchmarks/priority_latency.py [--prompts 3000] [--rate 300] [--alerts 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.scheduling.priority import Priority, sending_as
from bot.scheduling.rate_limiter import PriorityRateLimiter
from bot.scheduling.send_budget import LocalBudget
from bot.telegram_http import AiohttpRequest
from bot.telegram_sandbox import SandboxServer
from bot.telegram_sandbox.limits import TelegramLimits

TOKEN = "123456:benchmark-token-abcdefghijklmnop"


async def one_run(prompts: int, rate: float, alerts: int, by_class: bool) -> dict[str, float]:
    server = SandboxServer()
    await server.start()
    state = server.state
    for chat in range(1, prompts + alerts + 1):
        state.private_chat(state.upsert_user({"id": chat, "first_name": "P"}))
    state.limits = TelegramLimits(overall=rate)
    limiter = PriorityRateLimiter(LocalBudget(rate), by_class=by_class)
    bot: ExtBot[None] = ExtBot(
        TOKEN,
        base_url=server.bot_api_url,
        request=AiohttpRequest(connection_pool_size=256),
        rate_limiter=limiter,
    )
    refused = 0

    async def prompt(chat: int) -> None:
        nonlocal refused
        with sending_as(Priority.bulk, retries=0):
            try:
                await bot.send_message(chat, "Time for your check-in.")
            except RetryAfter:
                refused += 1

    async def alert(chat: int) -> float:
        started = time.monotonic()
        with sending_as(Priority.crisis):
            await bot.send_message(chat, "URGENT alert")
        return time.monotonic() - started

    async with bot:
        started = time.monotonic()
        burst = [asyncio.create_task(prompt(n)) for n in range(1, prompts + 1)]
        await asyncio.sleep(1.0)
        waits = []
        pending = []
        for n in range(alerts):
            pending.append(asyncio.create_task(alert(prompts + 1 + n)))
            await asyncio.sleep(0.25)
        waits = await asyncio.gather(*pending)
        await asyncio.gather(*burst)
        elapsed = time.monotonic() - started
    await server.stop()
    waits.sort()
    sent = len(state.limits.sent_at)
    times = sorted(state.limits.sent_at)
    span = times[-1] - times[0] if len(times) > 1 else 1.0
    return {
        "p50": statistics.median(waits),
        "p99": waits[min(len(waits) - 1, int(len(waits) * 0.99))],
        "max": waits[-1],
        "busiest": state.limits.busiest_second(),
        "mean_rate": sent / span,
        "refused": state.limits.refused + refused,
        "elapsed": elapsed,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--alerts", type=int, default=20)
    args = parser.parse_args()
    print(
        f"{args.prompts} prompts queued at once, cap {args.rate:.0f}/s, "
        f"{args.alerts} crisis sends mid-burst"
    )
    print(
        f"{'classes':>8} {'wait p50':>9} {'p99':>8} {'max':>8} "
        f"{'busiest 1s':>10} {'mean rate':>9} {'429s':>5}"
    )
    for by_class in (True, False):
        r = await one_run(args.prompts, args.rate, args.alerts, by_class)
        print(
            f"{'on' if by_class else 'off':>8} {r['p50']:>8.3f}s {r['p99']:>7.3f}s "
            f"{r['max']:>7.3f}s {r['busiest']:>10.0f} {r['mean_rate']:>9.1f} {r['refused']:>5.0f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
