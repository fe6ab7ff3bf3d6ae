"""The inbox: an update is stored before it is handled, handled once, and in order
within its chat; a bot killed in between handles it after the restart."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import select
from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes, MessageHandler, filters

from bot.content import Content
from bot.inbox import Inbox
from bot.models import InboundStatus, InboundUpdate
from bot.services import Services
from bot.telegram_sandbox import Sandbox, SandboxServer
from bot.updates import PerChatUpdateProcessor
from tests.delivery.processes import Worker, wait_until, worker_env
from tests.harness import BotHarness

STRANGER = 5550101


async def _inbox(svc: Services) -> list[InboundUpdate]:
    async with svc.sessions() as session:
        return list((await session.exec(select(InboundUpdate))).all())


def _sams_message(update_id: int, text: str) -> dict[str, Any]:
    """An update as Telegram sends it: a text from the stranger, Sam."""
    sam = {"id": STRANGER, "first_name": "Sam"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1767225600,
            "chat": {**sam, "type": "private"},
            "from": {**sam, "is_bot": False},
            "text": text,
        },
    }


def _replies(server: SandboxServer, chat_id: int) -> list[str]:
    chat = server.state.chats.get(chat_id)
    return [e.get("text") or "" for e in chat.events] if chat else []


async def test_every_update_is_stored_then_marked_done_and_keeps_no_words(
    bot: BotHarness, content: Content
) -> None:
    (reply,) = await bot.person(STRANGER, "Sam").send("my private words")
    assert reply.text == content.language("en").ui.welcome
    (row,) = await _inbox(bot.services)
    assert row.status is InboundStatus.done
    assert row.handled_at is not None and row.handled_at >= row.received_at
    # Once handled, nothing of the person is left: no words, no chat id.
    assert (row.payload, row.chat_id) == (None, None)


async def test_the_same_update_delivered_twice_is_handled_once(
    bot: BotHarness, sandbox_server: SandboxServer, content: Content
) -> None:
    (first,) = await bot.person(STRANGER, "Sam").send("hello")
    (row,) = await _inbox(bot.services)
    # Telegram delivers it again (a webhook retry, an offset not yet confirmed).
    again = Update.de_json(_sams_message(row.update_id, "hello"), bot.application.bot)
    await bot.application.update_queue.put(again)
    await bot.application.update_queue.put(again)
    # One more, new update from the same chat is handled after them, and it is the only
    # other answer: so the repeats were dropped, not merely slow.
    (after,) = await bot.person(STRANGER, "Sam").send("hello again")
    assert first.text == after.text == content.language("en").ui.welcome
    assert len(_replies(sandbox_server, STRANGER)) == 2
    assert len(await _inbox(bot.services)) == 2


async def test_two_updates_of_one_chat_sent_at_once_are_handled_in_order(
    bot: BotHarness, sandbox_server: SandboxServer
) -> None:
    order: list[str] = []
    release = asyncio.Event()

    async def record(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        text = update.effective_message.text or ""
        order.append(f"start {text}")
        if text == "first":
            await release.wait()  # held until the test has seen the others arrive
        order.append(f"end {text}")
        raise ApplicationHandlerStop

    bot.application.add_handler(MessageHandler(filters.TEXT, record), group=-100)
    processor = bot.application.update_processor
    assert isinstance(processor, PerChatUpdateProcessor)
    async with Sandbox(sandbox_server.url) as driver:
        user = {"id": STRANGER, "first_name": "Sam"}
        await asyncio.gather(
            driver.inject({"user": user, "text": "first"}),
            driver.inject({"user": user, "text": "second"}),
        )
        await driver.inject({"user": {"id": STRANGER + 1, "first_name": "Kim"}, "text": "other"})

        async def waiting() -> bool:
            lock = processor._locks.get(STRANGER)
            return lock is not None and lock[1] == 2 and "end other" in order

        await wait_until(waiting, "the second update to wait behind the first")
        # Another chat went ahead while this chat's first update was still running.
        assert order == ["start first", "start other", "end other"]
        release.set()

        async def finished() -> bool:
            return len(order) == 6

        await wait_until(finished, "both updates to be handled")
    assert order[3:] == ["end first", "start second", "end second"]


async def test_a_bot_killed_between_receiving_and_handling_handles_it_after_restart(
    database_url: str, sandbox_server: SandboxServer, services: Services, tmp_path: Path
) -> None:
    env = worker_env(database_url, sandbox_server.url, "bot-1", DISPATCH_INTERVAL="0")
    first = Worker(
        ["-m", "tests.delivery.bot_process", "--hang-on", "hold on"], env, tmp_path / "1.log"
    )
    try:
        async with Sandbox(sandbox_server.url) as driver:
            sent = await driver.inject(
                {"user": {"id": STRANGER, "first_name": "Sam"}, "text": "hold on"}
            )

            async def stored() -> bool:
                return any(r.update_id == sent["update_id"] for r in await _inbox(services))

            await wait_until(stored, "the update to reach the inbox", first)

            async def confirmed() -> bool:
                # python-telegram-bot confirmed it to "Telegram" before handling it.
                return not sandbox_server.state.updates

            await wait_until(confirmed, "the update to be confirmed", first)
        first.kill()
    finally:
        first.stop()
    (row,) = await _inbox(services)
    assert row.status is InboundStatus.received
    assert _replies(sandbox_server, STRANGER) == []

    second = Worker(["-m", "tests.delivery.bot_process"], env, tmp_path / "2.log")
    try:

        async def handled() -> bool:
            return [r.status for r in await _inbox(services)] == [InboundStatus.done]

        await wait_until(handled, "the restarted bot to handle the stored update", second)

        async def answered() -> bool:
            return len(_replies(sandbox_server, STRANGER)) >= 1

        await wait_until(answered, "the answer", second)
    finally:
        second.stop()
    assert len(_replies(sandbox_server, STRANGER)) == 1  # exactly once


async def test_the_inbox_stores_the_update_as_telegram_sent_it(services: Services) -> None:
    inbox = Inbox(services.engine, worker_id="w")
    # With a field from a newer Bot API than python-telegram-bot knows.
    sent = {**_sams_message(9001, "hello"), "newer_field": {"kept": True}}
    update = Update.de_json({k: v for k, v in sent.items() if k != "newer_field"}, None)
    assert await inbox.record(update, sent)
    (row,) = await _inbox(services)
    assert row.payload is not None and json.loads(row.payload) == sent
    # Without Telegram's JSON at hand (a recovered or hand-made update), it is rebuilt.
    other = Update.de_json({**sent, "update_id": 9002}, None)
    assert await inbox.record(other)
    rebuilt = [r for r in await _inbox(services) if r.update_id == 9002]
    assert json.loads(rebuilt[0].payload or "{}")["message"]["text"] == "hello"


@asynccontextmanager
async def _inbox_writes_held(svc: Services) -> AsyncIterator[None]:
    """Another connection holds the write lock on the inbox (reads still go through)."""
    url = svc.engine.url
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(str(url.database), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    async with svc.engine.connect() as connection:
        await connection.execute(text("LOCK TABLE inboundupdate IN SHARE ROW EXCLUSIVE MODE"))
        try:
            yield
        finally:
            await connection.rollback()


async def test_an_update_is_answered_while_its_row_is_written_and_confirmed_once_stored(
    bot: BotHarness, sandbox_server: SandboxServer, services: Services, content: Content
) -> None:
    async with Sandbox(sandbox_server.url) as driver, _inbox_writes_held(services):
        sent = await driver.inject({"user": {"id": STRANGER, "first_name": "Sam"}, "text": "hi"})

        async def answered() -> bool:
            return len(_replies(sandbox_server, STRANGER)) == 1

        await wait_until(answered, "the answer while the row waits for the lock", limit=10)
        # Not stored yet, so not confirmed to Telegram either: a crash now loses nothing.
        assert await _inbox(services) == []
        pending = [update["update_id"] for _, update in sandbox_server.state.updates]
        assert sent["update_id"] in pending

    async def done() -> bool:
        return [r.status for r in await _inbox(services)] == [InboundStatus.done]

    await wait_until(done, "the row, stored and then marked done, once the lock is gone")

    async def confirmed() -> bool:
        return not sandbox_server.state.updates

    await wait_until(confirmed, "the update to be confirmed once stored")
    assert _replies(sandbox_server, STRANGER) == [content.language("en").ui.welcome]
