"""A database outage loses no message and delays no crisis card.

While the database refuses connections, a client's crisis message gets the crisis card
at once; once the database is back the update is handled again (not before: it is never
marked done while its handling failed), the care team gets the alert once and the client
does not get the card a second time. Ordinary messages sent meanwhile are answered after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bot.content import Content
from bot.inbox import database_unavailable, inbox_of, retry_delay
from bot.models import Alert, InboundStatus, InboundUpdate
from tests.databases import _asyncpg_dsn, postgres_url, use_postgres
from tests.delivery.processes import wait_until
from tests.e2e.conftest import CLIENT, CLINICIAN, GROUP, STRANGER
from tests.e2e.conftest import team as team
from tests.e2e.promises import told_now
from tests.e2e.test_safety_net import _drained
from tests.harness import BotHarness

CRISIS = "I am going to kill myself tonight"


class Outage:
    """The database refusing every new connection, as a server that is down does; the
    pooled ones are closed when it starts (a restart drops them)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.down = False
        event.listen(engine.sync_engine, "do_connect", self._connect)

    def _connect(self, *_args: Any) -> None:
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused (the test's outage)")

    async def start(self) -> None:
        self.down = True
        await self.engine.dispose()

    async def back(self) -> None:
        self.down = False


class PostgresDown(Outage):
    """PostgreSQL itself refusing: the database stops taking connections and every
    open one is killed (as in the outage the issue reports)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.name = str(engine.url.database)

    async def _admin(self, sql: str) -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(postgres_url()))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def start(self) -> None:
        await self._admin(f"ALTER DATABASE {self.name} ALLOW_CONNECTIONS false")
        await self._admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{self.name}' AND pid <> pg_backend_pid()"
        )

    async def back(self) -> None:
        await self._admin(f"ALTER DATABASE {self.name} ALLOW_CONNECTIONS true")


OUTAGES = ["refused", "postgres_down"] if use_postgres() else ["refused"]


@pytest.fixture(params=OUTAGES)
async def outage(bot: BotHarness, request: pytest.FixtureRequest) -> AsyncIterator[Outage]:
    inbox = inbox_of(bot.application)
    assert inbox is not None
    # Retries come quickly here (production: 0.5 s, doubling up to 10 s).
    inbox.retry_after = lambda _failures: 0.05
    inbox.look_ahead_every = 0.05  # production: every 3 s
    kind = PostgresDown if request.param == "postgres_down" else Outage
    outage = kind(bot.services.engine)
    yield outage
    await outage.back()


async def _texts(bot: BotHarness, chat_id: int, since: int = 0) -> list[str]:
    return [m.text or "" for m in (await bot.sandbox.messages(chat_id))[since:]]


async def _inbox_row(bot: BotHarness, update_id: int) -> InboundUpdate | None:
    async with bot.services.sessions() as session:
        return (
            await session.exec(select(InboundUpdate).where(InboundUpdate.update_id == update_id))
        ).first()


async def test_a_crisis_during_an_outage_gets_the_card_at_once_and_the_alert_after(
    team: tuple[BotHarness, str],
    outage: Outage,
    content: Content,
) -> None:
    bot, code = team
    pack = content.language("en")
    card = pack.crisis_card(bot.services.settings.default_region)
    client_before = len(await bot.sandbox.messages(CLIENT))
    clinician_before = len(await bot.sandbox.messages(CLINICIAN))
    group_before = len(await bot.sandbox.messages(GROUP))

    await outage.start()
    alex = {"id": CLIENT, "first_name": "Alex", "language_code": "en"}
    crisis = await bot.sandbox.inject({"user": alex, "text": CRISIS})
    sam = {"id": STRANGER, "first_name": "Sam", "language_code": "en"}
    hello = await bot.sandbox.inject({"user": sam, "text": "hello"})

    async def card_sent() -> bool:
        return card in await _texts(bot, CLIENT, client_before)

    await wait_until(card_sent, "the crisis card while the database is down", limit=10)
    # Nothing claims what is not true: no "nothing was lost", no "your team was told".
    during = await _texts(bot, CLIENT, client_before)
    assert during[0] == card
    assert pack.alerts.reply.told_no_on_call.split("{")[0] not in "\n".join(during)
    assert await _texts(bot, STRANGER) == []  # waits for the database, not lost

    await outage.back()

    async def crisis_done() -> bool:
        row = await _inbox_row(bot, crisis["update_id"])
        return row is not None and row.status is InboundStatus.done

    async def hello_done() -> bool:
        row = await _inbox_row(bot, hello["update_id"])
        return row is not None and row.status is InboundStatus.done

    await wait_until(crisis_done, "the crisis update to be handled after the outage")
    await wait_until(hello_done, "the ordinary message to be handled after the outage")
    await _drained(bot)

    # The client: the card once, then what is true now (the care team was told).
    after = await _texts(bot, CLIENT, client_before)
    assert after.count(card) == 1
    assert pack.alerts.reply.urgent_opening in after
    assert told_now(pack) in after
    # The care team: one alert, in the group (pseudonym) and with the clinician (detail).
    async with bot.services.sessions() as session:
        assert len((await session.exec(select(Alert))).all()) == 1
    group = [m.text or "" for m in (await bot.sandbox.messages(GROUP))[group_before:]]
    assert len([t for t in group if code in t and "URGENT" in t]) == 1
    detail = [t for t in await _texts(bot, CLINICIAN, clinician_before) if "kill myself" in t]
    assert len(detail) == 1 and code in detail[0]
    # The ordinary message sent during the outage got its ordinary answer.
    assert await _texts(bot, STRANGER) == [pack.ui.welcome]


async def test_a_crisis_behind_a_message_waiting_for_the_database_gets_the_card_at_once(
    team: tuple[BotHarness, str],
    outage: Outage,
    content: Content,
) -> None:
    """Polling waits for the outage's first message to be stored, so Telegram holds
    every later one: a crisis among them still gets the card at once, and after the
    outage its alert, without a second card."""
    bot, code = team
    pack = content.language("en")
    card = pack.crisis_card(bot.services.settings.default_region)
    client_before = len(await bot.sandbox.messages(CLIENT))
    clinician_before = len(await bot.sandbox.messages(CLINICIAN))
    group_before = len(await bot.sandbox.messages(GROUP))

    await outage.start()
    sam = {"id": STRANGER, "first_name": "Sam", "language_code": "en"}
    hello = await bot.sandbox.inject({"user": sam, "text": "hello"})

    async def sam_told() -> bool:
        return pack.ui.error in await _texts(bot, STRANGER)

    # Sam's message was fetched and failed: polling now waits for its row.
    await wait_until(sam_told, "the apology while the database is down", limit=10)
    alex = {"id": CLIENT, "first_name": "Alex", "language_code": "en"}
    crisis = await bot.sandbox.inject({"user": alex, "text": CRISIS})

    async def card_sent() -> bool:
        return card in await _texts(bot, CLIENT, client_before)

    await wait_until(card_sent, "the crisis card while the database is still down", limit=10)
    # The database is still down: the card was not waiting for it.
    assert pack.alerts.reply.urgent_opening not in await _texts(bot, CLIENT, client_before)

    await outage.back()

    async def done(update_id: int) -> bool:
        row = await _inbox_row(bot, update_id)
        return row is not None and row.status is InboundStatus.done

    await wait_until(lambda: done(hello["update_id"]), "Sam's message handled after the outage")
    await wait_until(lambda: done(crisis["update_id"]), "the crisis handled after the outage")
    await _drained(bot)

    after = await _texts(bot, CLIENT, client_before)
    assert after.count(card) == 1
    assert pack.alerts.reply.urgent_opening in after
    async with bot.services.sessions() as session:
        assert len((await session.exec(select(Alert))).all()) == 1
    group = [m.text or "" for m in (await bot.sandbox.messages(GROUP))[group_before:]]
    assert len([t for t in group if code in t and "URGENT" in t]) == 1
    detail = [t for t in await _texts(bot, CLINICIAN, clinician_before) if "kill myself" in t]
    assert len(detail) == 1 and code in detail[0]
    assert await _texts(bot, STRANGER) == [pack.ui.error, pack.ui.welcome]


async def test_a_message_failing_during_an_outage_is_answered_after_it_not_marked_done(
    bot: BotHarness, outage: Outage, content: Content
) -> None:
    ui = content.language("en").ui
    await outage.start()
    sam = {"id": STRANGER, "first_name": "Sam", "language_code": "en"}
    sent = await bot.sandbox.inject({"user": sam, "text": "hello"})

    async def told() -> bool:
        return ui.error in await _texts(bot, STRANGER)

    await wait_until(told, "the apology while the database is down", limit=10)
    await outage.back()

    async def done() -> bool:
        row = await _inbox_row(bot, sent["update_id"])
        return row is not None and row.status is InboundStatus.done

    await wait_until(done, "the message to be handled after the outage")
    # Told once (the retries failing meanwhile are quiet), then answered.
    assert await _texts(bot, STRANGER) == [ui.error, ui.welcome]


async def test_help_now_works_during_an_outage_and_is_not_repeated_after_it(
    bot: BotHarness, outage: Outage, content: Content
) -> None:
    pack = content.language("en")
    card = pack.crisis_card(bot.services.settings.default_region)
    await outage.start()
    sam = {"id": STRANGER, "first_name": "Sam", "language_code": "en"}
    sent = await bot.sandbox.inject({"user": sam, "text": pack.ui.help_button})

    async def card_sent() -> bool:
        return card in await _texts(bot, STRANGER)

    await wait_until(card_sent, "the crisis card while the database is down", limit=10)
    await outage.back()

    async def done() -> bool:
        row = await _inbox_row(bot, sent["update_id"])
        return row is not None and row.status is InboundStatus.done

    await wait_until(done, "the help request to be handled after the outage")
    assert (await _texts(bot, STRANGER)).count(card) == 1


async def test_an_update_failing_for_another_reason_is_tried_again_then_set_aside(
    bot: BotHarness, content: Content
) -> None:
    """A bug is not healed by waiting: a few tries, then the update is failed, not done
    (and the person is told once)."""
    inbox = inbox_of(bot.application)
    assert inbox is not None
    inbox.retry_after = lambda _failures: 0.01
    tries = 0

    async def broken(_update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        nonlocal tries
        tries += 1
        raise RuntimeError("a bug")

    bot.application.add_handler(MessageHandler(filters.Regex("^break$"), broken), group=-100)
    sam = {"id": STRANGER, "first_name": "Sam", "language_code": "en"}
    sent = await bot.sandbox.inject({"user": sam, "text": "break"})

    async def set_aside() -> bool:
        row = await _inbox_row(bot, sent["update_id"])
        return row is not None and row.status is InboundStatus.failed

    await wait_until(set_aside, "the update to be set aside")
    assert tries == inbox.max_attempts == 3
    assert await _texts(bot, STRANGER) == [content.language("en").ui.error]
    row = await _inbox_row(bot, sent["update_id"])
    assert row is not None and (row.payload, row.chat_id) == (None, None)


def test_waiting_is_only_for_a_database_that_cannot_be_reached() -> None:
    refused = OperationalError("SELECT 1", None, ConnectionRefusedError(111, "refused"))
    assert database_unavailable(refused)
    assert database_unavailable(ConnectionRefusedError(111, "refused"))
    assert database_unavailable(TimeoutError())
    assert not database_unavailable(IntegrityError("INSERT", None, Exception("unique")))
    assert not database_unavailable(RuntimeError("a bug"))
    assert not database_unavailable(None)
    assert [retry_delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]
