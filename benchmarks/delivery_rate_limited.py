"""Does the dispatcher keep to Telegram's rate, and use all of it? (a script, not a test)

    .venv/bin/python benchmarks/delivery_rate_limited.py [--clients 1000] [--rate 30]
                                                         [--database sqlite|postgres]

1,000 clients due at the same minute, one dispatch worker with TELEGRAM_RATE_LIMIT=30
(python-telegram-bot's AIORateLimiter). Target: at least 95% of the limit, never above
it for long. Baseline, same run: python-telegram-bot alone (the same limiter, the same
prompt, no database) sending 300 messages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from delivery_common import (
    REPO,
    Sandbox,
    new_database,
    outcome,
    seed_clients,
    start_worker,
    worker_result,
)


def baseline(rate: float, messages: int = 300) -> float:
    sandbox = Sandbox(messages)
    try:
        process = subprocess.run(
            [
                sys.executable,
                str(REPO / "benchmarks" / "delivery_worker.py"),
                "--baseline",
                str(messages),
                "--rate",
                str(rate),
                "--sandbox",
                sandbox.url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return float(json.loads(process.stdout.strip().splitlines()[-1])["rate"])
    finally:
        sandbox.stop()


async def main(clients: int, rate: float, database: str) -> None:
    print(f"rate-limited dispatch: {clients:,} clients due at once, limit {rate:g}/s, {database}")
    base = baseline(rate)
    db = await new_database(database)
    try:
        await seed_clients(db.url, clients)
        sandbox = Sandbox(clients)
        try:
            worker_result(start_worker(db.url, sandbox, "bench-1", expect=clients, rate=rate))
            received = sandbox.counts()
        finally:
            sandbox.stop()
        sent = await outcome(db.url)
    finally:
        await db.drop()
    print(
        f"achieved: {sent.rate:.2f} msg/s = {sent.rate / rate:.1%} of the limit "
        f"({sent.sent:,} sent in {(sent.last - sent.first).total_seconds():.1f} s; "
        f"exactly once: {'yes' if received == {1: clients} else received})"
    )
    # AIORateLimiter lets a full second's worth go at once, then paces: the steady rate.
    steady = [t for t in sent.times if (t - sent.first).total_seconds() >= 1.0]
    span = (sent.last - steady[0]).total_seconds()
    print(f"steady state after the first second: {(len(steady) - 1) / span:.2f} msg/s")
    print(f"lateness: median {sent.median:.1f} s, p99 {sent.percentile(99):.1f} s")
    print(f"baseline (python-telegram-bot alone, same limiter, no database): {base:.2f} msg/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.rate, args.database))
