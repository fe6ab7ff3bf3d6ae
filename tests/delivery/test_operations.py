"""Operations: `python -m bot deliveries` and `python -m bot health`, the heartbeat, and
program-level cron jobs (digest times) that enqueue deliveries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.features.delivery import PROGRAM_JOB_PREFIX, delivery_engine, sync_program_jobs
from bot.models import Delivery, Program
from bot.scheduling import heartbeat, program_cron
from bot.scheduling.clock import ManualClock
from bot.scheduling.engine import DeliveryEngine
from bot.scheduling.kinds import Kind, Rule, register_kind
from bot.scheduling.local_times import Slot
from bot.scheduling.planner import insert_new
from bot.scheduling.rendering import (
    DueDelivery,
    Outgoing,
    RenderContext,
    register_renderer,
    unregister_renderer,
)
from bot.services import Services
from bot.telegram_sandbox import SandboxServer
from tests.cli import run_cli
from tests.delivery.conftest import a_program
from tests.harness import BotHarness

SECOND = timedelta(seconds=1)


def _env(svc: Services) -> dict[str, str]:
    return {"DATABASE_URL": svc.settings.database_url}


async def test_deliveries_shows_counts_the_oldest_due_and_recent_failures(
    services: Services,
) -> None:
    now = datetime.now(UTC)
    error = "Bad Request: chat not found"
    rows: list[dict[str, Any]] = [
        {"kind": "checkin", "status": "sent", "dedupe_key": "a", "due_at": now},
        {"kind": "checkin", "status": "pending", "dedupe_key": "b", "due_at": now - 300 * SECOND},
        {"kind": "alert", "status": "pending", "dedupe_key": "c", "due_at": now + 3600 * SECOND},
        {
            "kind": "alert",
            "status": "failed",
            "dedupe_key": "d",
            "due_at": now,
            "last_error": error,
        },
    ]
    common = {"recipient_chat_id": 1, "payload": {}, "attempts": 1, "created_at": now}
    common["last_error"] = None  # one INSERT for all rows: every row names every column
    async with services.engine.begin() as connection:
        await insert_new(connection, [{**common, "available_at": r["due_at"], **r} for r in rows])
    result = run_cli("deliveries", env=_env(services))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    header, alert_line, checkin_line = out.splitlines()[:3]
    assert header.split() == ["kind", "pending", "claimed", "sending", "sent", "failed", "skipped"]
    assert alert_line.split() == ["alert", "1", "0", "0", "0", "1", "0"]
    assert checkin_line.split() == ["checkin", "1", "0", "0", "1", "0", "0"]
    assert re.search(r"oldest due and unsent: .* UTC \(5m ago\)", out), out
    assert "next due:" in out
    assert "Bad Request: chat not found" in out
    assert "workers: none has ticked" in out


async def test_health_fails_until_a_dispatcher_ticks_and_again_when_it_stops(
    services: Services,
) -> None:
    never = run_cli("health", env=_env(services))
    assert never.returncode == 1
    assert "no dispatcher has ever ticked" in never.stderr
    now = datetime.now(UTC)
    await heartbeat.beat(
        services.engine, worker_id="web.1", role="webhook", started_at=now, now=now
    )
    ok = run_cli("health", env=_env(services))
    assert ok.returncode == 0, ok.stderr
    assert "web.1 (webhook)" in ok.stdout
    stale = now - timedelta(minutes=10)
    await heartbeat.beat(
        services.engine, worker_id="web.1", role="webhook", started_at=stale, now=stale
    )
    late = run_cli("health", "--max-age", "60", env=_env(services))
    assert late.returncode == 1
    assert re.search(r"last ticked 6\d\ds ago", late.stderr), late.stderr
    other = run_cli("health", "--worker", "dispatch.2", env=_env(services))
    assert other.returncode == 1 and "dispatch.2 never" in other.stderr


async def test_a_tick_records_the_heartbeat_and_sends(
    services: Services, engine: DeliveryEngine, clock: ManualClock
) -> None:
    await engine.tick()
    await engine.wait_idle()
    (beat,) = await heartbeat.beats(services.engine)
    assert (beat.worker_id, beat.beat_at) == ("worker-a", clock.now())


# --- program-level cron jobs ---------------------------------------------------------

DIGEST = Kind("digest_test", Rule.at_most_once, grace=timedelta(hours=2), needs_active_client=False)


async def _digest_rows(
    _session: AsyncSession, program: Program, slot: Slot, hhmm: str
) -> list[dict[str, Any]]:
    return [
        {
            "kind": DIGEST.name,
            "recipient_chat_id": program.care_team_chat_id,
            "due_at": slot.at,
            "available_at": slot.at,
            "payload": {"program": program.id},
            "status": "pending",
            "attempts": 0,
            "dedupe_key": f"{DIGEST.name}:{program.id}:{slot.local_date}:{hhmm}",
            "created_at": slot.at,
        }
    ]


async def _render_digest(_ctx: RenderContext, item: DueDelivery) -> Outgoing:
    return Outgoing(f"Digest for program {item.payload['program']}")


@pytest.fixture
def digest_schedule() -> Iterator[None]:
    # This test's schedule alone: the real ones (the digest feature's) step aside.
    others = program_cron.program_schedules()
    for schedule in others:
        program_cron.unregister_program_schedule(schedule.kind)
    register_kind(DIGEST)
    register_renderer(DIGEST.name, _render_digest)
    program_cron.register_program_schedule(
        program_cron.ProgramSchedule(
            kind=DIGEST.name,
            times=lambda p: p.digest_times,
            build=_digest_rows,
            key=lambda p, slot, hhmm: f"{DIGEST.name}:{p.id}:{slot.local_date}:{hhmm}",
        )
    )
    yield
    program_cron.unregister_program_schedule(DIGEST.name)
    unregister_renderer(DIGEST.name)
    for schedule in others:
        program_cron.register_program_schedule(schedule)


async def _program(svc: Services, name: str, zone: str, chat: int, times: list[str]) -> Program:
    program = await a_program(svc, zone)
    async with svc.sessions() as session:
        row = await session.get(Program, program.id)
        assert row is not None
        row.name, row.care_team_chat_id, row.digest_times = name, chat, times
        session.add(row)
        await session.commit()
        await session.refresh(row)
    return row


async def test_program_digest_times_become_cron_jobs_in_the_programs_zone(
    bot: BotHarness, digest_schedule: None
) -> None:
    london = await _program(bot.services, "London IOP", "Europe/London", -100501, ["08:00"])
    await sync_program_jobs(bot.application)
    assert bot.application.job_queue is not None
    jobs = {
        j.name: j for j in bot.application.job_queue.jobs() if j.name.startswith(PROGRAM_JOB_PREFIX)
    }
    job = jobs[f"program:{london.id}:digest_test:08:00"]
    assert job.next_t is not None
    local = job.next_t.astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
    assert (local.hour, local.minute) == (8, 0)
    # A changed time replaces the job; no per-client job exists at all.
    async with bot.services.sessions() as session:
        row = await session.get(Program, london.id)
        assert row is not None
        row.digest_times = ["17:30"]
        session.add(row)
        await session.commit()
    await sync_program_jobs(bot.application)
    names = {j.name for j in bot.application.job_queue.jobs() if not j.removed}
    assert f"program:{london.id}:digest_test:17:30" in names
    assert f"program:{london.id}:digest_test:08:00" not in names
    assert all(n.startswith(("program:", "delivery.", "inbox.")) for n in names if n)


async def test_a_cron_fire_enqueues_once_and_a_restart_catches_up(
    services: Services,
    sandbox_server: SandboxServer,
    engine: DeliveryEngine,
    clock: ManualClock,
    digest_schedule: None,
) -> None:
    ny = await _program(services, "NY IOP", "America/New_York", -100601, ["08:00"])
    tokyo = await _program(services, "Tokyo IOP", "Asia/Tokyo", -100602, ["09:00"])
    for chat in (-100601, -100602):
        sandbox_server.state.group_chat(chat, "Care team")
    specs = {s.program_id: s for s in program_cron.cron_specs([ny, tokyo])}
    clock.set(datetime(2026, 6, 10, 12, 0, 1, tzinfo=UTC))  # 08:00:01 in New York
    assert (
        await program_cron.enqueue(services.engine, services.sessions, specs[ny.id], clock.now())
        == 1
    )
    assert (
        await program_cron.enqueue(services.engine, services.sessions, specs[ny.id], clock.now())
        == 0
    )
    # A worker starting at 14:00 UTC: New York's 08:00 is enqueued already; Tokyo's
    # 09:00 (00:00 UTC) is 14 hours ago, beyond the catch-up: nothing.
    clock.set(datetime(2026, 6, 10, 14, 0, tzinfo=UTC))
    assert await program_cron.catch_up(services.engine, services.sessions, clock.now()) == 0
    # Down over Tokyo's 09:00 (00:00 UTC on the 11th), started at 01:30 UTC: caught up.
    clock.set(datetime(2026, 6, 11, 1, 30, tzinfo=UTC))
    assert await program_cron.catch_up(services.engine, services.sessions, clock.now()) == 1
    await engine.tick()
    await engine.wait_idle()
    async with services.sessions() as session:
        rows = (await session.exec(select(Delivery).where(Delivery.kind == DIGEST.name))).all()
    assert sorted((r.dedupe_key, r.status.value) for r in rows) == [
        (f"digest_test:{ny.id}:2026-06-10:08:00", "skipped"),  # 13.5 hours late by then
        (f"digest_test:{tokyo.id}:2026-06-11:09:00", "sent"),
    ]


def test_the_engine_is_on_the_application(bot: BotHarness) -> None:
    assert isinstance(delivery_engine(bot.application), DeliveryEngine)
