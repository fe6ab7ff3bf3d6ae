"""Migration 0011_alerts on a SQLite database with data: the tables whose ids buttons name
are rebuilt as AUTOINCREMENT, every row and reference survives, foreign keys are on
again afterwards, and a deleted last id is never given out again (issue 16, defect 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.db import make_engine, upgrade
from tests.databases import sqlite_url

NOW = "2026-01-01 00:00:00"


async def test_rebuilt_tables_keep_their_rows_and_never_reuse_an_id(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "old.db"))
    try:
        await upgrade(engine, "0010")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO program (id, name, timezone, region, digest_times,"
                    " on_call_24_7, escalate_after_minutes, created_at)"
                    f" VALUES (1, 'P', 'UTC', 'US', '[]', 0, 15, '{NOW}')"
                )
            )
            for client_id, code in ((1, "AAA-1"), (2, "BBB-2")):
                await connection.execute(
                    text(
                        "INSERT INTO client (id, program_id, code, status, language,"
                        " session_reminders, medication_reminders, checkin_medicine,"
                        " medication_times, care_stage, created_at)"
                        f" VALUES ({client_id}, 1, '{code}', 'active', 'en', 1, 0, 0, '[]',"
                        f" 'iop', '{NOW}')"
                    )
                )
                await connection.execute(
                    text(
                        "INSERT INTO alert (id, program_id, client_id, tier, category, rule,"
                        " source, raised_at, high_priority)"
                        f" VALUES ({client_id}, 1, {client_id}, 'urgent', 'x', 'r', 'message',"
                        f" '{NOW}', 0)"
                    )
                )
            await connection.execute(
                text(
                    "INSERT INTO alertaction (alert_id, action, at)"
                    f" VALUES (2, 'acknowledged', '{NOW}')"
                )
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            schema = (
                await connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
                )
            ).all()
            rows = (await connection.execute(text("SELECT id, client_id, token FROM alert"))).all()
            actions = (await connection.execute(text("SELECT alert_id FROM alertaction"))).all()
            (foreign_keys,) = (await connection.execute(text("PRAGMA foreign_keys"))).one()
        sql = dict(schema)
        for table in ("alert", "client", "clinician", "delivery", "sessionseries"):
            assert "AUTOINCREMENT" in sql[table], table
        assert rows == [(1, 1, ""), (2, 2, "")]  # old alerts keep their old buttons working
        assert actions == [(2,)]
        assert foreign_keys == 1
        # The last alert and client are erased; new ones get new ids.
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM alertaction"))
            await connection.execute(text("DELETE FROM alert WHERE id = 2"))
            await connection.execute(text("DELETE FROM client WHERE id = 2"))
            await connection.execute(
                text(
                    "INSERT INTO client (program_id, code, status, language, session_reminders,"
                    " medication_reminders, checkin_medicine, medication_times, care_stage,"
                    " created_at)"
                    f" VALUES (1, 'CCC-3', 'active', 'en', 1, 0, 0, '[]', 'iop', '{NOW}')"
                )
            )
            client_id = (await connection.execute(text("SELECT max(id) FROM client"))).scalar()
            await connection.execute(
                text(
                    "INSERT INTO alert (program_id, client_id, tier, category, rule, source,"
                    f" raised_at, high_priority, token) VALUES (1, {client_id}, 'urgent', 'x',"
                    f" 'r', 'message', '{NOW}', 0, 'abcd1234')"
                )
            )
            alert_id = (await connection.execute(text("SELECT max(id) FROM alert"))).scalar()
        assert (client_id, alert_id) == (3, 3)
        # Foreign keys are enforced again on the migrating connection's pool.
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        f"INSERT INTO alertaction (alert_id, action, at) VALUES (99, 'x', '{NOW}')"
                    )
                )
    finally:
        await engine.dispose()
