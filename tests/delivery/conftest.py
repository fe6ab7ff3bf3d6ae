"""Fixtures for the delivery engine: a manual clock, a Bot on the sandbox, an engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from telegram.constants import ParseMode
from telegram.ext import Defaults, ExtBot

from bot.features.delivery import build_engine
from bot.models import Client, ClientStatus, Program
from bot.scheduling.clock import ManualClock
from bot.scheduling.engine import DeliveryEngine
from bot.services import Services
from bot.telegram_http import AiohttpRequest
from bot.telegram_sandbox import SandboxServer
from tests.factories import add_client, add_program
from tests.harness import TEST_TOKEN

# A fixed, ordinary day: no daylight-saving change near it in any zone used here.
START = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def sandbox_bot(sandbox_server: SandboxServer) -> AsyncIterator[ExtBot[None]]:
    """A python-telegram-bot Bot on the sandbox, on Waypoint's transport, with short
    timeouts (a timeout test then waits a fraction of a second, not five)."""
    bot: ExtBot[None] = ExtBot(
        TEST_TOKEN,
        base_url=sandbox_server.bot_api_url,
        base_file_url=sandbox_server.file_api_url,
        defaults=Defaults(parse_mode=ParseMode.HTML),
        request=AiohttpRequest(connection_pool_size=64, read_timeout=0.5, write_timeout=0.5),
    )
    async with bot:
        yield bot


@pytest.fixture
def make_engine(
    services: Services, sandbox_bot: ExtBot[None], clock: ManualClock
) -> Callable[..., DeliveryEngine]:
    def make(worker_id: str = "worker-a") -> DeliveryEngine:
        svc = Services(
            settings=services.settings.model_copy(update={"worker_id": worker_id}),
            content=services.content,
            engine=services.engine,
            sessions=services.sessions,
        )
        return build_engine(svc, sandbox_bot, clock=clock)

    return make


@pytest.fixture
def engine(make_engine: Callable[..., DeliveryEngine]) -> DeliveryEngine:
    return make_engine()


def open_chat(server: SandboxServer, user_id: int, first_name: str = "Alex") -> None:
    """The person has written to the bot before (Telegram refuses a first message)."""
    state = server.state
    state.private_chat(state.upsert_user({"id": user_id, "first_name": first_name}))


async def enrolled_client(
    svc: Services,
    server: SandboxServer,
    program: Program,
    user_id: int,
    *,
    checkin_time: str = "20:00",
    timezone: str | None = None,
    status: ClientStatus = ClientStatus.active,
) -> Client:
    client = await add_client(
        svc, program, telegram_user_id=user_id, code=f"C{user_id % 100000:05d}", status=status
    )
    async with svc.sessions() as session:
        row = await session.get(Client, client.id)
        assert row is not None
        row.checkin_time = checkin_time
        row.timezone = timezone
        session.add(row)
        await session.commit()
        await session.refresh(row)
    open_chat(server, user_id)
    return row


async def a_program(svc: Services, timezone: str = "America/New_York") -> Program:
    return await add_program(svc, timezone=timezone)
