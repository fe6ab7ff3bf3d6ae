"""Shared fixtures: a migrated database per test, the sandbox, and the running bot.

Every database test runs on SQLite by default and on PostgreSQL when
WAYPOINT_TEST_DATABASE=postgres (the second pass of `.ci/run`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.content import DEFAULT_CONTENT_DIR, Content, load_content
from bot.db import make_engine, make_sessionmaker
from bot.services import Services
from bot.settings import load_settings
from bot.telegram_sandbox import SandboxServer
from tests.databases import (
    copy_sqlite,
    create_postgres_database,
    drop_postgres_database,
    migrated_url,
    postgres_reachable,
    sqlite_url,
    use_postgres,
)
from tests.harness import TEST_TOKEN, BotHarness, running_bot


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrated once per session: a SQLite file path or a PostgreSQL database name."""
    if use_postgres():
        reason = asyncio.run(postgres_reachable())
        if reason:
            pytest.exit(f"WAYPOINT_TEST_DATABASE=postgres but {reason}", returncode=1)
        url = asyncio.run(create_postgres_database())
        asyncio.run(migrated_url(url))
        yield str(make_url(url).database)
        asyncio.run(drop_postgres_database(url))
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        asyncio.run(migrated_url(sqlite_url(path)))
        yield str(path)


@pytest.fixture
async def database_url(database_template: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database for this test alone."""
    if use_postgres():
        url = await create_postgres_database(template=database_template)
        yield url
        await drop_postgres_database(url)
    else:
        yield copy_sqlite(Path(database_template), tmp_path / "waypoint.db")


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(DEFAULT_CONTENT_DIR)


@pytest.fixture
async def sandbox_server() -> AsyncIterator[SandboxServer]:
    server = SandboxServer()
    await server.start()
    yield server
    await server.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sandbox_refusals(*descriptions): requests the test expects the sandbox to refuse "
        "(matched by a part of Telegram's error description)",
    )


@pytest.fixture(autouse=True)
def sandbox_refused_nothing_unexpected(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test whose bot made a request the sandbox refused, as Telegram would: the bot
    may swallow the error (a "quiet" edit), but the client then misses what it showed.

    Refusals the test arranged (an injected fault, a blocked chat) are expected; others
    a test names with ``@pytest.mark.sandbox_refusals("chat not found", ...)``."""
    if "sandbox_server" not in request.fixturenames:
        yield
        return
    server: SandboxServer = request.getfixturevalue("sandbox_server")
    yield
    expected = [
        part for marker in request.node.iter_markers("sandbox_refusals") for part in marker.args
    ]
    refused = [
        f"{entry['method']} -> {entry.get('error_code')} {entry.get('description')} "
        f"(params: {entry.get('params')})"
        for entry in server.state.requests
        if entry.get("ok") is False
        and not entry.get("arranged")
        and not entry.get("unread")
        and not any(part in (entry.get("description") or "") for part in expected)
    ]
    if refused:
        pytest.fail(
            "the sandbox refused requests this test did not expect:\n" + "\n".join(refused),
            pytrace=False,
        )


@pytest.fixture
async def services(
    database_url: str, sandbox_server: SandboxServer, content: Content
) -> AsyncIterator[Services]:
    settings = load_settings(
        read_env_file=False,
        database_url=database_url,
        telegram_api_base_url=sandbox_server.url,
        telegram_bot_token=TEST_TOKEN,
        # No delivery ticks on the real clock during tests: a check-in due at the
        # wall-clock minute a test runs would otherwise appear in its chat. Tests of
        # the delivery engine drive it with a manual clock (tests/delivery).
        dispatch_interval=0,
    )
    engine = make_engine(settings.database_url)
    yield Services(
        settings=settings, content=content, engine=engine, sessions=make_sessionmaker(engine)
    )
    await engine.dispose()


@pytest.fixture
async def bot(services: Services, sandbox_server: SandboxServer) -> AsyncIterator[BotHarness]:
    """The real Application polling the sandbox over HTTP, and a driver to talk to it."""
    async with running_bot(services, sandbox_server) as harness:
        yield harness


@pytest.fixture
async def empty_postgres() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database, for the PostgreSQL-specific tests (on both passes
    of the suite); skipped, with the reason, when no server answers."""
    reason = await postgres_reachable()
    if reason:
        pytest.skip(f"PostgreSQL-specific: {reason}")
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)
