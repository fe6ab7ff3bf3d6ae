"""The planner: Delivery rows for each active client's daily check-in, created once per
local date whatever the time zone or the daylight-saving calendar does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from bot.models import Client, ClientStatus, Delivery, DeliveryStatus
from bot.scheduling import planner
from bot.scheduling.planner import PlanConfig, plan, plan_client, plan_window
from bot.services import Services
from bot.telegram_sandbox import SandboxServer
from tests.delivery.conftest import a_program, enrolled_client


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def _rows(svc: Services, kind: str | None = "checkin") -> list[Delivery]:
    async with svc.sessions() as session:
        query = select(Delivery).order_by(col(Delivery.due_at), col(Delivery.id))
        if kind:
            query = query.where(Delivery.kind == kind)
        return list((await session.exec(query)).all())


async def _set_status(svc: Services, client_id: int | None, status: ClientStatus) -> None:
    async with svc.sessions() as session:
        row = await session.get(Client, client_id)
        assert row is not None
        row.status = status
        session.add(row)
        await session.commit()


async def _window(svc: Services, start: datetime, end: datetime) -> dict[str, int]:
    async with svc.engine.begin() as connection:
        return await plan_window(connection, start, end)


async def test_planning_twice_creates_nothing_new(
    services: Services, sandbox_server: SandboxServer
) -> None:
    program = await a_program(services)
    for user in (101, 102, 103):
        await enrolled_client(services, sandbox_server, program, user, checkin_time="20:00")
    day = (_utc(2026, 6, 10, 12), _utc(2026, 6, 11, 12))
    first = await _window(services, *day)
    assert first == {"checkin": 3, "checkin_nudge": 3}
    assert await _window(services, *day) == {"checkin": 0, "checkin_nudge": 0}
    # Overlapping windows and the cursor-driven planner add nothing either.
    assert await _window(services, day[0] + timedelta(hours=6), day[1]) == {
        "checkin": 0,
        "checkin_nudge": 0,
    }
    rows = await _rows(services)
    assert len(rows) == 3
    assert {r.dedupe_key for r in rows} == {f"checkin:{r.client_id}:2026-06-10" for r in rows}
    assert all(r.due_at == _utc(2026, 6, 11, 0) for r in rows)  # 20:00 EDT
    assert all(r.expires_at == _utc(2026, 6, 11, 4) for r in rows)  # local midnight
    nudges = await _rows(services, "checkin_nudge")
    assert all(n.due_at == _utc(2026, 6, 11, 2) for n in nudges)  # two hours later


async def test_the_cursor_plans_each_slot_once_and_catches_up_after_downtime(
    services: Services, sandbox_server: SandboxServer
) -> None:
    program = await a_program(services)
    await enrolled_client(services, sandbox_server, program, 201, checkin_time="09:00")
    config = PlanConfig(lookahead=timedelta(minutes=3))
    now = _utc(2026, 6, 10, 12)  # 08:00 EDT
    first = await plan(services.engine, now, config)
    assert first is not None and first.total == 0
    # Ticks every few seconds until 09:00 EDT: the slot is planned exactly once.
    created = 0
    for step in range(0, 3700, 5):
        report = await plan(services.engine, now + timedelta(seconds=step), config)
        assert report is not None
        created += report.created.get("checkin", 0)
    assert created == 1
    # Every worker down for three days: the next start plans what fell due meanwhile
    # (the dispatcher then sends or skips each by its grace).
    later = now + timedelta(days=3)
    report = await plan(services.engine, later, config)
    assert report is not None
    assert report.created == {"checkin": 2, "checkin_nudge": 2}  # the 11th and the 12th
    assert [r.payload["local_date"] for r in await _rows(services)] == [
        "2026-06-10",
        "2026-06-11",
        "2026-06-12",
    ]
    # After more than the catch-up limit (a week), older slots are not even recorded.
    report = await plan(services.engine, later + timedelta(days=30), config)
    assert report is not None and report.created["checkin"] == 7


async def test_daylight_saving_in_new_york_and_london(
    services: Services, sandbox_server: SandboxServer
) -> None:
    ny = await a_program(services, "America/New_York")
    skipped = await enrolled_client(services, sandbox_server, ny, 301, checkin_time="02:30")
    repeated = await enrolled_client(services, sandbox_server, ny, 302, checkin_time="01:30")
    london = await enrolled_client(
        services, sandbox_server, ny, 303, checkin_time="01:30", timezone="Europe/London"
    )
    # Plan March through November in windows of 187 minutes (ticks after a restart; a
    # window boundary in the middle of a skipped or repeated hour).
    start, end = _utc(2026, 3, 6), _utc(2026, 11, 3)
    cursor = start
    while cursor < end:
        await _window(services, cursor, cursor + timedelta(minutes=187))
        cursor += timedelta(minutes=187)
    rows = await _rows(services)
    by_client: dict[int | None, dict[str, datetime]] = {}
    for row in rows:
        by_client.setdefault(row.client_id, {})[row.payload["local_date"]] = row.due_at
    days = (end - start).days
    for client in (skipped, repeated, london):
        assert len(by_client[client.id]) in (days, days + 1)  # one per local date
    assert by_client[skipped.id]["2026-03-08"] == _utc(2026, 3, 8, 7, 30)  # 03:30 EDT
    assert by_client[skipped.id]["2026-03-09"] == _utc(2026, 3, 9, 6, 30)  # 02:30 EDT
    assert by_client[repeated.id]["2026-11-01"] == _utc(2026, 11, 1, 5, 30)  # first 01:30
    assert by_client[london.id]["2026-03-29"] == _utc(2026, 3, 29, 1, 30)  # 02:30 BST
    assert by_client[london.id]["2026-10-25"] == _utc(2026, 10, 25, 0, 30)  # first 01:30
    assert by_client[london.id]["2026-10-26"] == _utc(2026, 10, 26, 1, 30)


async def test_utc_plus_13_and_utc_minus_10_on_the_same_day(
    services: Services, sandbox_server: SandboxServer
) -> None:
    program = await a_program(services, "UTC")
    tonga = await enrolled_client(
        services, sandbox_server, program, 401, checkin_time="20:00", timezone="Pacific/Tongatapu"
    )
    honolulu = await enrolled_client(
        services, sandbox_server, program, 402, checkin_time="20:00", timezone="Pacific/Honolulu"
    )
    await _window(services, _utc(2026, 6, 10), _utc(2026, 6, 11))
    rows = {r.client_id: r for r in await _rows(services)}
    assert rows[tonga.id].dedupe_key == f"checkin:{tonga.id}:2026-06-10"
    assert rows[tonga.id].due_at == _utc(2026, 6, 10, 7)
    assert rows[tonga.id].expires_at == _utc(2026, 6, 10, 11)  # Tonga's midnight
    assert rows[honolulu.id].dedupe_key == f"checkin:{honolulu.id}:2026-06-09"
    assert rows[honolulu.id].due_at == _utc(2026, 6, 10, 6)
    assert rows[honolulu.id].expires_at == _utc(2026, 6, 10, 10)


async def test_paused_discharged_unreachable_and_deleted_clients_get_nothing(
    services: Services, sandbox_server: SandboxServer
) -> None:
    program = await a_program(services)
    active = await enrolled_client(services, sandbox_server, program, 501)
    paused = await enrolled_client(services, sandbox_server, program, 502)
    discharged = await enrolled_client(services, sandbox_server, program, 503)
    unreachable = await enrolled_client(services, sandbox_server, program, 504)
    deleted = await enrolled_client(services, sandbox_server, program, 505)
    await _set_status(services, paused.id, ClientStatus.paused)
    await _set_status(services, discharged.id, ClientStatus.discharged)
    await _set_status(services, unreachable.id, ClientStatus.unreachable)
    async with services.engine.begin() as connection:
        await connection.execute(
            sa.delete(Client.__table__).where(Client.__table__.c.id == deleted.id)
        )  # type: ignore[attr-defined]
    await _window(services, _utc(2026, 6, 10), _utc(2026, 6, 12))
    assert {r.client_id for r in await _rows(services, None)} == {active.id}
    # Paused after planning: the row exists, and the dispatcher skips it (test_dispatcher).


async def test_a_client_enrolled_after_the_cursor_passed_is_planned_by_plan_client(
    services: Services, sandbox_server: SandboxServer
) -> None:
    program = await a_program(services)
    now = _utc(2026, 6, 10, 23, 58)  # 19:58 EDT
    await plan(services.engine, now, PlanConfig(lookahead=timedelta(minutes=3)))
    late = await enrolled_client(services, sandbox_server, program, 601, checkin_time="20:00")
    assert late.id is not None
    assert await plan(services.engine, now + timedelta(seconds=5)) is not None
    assert await _rows(services) == []  # the cursor is already past 20:00
    assert (await plan_client(services.engine, late.id, now))["checkin"] == 1
    # A changed time: forget the pending rows, plan again.
    assert await planner.forget_pending(services.engine, late.id, ["checkin", "checkin_nudge"]) == 2
    assert await _rows(services) == []


async def test_a_malformed_schedule_does_not_stop_the_others(
    services: Services, sandbox_server: SandboxServer
) -> None:
    program = await a_program(services)
    good = await enrolled_client(services, sandbox_server, program, 701)
    await enrolled_client(services, sandbox_server, program, 702, timezone="Not/AZone")
    await _window(services, _utc(2026, 6, 10, 12), _utc(2026, 6, 11, 12))
    rows = await _rows(services, None)
    assert {r.client_id for r in rows} == {good.id}
    assert all(r.status is DeliveryStatus.pending for r in rows)
    assert date.fromisoformat(rows[0].payload["local_date"]) == date(2026, 6, 10)
