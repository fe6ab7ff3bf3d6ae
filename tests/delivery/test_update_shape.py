"""Only updates are stored: the webhook refuses (400) what Telegram would never send, a
bad row left by an older version cannot stall polling, and `health` notices an update
loop that stalled anyway."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.content import Content
from bot.models import InboundStatus, InboundUpdate
from bot.scheduling import heartbeat
from bot.services import Services
from bot.telegram_sandbox import Sandbox, SandboxServer
from bot.updates import update_shape_error
from bot.webhook import SECRET_HEADER, WebhookReceiver
from tests.cli import run_cli
from tests.databases import use_postgres
from tests.delivery.test_webhook import SECRET, webhook_bot  # noqa: F401  (the fixture)
from tests.harness import running_bot

STRANGER = 5550211

_MESSAGE = {
    "message_id": 1,
    "date": 1767225600,
    "chat": {"id": STRANGER, "type": "private", "first_name": "Sam"},
    "from": {"id": STRANGER, "is_bot": False, "first_name": "Sam"},
    "text": "my private words",
}

NOT_UPDATES: list[Any] = [
    [],
    [{"update_id": 1, "message": _MESSAGE}],
    "abc",
    None,
    5,
    {"update_id": "abc", "message": _MESSAGE},
    {"update_id": True, "message": _MESSAGE},
    {"update_id": 1.5, "message": _MESSAGE},
    {"update_id": -1, "message": _MESSAGE},
    {"update_id": 2**63, "message": _MESSAGE},
    {"update_id": 7},
    {"update_id": 7, "message": "text"},
    {"message": _MESSAGE},
]


@pytest.mark.parametrize("body", NOT_UPDATES, ids=lambda body: json.dumps(body)[:40])
def test_what_telegram_never_sends_is_not_an_update(body: Any) -> None:
    assert update_shape_error(body) is not None


def test_an_update_as_telegram_sends_it_is_one() -> None:
    assert update_shape_error({"update_id": 900001, "message": _MESSAGE}) is None


async def _inbox(svc: Services) -> list[InboundUpdate]:
    async with svc.sessions() as session:
        return list((await session.exec(select(InboundUpdate))).all())


async def test_the_webhook_answers_400_to_what_is_not_an_update_and_stores_nothing(
    webhook_bot: tuple[WebhookReceiver, Sandbox],  # noqa: F811
    services: Services,
    sandbox_server: SandboxServer,
) -> None:
    receiver, _ = webhook_bot
    async with httpx.AsyncClient(timeout=30) as http:
        for body in NOT_UPDATES:
            answer = await http.post(
                f"{receiver.url}{receiver.path}", json=body, headers={SECRET_HEADER: SECRET}
            )
            assert answer.status_code == 400, (body, answer.status_code, answer.text)
    assert await _inbox(services) == []
    assert STRANGER not in sandbox_server.state.chats


async def _store_bad_rows(svc: Services) -> list[int]:
    """Rows an older version could store, or a damaged database holds: not updates."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {"update_id": 41, "payload": "not json"},
        {"update_id": 42, "payload": json.dumps({"update_id": 42})},
        {"update_id": 43, "payload": json.dumps(["a list"])},
    ]
    if not use_postgres():
        # SQLite stores a text id in the integer column as it is.
        rows.append({"update_id": "abc", "payload": json.dumps({"update_id": "abc"})})
    table = InboundUpdate.__table__  # type: ignore[attr-defined]
    async with svc.engine.begin() as connection:
        for row in rows:
            await connection.execute(
                sa.insert(table).values(
                    chat_id=STRANGER,
                    status=InboundStatus.received.value,
                    received_at=now,
                    attempts=1,
                    **row,
                )
            )
    return [int(r["update_id"]) for r in rows if isinstance(r["update_id"], int)]


async def test_bad_stored_rows_are_set_aside_and_polling_goes_on(
    services: Services, sandbox_server: SandboxServer, content: Content
) -> None:
    await _store_bad_rows(services)
    async with running_bot(services, sandbox_server) as bot:
        sam = bot.person(STRANGER, "Sam")
        for _ in range(3):
            (reply,) = await sam.send("hello")
            assert reply.text == content.language("en").ui.welcome
    rows = await _inbox(services)
    bad = [r for r in rows if r.chat_id == STRANGER or r.payload is not None]
    assert bad == [], "a bad row was left to be handled again"
    failed = [r for r in rows if r.status is InboundStatus.failed]
    assert len(failed) == (3 if use_postgres() else 4)
    assert len([r for r in rows if r.status is InboundStatus.done]) == 3


async def test_health_reports_an_update_waiting_too_long(services: Services) -> None:
    env = {"DATABASE_URL": services.settings.database_url}
    now = datetime.now(UTC)
    await heartbeat.beat(
        services.engine, worker_id="web.1", role="webhook", started_at=now, now=now
    )
    # A slow machine runs the command for long: the dispatcher's tick is not the point.
    ok = run_cli("health", "--max-age", "3600", env=env)
    assert ok.returncode == 0, ok.stderr
    async with services.sessions() as session:
        session.add(
            InboundUpdate(
                update_id=5,
                payload=json.dumps({"update_id": 5, "message": _MESSAGE}),
                received_at=now - timedelta(minutes=10),
            )
        )
        await session.commit()
    stalled = run_cli("health", "--max-age", "3600", env=env)
    assert stalled.returncode == 1, stalled.stdout
    assert "update loop is stalled" in stalled.stderr
    patient = run_cli("health", "--max-age", "3600", "--max-update-age", "3600", env=env)
    assert patient.returncode == 0, patient.stderr


def test_health_exits_1_when_the_database_is_down() -> None:
    # Nothing listens on port 1: the database refuses the connection.
    env = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/waypoint"}
    result = run_cli("health", env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("Waypoint is unhealthy:")
