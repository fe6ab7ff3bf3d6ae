"""A check-in survives a restart and can be answered by any worker: its state is a row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.app import build_application
from bot.content import Content
from bot.db import session_scope
from bot.models import CheckIn, Client
from bot.services import Services
from bot.telegram_sandbox import Sandbox, SandboxServer
from bot.updates import HandledUpdates, PerChatUpdateProcessor
from bot.webhook import WebhookReceiver, serving_webhook
from tests.delivery.conftest import enrolled_client
from tests.factories import add_program
from tests.harness import TEST_TOKEN, running_bot

CLIENT = 7402


async def _client(services: Services, server: SandboxServer) -> Client:
    program = await add_program(services)
    client = await enrolled_client(services, server, program, CLIENT)
    async with session_scope(services.sessions) as session:
        row = await session.get(Client, client.id)
        assert row is not None
        row.enrolled_at = datetime.now(UTC) - timedelta(days=30)
        row.weekly_day = (datetime.now(UTC).weekday() + 3) % 7
        session.add(row)
    return client


async def _row(services: Services) -> CheckIn:
    async with services.sessions() as session:
        return (await session.exec(select(CheckIn))).one()


async def test_a_restart_mid_check_in_resumes_at_the_next_question(
    services: Services, sandbox_server: SandboxServer, content: Content
) -> None:
    texts = content.language("en").checkin
    await _client(services, sandbox_server)
    async with running_bot(services, sandbox_server) as first:
        alex = first.person(CLIENT, "Alex")
        await alex.send(content.language("en").menu.checkin)
        await alex.press("4")
        await alex.press("5")
        old_question = await alex.last_message()
    # A new process on the same database: nothing was kept in memory.
    async with running_bot(services, sandbox_server) as second:
        alex = second.person(CLIENT, "Alex")
        lead, question = await alex.send(content.language("en").menu.checkin)
        assert lead.text == texts.resume and question.text == texts.sleep_hours.text
        # The first process's question still works too: it is checked against the row.
        await alex.press("Over 8 hours", old_question)
    row = await _row(services)
    assert (row.craving, row.mood, row.sleep_hours, row.step) == (4, 5, "over_8", "sleep_quality")


@asynccontextmanager
async def _worker(
    services: Services, handled: HandledUpdates, name: str
) -> AsyncIterator[WebhookReceiver]:
    processor = PerChatUpdateProcessor()
    processor.done_hooks.append(handled.mark)
    svc = Services(
        settings=services.settings.model_copy(update={"worker_id": name}),
        content=services.content,
        engine=services.engine,
        sessions=services.sessions,
    )
    application = build_application(svc, TEST_TOKEN, processor=processor)
    async with serving_webhook(
        application, url=None, secret="s3cret", host="127.0.0.1", port=0
    ) as receiver:
        yield receiver


async def test_a_second_worker_answers_the_next_question(
    services: Services, sandbox_server: SandboxServer, content: Content
) -> None:
    texts = content.language("en").checkin
    await _client(services, sandbox_server)
    handled = HandledUpdates()
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(_worker(services, handled, "worker-a"))
        b = await stack.enter_async_context(_worker(services, handled, "worker-b"))
        driver = await stack.enter_async_context(Sandbox(sandbox_server.url, settle=handled.wait))
        alex = driver.person(CLIENT, "Alex")
        webhook = sandbox_server.state.webhook
        assert webhook is not None

        def route_to(receiver: WebhookReceiver) -> None:
            webhook["url"] = f"{receiver.url}{receiver.path}"

        route_to(a)
        await alex.send(content.language("en").menu.checkin)
        await alex.press("3")
        route_to(b)  # the load balancer sends the next tap elsewhere
        _, following = await alex.press("8")
        assert following.text == texts.sleep_hours.text
        route_to(a)
        await alex.press("Under 4 hours")
    row = await _row(services)
    assert (row.craving, row.mood, row.sleep_hours, row.step) == (3, 8, "under_4", "sleep_quality")
