"""Fixtures for the end-to-end tests: a whole care team around one client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.features.delivery import build_engine, delivery_engine
from bot.scheduling.clock import ManualClock
from tests.e2e.enrollment_steps import admin, invite, join_and_set_up, token_in
from tests.e2e.enrollment_steps import program_with_clinician as setup_program
from tests.harness import BotHarness

CLINICIAN, CLIENT, COLLEAGUE, ADMIN, STRANGER = 9301, 7301, 9302, 9303, 5550301
GROUP = -1001300


@pytest.fixture
async def team(bot: BotHarness) -> tuple[BotHarness, str]:
    """A program with a care-team group, three clinicians (one admin) and a client."""
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await setup_program(bot, rivera)
    for user_id, name, role in ((COLLEAGUE, "Dr. Chen", "clinician"), (ADMIN, "Ana", "admin")):
        status, out, err = await admin(
            bot, "clinician", "invite", "--program", "Riverside IOP", "--role", role, "--name", name
        )
        assert status == 0, err
        await bot.person(user_id, name).send(f"/start {token_in(out)}")
    status, _, err = await admin(
        bot,
        "program",
        "set",
        "Riverside IOP",
        "--care-team-chat",
        str(GROUP),
        "--hours",
        "Mon-Fri 9am-5pm",
    )
    assert status == 0, err
    await rivera.send_in(GROUP, "hello team")  # the group exists and has the bot in it
    code, token = await invite(rivera)
    await join_and_set_up(bot.person(CLIENT, "Alex"), token)
    # The notices of the set-up ("Alex joined…") reach the team now, as they would a
    # second later in life: paced behind each other, they would otherwise still wait
    # when the test begins, and an urgent alert goes ahead of them.
    await delivery_engine(bot.application).wait_idle()
    clock = ManualClock(datetime.now(UTC) + timedelta(minutes=1))
    # Sending only: planning a minute ahead would move the test's own schedule.
    await build_engine(bot.services, bot.application.bot, clock=clock).dispatcher.drain()
    return bot, code
