"""Shared pieces of the delivery-engine benchmarks (not a benchmark itself).

The sandbox runs in its own process, as Telegram is elsewhere; each dispatch worker is
its own process too, so its CPU time and peak memory are its alone. Every figure comes
from the database rows (sent_at - due_at) and the worker's own resource usage.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bot.db import make_engine, upgrade  # noqa: E402
from bot.models import Client, Delivery, Program  # noqa: E402
from bot.settings import normalize_database_url  # noqa: E402

TOKEN = "123456:benchmark-sandbox-token-abcdef"
POSTGRES = os.environ.get("WAYPOINT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Clients check in at 20:00 UTC on this (fictional) day; workers run on a clock shifted so
# that the day and minute arrive a few seconds after they start.
DUE = datetime(2026, 6, 10, 20, 0, tzinfo=UTC)
FIRST_CHAT = 1_000_000


@dataclass
class Database:
    url: str
    cleanup: Any

    async def drop(self) -> None:
        await self.cleanup()


async def new_database(kind: str) -> Database:
    """A fresh, migrated SQLite file or PostgreSQL database."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="waypoint-bench-"))
        url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"

        async def remove() -> None:
            await asyncio.to_thread(shutil.rmtree, folder)

        cleanup = remove
    else:
        name = f"waypoint_bench_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
        admin = await asyncpg.connect(POSTGRES.replace("+asyncpg", ""))
        await admin.execute(f"CREATE DATABASE {name}")
        await admin.close()
        base = POSTGRES.rsplit("/", 1)[0]
        url = normalize_database_url(f"{base}/{name}")

        async def drop() -> None:
            admin = await asyncpg.connect(POSTGRES.replace("+asyncpg", ""))
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            await admin.close()

        cleanup = drop
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    return Database(url, cleanup)


async def seed_clients(url: str, count: int, checkin: str = "20:00") -> None:
    """One program in UTC and `count` active clients checking in at `checkin`."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        program_id = (
            await connection.execute(
                sa.insert(Program.__table__)  # type: ignore[attr-defined]
                .values(name="Bench IOP", timezone="UTC", region="US", digest_times=[],
                        on_call_24_7=False, created_at=now)
                .returning(Program.__table__.c.id)  # type: ignore[attr-defined]
            )
        ).scalar_one()  # fmt: skip
        rows = [
            {
                "program_id": program_id,
                "code": f"B{i:07d}",
                "telegram_user_id": FIRST_CHAT + i,
                "chat_id": FIRST_CHAT + i,
                "status": "active",
                "language": "en",
                "checkin_time": checkin,
                "created_at": now,
            }
            for i in range(count)
        ]
        for start in range(0, count, 1000):
            await connection.execute(sa.insert(Client.__table__), rows[start : start + 1000])  # type: ignore[attr-defined]
    await engine.dispose()


class Sandbox:
    """The sandbox in its own process, with `chats` private chats already open."""

    def __init__(self, chats: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "benchmarks" / "delivery_sandbox.py"), str(chats)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = json.loads(self.process.stdout.readline())["url"]

    def counts(self) -> dict[int, int]:
        """How many messages each chat received: {messages: number of chats}."""
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/bench/counts") as answer:
            return {int(k): v for k, v in json.load(answer).items()}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_worker(
    url: str,
    sandbox: Sandbox,
    worker_id: str,
    expect: int,
    rate: float = 0,
    lead: float = 10.0,
    in_flight: int = 1,
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(REPO / "benchmarks" / "delivery_worker.py"),
            "--database-url",
            url,
            "--sandbox",
            sandbox.url,
            "--worker-id",
            worker_id,
            "--due",
            DUE.isoformat(),
            "--lead",
            str(lead),
            "--rate",
            str(rate),
            "--expect",
            str(expect),
            "--in-flight",
            str(in_flight),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def worker_result(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = process.communicate(timeout=900)
    if process.returncode != 0:
        raise RuntimeError(f"worker failed ({process.returncode}): {out}")
    return json.loads(out.strip().splitlines()[-1])


@dataclass
class Outcome:
    sent: int
    first: datetime
    last: datetime
    lateness: list[float]
    times: list[datetime]

    @property
    def rate(self) -> float:
        span = (self.last - self.first).total_seconds()
        return (self.sent - 1) / span if span > 0 else float("nan")

    def percentile(self, p: float) -> float:
        ordered = sorted(self.lateness)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    @property
    def median(self) -> float:
        return statistics.median(self.lateness)


async def outcome(url: str, kind: str = "checkin") -> Outcome:
    engine = make_engine(url)
    table = Delivery.__table__  # type: ignore[attr-defined]
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.select(table.c.due_at, table.c.sent_at).where(
                    table.c.kind == kind, table.c.status == "sent"
                )
            )
        ).all()
    await engine.dispose()
    sent = [r.sent_at for r in rows]
    return Outcome(
        sent=len(rows),
        first=min(sent),
        last=max(sent),
        lateness=[(r.sent_at - r.due_at).total_seconds() for r in rows],
        times=sorted(sent),
    )


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def mb(kilobytes: float) -> str:
    return f"{kilobytes / 1024:.0f} MB"


def shifted_until(due: datetime, lead: float) -> timedelta:
    return (due - timedelta(seconds=lead)) - datetime.now(UTC)
