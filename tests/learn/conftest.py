"""Fixtures for Learn and Breathe: an enrolled client and their clinician."""

from __future__ import annotations

import pytest

from bot.content import Content, LanguagePack
from bot.db import session_scope
from bot.models import Client, Program
from bot.telegram_sandbox import Person, SentMessage
from tests.delivery.conftest import open_chat
from tests.factories import add_client, add_clinician, add_program
from tests.harness import BotHarness

CLIENT, CLINICIAN, OTHER_CLINICIAN, STRANGER = 7401, 9401, 9402, 5550401
CODE = "K7Q-2"


@pytest.fixture
def pack(content: Content) -> LanguagePack:
    return content.language("en")


@pytest.fixture
async def program(bot: BotHarness) -> Program:
    return await add_program(bot.services)


@pytest.fixture
async def alex(bot: BotHarness, program: Program) -> Person:
    """An enrolled client in their first program week, with Dr. Rivera as primary."""
    rivera = await add_clinician(bot.services, program, telegram_user_id=CLINICIAN)
    # Dr. Rivera has written to the bot before: her alerts reach her (Telegram refuses a
    # bot's first message to someone, "chat not found").
    open_chat(bot.server, CLINICIAN, "Dr. Rivera")
    client = await add_client(bot.services, program, telegram_user_id=CLIENT, code=CODE)
    async with session_scope(bot.services.sessions) as session:
        row = await session.get(Client, client.id)
        assert row is not None
        row.primary_clinician_id = rivera.id
        row.enrolled_at = row.created_at
    return bot.person(CLIENT, "Alex")


def sent(events: list[SentMessage]) -> list[SentMessage]:
    """New messages only (not edits)."""
    return [e for e in events if e.event == "sent"]


def texts(events: list[SentMessage]) -> list[str]:
    return [e.text or "" for e in events]
