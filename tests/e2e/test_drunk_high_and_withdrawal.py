"""Replies the screen's flags need beyond the same-day reply (issue 18): stopping alcohol
or a benzodiazepine all at once gets the seizure warning and a same-day alert; someone
drunk or high right now is asked "are you alone?", and after opioids or sedatives also
gets the overdose-safety card. A past use gets neither."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.content import Content
from bot.features.delivery import build_engine, delivery_engine
from bot.free_text import drunk_or_high_now, names_any
from bot.models import Alert, AlertTier
from bot.scheduling.clock import ManualClock
from tests.e2e.conftest import CLIENT, CLINICIAN, GROUP
from tests.harness import BotHarness


async def _drained(bot: BotHarness) -> None:
    """Everything queued is sent: the bot's own drain, then an engine on a clock a minute
    ahead for what was paced (one message a second per chat)."""
    await delivery_engine(bot.application).wait_idle()
    clock = ManualClock(datetime.now(UTC) + timedelta(minutes=1))
    await build_engine(bot.services, bot.application.bot, clock=clock).run_once()


async def _alert(bot: BotHarness) -> Alert:
    async with bot.services.sessions() as session:
        return (await session.exec(select(Alert))).one()


async def test_quitting_xanax_cold_turkey_gets_the_seizure_warning_and_a_same_day_alert(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    pack = content.language("en")
    replies = await bot.person(CLIENT, "Alex").send("I quit my xanax cold turkey yesterday")
    texts = [r.text or "" for r in replies]
    assert any(pack.alerts.checks.withdrawal in t for t in texts), texts
    assert "seizures" in texts[0]  # with the first reply, not one tap away
    alert = await _alert(bot)
    assert alert.tier is AlertTier.same_day and alert.rule == "od.withdrawal_danger"
    await _drained(bot)
    detail = (await bot.sandbox.messages(CLINICIAN))[-1].text or ""
    assert "Same day" in detail and code in detail and "cold turkey" in detail
    # The group never carries the client's words.
    assert all("xanax" not in (m.text or "") for m in await bot.sandbox.messages(GROUP))


async def test_drunk_now_with_percs_is_asked_if_alone_and_gets_the_overdose_card(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    pack = content.language("en")
    replies = await bot.person(CLIENT, "Alex").send("im so drunk right now and took some percs")
    texts = [r.text or "" for r in replies]
    assert any(pack.alerts.checks.are_you_alone in t for t in texts), texts
    assert pack.checkin.overdose_card in texts
    assert all(r.protect_content for r in replies)
    assert (await _alert(bot)).category == "relapse_or_use"


async def test_drunk_now_on_alcohol_alone_is_asked_if_alone_without_the_card(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    pack = content.language("en")
    replies = await bot.person(CLIENT, "Alex").send("im so drunk right now")
    texts = [r.text or "" for r in replies]
    assert any(pack.alerts.checks.are_you_alone in t for t in texts), texts
    assert pack.checkin.overdose_card not in texts


async def test_a_past_use_is_not_asked_if_alone(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    pack = content.language("en")
    replies = await bot.person(CLIENT, "Alex").send("i drank last night after 30 days")
    texts = [r.text or "" for r in replies]
    assert not any(pack.alerts.checks.are_you_alone in t for t in texts)
    assert not any(pack.alerts.checks.withdrawal in t for t in texts)


@pytest.mark.parametrize(
    ("text", "now"),
    [
        ("im so drunk right now", True),
        ("I'm high", True),
        ("I’m really wasted", True),
        ("high af on fent", True),
        ("still drunk from last night", True),
        ("I was drunk last night", False),
        ("i drank last night after 30 days", False),
        ("got high yesterday", False),
    ],
)
def test_drunk_or_high_now(content: Content, text: str, now: bool) -> None:
    checks = content.language("en").alerts.checks
    assert drunk_or_high_now(text, checks.drunk_or_high, checks.now_before, checks.now_after) is now


def test_opioids_and_sedatives_are_named(content: Content) -> None:
    sedating = content.language("en").alerts.checks.sedating
    assert names_any("took some Percs", sedating) and names_any("a few xans", sedating)
    assert not names_any("a few beers", sedating)
