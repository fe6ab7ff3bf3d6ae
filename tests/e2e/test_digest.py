"""The digest at the program's digest time: each clinician's call list, most urgent first,
then alerts since the last digest and status changes; the group gets counts only."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.features.delivery import build_engine
from bot.models import ClientStatus, Clinician, Program
from bot.scheduling.clock import ManualClock
from tests.e2e.conftest import CLIENT, CLINICIAN, COLLEAGUE, GROUP
from tests.e2e.test_safety_net import URGENT, _drained
from tests.factories import add_client
from tests.harness import BotHarness


def _plain(text: str | None) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text or ""))


async def _digest(bot: BotHarness, chat_id: int) -> str:
    """The digest in a chat (other messages may arrive around it)."""
    found = [m for m in await bot.sandbox.messages(chat_id) if "Waypoint digest" in (m.text or "")]
    assert len(found) == 1, [m.text for m in await bot.sandbox.messages(chat_id)]
    return _plain(found[0].text)


def _next_local(zone: str, hhmm: str) -> datetime:
    """The next time `hhmm` comes in `zone`, plus half a minute (the job has fired)."""
    now = datetime.now(ZoneInfo(zone))
    hour, minute = (int(x) for x in hhmm.split(":"))
    at = now.replace(hour=hour, minute=minute, second=30, microsecond=0)
    return (at if at > now else at + timedelta(days=1)).astimezone(UTC)


async def test_each_clinician_gets_a_call_list_and_the_group_only_counts(
    team: tuple[BotHarness, str],
) -> None:
    bot, code = team
    alex = bot.person(CLIENT, "Alex")
    await alex.send("i drank last night after 30 days")
    await alex.send(URGENT)
    await alex.send("/pause")
    await _drained(bot)
    async with bot.services.sessions() as session:
        program = (await session.exec(select(Program))).one()
        rivera = (
            await session.exec(select(Clinician).where(Clinician.telegram_user_id == CLINICIAN))
        ).one()
    digest_at = _next_local(program.timezone, program.digest_times[0])
    # A second client nobody has heard from for four days when the digest goes out (it
    # may be up to a day away: counted from now, this was 5 days in the hour after it).
    quiet = await add_client(bot.services, program, telegram_user_id=7399, code="QTT-4")
    async with bot.services.sessions() as session:
        quiet.primary_clinician_id = rivera.id
        quiet.enrolled_at = digest_at - timedelta(days=4, hours=1)
        quiet.status = ClientStatus.active
        session.add(quiet)
        await session.commit()

    clock = ManualClock(digest_at)
    engine = build_engine(bot.services, bot.application.bot, clock=clock)
    await engine.tick()  # the program cron's catch-up enqueues the slot that just passed
    await engine.wait_idle()
    for _ in range(5):  # one message a second per chat: let the clock run past the pacing
        clock.set(clock.now() + timedelta(seconds=2))
        await engine.run_once()

    digest = await _digest(bot, CLINICIAN)
    lines = digest.splitlines()
    assert lines[0].startswith("Waypoint digest")
    calls = lines[lines.index("Call list (most urgent first)") + 1 :]
    # One line per client: the most urgent alert, then what else is open.
    assert calls[0].startswith(f"🚨 {code}: URGENT, suicidal thoughts, ESCALATED, not acknowledged")
    assert calls[0].endswith(" · 1 more open: use or relapse")
    assert calls[1] == "• QTT-4: no contact for 4 days"
    assert "URGENT · suicidal thoughts: 1" in digest
    assert "Same day · use or relapse: 1" in digest
    assert f"{code}: paused messages" in digest
    # A colleague with no clients sees only the alert escalated to them, not the rest of
    # someone else's caseload.
    colleague = await _digest(bot, COLLEAGUE)
    assert f"🚨 {code}: URGENT, suicidal thoughts, ESCALATED" in colleague
    assert "QTT-4" not in colleague and "Nobody needs a call right now." not in colleague
    # The group: counts only; no code, no name, no words.
    group = await _digest(bot, GROUP)
    assert "1 urgent and 1 same-day alerts. Open now: 2." in group
    assert code not in group and "QTT-4" not in group and "drank" not in group
    # The same slot is never sent twice (a second tick, a second worker).
    await build_engine(bot.services, bot.application.bot, clock=clock).tick()
    await engine.tick()
    await engine.wait_idle()
    digests = [
        m for m in await bot.sandbox.messages(CLINICIAN) if "Waypoint digest" in (m.text or "")
    ]
    assert len(digests) == 1
