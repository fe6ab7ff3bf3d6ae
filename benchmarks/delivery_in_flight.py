"""DELIVERY_IN_FLIGHT at 1, 4 and 8: speed against how many prompts may be in doubt.
(a script, not a test)

    .venv/bin/python benchmarks/delivery_in_flight.py [--clients 2000]
                                                      [--in-flight 1 4 8]
                                                      [--database sqlite|postgres]
                                                      [--latency SECONDS]

For each setting, in the same run: a fresh database with that many active clients all
checking in at the same minute, the sandbox in its own process with no limits, and one
dispatch worker process (rate limiter off) with that many at-most-once prompts in
flight. A worker killed with SIGKILL leaves at most DELIVERY_IN_FLIGHT prompts recorded
as "sent, uncertain" (tests/delivery/test_in_flight_crash.py checks it): the in-doubt
bound printed beside the speed. `--latency 0.05`: every sendMessage waits that long in
the sandbox, as a request to the real Telegram does (default 0: unthrottled).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from delivery_common import (
    Sandbox,
    new_database,
    outcome,
    seed_clients,
    start_worker,
    worker_result,
)

from bot.telegram_sandbox import Sandbox as SandboxDriver


async def one_setting(
    clients: int, database: str, in_flight: int, latency: float
) -> dict[str, object]:
    db = await new_database(database)
    try:
        await seed_clients(db.url, clients)
        sandbox = Sandbox(clients)
        try:
            if latency:
                async with SandboxDriver(sandbox.url) as driver:
                    await driver.set_faults(latency=latency, methods=["sendMessage"])
            process = start_worker(
                db.url, sandbox, f"bench-{in_flight}", expect=clients, in_flight=in_flight
            )
            result = worker_result(process)
            received = sandbox.counts()
        finally:
            sandbox.stop()
        sent = await outcome(db.url)
    finally:
        await db.drop()
    return {"worker": result, "sent": sent, "received": received}


async def main(clients: int, settings: list[int], database: str, latency: float) -> None:
    sandbox = (
        f"sandbox latency {latency * 1000:.0f} ms a send" if latency else "unthrottled sandbox"
    )
    print(
        f"DELIVERY_IN_FLIGHT: {database}, {clients:,} prompts each, rate limiter off,"
        f" {sandbox}, one worker process, 2 shared cores"
    )
    print(
        f"{'in flight':>9} {'msg/s':>7} {'CPU ms/msg':>10} {'late p50':>9} {'late max':>9}"
        f" {'in doubt after kill -9':>23}  exactly once"
    )
    for in_flight in settings:
        r = await one_setting(clients, database, in_flight, latency)
        worker, sent, received = r["worker"], r["sent"], r["received"]
        once = received == {1: clients}
        print(
            f"{in_flight:>9} {sent.rate:>7.0f} {worker['cpu_s'] / sent.sent * 1000:>10.2f}"
            f" {sent.median:>8.1f}s {max(sent.lateness):>8.1f}s"
            f" {'at most ' + str(in_flight):>23}  {'yes' if once else received}",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.in_flight, args.database, args.latency))
