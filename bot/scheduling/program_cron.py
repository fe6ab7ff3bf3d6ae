"""Program-level times (digests): one cron job per program and time, each enqueuing rows.

A feature registers a `ProgramSchedule` (the digest feature will: kind "digest", times
from `Program.digest_times`). The JobQueue fires at each local time in the program's
zone (bot/features/delivery.py keeps the jobs in step with the Program table); the
callback enqueues Delivery rows under unique keys, so a repeated fire, a second worker
or the catch-up (at start, then every minute) enqueue nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Delivery, Program
from bot.scheduling.local_times import Slot, daily_slots
from bot.scheduling.planner import insert_new

# Rows (dicts of Delivery columns) to enqueue for one program at one slot.
BuildRows = Callable[[AsyncSession, Program, Slot, str], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class ProgramSchedule:
    kind: str
    times: Callable[[Program], Sequence[str]]  # local "HH:MM" in the program's zone
    build: BuildRows
    # The dedupe key of one row `build` makes for a slot: when it exists, the slot is
    # enqueued already and nothing is built (the catch-up asks every minute).
    key: Callable[[Program, Slot, str], str]
    # After a restart, a slot missed by less than this is still enqueued.
    catch_up: timedelta = timedelta(hours=6)


_SCHEDULES: dict[str, ProgramSchedule] = {}


def register_program_schedule(schedule: ProgramSchedule) -> None:
    _SCHEDULES[schedule.kind] = schedule


def unregister_program_schedule(kind: str) -> None:
    _SCHEDULES.pop(kind, None)


def program_schedules() -> list[ProgramSchedule]:
    return list(_SCHEDULES.values())


@dataclass(frozen=True)
class CronSpec:
    """One job: a program's time of one schedule."""

    job_id: str
    program_id: int
    kind: str
    zone: str
    hhmm: str


def cron_specs(programs: Sequence[Program]) -> list[CronSpec]:
    specs = []
    for schedule in program_schedules():
        for program in programs:
            assert program.id is not None
            for hhmm in sorted(set(schedule.times(program))):
                specs.append(
                    CronSpec(
                        job_id=f"program:{program.id}:{schedule.kind}:{hhmm}",
                        program_id=program.id,
                        kind=schedule.kind,
                        zone=program.timezone,
                        hhmm=hhmm,
                    )
                )
    return specs


async def load_programs(session: AsyncSession) -> list[Program]:
    return list((await session.exec(select(Program))).all())


def latest_slot(zone: str, hhmm: str, now: datetime, within: timedelta) -> Slot | None:
    """The most recent slot of `hhmm` at or before `now`, if not older than `within`."""
    slots = daily_slots(zone, hhmm, now - within, now + timedelta(seconds=1))
    return slots[-1] if slots else None


async def enqueue(
    engine: AsyncEngine,
    sessions: Callable[[], AsyncSession],
    spec: CronSpec,
    now: datetime,
) -> int:
    """Enqueue the rows of `spec`'s latest slot (the one that just fired, or the one
    missed while down); returns how many rows were new."""
    schedule = _SCHEDULES.get(spec.kind)
    if schedule is None:
        return 0
    slot = latest_slot(spec.zone, spec.hhmm, now, schedule.catch_up)
    if slot is None:
        return 0
    async with sessions() as session:
        program = await session.get(Program, spec.program_id)
        if program is None:
            return 0
        done = await session.exec(
            select(Delivery.id).where(Delivery.dedupe_key == schedule.key(program, slot, spec.hhmm))
        )
        if done.first() is not None:
            return 0
        rows = await schedule.build(session, program, slot, spec.hhmm)
    if not rows:
        return 0
    async with engine.begin() as connection:
        return await insert_new(connection, rows)


async def catch_up(engine: AsyncEngine, sessions: Callable[[], AsyncSession], now: datetime) -> int:
    """Enqueue every program slot missed within its catch-up: at start (fired while no
    worker ran), and every minute after (a fire lost to a stalled loop, or one
    APScheduler skips: see local_times)."""
    if not _SCHEDULES:
        return 0
    async with sessions() as session:
        programs = await load_programs(session)
    created = 0
    for spec in cron_specs(programs):
        created += await enqueue(engine, sessions, spec, now)
    return created
