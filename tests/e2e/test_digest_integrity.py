"""What a clinician is told about open alerts is whole and right: `/alerts` and the digest
list every open alert the clinician was sent or escalated to (not only their own
clients'); the call list has one line per client; a half-finished check-in is counted
beside the means it feeds; alert times name their time zone; the caseload chart's title
is never clipped."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from matplotlib.backends.backend_agg import FigureCanvasAgg
from sqlmodel import select

from bot.checkin import charts
from bot.content import Content
from bot.db import session_scope
from bot.features.delivery import build_engine
from bot.models import Alert, CheckIn, Client, Clinician, Program
from bot.scheduling.clock import ManualClock
from tests.e2e.conftest import CLIENT, CLINICIAN, COLLEAGUE, GROUP
from tests.e2e.enrollment_steps import admin
from tests.e2e.test_digest import _digest, _next_local, _plain
from tests.e2e.test_safety_net import URGENT, _drained
from tests.harness import BotHarness

# "at Fri 9:14 pm EST": a 12-hour time and the zone's name (New York, the program's zone).
ZONED_TIME = r"\w{3} \d{1,2}:\d\d [ap]m E[SD]T"


async def _send_digests(bot: BotHarness, at: datetime) -> None:
    clock = ManualClock(at)
    engine = build_engine(bot.services, bot.application.bot, clock=clock)
    await engine.tick()  # the program cron's catch-up enqueues the slot that just passed
    await engine.wait_idle()
    for _ in range(5):  # one message a second per chat: let the clock run past the pacing
        clock.set(clock.now() + timedelta(seconds=2))
        await engine.run_once()


async def _program(bot: BotHarness) -> Program:
    async with bot.services.sessions() as session:
        return (await session.exec(select(Program))).one()


async def test_a_colleague_paged_by_an_escalation_sees_the_alert_in_alerts_and_the_digest(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    staff = content.language(None).alerts.staff
    chen = bot.person(COLLEAGUE, "Dr. Chen")
    await bot.person(CLIENT, "Alex").send(URGENT)
    await _drained(bot)
    # Not theirs and not escalated yet: nothing for Dr. Chen.
    (listing,) = await chen.send("/alerts")
    assert listing.text == staff.alerts_none
    async with bot.services.sessions() as session:
        raised = (await session.exec(select(Alert))).one().raised_at
    engine = build_engine(
        bot.services, bot.application.bot, clock=ManualClock(raised + timedelta(minutes=16))
    )
    await engine.run_once()
    assert "Escalated" in ((await bot.sandbox.messages(COLLEAGUE))[-1].text or "")
    # Paged: the alert is on their list, even after the primary clinician acknowledged it.
    (listing,) = await chen.send("/alerts")
    lines = _plain(listing.text).splitlines()
    assert lines[0] == "Open alerts"
    assert lines[1].startswith(f"🚨 {code} · URGENT · suicidal thoughts")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    detail = [m for m in await bot.sandbox.messages(CLINICIAN) if m.buttons][-1]
    await rivera.press("Acknowledge", detail)
    (listing,) = await chen.send("/alerts")
    assert _plain(listing.text).splitlines()[1].endswith("acknowledged")
    # The digest agrees with /alerts: no "nobody needs a call" while it is open.
    program = await _program(bot)
    await _send_digests(bot, _next_local(program.timezone, program.digest_times[0]))
    digest = await _digest(bot, COLLEAGUE)
    assert f"🚨 {code}: URGENT, suicidal thoughts, acknowledged" in digest
    assert staff.digest_call_none not in digest


async def test_an_on_call_clinician_sent_the_alert_has_it_on_their_list(
    team: tuple[BotHarness, str],
) -> None:
    bot, code = team
    async with bot.services.sessions() as session:
        chen = (
            await session.exec(select(Clinician).where(Clinician.telegram_user_id == COLLEAGUE))
        ).one()
    status, _, err = await admin(bot, "clinician", "on-call", str(chen.id), "on")
    assert status == 0, err
    await bot.person(CLIENT, "Alex").send(URGENT)
    await _drained(bot)
    (listing,) = await bot.person(COLLEAGUE, "Dr. Chen").send("/alerts")
    assert _plain(listing.text).splitlines()[1].startswith(f"🚨 {code} · URGENT")


async def test_one_call_line_per_client_and_alert_times_name_their_zone(
    team: tuple[BotHarness, str],
) -> None:
    bot, code = team
    alex = bot.person(CLIENT, "Alex")
    await alex.send("i drank last night after 30 days")
    for text in (URGENT, "i am going to end my life", "i want to die, i have the pills ready"):
        await alex.send(text)
    await _drained(bot)
    # Every time a clinician reads in an alert carries the program's zone.
    group = [m for m in await bot.sandbox.messages(GROUP) if m.event == "sent"][-1]
    assert re.search(rf"at {ZONED_TIME}\.", _plain(group.text)), group.text
    detail = [m for m in await bot.sandbox.messages(CLINICIAN) if m.buttons][-1]
    assert re.search(rf"{code} at {ZONED_TIME}\n", _plain(detail.text)), detail.text
    await bot.person(CLINICIAN, "Dr. Rivera").press("Acknowledge", detail)
    detail = (await bot.sandbox.messages(CLINICIAN))[-1]
    assert re.search(rf"Acknowledged by Dr. Rivera at {ZONED_TIME}", _plain(detail.text))

    program = await _program(bot)
    await _send_digests(bot, _next_local(program.timezone, program.digest_times[0]))
    digest = await _digest(bot, CLINICIAN)
    assert re.match(rf"Waypoint digest · \w{{3}} \d\d \w{{3}} {ZONED_TIME[6:]}", digest), digest
    lines = digest.splitlines()
    calls = lines[lines.index("Call list (most urgent first)") + 1 :]
    calls = calls[: calls.index("")]
    assert len(calls) == 1, calls
    assert calls[0].startswith(f"🚨 {code}: URGENT")
    assert "use or relapse" in calls[0]  # what else is open is on the same line


async def test_a_half_finished_check_in_is_counted_beside_the_means_it_feeds(
    team: tuple[BotHarness, str],
) -> None:
    bot, code = team
    program = await _program(bot)
    at = _next_local(program.timezone, program.digest_times[0])
    async with session_scope(bot.services.sessions) as session:
        client = (await session.exec(select(Client).where(Client.code == code))).one()
        assert client.id is not None
        # Yesterday Alex answered the craving question (5) and stopped there.
        yesterday = at.astimezone(ZoneInfo(program.timezone)).date() - timedelta(days=1)
        session.add(CheckIn(client_id=client.id, local_date=yesterday, step="mood", craving=5))
    await _send_digests(bot, at)
    digest = await _digest(bot, CLINICIAN)
    line = next(x for x in digest.splitlines() if x.startswith(f"{code}: "))
    assert line.startswith(f"{code}: 0/7 done (1 started, not finished) · urge mean 5, max 5")


def test_the_caseload_charts_title_is_never_clipped() -> None:
    title = "Urge over the last 14 days, by client (dashed line = 8)"
    for clients in (1, 2, 5):
        series = [(f"C{i}-1", [None] * 10 + [5, 6, 7, 8]) for i in range(clients)]
        figure = charts.caseload_figure(series, date(2026, 12, 4), title)
        renderer = FigureCanvasAgg(figure).get_renderer()
        heading = figure.get_suptitle()
        assert heading.replace("\n", " ") == title  # wrapped, never cut
        box = figure._suptitle.get_window_extent(renderer)  # type: ignore[union-attr]
        assert box.x0 >= 0 and box.x1 <= figure.bbox.width, (clients, box)
        assert box.y1 <= figure.bbox.height, (clients, box)
        # The panels' titles sit below the heading.
        for axes in figure.axes:
            assert axes.title.get_window_extent(renderer).y1 <= box.y0 + 1
