"""Webhook mode: Telegram (the sandbox) posts updates with the secret header; a request
without the right secret is refused and not processed."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.app import build_application
from bot.content import Content
from bot.models import InboundStatus, InboundUpdate
from bot.services import Services
from bot.telegram_sandbox import Sandbox, SandboxServer
from bot.updates import HandledUpdates, PerChatUpdateProcessor
from bot.webhook import SECRET_HEADER, WebhookReceiver, serving_webhook
from tests.cli import run_cli
from tests.delivery.processes import Worker, wait_until, worker_env
from tests.harness import TEST_TOKEN

SECRET = "s3cret_for-tests"
STRANGER = 5550201

_UPDATE = {
    "update_id": 900001,
    "message": {
        "message_id": 1,
        "date": 1767225600,
        "chat": {"id": STRANGER, "type": "private", "first_name": "Sam"},
        "from": {"id": STRANGER, "is_bot": False, "first_name": "Sam"},
        "text": "/start",
    },
}


@pytest.fixture
async def webhook_bot(
    services: Services, sandbox_server: SandboxServer
) -> AsyncIterator[tuple[WebhookReceiver, Sandbox]]:
    handled = HandledUpdates()
    processor = PerChatUpdateProcessor()
    processor.done_hooks.append(handled.mark)
    application = build_application(services, TEST_TOKEN, processor=processor)
    async with (
        serving_webhook(application, url=None, secret=SECRET, host="127.0.0.1", port=0) as receiver,
        Sandbox(sandbox_server.url, settle=handled.wait) as driver,
    ):
        yield receiver, driver


async def _inbox(svc: Services) -> list[InboundUpdate]:
    async with svc.sessions() as session:
        return list((await session.exec(select(InboundUpdate))).all())


@pytest.mark.parametrize("header", [None, "", "wrong-secret", SECRET + "x"])
async def test_a_request_without_the_right_secret_is_refused_and_not_processed(
    webhook_bot: tuple[WebhookReceiver, Sandbox],
    services: Services,
    sandbox_server: SandboxServer,
    header: str | None,
) -> None:
    receiver, _ = webhook_bot
    headers = {SECRET_HEADER: header} if header is not None else {}
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(f"{receiver.url}{receiver.path}", json=_UPDATE, headers=headers)
    assert answer.status_code == 401
    assert await _inbox(services) == []
    assert STRANGER not in sandbox_server.state.chats  # no handler answered


async def test_a_request_with_the_secret_is_stored_before_the_answer_and_handled(
    webhook_bot: tuple[WebhookReceiver, Sandbox],
    services: Services,
    sandbox_server: SandboxServer,
    content: Content,
) -> None:
    receiver, _ = webhook_bot
    sandbox_server.state.private_chat(
        sandbox_server.state.upsert_user({"id": STRANGER, "first_name": "Sam"})
    )
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{receiver.url}{receiver.path}", json=_UPDATE, headers={SECRET_HEADER: SECRET}
        )
        # Telegram retries a delivery it thinks failed: the same update is handled once.
        again = await http.post(
            f"{receiver.url}{receiver.path}", json=_UPDATE, headers={SECRET_HEADER: SECRET}
        )
    assert (answer.status_code, again.status_code) == (200, 200)
    # The answer waits for the handling (so a chat's next update comes after it).
    (row,) = await _inbox(services)
    assert (row.update_id, row.status) == (900001, InboundStatus.done)
    events = sandbox_server.state.chats[STRANGER].events
    assert [e["text"] for e in events] == [content.language("en").ui.welcome]


async def test_updates_through_the_webhook_reach_the_handlers(
    webhook_bot: tuple[WebhookReceiver, Sandbox], sandbox_server: SandboxServer, content: Content
) -> None:
    receiver, driver = webhook_bot
    webhook = sandbox_server.state.webhook
    assert webhook is not None and webhook["url"] == f"{receiver.url}{receiver.path}"
    sam = driver.person(STRANGER, "Sam")
    (welcome,) = await sam.send("/start")
    assert welcome.text == content.language("en").ui.welcome
    (card,) = await sam.send("/help")
    assert card.text == content.language("en").crisis_card("US")
    requests = [r for r in sandbox_server.state.requests if r["method"] == "getUpdates"]
    assert requests == []  # nothing polled: the updates came by webhook


async def test_a_malformed_body_is_refused(webhook_bot: tuple[WebhookReceiver, Sandbox]) -> None:
    receiver, _ = webhook_bot
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{receiver.url}{receiver.path}",
            content=b"not json",
            headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
        )
        health = await http.get(f"{receiver.url}/healthz")
    assert answer.status_code == 400
    assert health.status_code == 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_webhook_command_says_which_setting_is_missing(services: Services) -> None:
    env = {"DATABASE_URL": services.settings.database_url, "TELEGRAM_BOT_TOKEN": TEST_TOKEN}
    result = run_cli("webhook", env=env)
    assert result.returncode == 2
    assert "WEBHOOK_URL is not set" in result.stderr
    result = run_cli("webhook", env={**env, "WEBHOOK_URL": "https://example.org/telegram"})
    assert result.returncode == 2
    assert "WEBHOOK_SECRET is not set" in result.stderr


async def test_python_m_bot_webhook_serves_updates(
    services: Services, sandbox_server: SandboxServer, content: Content, tmp_path: Path
) -> None:
    port = _free_port()
    env = worker_env(
        services.settings.database_url,
        sandbox_server.url,
        "web.1",
        PORT=str(port),
        WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
        WEBHOOK_SECRET=SECRET,
        DISPATCH_INTERVAL="0",
    )
    worker = Worker(["-m", "bot", "webhook"], env, tmp_path / "web.log")
    try:

        async def webhook_set() -> bool:
            return sandbox_server.state.webhook is not None

        await wait_until(webhook_set, "the webhook to be set", worker)
        async with Sandbox(sandbox_server.url) as driver:
            sent = await driver.inject(
                {"user": {"id": STRANGER, "first_name": "Sam"}, "text": "/start"}
            )

            async def answered() -> bool:
                chat = sandbox_server.state.chats.get(STRANGER)
                return chat is not None and bool(chat.events)

            await wait_until(answered, "the bot to answer through the webhook", worker)

            async def delivered() -> bool:
                # The 200 may come back a moment after the answer was sent.
                return bool(await driver.delivered(sent["update_id"]))

            await wait_until(delivered, "Telegram to see the update accepted", worker)
        (event,) = sandbox_server.state.chats[STRANGER].events
        assert event["text"] == content.language("en").ui.welcome
        async with httpx.AsyncClient() as http:
            refused = await http.post(f"http://127.0.0.1:{port}/hook", json=_UPDATE)
        assert refused.status_code == 401
    finally:
        worker.stop()
    assert worker.process.returncode == 0, worker.output()


async def test_a_crisis_the_webhook_cannot_store_gets_the_card_at_once_and_once(
    webhook_bot: tuple[WebhookReceiver, Sandbox],
    services: Services,
    sandbox_server: SandboxServer,
    content: Content,
) -> None:
    """Issue 16, defect 6 in webhook mode: with the database down the update is refused
    (500, so Telegram delivers it again), but its crisis card does not wait; the
    redelivery, once stored, is handled without a second card."""
    from tests.delivery.test_database_outage import Outage

    receiver, _ = webhook_bot
    sandbox_server.state.private_chat(
        sandbox_server.state.upsert_user({"id": STRANGER, "first_name": "Sam"})
    )
    crisis = {
        **_UPDATE,
        "update_id": 900002,
        "message": {**_UPDATE["message"], "text": "I am going to kill myself tonight"},
    }
    outage = Outage(services.engine)
    card = content.language("en").crisis_card("US")
    events = sandbox_server.state.chats[STRANGER].events
    async with httpx.AsyncClient(timeout=30) as http:
        post = f"{receiver.url}{receiver.path}"
        await outage.start()
        try:
            refused = await http.post(post, json=crisis, headers={SECRET_HEADER: SECRET})
            assert refused.status_code == 500
            assert [e["text"] for e in events] == [card]  # while the database is down
        finally:
            await outage.back()
        again = await http.post(post, json=crisis, headers={SECRET_HEADER: SECRET})
    assert again.status_code == 200
    (row,) = await _inbox(services)
    assert (row.update_id, row.status) == (900002, InboundStatus.done)
    assert [e["text"] for e in events] == [card]  # not twice
