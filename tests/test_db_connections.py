"""PostgreSQL connections the server dropped while they sat in the pool: one idle for a
while is pinged and replaced before use (bot/db.py), so no handler meets it."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import bot.db
from bot.db import make_engine


async def _server_drops_the_pool(url: str) -> int:
    """Use one pooled connection, then have the server end it (as a restart would)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        killer = make_engine(url)
        try:
            async with killer.connect() as admin:
                await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            await killer.dispose()
        async with engine.connect() as connection:
            return int(await connection.scalar(text("SELECT 41 + 1")))
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    empty_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.db, "PING_AFTER_IDLE", 0.0)
    assert await _server_drops_the_pool(empty_postgres) == 42


@pytest.mark.postgres
async def test_a_connection_in_steady_use_is_not_pinged(
    empty_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Used a moment ago, so no ping: the dropped connection is only found by using it
    # (which is why the idle ones are pinged, and what the ping saves on busy ones).
    monkeypatch.setattr(bot.db, "PING_AFTER_IDLE", 3600.0)
    with pytest.raises(DBAPIError):
        await _server_drops_the_pool(empty_postgres)
