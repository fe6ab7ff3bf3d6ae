"""/delete while the care team is acting on a crisis (issue 16, defect 5): the open alert
stays with the team, without the client's words, until a clinician resolves it; then it
is erased too. The confirmation is one-time: an old, used or forged "Yes" erases nothing."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.content import Content
from bot.features.delivery import build_engine, delivery_engine
from bot.models import Alert, AlertAction, AuditEvent, Client
from bot.scheduling.clock import ManualClock
from tests.e2e.conftest import CLIENT, CLINICIAN, COLLEAGUE
from tests.e2e.enrollment_steps import client_row
from tests.factories import anywhere
from tests.harness import BotHarness

URGENT = "pills ready tonight, i want to kill myself"


async def _drained(bot: BotHarness, at: datetime | None = None) -> None:
    await delivery_engine(bot.application).wait_idle()
    clock = ManualClock(at or datetime.now(UTC) + timedelta(minutes=1))
    await build_engine(bot.services, bot.application.bot, clock=clock).run_once()


def _plain(text: str | None) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text or ""))


async def test_delete_during_an_open_crisis_keeps_the_alert_until_a_clinician_resolves_it(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    pack = content.language("en")
    alex = bot.person(CLIENT, "Alex")
    await alex.send(URGENT)
    await _drained(bot)
    async with bot.services.sessions() as session:
        raised = (await session.exec(select(Alert))).one().raised_at
    before = _plain((await bot.sandbox.messages(CLINICIAN))[-1].text)
    (why,) = [line for line in before.splitlines() if line.startswith("Why:")]
    words = why.split('"')[1]  # the words the rule matched, shown to the clinician

    # The client is told plainly, before confirming, what the team keeps and for how long.
    (confirm,) = await alex.send("/delete")
    assert confirm.text == pack.account.delete_confirm_open_alert
    (gone,) = await alex.press(pack.account.delete_yes)
    assert gone.text == pack.account.deleted_open_alert

    # The client's words and Telegram id are gone everywhere, the clinician's copy too.
    assert await anywhere(bot.services, "kill myself") == []
    assert await anywhere(bot.services, CLIENT) == []
    detail = (await bot.sandbox.messages(CLINICIAN))[-1]
    assert code in _plain(detail.text) and "kill myself" not in _plain(detail.text)
    assert "Why:" not in _plain(detail.text) and words not in _plain(detail.text)
    async with bot.services.sessions() as session:
        assert (await session.exec(select(Alert))).one().why is None
    (hello,) = await alex.send("/start")
    assert hello.text == pack.ui.welcome

    # The team still sees the open alert, and the escalation still goes out.
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    (listing,) = await rivera.send("/alerts")
    assert _plain(listing.text).splitlines()[1].startswith(f"🚨 {code} · URGENT")
    await _drained(bot, at=raised + timedelta(minutes=16))
    escalated = (await bot.sandbox.messages(COLLEAGUE))[-1]
    assert "Escalated" in _plain(escalated.text) and code in _plain(escalated.text)
    assert "kill myself" not in _plain(escalated.text)

    # Resolving it erases what remained, the team's note with it.
    await rivera.press("Resolved", detail)
    (closed,) = await rivera.send("Reached her by phone, her sister is with her.")
    assert "Note: Reached her" in _plain(closed.text)
    async with bot.services.sessions() as session:
        assert (await session.exec(select(Alert))).all() == []
        assert (await session.exec(select(AlertAction))).all() == []
        assert (await session.exec(select(Client).where(Client.code == code))).all() == []
        actions = [a.action for a in (await session.exec(select(AuditEvent))).all()]
    assert "client_data_deleted" in actions
    assert await anywhere(bot.services, "Reached her") == []
    (listing,) = await rivera.send("/alerts")
    assert listing.text == content.language("en").alerts.staff.alerts_none


async def test_the_delete_confirmation_works_once_and_only_from_the_latest_prompt(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    pack = content.language("en")
    alex = bot.person(CLIENT, "Alex")

    async def stale_answer() -> str:
        return (await bot.sandbox.callback_answers(CLIENT))[-1]["text"]

    # "No, keep it" ends that prompt: its "Yes" is now out of date.
    (first,) = await alex.send("/delete")
    assert first.text == pack.account.delete_confirm  # no open alert
    (kept,) = await alex.press(pack.account.delete_no, first)
    assert kept.text == pack.account.delete_cancelled
    assert await alex.press(pack.account.delete_yes, first) == []
    assert await stale_answer() == pack.account.delete_stale
    # A forged press (the old stateless data, or a guessed nonce) erases nothing.
    assert await alex.press_data("del:y", first.message_id) == []
    assert await stale_answer() == pack.account.delete_stale
    assert await alex.press_data("del:y:AAAAAAAAAAA", first.message_id) == []
    # A newer prompt makes an older one out of date.
    (second,) = await alex.send("/delete")
    (third,) = await alex.send("/delete")
    assert await alex.press(pack.account.delete_yes, second) == []
    assert await stale_answer() == pack.account.delete_stale
    assert (await client_row(bot.services, code)).telegram_user_id == CLIENT

    (gone,) = await alex.press(pack.account.delete_yes, third)
    assert gone.text == pack.account.deleted
    # The used button is out of date too.
    assert await alex.press(pack.account.delete_yes, third) == []
    assert await stale_answer() == pack.account.delete_stale
    assert await anywhere(bot.services, CLIENT) == []


async def test_a_deletion_waiting_for_an_alert_finishes_however_the_alert_was_resolved(
    team: tuple[BotHarness, str], content: Content
) -> None:
    """The planner finishes it too (an alert closed by any other path than the note)."""
    bot, code = team
    pack = content.language("en")
    alex = bot.person(CLIENT, "Alex")
    await alex.send(URGENT)
    await alex.send("/delete")
    await alex.press(pack.account.delete_yes)
    await _drained(bot)
    async with bot.services.sessions() as session:
        assert (await session.exec(select(Client).where(Client.code == code))).one()
        alert = (await session.exec(select(Alert))).one()
        alert.resolved_at = datetime.now(UTC)
        session.add(alert)
        await session.commit()
    await _drained(bot)
    async with bot.services.sessions() as session:
        assert (await session.exec(select(Client).where(Client.code == code))).all() == []
        assert (await session.exec(select(Alert))).all() == []
