"""Nothing a client typed reaches a log or an unencrypted column (issue 16, defect 7)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.db import make_engine, make_sessionmaker
from bot.models import InboundUpdate
from bot.sealed import configure_encryption
from bot.settings import SettingsError, load_settings
from tests.cli import run_cli
from tests.e2e.conftest import CLIENT, CLINICIAN
from tests.e2e.conftest import team as team
from tests.e2e.test_safety_net import _drained
from tests.harness import BotHarness

WORDS = "my secret words about Maria"
REAL_LOOKING_TOKEN = "1234:" + "a" * 35

log = logging.getLogger("tests.privacy")


@pytest.fixture
def key() -> Iterator[str]:
    value = Fernet.generate_key().decode()
    configure_encryption(value)
    yield value
    configure_encryption(None)


async def test_a_failing_statement_logs_no_client_words(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    payload = json.dumps({"update_id": 1, "message": {"text": WORDS}})
    try:
        async with sessions() as session:
            session.add(InboundUpdate(update_id=1, payload=payload))
            await session.commit()
        with pytest.raises(IntegrityError) as failed:
            async with sessions() as session:
                session.add(InboundUpdate(update_id=1, payload=payload))  # not unique
                await session.commit()
    finally:
        await engine.dispose()
    with caplog.at_level(logging.ERROR):
        log.error("statement failed", exc_info=failed.value)
    assert len(caplog.records) == 1
    assert "secret words" not in caplog.text and "Maria" not in caplog.text
    assert "INSERT INTO inboundupdate" in caplog.text  # the statement is still named


async def test_with_a_key_no_delivery_payload_holds_the_clients_words(
    team: tuple[BotHarness, str],
    key: str,
) -> None:
    bot, code = team
    await bot.person(CLIENT, "Alex").send(f"i want to kill myself tonight, {WORDS}")
    await _drained(bot)
    # The clinician's detail was read back from the payload: the words reach them.
    detail = (await bot.sandbox.messages(CLINICIAN))[-1]
    assert code in detail.text and "kill myself" in detail.text
    async with bot.services.engine.connect() as connection:
        stored = [
            str(row[0]) for row in await connection.execute(text("SELECT payload FROM delivery"))
        ]
    assert stored, "the alert went through the outbox"
    for payload in stored:
        assert "kill myself" not in payload and "Maria" not in payload, payload


def test_with_a_real_token_start_is_refused_without_a_key(tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": REAL_LOOKING_TOKEN, "DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
    assert run_cli("migrate", env=env).returncode == 0
    result = run_cli("run", env=env)
    assert result.returncode == 2
    assert "Waypoint cannot start: ENCRYPTION_KEY is not set" in result.stderr
    assert "WAYPOINT_ALLOW_UNENCRYPTED=1" in result.stderr


def test_running_unencrypted_needs_saying_so_and_the_sandbox_needs_no_key() -> None:
    production = load_settings(read_env_file=False, telegram_bot_token=REAL_LOOKING_TOKEN)
    with pytest.raises(SettingsError, match="ENCRYPTION_KEY is not set"):
        production.require_encryption()
    production.model_copy(update={"waypoint_allow_unencrypted": True}).require_encryption()
    production.model_copy(
        update={"encryption_key": Fernet.generate_key().decode()}
    ).require_encryption()
    sandbox = load_settings(
        read_env_file=False,
        telegram_bot_token=REAL_LOOKING_TOKEN,
        telegram_api_base_url="http://127.0.0.1:8081",
    )
    sandbox.require_encryption()
