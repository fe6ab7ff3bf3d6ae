"""How fast does the delivery engine send, and how late? (a script, not a test)

    .venv/bin/python benchmarks/delivery_throughput.py [--clients 1000 10000]
                                                       [--database sqlite|postgres]

For each size: a fresh database with that many active clients all checking in at the
same minute, the sandbox in its own process with no limits (as if Telegram had none),
and one dispatch worker process with the rate limiter off. The worker plans and
dispatches exactly as in production (ticks every 2 s); figures come from the rows
(sent_at - due_at) and the worker's own CPU time and peak resident memory.

Baselines, same run: python-telegram-bot alone sending the same prompt one request at a
time to the same sandbox, no database: the ceiling for a sender that keeps at most one
at-most-once message in doubt. Once on python-telegram-bot's own httpx transport, once
on Waypoint's aiohttp one (bot/telegram_http.py), which the worker uses.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from delivery_common import (
    REPO,
    Sandbox,
    mb,
    new_database,
    outcome,
    seed_clients,
    start_worker,
    worker_result,
)


def baseline(messages: int, transport: str) -> dict[str, float]:
    sandbox = Sandbox(messages)
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "benchmarks" / "delivery_worker.py"),
                "--baseline",
                str(messages),
                "--sandbox",
                sandbox.url,
                "--transport",
                transport,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        return worker_result(process)
    finally:
        sandbox.stop()


async def one_size(clients: int, database: str) -> dict[str, object]:
    db = await new_database(database)
    try:
        await seed_clients(db.url, clients)
        sandbox = Sandbox(clients)
        try:
            result = worker_result(start_worker(db.url, sandbox, "bench-1", expect=clients))
            received = sandbox.counts()
        finally:
            sandbox.stop()
        sent = await outcome(db.url)
    finally:
        await db.drop()
    return {"worker": result, "sent": sent, "received": received}


async def main(sizes: list[int], database: str) -> None:
    print(f"delivery throughput: {database}, rate limiter off, one worker process, 2 cores")
    bases = {t: baseline(min(2000, max(sizes)), t) for t in ("httpx", "aiohttp")}
    rows = []
    for clients in sizes:
        rows.append((clients, await one_size(clients, database)))
    print(
        f"{'clients':>8} {'msg/s':>7} {'CPU ms/msg':>10} {'RSS start':>10} {'RSS peak':>9}"
        f" {'late min':>9} {'late p50':>9} {'late p99':>9} {'late max':>9}  exactly once"
    )
    for clients, r in rows:
        worker, sent, received = r["worker"], r["sent"], r["received"]
        once = received == {1: clients}
        print(
            f"{clients:>8} {sent.rate:>7.0f} {worker['cpu_s'] / sent.sent * 1000:>10.2f}"
            f" {mb(worker['rss_before_kb']):>10} {mb(worker['peak_rss_kb']):>9}"
            f" {min(sent.lateness):>8.3f}s {sent.median:>8.1f}s {sent.percentile(99):>8.1f}s"
            f" {max(sent.lateness):>8.1f}s"
            f"  {'yes' if once else received}"
        )
    for transport, base in bases.items():
        print(
            f"baseline (python-telegram-bot alone on {transport}, one request at a time,"
            f" no database): {base['rate']:.0f} msg/s, {base['cpu_ms']:.2f} ms CPU/msg"
        )
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        growth = large[1]["worker"]["peak_rss_kb"] - small[1]["worker"]["peak_rss_kb"]
        print(
            f"peak memory growth {small[0]:,} -> {large[0]:,} clients: {mb(growth)} "
            "(target: under 50 MB)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.database))
