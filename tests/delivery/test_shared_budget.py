"""Telegram's limits at the sandbox, and one send budget for every worker (issue 21).

The sandbox answers 429 with retry_after beyond Telegram's limits when asked to (off by
default). Two workers, each with its own rate limiter and its own database engine,
share one budget through PostgreSQL: together they never exceed it, and a 429 that one
meets pauses both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.db import make_engine
from bot.scheduling.priority import Priority, sending_as
from bot.scheduling.rate_limiter import PriorityRateLimiter
from bot.scheduling.send_budget import Budget, DatabaseBudget
from bot.services import Services
from bot.telegram_http import AiohttpRequest
from bot.telegram_sandbox import SandboxServer
from bot.telegram_sandbox.limits import TelegramLimits
from bot.telegram_sandbox.state import Fault
from tests.delivery.conftest import open_chat
from tests.harness import TEST_TOKEN


@asynccontextmanager
async def _worker(server: SandboxServer, budget: Budget) -> AsyncIterator[ExtBot[None]]:
    bot: ExtBot[None] = ExtBot(
        TEST_TOKEN,
        base_url=server.bot_api_url,
        request=AiohttpRequest(connection_pool_size=64),
        rate_limiter=PriorityRateLimiter(budget),
    )
    async with bot:
        yield bot


async def _send(bot: ExtBot[None], chat_id: int) -> bool:
    """One outbox send: True if it went, False on a 429 (the outbox retries later)."""
    try:
        with sending_as(Priority.bulk, retries=0):
            await bot.send_message(chat_id, "Time for your check-in.")
    except RetryAfter:
        return False
    return True


def _sends(server: SandboxServer) -> list[tuple[float, int, bool]]:
    return [
        (entry["at"], int(entry["params"]["chat_id"]), bool(entry["ok"]))
        for entry in server.state.requests
        if entry["method"] == "sendMessage"
    ]


# --- the sandbox ---------------------------------------------------------------------


def test_the_sandbox_refuses_beyond_the_overall_cap_with_retry_after() -> None:
    limits = TelegramLimits(overall=30)
    for n in range(30):
        limits.check(100 + n, 10.0 + n / 100)
    with pytest.raises(Exception) as refused:
        limits.check(999, 10.5)
    assert refused.value.error_code == 429  # type: ignore[attr-defined]
    assert refused.value.retry_after == 1  # type: ignore[attr-defined]
    limits.check(999, 11.01)  # the first of the 30 left the window
    assert limits.busiest_second() == 30 and limits.refused == 1


def test_the_sandbox_lets_a_short_burst_into_one_chat_then_one_a_second() -> None:
    limits = TelegramLimits(chat_burst=3)
    for n in range(3):
        limits.check(7, 1.0 + n / 100)
    with pytest.raises(Exception, match="retry after 1"):
        limits.check(7, 1.1)
    limits.check(8, 1.1)  # another chat is not held up
    limits.check(7, 2.1)


def test_the_sandbox_holds_a_group_to_twenty_a_minute() -> None:
    limits = TelegramLimits()
    for n in range(20):
        limits.check(-100, float(n))
    with pytest.raises(Exception) as refused:
        limits.check(-100, 30.0)
    assert refused.value.retry_after == 30  # type: ignore[attr-defined]
    limits.check(-100, 60.5)


@pytest.mark.sandbox_refusals("Too Many Requests")
async def test_the_sandbox_answers_429_over_http_only_when_limits_are_on(
    sandbox_server: SandboxServer,
) -> None:
    for chat in range(1, 4):
        open_chat(sandbox_server, chat)
    bot: ExtBot[None] = ExtBot(TEST_TOKEN, base_url=sandbox_server.bot_api_url)
    async with bot:
        for _ in range(3):
            await bot.send_message(1, "x")  # off by default: no limit
        sandbox_server.state.limits = TelegramLimits(overall=2)
        await bot.send_message(2, "x")
        await bot.send_message(3, "x")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(3, "x")
        assert refused.value.retry_after.total_seconds() == 1  # type: ignore[union-attr]


# --- one budget for every worker (PostgreSQL) -----------------------------------------


def _needs_postgres(services: Services) -> None:
    if services.engine.dialect.name != "postgresql":
        pytest.skip("a budget shared by several workers is PostgreSQL's (SQLite: one process)")


@asynccontextmanager
async def _engines(services: Services, count: int) -> AsyncIterator[list[AsyncEngine]]:
    engines = [make_engine(services.settings.database_url) for _ in range(count)]
    try:
        yield engines
    finally:
        for engine in engines:
            await engine.dispose()


async def test_two_workers_sharing_the_budget_never_exceed_it_and_one_alone_uses_it_all(
    services: Services, sandbox_server: SandboxServer
) -> None:
    _needs_postgres(services)
    rate = 40
    chats = range(10_000, 10_160)
    for chat in chats:
        open_chat(sandbox_server, chat)
    async with _engines(services, 2) as (engine_a, engine_b):
        budget_a, budget_b = DatabaseBudget(engine_a, rate), DatabaseBudget(engine_b, rate)
        async with _worker(sandbox_server, budget_a) as a, _worker(sandbox_server, budget_b) as b:
            # One alone first: the whole budget is its own (no static split).
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert all(await asyncio.gather(*(_send(a, c) for c in chats[:40])))
            alone = loop.time() - started
            sandbox_server.state.limits = TelegramLimits(overall=rate)
            sent = await asyncio.gather(
                *(_send(a, c) for c in chats[40:100]), *(_send(b, c) for c in chats[100:160])
            )
    assert alone < 1.5  # 40 at 40 a second: about one second, not two
    limits = sandbox_server.state.limits
    assert all(sent) and limits.refused == 0
    assert limits.busiest_second() <= rate
    # Both went at once, together at about the whole rate.
    times = [at for at, _, _ in _sends(sandbox_server)[40:]]
    assert max(times) - min(times) >= (120 - rate) / rate - 0.1


async def test_a_429_met_by_one_worker_slows_both_for_its_retry_after(
    services: Services, sandbox_server: SandboxServer
) -> None:
    _needs_postgres(services)
    rate = 50
    a_chats, b_chats = range(20_000, 20_060), range(30_000, 30_060)
    for chat in (*a_chats, *b_chats):
        open_chat(sandbox_server, chat)
    async with _engines(services, 2) as (engine_a, engine_b):
        budget_a, budget_b = DatabaseBudget(engine_a, rate), DatabaseBudget(engine_b, rate)
        async with _worker(sandbox_server, budget_a) as a, _worker(sandbox_server, budget_b) as b:
            for chat in a_chats[:10]:
                assert await _send(a, chat)
            # Telegram answers the next send, whichever worker's, with "retry after 1".
            sandbox_server.state.faults.append(
                Fault(429, None, 1, retry_after=1, latency=0.0, methods=None)
            )
            results = await asyncio.gather(
                *(_send(a, c) for c in a_chats[10:]), *(_send(b, c) for c in b_chats)
            )
    assert results.count(False) == 1
    sends = _sends(sandbox_server)
    (refusal,) = [at for at, _, ok in sends if not ok]
    # Slots already handed out (a few hundredths of a second) may still go; after
    # them, neither worker sends until the second is over, then both go on.
    paused = [at for at, _, ok in sends if ok and refusal + 0.1 < at < refusal + 0.95]
    assert paused == []
    later = {chat for at, chat, ok in sends if at >= refusal + 0.95}
    assert later & set(a_chats) and later & set(b_chats)
