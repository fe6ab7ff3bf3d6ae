"""Crash safety: dispatch workers (`python -m bot dispatch`, real processes) are killed
with SIGKILL in the middle of a batch and restarted. Every due message is then sent
exactly once, except at most one per killed worker in the window of doubt for
at-most-once kinds (never twice: it may be missing), and no alert is lost.

SQLite with one worker; PostgreSQL with two at once (skipped when not reachable).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import make_engine
from bot.models import Delivery
from bot.scheduling.planner import insert_new
from bot.telegram_sandbox import Sandbox, SandboxServer
from tests.databases import (
    create_postgres_database,
    drop_postgres_database,
    migrated_url,
    postgres_reachable,
    sqlite_url,
)
from tests.delivery.processes import Worker, wait_until, worker_env

PROMPTS = 240  # at most once, one chat each
ALERTS = 60  # at least once, one chat each
PROMPT_CHATS = range(300_000, 300_000 + PROMPTS)
ALERT_CHATS = range(400_000, 400_000 + ALERTS)

delivery = Delivery.__table__  # type: ignore[attr-defined]


async def _seed(engine: AsyncEngine, server: SandboxServer) -> None:
    now = datetime.now(UTC)
    rows = []
    for chat in PROMPT_CHATS:
        rows.append(("checkin", chat, f"checkin:x:{chat}", {}))
    for chat in ALERT_CHATS:
        rows.append(("alert", chat, f"alert:{chat}", {"text": f"Urgent alert {chat}"}))
    async with engine.begin() as connection:
        await insert_new(
            connection,
            (
                {
                    "kind": kind,
                    "recipient_chat_id": chat,
                    "due_at": now,
                    "available_at": now,
                    "expires_at": now + timedelta(hours=1),
                    "payload": payload,
                    "status": "pending",
                    "attempts": 0,
                    "dedupe_key": key,
                    "created_at": now,
                }
                for kind, chat, key, payload in rows
            ),
        )
    for chat in (*PROMPT_CHATS, *ALERT_CHATS):
        server.state.private_chat(server.state.upsert_user({"id": chat, "first_name": "P"}))


def _sent(server: SandboxServer, chat: int) -> int:
    state = server.state.chats.get(chat)
    return sum(1 for e in state.events if e["event"] == "sent") if state else 0


def _total_sent(server: SandboxServer) -> int:
    return sum(_sent(server, c) for c in (*PROMPT_CHATS, *ALERT_CHATS))


async def _statuses(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(delivery.c.status, sa.func.count()).group_by(delivery.c.status)
        )
        return Counter({str(status): n for status, n in rows})


async def _kill_mid_batch_and_restart(
    url: str, server: SandboxServer, tmp_path: Path, worker_ids: list[str]
) -> None:
    engine = make_engine(url)
    try:
        await _seed(engine, server)
        async with Sandbox(server.url) as driver:
            # Each send takes a little while, so a batch is still going when the kill comes.
            await driver.set_faults(latency=0.015, methods=["sendMessage"])
        env = {
            w: worker_env(
                url,
                server.url,
                w,
                DISPATCH_INTERVAL="0.2",
                TELEGRAM_RATE_LIMIT="0",
                # One in flight: one in doubt per kill (8: test_in_flight_crash.py).
                DELIVERY_IN_FLIGHT="1",
            )
            for w in worker_ids
        }
        workers = {
            w: Worker(["-m", "bot", "dispatch"], env[w], tmp_path / f"{w}-1.log")
            for w in worker_ids
        }
        kills = 0
        try:
            for n, (worker_id, worker) in enumerate(workers.items(), start=1):

                async def progressed(goal: int = 60 * n) -> bool:
                    return _total_sent(server) >= goal

                await wait_until(progressed, f"{worker_id} to be sending", worker)
                worker.kill()
                kills += 1
                in_flight = await _statuses(engine)
                # Killed mid-batch: some of its claimed rows were not finished.
                assert in_flight["claimed"] + in_flight["sending"] > 0, in_flight
        finally:
            for worker in workers.values():
                worker.stop()
        # Restarted under the same WORKER_ID: they take back their own claims at once.
        restarted = {
            w: Worker(["-m", "bot", "dispatch"], env[w], tmp_path / f"{w}-2.log")
            for w in worker_ids
        }
        try:

            async def finished() -> bool:
                counts = await _statuses(engine)
                return counts["sent"] + counts["failed"] + counts["skipped"] == PROMPTS + ALERTS

            await wait_until(finished, "every delivery to be finished", restarted[worker_ids[0]])
        finally:
            for worker in restarted.values():
                worker.stop()

        counts = await _statuses(engine)
        assert counts == Counter({"sent": PROMPTS + ALERTS}), counts
        prompts = Counter(_sent(server, c) for c in PROMPT_CHATS)
        # Never twice; at most one missing per killed worker (the one in flight).
        assert set(prompts) <= {0, 1}, prompts
        assert prompts[0] <= kills, prompts
        async with engine.connect() as connection:
            uncertain = (
                await connection.execute(
                    sa.select(sa.func.count()).where(delivery.c.reason.like("uncertain%"))
                )
            ).scalar_one()
        assert uncertain <= kills
        assert prompts[0] <= uncertain  # a missing prompt is one recorded as in doubt
        # No alert lost (a duplicate would be acceptable).
        assert min(_sent(server, c) for c in ALERT_CHATS) >= 1
    finally:
        await engine.dispose()


async def test_sqlite_one_worker_killed_mid_batch_then_restarted(
    sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    url = await migrated_url(sqlite_url(tmp_path / "crash.db"))
    await _kill_mid_batch_and_restart(url, sandbox_server, tmp_path, ["dispatch-1"])


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    reason = await postgres_reachable()
    if reason:
        pytest.skip(f"two workers on PostgreSQL need PostgreSQL: {reason}")
    url = await migrated_url(await create_postgres_database())
    yield url
    await drop_postgres_database(url)


@pytest.mark.postgres
async def test_postgres_two_workers_killed_mid_batch_then_restarted(
    sandbox_server: SandboxServer, tmp_path: Path, postgres_url: str
) -> None:
    await _kill_mid_batch_and_restart(
        postgres_url, sandbox_server, tmp_path, ["dispatch-1", "dispatch-2"]
    )
