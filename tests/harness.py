"""The bot under test: the real python-telegram-bot Application polling the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.app import build_application, polling
from bot.services import AnyApplication, Services
from bot.telegram_sandbox import Person, Sandbox, SandboxServer
from bot.updates import HandledUpdates, PerChatUpdateProcessor

TEST_TOKEN = "123456:test-sandbox-token-abcdefghij"


@dataclass
class BotHarness:
    application: AnyApplication
    sandbox: Sandbox
    server: SandboxServer
    services: Services

    def person(self, user_id: int, first_name: str = "Alex", language_code: str = "en") -> Person:
        return self.sandbox.person(user_id, first_name, language_code)


@asynccontextmanager
async def running_bot(svc: Services, server: SandboxServer) -> AsyncIterator[BotHarness]:
    handled = HandledUpdates()
    processor = PerChatUpdateProcessor()
    processor.done_hooks.append(handled.mark)
    application = build_application(svc, TEST_TOKEN, processor=processor)
    async with (
        polling(application, poll_timeout=1),
        Sandbox(server.url, settle=handled.wait) as driver,
    ):
        yield BotHarness(application, driver, server, svc)
