"""The planner: turns each active client's schedule into Delivery rows due soon.

Every slot has a unique dedupe key (`checkin:{client}:{local date}`), and rows are
inserted with ON CONFLICT DO NOTHING, so planning twice, or in two workers at once,
creates nothing new. A cursor row remembers how far ahead planning has gone; the next
run starts there, so the slots that fell due while every worker was down are planned
too (and then sent or skipped by their grace).

Clients are grouped by (time zone, check-in time): the calendar arithmetic runs once
per group, not once per client, and ten thousand clients due at one minute cost one
query and a few multi-row INSERTs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.models import Client, ClientStatus, Delivery, DeliveryStatus, PlannerCursor, Program
from bot.scheduling.kinds import CHECKIN, CHECKIN_NUDGE, NUDGE_AFTER
from bot.scheduling.local_times import Slot, daily_slots, end_of_local_day

delivery = Delivery.__table__  # type: ignore[attr-defined]
client_t = Client.__table__  # type: ignore[attr-defined]
program_t = Program.__table__  # type: ignore[attr-defined]
cursor_t = PlannerCursor.__table__  # type: ignore[attr-defined]

log = logging.getLogger("bot.delivery")

CURSOR = "daily"
_INSERT_CHUNK = 500  # rows per execute: SQLAlchemy splits them to fit the bound-value limit


@dataclass(frozen=True)
class PlanConfig:
    # How far ahead rows are created: a few minutes, so a change of check-in time or a
    # pause is seen by the next plan, and a worker that starts late still sends on time.
    lookahead: timedelta = timedelta(minutes=3)
    # After an outage, the slots missed are still recorded (then skipped as late, so
    # the care team can see what clients did not get); beyond this, not even that.
    max_catch_up: timedelta = timedelta(days=7)


@dataclass
class PlanReport:
    start: datetime
    end: datetime
    created: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.created.values())


def _zone() -> Any:
    return sa.func.coalesce(client_t.c.timezone, program_t.c.timezone)


def _planned(*columns: Any) -> Any:
    """Active clients with a chat and a check-in time (their zone: their own, else
    their program's)."""
    return (
        sa.select(*columns)
        .select_from(client_t.join(program_t, program_t.c.id == client_t.c.program_id))
        .where(
            client_t.c.status == ClientStatus.active.value,
            client_t.c.chat_id.is_not(None),
            client_t.c.checkin_time.is_not(None),
        )
    )


def checkin_rows(
    zone: str, hhmm: str, start: datetime, end: datetime, days: str | None = None
) -> list[tuple[str, Slot, datetime, datetime]]:
    """(kind, slot, due_at, expires_at) of the check-in prompts due in [start, end) for
    one (zone, time) group, each with its nudge (pure).

    `days` (ISO weekdays, "135" = Mon, Wed, Fri) limits the prompts to those local
    weekdays, e.g. after a step-down to aftercare; None plans every day.

    The nudge is created with its prompt, two hours ahead of its own time, so a message
    from the client in between can cancel it (bot/scheduling/builtin_kinds.py).
    """
    rows: list[tuple[str, Slot, datetime, datetime]] = []
    weekdays = {int(c) for c in days if c in "1234567"} if days else None
    for slot in daily_slots(zone, hhmm, start, end):
        if weekdays is not None and slot.local_date.isoweekday() not in weekdays:
            continue
        day_end = end_of_local_day(zone, slot.local_date)
        rows.append((CHECKIN.name, slot, slot.at, day_end))
        nudge_due = slot.at + NUDGE_AFTER
        if nudge_due < day_end:  # a nudge never crosses into the client's next day
            rows.append((CHECKIN_NUDGE.name, slot, nudge_due, day_end))
    return rows


async def plan_window(
    connection: AsyncConnection,
    start: datetime,
    end: datetime,
    *,
    client_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Create the rows due in [start, end); returns how many were new, per kind.

    The calendar runs once per (zone, time) group; only the groups with a slot in the
    window fetch their clients, so a tick costs little however many clients there are.
    """
    groups = _planned(
        _zone().label("zone"), client_t.c.checkin_time, client_t.c.checkin_days
    ).distinct()
    if client_ids is not None:
        groups = groups.where(client_t.c.id.in_(client_ids))
    created: dict[str, int] = {}
    for zone, hhmm, days in (await connection.execute(groups)).all():
        try:
            planned = checkin_rows(zone, hhmm, start, end, days)
        except (ValueError, KeyError):  # a malformed time or zone must not stop the rest
            continue
        if not planned:
            continue
        members_query = _planned(client_t.c.id, client_t.c.chat_id).where(
            _zone() == zone,
            client_t.c.checkin_time == hhmm,
            client_t.c.checkin_days.is_(None) if days is None else client_t.c.checkin_days == days,
        )
        if client_ids is not None:
            members_query = members_query.where(client_t.c.id.in_(client_ids))
        members = (await connection.execute(members_query)).all()
        for kind, slot, due, expires in planned:
            values = (
                {
                    "kind": kind,
                    "recipient_chat_id": chat_id,
                    "client_id": client_id,
                    "due_at": due,
                    "available_at": due,
                    "expires_at": expires,
                    "payload": {"local_date": slot.local_date.isoformat()},
                    "status": DeliveryStatus.pending.value,
                    "attempts": 0,
                    "dedupe_key": f"{kind}:{client_id}:{slot.local_date.isoformat()}",
                    "created_at": now or start,
                }
                for client_id, chat_id in members
            )
            new = await insert_new(connection, values)
            created[kind] = created.get(kind, 0) + new
    return created


# Other features' planning (session and daily reminders): each is called with the
# window just planned, after the cursor's transaction, and owns its own transactions.
# Same contract as plan_window: rows due in [start, end), unique keys, safe to repeat.
# (engine, start, end, now, content): content is None where no content is loaded.
PlanStep = Callable[[AsyncEngine, datetime, datetime, datetime, Any], Awaitable[dict[str, int]]]
_STEPS: dict[str, PlanStep] = {}


def register_plan_step(name: str, step: PlanStep) -> None:
    _STEPS[name] = step


async def run_plan_steps(
    engine: AsyncEngine, start: datetime, end: datetime, now: datetime, content: Any = None
) -> dict[str, int]:
    created: dict[str, int] = {}
    for name, step in list(_STEPS.items()):
        try:
            for kind, count in (await step(engine, start, end, now, content)).items():
                created[kind] = created.get(kind, 0) + count
        except Exception:  # one feature's failure must not stop check-ins or the others
            log.exception("plan step %s failed; the next tick tries again", name)
    return created


async def insert_new(connection: AsyncConnection, rows: Iterable[dict[str, Any]]) -> int:
    """INSERT … ON CONFLICT (dedupe_key) DO NOTHING, in chunks; returns rows created.

    The rows go as parameters of one cached statement (SQLAlchemy's "insertmanyvalues"
    batches them into multi-row INSERTs), not as literal VALUES built into a new
    statement per chunk: compiling those cost more than the inserts."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(delivery)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(delivery.c.id)
    )
    created = 0
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == _INSERT_CHUNK:
            created += len((await connection.execute(statement, chunk)).all())
            chunk = []
    if chunk:
        created += len((await connection.execute(statement, chunk)).all())
    return created


async def _lock_cursor(connection: AsyncConnection, now: datetime) -> datetime | None:
    """The cursor, locked for this transaction; None if another worker is planning."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    await connection.execute(
        insert(cursor_t)
        .values(name=CURSOR, planned_until=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    query = sa.select(cursor_t.c.planned_until).where(cursor_t.c.name == CURSOR)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return (await connection.execute(query)).scalar_one_or_none()


async def plan(
    engine: AsyncEngine, now: datetime, config: PlanConfig | None = None, content: Any = None
) -> PlanReport | None:
    """Plan from the cursor to now + lookahead; None when another worker is planning."""
    config = config or PlanConfig()
    async with engine.begin() as connection:
        planned_until = await _lock_cursor(connection, now)
        if planned_until is None:
            return None
        start = max(planned_until, now - config.max_catch_up)
        end = now + config.lookahead
        report = PlanReport(start=start, end=end)
        if end <= start:
            return report
        report.created = await plan_window(connection, start, end, now=now)
        await connection.execute(
            sa.update(cursor_t).where(cursor_t.c.name == CURSOR).values(planned_until=end)
        )
    if _STEPS:
        for kind, count in (await run_plan_steps(engine, start, end, now, content)).items():
            report.created[kind] = report.created.get(kind, 0) + count
    return report


async def plan_client(
    engine: AsyncEngine, client_id: int, now: datetime, config: PlanConfig | None = None
) -> dict[str, int]:
    """Plan one client's slots up to where the planner has already gone (call after
    enrolling a client or changing their check-in time: the cursor does not look back)."""
    config = config or PlanConfig()
    async with engine.begin() as connection:
        planned_until = (
            await connection.execute(
                sa.select(cursor_t.c.planned_until).where(cursor_t.c.name == CURSOR)
            )
        ).scalar_one_or_none()
        end = max(planned_until or now, now + config.lookahead)
        return await plan_window(connection, now, end, client_ids=[client_id], now=now)


async def forget_pending(engine: AsyncEngine, client_id: int, kinds: Sequence[str]) -> int:
    """Delete a client's not-yet-sent rows of some kinds, before re-planning a changed
    schedule (deleted, not skipped: a skipped row would keep its slot's dedupe key)."""
    async with engine.begin() as connection:
        result = await connection.execute(
            sa.delete(delivery).where(
                delivery.c.client_id == client_id,
                delivery.c.kind.in_(kinds),
                delivery.c.status == DeliveryStatus.pending.value,
            )
        )
        return result.rowcount
