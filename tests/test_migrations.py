"""Migrations: an empty database upgrades to a schema that matches the models, on SQLite
and PostgreSQL, and start-up refuses a schema that does not match."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import bot.models  # noqa: F401  (registers the tables)
from bot.db import (
    SchemaError,
    alembic_config,
    ensure_schema_current,
    make_engine,
    schema_state,
    upgrade,
)
from tests.cli import run_cli
from tests.databases import (
    sqlite_url,
)


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _downgrade_to_base(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def _upgrade_and_compare(url: str) -> None:
    engine = make_engine(url)
    try:
        assert (await schema_state(engine)).current is None
        with pytest.raises(SchemaError, match="run `python -m bot migrate` first"):
            await ensure_schema_current(engine)
        await upgrade(engine)
        await ensure_schema_current(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            tables = await connection.run_sync(_tables)
        assert {"program", "clinician", "client", "delivery", "auditevent"} <= tables
        # Down to nothing and up again: every migration is reversible.
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to_base)
            assert await connection.run_sync(_tables) <= {"alembic_version"}
        await upgrade(engine)
        await ensure_schema_current(engine)
    finally:
        await engine.dispose()


async def test_empty_sqlite_upgrades_to_a_schema_matching_the_models(tmp_path: Path) -> None:
    await _upgrade_and_compare(sqlite_url(tmp_path / "empty.db"))


@pytest.mark.postgres
async def test_empty_postgres_upgrades_to_a_schema_matching_the_models(empty_postgres: str) -> None:
    await _upgrade_and_compare(empty_postgres)


async def test_a_newer_schema_is_refused(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SchemaError, match="newer than this version of Waypoint"):
            await ensure_schema_current(engine)
    finally:
        await engine.dispose()


def test_run_refuses_an_unmigrated_database_then_migrate_fixes_it(tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "1234:" + "a" * 35, "DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
    result = run_cli("run", env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "no Waypoint tables yet: run `python -m bot migrate` first" in result.stderr

    migrated = run_cli("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "is at the newest schema" in migrated.stdout
    again = run_cli("migrate", env=env)  # idempotent
    assert again.returncode == 0, again.stderr


def test_run_says_clearly_when_postgres_cannot_be_reached() -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "1234:" + "a" * 35,
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing",
    }
    result = run_cli("run", env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Could not open PostgreSQL at 127.0.0.1:1/nothing" in result.stderr
