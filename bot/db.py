"""Engine, sessions and migrations (SQLModel on SQLAlchemy's asyncio API).

The database is the single source of truth (DESIGN.md): a process may die at any
instant and another takes over, so nothing here caches rows between requests.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.settings import REPO_ROOT
from bot.sqlite_one_hop import OneHopConnection, one_hop_dbapi

ALEMBIC_DIR = REPO_ROOT / "alembic"


class SchemaError(Exception):
    """The database schema is missing or does not match this version of Waypoint."""


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, enforced foreign keys and statements run on the
    event loop's thread unless they must wait for a lock (`bot.sqlite_one_hop`).

    `hide_parameters`: a failing statement's error (logged, shown in tracebacks) names
    the statement but not its values, which hold clients' words and names."""
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        if url.startswith("sqlite+aiosqlite"):
            kwargs.setdefault("module", one_hop_dbapi())
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets the dispatcher read while a handler writes; foreign keys are off
            # by default in SQLite and the schema relies on them.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # The one-hop driver waits for locks on its thread, never on the loop.
            waits = 0 if isinstance(dbapi_connection, OneHopConnection) else 30000
            cursor.execute(f"PRAGMA busy_timeout={waits}")
            cursor.close()

        return engine
    engine = create_async_engine(url, **kwargs)
    _ping_after_idle(engine)
    return engine


# A pooled connection idle this long is pinged before use; one in steady use is not.
PING_AFTER_IDLE = 1.0  # seconds


def _ping_after_idle(engine: AsyncEngine) -> None:
    """SQLAlchemy's `pool_pre_ping`, only for connections that sat idle in the pool.

    A connection the server or a firewall dropped shows up after a quiet spell (a server
    restart, an idle timeout); a ping then swaps it for a fresh one before a handler
    uses it. `pool_pre_ping` pings on every checkout: one more round trip on every
    transaction, two of them on the path of every update. Pool events and
    `DisconnectionError` are SQLAlchemy's documented way to do this."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("the connection was lost while idle") from exc


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: rows stay readable after commit without lazy loads,
    # which asyncio cannot do.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session that commits on success and rolls back on error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def alembic_config() -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection  # env.py runs on this connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` on the engine's database.

    SQLite: a migration that rebuilds a table other tables refer to (batch mode: copy,
    drop, rename) fails or cascades with foreign keys on, so they are off for the run
    (the pragma is a no-op inside a transaction, hence before it), checked before the
    commit, and on again before the connection goes back to the pool."""
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        try:
            async with connection.begin():
                await connection.run_sync(_upgrade, revision)
                if sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise SchemaError(f"a migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str
    known: bool  # the current revision is one this code knows

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def schema_state(engine: AsyncEngine) -> SchemaState:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None, "alembic/versions holds no migration"
    async with engine.connect() as connection:
        current = await connection.run_sync(_current_revision)
    known = current is None or current in {rev.revision for rev in script.walk_revisions()}
    return SchemaState(current=current, head=head, known=known)


async def ensure_schema_current(engine: AsyncEngine) -> None:
    """Refuse to run on an unmigrated, older or newer schema, with one clear sentence."""
    state = await schema_state(engine)
    if state.up_to_date:
        return
    if state.current is None:
        raise SchemaError(
            "The database has no Waypoint tables yet: run `python -m bot migrate` first."
        )
    if not state.known:
        raise SchemaError(
            f"The database schema ({state.current}) is newer than this version of Waypoint "
            f"knows ({state.head}): update Waypoint before starting it."
        )
    raise SchemaError(
        f"The database schema ({state.current}) is older than this version of Waypoint "
        f"({state.head}): run `python -m bot migrate` first."
    )
