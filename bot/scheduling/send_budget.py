"""Telegram's overall cap as send slots: one process alone (SQLite) or shared by every
worker through the database (PostgreSQL).

A slot is an instant at which one request may go out; slots are `1 / rate` apart
(GCRA, "leased per-second slots"). A worker reserves a few slots at a time, only as
many as it has requests waiting, so an idle worker holds none: one worker alone uses
the whole budget, several together never exceed it. Slots in the past are never
handed out, so nothing is saved up for a burst. A 429 pauses the budget for its
`retry_after`, for every worker. On PostgreSQL the slots are kept on the database's
clock (`clock_timestamp()`), so the workers' own clocks need not agree.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import SendBudget

budget_table = SendBudget.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Slots:
    """`count` slots, the first `first` seconds from now (on the loop's clock: this
    process's monotonic time), then one every `interval` seconds."""

    first: float
    count: int
    interval: float


class Budget(Protocol):
    rate: float

    async def reserve(self, count: int) -> Slots: ...

    async def pause(self, seconds: float) -> None: ...


# Slots are spaced for 97% of the rate: a request goes out a few milliseconds after its
# slot (the event loop, the network), and on PostgreSQL each worker turns the database's
# clock into its own with an error of half a round trip. The margin keeps any one second
# at Telegram under the cap despite both.
HEADROOM = 0.97


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class LocalBudget:
    """The budget of one process (SQLite deployments, tests, a static split)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = 0.0
        self._paused_until = 0.0

    @property
    def interval(self) -> float:
        return 1.0 / (self.rate * HEADROOM) if self.rate > 0 else 0.0

    async def reserve(self, count: int) -> Slots:
        now = _loop_time()
        first = max(self._next, self._paused_until, now)
        self._next = first + count * self.interval
        return Slots(first, count, self.interval)

    async def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, _loop_time() + seconds)


_NOW = sa.literal_column("extract(epoch from clock_timestamp())", sa.Float)


class DatabaseBudget:
    """The budget shared by every worker of one bot through a PostgreSQL row."""

    def __init__(self, engine: AsyncEngine, rate: float, *, name: str = "telegram") -> None:
        self.engine = engine
        self.rate = rate
        self.name = name
        self._ready = False

    @property
    def interval(self) -> float:
        return 1.0 / (self.rate * HEADROOM) if self.rate > 0 else 0.0

    async def _ensure_row(self) -> None:
        if self._ready:
            return
        from sqlalchemy.dialects import postgresql

        async with self.engine.begin() as connection:
            await connection.execute(
                postgresql.insert(budget_table)
                .values(name=self.name, next_at=0.0, paused_until=0.0)
                .on_conflict_do_nothing(index_elements=["name"])
            )
        self._ready = True

    async def reserve(self, count: int) -> Slots:
        await self._ensure_row()
        span = count * self.interval
        start = sa.func.greatest(budget_table.c.next_at, budget_table.c.paused_until, _NOW)
        statement = (
            sa.update(budget_table)
            .where(budget_table.c.name == self.name)
            .values(next_at=start + span)
            .returning(budget_table.c.next_at, _NOW.label("now"))
        )
        asked = time.monotonic()
        async with self.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            row = (await connection.execute(statement)).one()
        # The database's "now" was read during the round trip: count from its middle.
        local_now = _loop_time() - (time.monotonic() - asked) / 2
        first = float(row.next_at) - span - float(row.now)
        return Slots(local_now + first, count, self.interval)

    async def pause(self, seconds: float) -> None:
        await self._ensure_row()
        async with self.engine.begin() as connection:
            await connection.execute(
                sa.update(budget_table)
                .where(budget_table.c.name == self.name)
                .values(paused_until=sa.func.greatest(budget_table.c.paused_until, _NOW + seconds))
            )


def budget_for(engine: AsyncEngine | None, rate: float) -> Budget:
    """Shared through the database on PostgreSQL; this process's own otherwise."""
    if engine is not None and engine.dialect.name == "postgresql":
        return DatabaseBudget(engine, rate)
    return LocalBudget(rate)
