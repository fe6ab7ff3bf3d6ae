"""The weekly reminder that Waypoint is a program (issue 18): a client back after 7 days
or more without using Waypoint is told plainly, first, that it is a program and no one
reads along live; at most once a week. Time-driven: the module's clock is moved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.content import Content
from bot.db import session_scope
from bot.features import program_reminder
from bot.models import Client
from tests.delivery.conftest import enrolled_client
from tests.factories import add_program
from tests.harness import BotHarness

CLIENT = 7731


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(program_reminder, "now_utc", clock)
    return clock


async def _client(bot: BotHarness, last_contact: datetime) -> None:
    program = await add_program(bot.services)
    client = await enrolled_client(bot.services, bot.server, program, CLIENT)
    async with session_scope(bot.services.sessions) as session:
        row = await session.get(Client, client.id)
        assert row is not None
        row.last_contact_at = last_contact
        row.enrolled_at = last_contact - timedelta(days=20)
        session.add(row)


async def test_back_after_a_quiet_week_is_reminded_once_that_waypoint_is_a_program(
    bot: BotHarness, content: Content, clock: Clock
) -> None:
    reminder = content.language("en").ui.program_reminder
    assert "program" in reminder and "No one reads this chat" in reminder
    await _client(bot, clock.now - timedelta(days=1))
    alex = bot.person(CLIENT, "Alex")
    menu = content.language("en").menu.checkin

    out = await alex.send(menu)
    assert reminder not in [m.text for m in out]  # used Waypoint yesterday

    clock.now += timedelta(days=8)  # a week and a day without Waypoint
    out = await alex.send(menu)
    texts = [m.text for m in out if m.event == "sent"]
    assert texts[0] == reminder  # first, before the check-in
    assert len(texts) > 1  # and the check-in still starts

    out = await alex.send(menu)
    assert reminder not in [m.text for m in out]  # once, not with every message

    clock.now += timedelta(days=6)  # less than a week after the reminder
    out = await alex.send(menu)
    assert reminder not in [m.text for m in out]


async def test_six_quiet_days_are_not_enough(
    bot: BotHarness, content: Content, clock: Clock
) -> None:
    await _client(bot, clock.now - timedelta(days=6, hours=23))
    out = await bot.person(CLIENT, "Alex").send("hello")
    assert content.language("en").ui.program_reminder not in [m.text for m in out]


async def test_a_flagged_message_gets_the_crisis_reply_first_then_the_reminder(
    bot: BotHarness, content: Content, clock: Clock
) -> None:
    pack = content.language("en")
    await _client(bot, clock.now - timedelta(days=10))
    alex = bot.person(CLIENT, "Alex")
    out = await alex.send("i drank last night after 30 days")
    texts = [m.text or "" for m in out if m.event == "sent"]
    # The crisis reply first (here the card: this program has no clinician to tell).
    assert "988" in texts[0]
    assert texts[-1] == pack.ui.program_reminder and texts.count(pack.ui.program_reminder) == 1
    out = await alex.send(pack.menu.checkin)
    assert pack.ui.program_reminder not in [m.text for m in out]


def test_due_after_seven_days() -> None:
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert program_reminder.due(now - timedelta(days=7), now)
    assert not program_reminder.due(now - timedelta(days=6, hours=23), now)
    assert not program_reminder.due(None, now)
    assert program_reminder.due((now - timedelta(days=9)).replace(tzinfo=None), now)
