"""One dispatch worker for the delivery benchmarks, in its own process.

The production engine (planner + dispatcher, bot/scheduling) on python-telegram-bot's
Bot, ticked every DISPATCH_INTERVAL (2 s) as the JobQueue would, on a clock shifted so
the clients' due minute arrives `--lead` seconds after start-up. Prints one JSON line:
its CPU time, resident memory before dispatching and at its peak.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.ext import Defaults, ExtBot
from telegram.request import HTTPXRequest

from bot.content import DEFAULT_CONTENT_DIR, load_content
from bot.features.delivery import build_engine, rate_limiter
from bot.models import Delivery
from bot.runner import open_services
from bot.settings import load_settings
from bot.telegram_http import AiohttpRequest

TOKEN = "123456:benchmark-sandbox-token-abcdef"


class ShiftedClock:
    """Real time, shifted by a constant: seconds pass as they do, on another day."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() // 1024


async def baseline(args: argparse.Namespace) -> None:
    """python-telegram-bot alone: the same prompt and button, one request at a time, no
    database, no outbox; on its own httpx transport, or with `--transport aiohttp` on
    Waypoint's."""
    settings = load_settings(
        read_env_file=False, telegram_bot_token=TOKEN, telegram_rate_limit=args.rate
    )
    bot: ExtBot[None] = ExtBot(
        TOKEN,
        base_url=f"{args.sandbox}/bot",
        defaults=Defaults(parse_mode=ParseMode.HTML),
        rate_limiter=rate_limiter(settings),
        request=(
            AiohttpRequest(connection_pool_size=32)
            if args.transport == "aiohttp"
            else HTTPXRequest(connection_pool_size=32)
        ),
    )
    content = load_content(DEFAULT_CONTENT_DIR).language("en").ui
    button = InlineKeyboardButton(content.checkin_button, callback_data="ci:1000000")
    keyboard = InlineKeyboardMarkup([[button]])
    async with bot:
        cpu_start, start = time.process_time(), time.perf_counter()
        for i in range(args.baseline):
            await bot.send_message(1_000_000 + i, content.checkin_prompt, reply_markup=keyboard)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(json.dumps({"rate": args.baseline / wall, "cpu_ms": cpu / args.baseline * 1000}))


async def main(args: argparse.Namespace) -> None:
    if args.baseline:
        await baseline(args)
        return
    settings = load_settings(
        read_env_file=False,
        database_url=args.database_url,
        telegram_api_base_url=args.sandbox,
        telegram_bot_token=TOKEN,
        telegram_rate_limit=args.rate,
        worker_id=args.worker_id,
        dispatch_interval=args.interval,
        delivery_in_flight=args.in_flight,
    )
    # Production logging: one INFO line per send, to stderr.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    svc = await open_services(settings)
    bot: ExtBot[None] = ExtBot(
        TOKEN,
        base_url=settings.bot_api_url,
        defaults=Defaults(parse_mode=ParseMode.HTML),
        rate_limiter=rate_limiter(settings),
        # Waypoint's own transport, as the application's bot uses in production.
        request=AiohttpRequest(connection_pool_size=32),
    )
    due = datetime.fromisoformat(args.due)
    async with bot:
        clock = ShiftedClock(timedelta())
        engine = build_engine(svc, bot, role="dispatch", clock=clock)
        engine.wake_within = args.interval  # as on the real clock
        rss_before = rss_kb()
        cpu_start = time.process_time()
        clock.offset = (due - timedelta(seconds=args.lead)) - datetime.now(UTC)
        table = Delivery.__table__  # type: ignore[attr-defined]
        while True:
            await engine.tick()
            await asyncio.sleep(args.interval)
            async with svc.engine.connect() as connection:
                done = (
                    await connection.execute(
                        sa.select(sa.func.count()).where(
                            table.c.kind == "checkin",
                            table.c.status.in_(("sent", "failed", "skipped")),
                        )
                    )
                ).scalar_one()
            if done >= args.expect:
                break
        await engine.stop()
        cpu = time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    await svc.engine.dispose()
    print(json.dumps({"cpu_s": cpu, "rss_before_kb": rss_before, "peak_rss_kb": peak}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", type=int, default=0)
    parser.add_argument("--database-url")
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--worker-id", default="bench-1")
    parser.add_argument("--due")
    parser.add_argument("--lead", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--transport", choices=["httpx", "aiohttp"], default="httpx")
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--in-flight", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
