"""kill -9 with 8 in flight: a real dispatch worker (`python -m bot dispatch`) with
DELIVERY_IN_FLIGHT=8 is killed with SIGKILL in the middle of a burst of check-in prompts
(at most once) just after alerts to clinicians (at least once) were queued mid-burst.
After a restart under the same WORKER_ID:

- at most 8 prompts are "sent, uncertain" (exactly the ones that were on the way), and
  `python -m bot deliveries` shows them as such;
- no prompt reaches its client twice, and a missing prompt is one recorded as in doubt;
- every alert reaches its clinician's chat. The contract for at-least-once kinds
  (bot/scheduling/dispatcher.py) is "a row whose worker died is sent again": an alert
  may arrive twice, but only one whose claim the killed worker had not finished, and
  never more than once per kill.

SQLite, or PostgreSQL with WAYPOINT_TEST_DATABASE=postgres.
"""

from __future__ import annotations

import re
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
from tests.cli import run_cli
from tests.databases import (
    create_postgres_database,
    drop_postgres_database,
    migrated_url,
    postgres_reachable,
    sqlite_url,
    use_postgres,
)
from tests.delivery.processes import Worker, wait_until, worker_env

IN_FLIGHT = 8
PROMPTS = 400  # at most once, one client chat each
ALERTS = 4  # at least once, one clinician chat each
PROMPT_CHATS = range(500_000, 500_000 + PROMPTS)
CLINICIAN_CHATS = range(600_000, 600_000 + ALERTS)

delivery = Delivery.__table__  # type: ignore[attr-defined]


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    if not use_postgres():
        yield await migrated_url(sqlite_url(tmp_path / "in_flight.db"))
        return
    reason = await postgres_reachable()
    if reason:
        pytest.skip(f"PostgreSQL not reachable: {reason}")
    url = await migrated_url(await create_postgres_database())
    yield url
    await drop_postgres_database(url)


def _row(kind: str, chat: int, key: str, payload: dict[str, str]) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
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


async def _insert(engine: AsyncEngine, rows: list[dict[str, object]]) -> None:
    async with engine.begin() as connection:
        await insert_new(connection, rows)


def _sent(server: SandboxServer, chat: int) -> int:
    state = server.state.chats.get(chat)
    return sum(1 for e in state.events if e["event"] == "sent") if state else 0


async def _statuses(engine: AsyncEngine, kind: str) -> dict[str, str]:
    """dedupe_key -> status, for one kind."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(delivery.c.dedupe_key, delivery.c.status).where(delivery.c.kind == kind)
        )
        return {key: str(status) for key, status in rows}


async def test_kill_9_with_8_in_flight_leaves_at_most_8_uncertain_and_no_lost_alert(
    sandbox_server: SandboxServer, tmp_path: Path, database_url: str
) -> None:
    engine = make_engine(database_url)
    try:
        for chat in (*PROMPT_CHATS, *CLINICIAN_CHATS):
            sandbox_server.state.private_chat(
                sandbox_server.state.upsert_user({"id": chat, "first_name": "P"})
            )
        await _insert(engine, [_row("checkin", c, f"checkin:x:{c}", {}) for c in PROMPT_CHATS])
        async with Sandbox(sandbox_server.url) as driver:
            # Each request waits a little, as Telegram's do: all 8 lanes are out at once.
            await driver.set_faults(latency=0.03, methods=["sendMessage"])
        env = worker_env(
            database_url,
            sandbox_server.url,
            "dispatch-inflight",
            DISPATCH_INTERVAL="0.2",
            TELEGRAM_RATE_LIMIT="0",
            DELIVERY_IN_FLIGHT=str(IN_FLIGHT),
        )
        worker = Worker(["-m", "bot", "dispatch"], env, tmp_path / "worker-1.log")
        try:

            async def burst_under_way() -> bool:
                return sum(_sent(sandbox_server, c) for c in PROMPT_CHATS) >= 60

            await wait_until(burst_under_way, "the burst to be under way", worker)
            # Alerts raised mid-burst: the worker's next tick sends them ahead of it.
            await _insert(
                engine,
                [
                    _row("alert", c, f"alert:{c}", {"text": f"Urgent alert {c}"})
                    for c in CLINICIAN_CHATS
                ],
            )

            async def an_alert_arrived_and_prompts_are_out() -> bool:
                if not any(_sent(sandbox_server, c) for c in CLINICIAN_CHATS):
                    return False
                statuses = (await _statuses(engine, "checkin")).values()
                return sum(s == "sending" for s in statuses) > 1

            await wait_until(
                an_alert_arrived_and_prompts_are_out,
                "an alert to arrive while several prompts are on the way",
                worker,
            )
            worker.kill()
        finally:
            worker.stop()
        prompts_at_kill = await _statuses(engine, "checkin")
        alerts_at_kill = await _statuses(engine, "alert")
        on_the_way = [k for k, s in prompts_at_kill.items() if s == "sending"]
        # Killed mid-burst with several prompts out at once: DELIVERY_IN_FLIGHT is
        # honoured, and never exceeded.
        assert 1 < len(on_the_way) <= IN_FLIGHT, Counter(prompts_at_kill.values())
        assert "pending" in prompts_at_kill.values() or "claimed" in prompts_at_kill.values()
        unfinished_alerts = {k for k, s in alerts_at_kill.items() if s != "sent"}

        restarted = Worker(["-m", "bot", "dispatch"], env, tmp_path / "worker-2.log")
        try:

            async def finished() -> bool:
                statuses = [
                    *(await _statuses(engine, "checkin")).values(),
                    *(await _statuses(engine, "alert")).values(),
                ]
                return all(s in ("sent", "failed", "skipped") for s in statuses)

            await wait_until(finished, "every delivery to be finished", restarted)
        finally:
            restarted.stop()

        async with engine.connect() as connection:
            uncertain = {
                key
                for (key,) in await connection.execute(
                    sa.select(delivery.c.dedupe_key).where(
                        delivery.c.status == "sent", delivery.c.reason.like("uncertain%")
                    )
                )
            }
        # In doubt: exactly the prompts that were on the way, at most DELIVERY_IN_FLIGHT.
        assert uncertain == set(on_the_way)
        assert len(uncertain) <= IN_FLIGHT
        assert set((await _statuses(engine, "checkin")).values()) == {"sent"}

        report = run_cli("deliveries", env={"DATABASE_URL": database_url})
        assert report.returncode == 0, report.stderr
        shown = re.search(r"sent, uncertain \(.*\): checkin (\d+)", report.stdout)
        assert shown is not None, report.stdout
        assert int(shown.group(1)) == len(uncertain) <= IN_FLIGHT

        prompts = {c: _sent(sandbox_server, c) for c in PROMPT_CHATS}
        assert max(prompts.values()) == 1, "a prompt reached its client twice"
        missing = {f"checkin:x:{c}" for c, n in prompts.items() if n == 0}
        assert missing <= uncertain  # a missing prompt is one recorded as in doubt

        alerts = {f"alert:{c}": _sent(sandbox_server, c) for c in CLINICIAN_CHATS}
        assert set((await _statuses(engine, "alert")).values()) == {"sent"}
        assert min(alerts.values()) >= 1, alerts  # no alert lost
        assert max(alerts.values()) <= 2, alerts  # one kill: at most one resend
        resent = {k for k, n in alerts.items() if n == 2}
        assert resent <= unfinished_alerts, (alerts, alerts_at_kill)
    finally:
        await engine.dispose()
