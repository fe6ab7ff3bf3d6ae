"""Each worker's last dispatcher tick: `python -m bot health` reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import WorkerHeartbeat

heartbeat = WorkerHeartbeat.__table__  # type: ignore[attr-defined]


async def beat(
    engine: AsyncEngine, *, worker_id: str, role: str, started_at: datetime, now: datetime
) -> None:
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    statement = insert(heartbeat).values(
        worker_id=worker_id, role=role, started_at=started_at, beat_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["worker_id"],
        set_={"beat_at": now, "role": role, "started_at": started_at},
    )
    async with engine.begin() as connection:
        await connection.execute(statement)


@dataclass(frozen=True)
class Beat:
    worker_id: str
    role: str
    started_at: datetime
    beat_at: datetime


async def beats(engine: AsyncEngine) -> list[Beat]:
    async with engine.connect() as connection:
        rows = (
            await connection.execute(sa.select(heartbeat).order_by(heartbeat.c.beat_at.desc()))
        ).all()
    return [Beat(r.worker_id, r.role, r.started_at, r.beat_at) for r in rows]


async def forget_old(engine: AsyncEngine, before: datetime) -> None:
    async with engine.begin() as connection:
        await connection.execute(sa.delete(heartbeat).where(heartbeat.c.beat_at < before))
