"""Throw-away databases for tests: a migrated template, copied per test.

Migrating once and copying (a file for SQLite, `CREATE DATABASE … TEMPLATE` for
PostgreSQL) keeps each test isolated without paying for the migrations every time.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bot.db import make_engine, upgrade
from bot.settings import normalize_database_url

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("WAYPOINT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def use_postgres() -> bool:
    """The suite's second CI pass runs every database test on PostgreSQL."""
    return os.environ.get("WAYPOINT_TEST_DATABASE", "sqlite") == "postgres"


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def postgres_reachable(url: str | None = None) -> str | None:
    """None when PostgreSQL answers, else the reason it does not (for skip messages)."""
    url = url or postgres_url()
    try:
        connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL is not reachable at {url} ({type(exc).__name__}: {exc})"
    await connection.close()
    return None


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(postgres_url()))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def create_postgres_database(template: str | None = None) -> str:
    """A new, empty (or template-copied) database; returns its async URL."""
    name = f"waypoint_t_{uuid.uuid4().hex[:12]}"
    clause = f" TEMPLATE {template}" if template else ""
    await _admin(f"CREATE DATABASE {name}{clause}")
    return normalize_database_url(_asyncpg_dsn(postgres_url(), name))


async def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def migrated_url(url: str) -> str:
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return url


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def copy_sqlite(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return sqlite_url(target)
