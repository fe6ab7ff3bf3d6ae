"""Two dispatch workers on one PostgreSQL database: exactly once, and how much faster?
(a script, not a test)

    .venv/bin/python benchmarks/delivery_two_workers.py [--clients 10000]

10,000 clients due at the same minute; the rate limiter off; the sandbox counts what
every chat received. Baseline, same run: one worker on an identical database.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from delivery_common import (
    Sandbox,
    mb,
    new_database,
    outcome,
    seed_clients,
    start_worker,
    worker_result,
)


async def run(clients: int, workers: int) -> tuple[object, dict[int, int], list[dict[str, float]]]:
    db = await new_database("postgres")
    try:
        await seed_clients(db.url, clients)
        sandbox = Sandbox(clients)
        try:
            processes = [
                start_worker(db.url, sandbox, f"bench-{n}", expect=clients)
                for n in range(1, workers + 1)
            ]
            results = [worker_result(p) for p in processes]
            received = sandbox.counts()
        finally:
            sandbox.stop()
        return await outcome(db.url), received, results
    finally:
        await db.drop()


async def main(clients: int) -> None:
    print(f"two workers on PostgreSQL: {clients:,} clients due at once, rate limiter off")
    rows = []
    for workers in (1, 2):
        rows.append((workers, *await run(clients, workers)))
    for workers, sent, received, results in rows:
        once = received == {1: clients}
        cpu = sum(r["cpu_s"] for r in results) / sent.sent * 1000
        peak = max(r["peak_rss_kb"] for r in results)
        print(
            f"{workers} worker(s): {sent.rate:.0f} msg/s, {cpu:.2f} ms CPU/msg, peak RSS "
            f"{mb(peak)} each, lateness median {sent.median:.1f} s p99 "
            f"{sent.percentile(99):.1f} s, exactly once: {'yes' if once else received}"
        )
    one, two = rows[0][1].rate, rows[1][1].rate
    print(f"two workers / one worker (baseline, same run): {two / one:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10000)
    asyncio.run(main(parser.parse_args().clients))
