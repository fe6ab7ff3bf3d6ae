"""The safety net end to end: a client's crisis words get the crisis reply at once, and
the care team gets the alert (group: pseudonym only; clinician: the detail), acts on it,
and an unacknowledged alert is escalated."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.alerts import Finding, raise_alert
from bot.content import Content
from bot.features.delivery import build_engine, delivery_engine
from bot.models import Alert, AlertAction, AlertTier, AuditEvent, Clinician, Program
from bot.scheduling.clock import ManualClock
from tests.e2e.conftest import ADMIN, CLIENT, CLINICIAN, COLLEAGUE, GROUP, STRANGER
from tests.e2e.enrollment_steps import admin, client_row, invite, token_in
from tests.e2e.enrollment_steps import program_with_clinician as setup_program
from tests.e2e.promises import told_now
from tests.factories import anywhere
from tests.harness import BotHarness

URGENT = "honestly i want to kill myself tonight, Maria knows"


async def _drained(bot: BotHarness) -> None:
    """Everything queued so far is sent: the bot's own drain finishes, then an engine on a
    clock a minute ahead sends what was paced (one message a second per chat)."""
    await delivery_engine(bot.application).wait_idle()
    clock = ManualClock(datetime.now(UTC) + timedelta(minutes=1))
    await build_engine(bot.services, bot.application.bot, clock=clock).run_once()


def _plain(text: str | None) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text or ""))


async def test_an_urgent_message_gets_the_crisis_reply_and_the_team_an_alert(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    pack = content.language("en")
    reply = pack.alerts.reply
    replies = await bot.person(CLIENT, "Alex").send(URGENT)
    # Word for word from content: the question with its buttons, the card, who was told.
    assert [r.text for r in replies] == [
        reply.urgent_opening,
        pack.crisis_card("US"),
        told_now(pack),
    ]
    assert replies[0].buttons == [[reply.safe_button, reply.not_safe_button], [reply.call_button]]
    await _drained(bot)

    (group,) = [m for m in await bot.sandbox.messages(GROUP) if m.event == "sent"]
    text = _plain(group.text)
    assert code in text and "URGENT" in text and "suicidal thoughts" in text
    # Never the client's words or any name in the group.
    for word in re.findall(r"[a-z]{3,}", URGENT.lower()):
        assert word not in text.lower(), word
    assert "Alex" not in text and "Maria" not in text
    assert group.buttons == [["Open details"]]

    detail = (await bot.sandbox.messages(CLINICIAN))[-1]
    assert code in detail.text and "kill myself" in detail.text
    assert detail.buttons == [["Acknowledge", "Contacted client", "Resolved"], ["False alarm"]]
    # Colleagues are not disturbed unless nobody acknowledges.
    assert [m.text for m in await bot.sandbox.messages(COLLEAGUE)][-1].startswith(
        "You're registered"
    )


# "Contacted client" after "Acknowledge" leaves the group post's state as it was, and its
# refresh is answered "message is not modified" (refresh_everywhere takes that as done).
@pytest.mark.sandbox_refusals("message is not modified")
async def test_presses_are_recorded_and_shown_and_refused_for_others(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    await bot.person(CLIENT, "Alex").send(URGENT)
    await _drained(bot)
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    detail = (await bot.sandbox.messages(CLINICIAN))[-1]
    (edited,) = await rivera.press("Acknowledge", detail)
    assert edited.event == "edited" and "Acknowledged by Dr. Rivera" in edited.text
    await rivera.press("Contacted client", detail)
    # A stranger, and a clinician of another program, cannot act on it.
    sam = bot.person(STRANGER, "Sam")
    (welcome,) = await sam.send("/start")  # a forged press comes from one's own chat
    assert await sam.press_data("al:1:a", welcome.message_id) == []
    answers = await bot.sandbox.callback_answers(STRANGER)
    assert answers[-1]["text"] == content.language("en").alerts.staff.not_allowed
    async with bot.services.sessions() as session:
        other = Program(name="Elsewhere", timezone="UTC", region="US")
        session.add(other)
        await session.commit()
    status, out, err = await admin(
        bot, "clinician", "invite", "--program", "Elsewhere", "--role", "admin", "--name", "Other"
    )
    assert status == 0, err
    outsider = bot.person(9399, "Other")
    (registered,) = await outsider.send(f"/start {token_in(out)}")
    await outsider.press_data("al:1:a", registered.message_id)
    async with bot.services.sessions() as session:
        actions = (await session.exec(select(AlertAction))).all()
        refusals = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "alert_press_refused"))
        ).all()
    assert [a.action for a in actions] == ["acknowledged", "contacted"]
    assert len(refusals) == 2


async def test_resolved_needs_a_note_and_closes_the_alert(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    staff = content.language("en").alerts.staff
    await bot.person(CLIENT, "Alex").send(URGENT)
    await _drained(bot)
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    detail = (await bot.sandbox.messages(CLINICIAN))[-1]
    (ask,) = await rivera.press("Resolved", detail)
    assert ask.text == staff.ask_resolution_note
    async with bot.services.sessions() as session:
        assert (await session.exec(select(Alert))).one().resolved_at is None
    (closed,) = await rivera.send("Called her, she is with her sister tonight, safe.")
    assert closed.event == "edited" and "Note: Called her" in closed.text
    assert closed.buttons == []
    async with bot.services.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    assert alert.resolved_at is not None and alert.resolution_note.startswith("Called her")


async def test_not_safe_sends_the_emergency_numbers_first_and_raises_priority(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    pack = content.language("en")
    alex = bot.person(CLIENT, "Alex")
    first = await alex.send(URGENT)
    await _drained(bot)
    (words, card) = await alex.press(pack.alerts.reply.not_safe_button, first[0])
    assert words.text == pack.alerts.reply.not_safe
    assert card.text == pack.crisis_card("US") and card.text.index("911") < card.text.index("988")
    await _drained(bot)
    async with bot.services.sessions() as session:
        assert (await session.exec(select(Alert))).one().high_priority
    latest = (await bot.sandbox.messages(CLINICIAN))[-1]
    assert "I'm not safe" in _plain(latest.text)


async def test_an_unacknowledged_alert_is_escalated_to_everyone_then_to_admins(
    team: tuple[BotHarness, str],
) -> None:
    bot, _ = team
    await bot.person(CLIENT, "Alex").send(URGENT)
    await _drained(bot)
    async with bot.services.sessions() as session:
        raised = (await session.exec(select(Alert))).one().raised_at
    clock = ManualClock(raised + timedelta(minutes=14))
    engine = build_engine(bot.services, bot.application.bot, clock=clock)
    await engine.run_once()
    assert "Escalated" not in (await bot.sandbox.messages(COLLEAGUE))[-1].text
    clock.set(raised + timedelta(minutes=15, seconds=1))
    await engine.run_once()
    assert (
        "Escalated, not acknowledged for 15 minutes"
        in (await bot.sandbox.messages(COLLEAGUE))[-1].text
    )
    clock.set(raised + timedelta(minutes=30, seconds=1))
    await engine.run_once()
    assert "not acknowledged for 30 minutes" in (await bot.sandbox.messages(ADMIN))[-1].text


async def test_no_escalation_once_someone_acknowledged(team: tuple[BotHarness, str]) -> None:
    bot, _ = team
    await bot.person(CLIENT, "Alex").send(URGENT)
    await _drained(bot)
    detail = (await bot.sandbox.messages(CLINICIAN))[-1]
    await bot.person(CLINICIAN, "Dr. Rivera").press("Acknowledge", detail)
    async with bot.services.sessions() as session:
        raised = (await session.exec(select(Alert))).one().raised_at
    engine = build_engine(
        bot.services, bot.application.bot, clock=ManualClock(raised + timedelta(hours=1))
    )
    await engine.run_once()
    for person in (COLLEAGUE, ADMIN):
        assert all("Escalated" not in (m.text or "") for m in await bot.sandbox.messages(person))


async def test_a_same_day_message_is_acknowledged_calmly_and_goes_to_the_clinician_only(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    reply = content.language("en").alerts.reply
    (answer,) = await bot.person(CLIENT, "Alex").send("i drank last night after 30 days")
    assert answer.text.startswith(reply.same_day.split("\n")[0])
    assert reply.same_day_use.split("\n")[0] in answer.text
    await _drained(bot)
    async with bot.services.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    assert alert.tier is AlertTier.same_day and alert.category == "relapse_or_use"
    assert [m for m in await bot.sandbox.messages(GROUP) if m.event == "sent"] == []
    assert "Same day" in (await bot.sandbox.messages(CLINICIAN))[-1].text


async def test_the_alert_arrives_even_when_telegram_fails_twice(
    team: tuple[BotHarness, str],
) -> None:
    bot, code = team
    row = await client_row(bot.services, code)
    async with bot.services.sessions() as session:
        await raise_alert(
            session,
            content=bot.services.content,
            client=row,
            now=datetime.now(UTC),
            finding=Finding(AlertTier.urgent, "suicidal_ideation", "test", "took all my pills"),
        )
        await session.commit()
    await bot.sandbox.set_faults(error_code=500, count=2, methods=["sendMessage"])
    # Drive the clock past each backoff; the outbox retries until Telegram takes it.
    clock = ManualClock(datetime.now(UTC))
    engine = build_engine(bot.services, bot.application.bot, clock=clock)
    for _ in range(4):
        clock.set(clock.now() + timedelta(minutes=1))
        await engine.run_once()
    failed = [r for r in await bot.sandbox.requests("sendMessage") if r.get("error_code") == 500]
    assert len(failed) == 2
    assert any("took all my pills" in (m.text or "") for m in await bot.sandbox.messages(CLINICIAN))


async def test_clinicians_are_not_screened(team: tuple[BotHarness, str]) -> None:
    bot, code = team
    (reply,) = await bot.person(CLINICIAN, "Dr. Rivera").send("client said she wants to die")
    assert "988" not in (reply.text or "")
    async with bot.services.sessions() as session:
        assert (await session.exec(select(Alert))).all() == []
    assert (await client_row(bot.services, code)).status.value == "active"


async def test_alerts_and_one_clients_history_are_listed_and_every_view_audited(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    alex = bot.person(CLIENT, "Alex")
    await alex.send("i drank last night after 30 days")
    await alex.send(URGENT)
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    (listing,) = await rivera.send("/alerts")
    lines = _plain(listing.text).splitlines()
    assert lines[0] == "Open alerts"
    # Urgent first, though it came second.
    assert lines[1].startswith(f"🚨 {code} · URGENT · suicidal thoughts")
    assert lines[2].startswith(f"• {code} · Same day · use or relapse")
    assert listing.protect_content
    record, check_ins = await rivera.send(f"/client {code.lower()}")
    assert "No check-ins yet" in check_ins.text
    text = _plain(record.text)
    assert text.startswith(f"Client {code} · active") and text.count("open") == 2
    # Another clinician's client is not shown; a stranger learns nothing.
    (refused,) = await bot.person(COLLEAGUE, "Dr. Chen").send(f"/client {code}")
    assert f"no client {code}" in refused.text
    (stranger,) = await bot.person(STRANGER, "Sam").send("/alerts")
    assert stranger.text == content.language("en").ui.welcome
    row = await client_row(bot.services, code)
    async with bot.services.sessions() as session:
        views = (
            await session.exec(
                select(AuditEvent).where(
                    AuditEvent.action.in_(["alerts_viewed", "client_viewed"])  # type: ignore[attr-defined]
                )
            )
        ).all()
    assert [(v.action, v.subject) for v in views] == [
        ("alerts_viewed", None),
        ("client_viewed", f"client:{row.id}"),
    ]


async def test_delete_after_an_alert_erases_the_alert_and_the_words_in_it(
    team: tuple[BotHarness, str], content: Content
) -> None:
    # Once resolved; an open alert waits for the team (tests/e2e/test_delete_open_alert.py).
    bot, _ = team
    pack = content.language("en")
    alex = bot.person(CLIENT, "Alex")
    await alex.send(URGENT)
    await _drained(bot)
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await rivera.press("Acknowledge", (await bot.sandbox.messages(CLINICIAN))[-1])
    await rivera.press("Resolved", (await bot.sandbox.messages(CLINICIAN))[-2])
    await rivera.send("Called her, she is safe.")
    await alex.send("/delete")
    (gone,) = await alex.press(pack.account.delete_yes)
    assert gone.text == pack.account.deleted
    assert await anywhere(bot.services, "kill myself") == []
    async with bot.services.sessions() as session:
        assert (await session.exec(select(Alert))).all() == []
        assert (await session.exec(select(AlertAction))).all() == []


async def test_the_day_after_the_client_is_asked_and_no_one_reached_me_reopens(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    reply = content.language("en").alerts.reply
    alex = bot.person(CLIENT, "Alex")
    await alex.send(URGENT)
    await _drained(bot)
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await rivera.press("Acknowledge", (await bot.sandbox.messages(CLINICIAN))[-1])
    async with bot.services.sessions() as session:
        raised = (await session.exec(select(Alert))).one().raised_at
    # 11:00 the next local day (New York), with the escalations long skipped.
    next_day = (raised.astimezone(ZoneInfo("America/New_York")) + timedelta(days=1)).replace(
        hour=11, minute=0, second=5
    )
    clock = ManualClock(next_day.astimezone(UTC))
    await build_engine(bot.services, bot.application.bot, clock=clock).run_once()
    question = (await alex.messages())[-1]
    assert question.text == reply.followup
    assert question.buttons == [
        [reply.better_button, reply.same_button, reply.worse_button],
        [reply.reached_button, reply.not_reached_button],
    ]
    (answer,) = await alex.press(reply.not_reached_button, question)
    assert answer.text == reply.followup_not_reached
    assert (
        await alex.press_data(question.data_for(reply.not_reached_button), question.message_id)
        == []
    )  # a double tap: once
    await _drained(bot)
    async with bot.services.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
        actions = [a.action for a in (await session.exec(select(AlertAction))).all()]
    assert alert.acknowledged_at is None and alert.resolved_at is None  # open again
    assert actions == ["acknowledged", "followup_not_reached"]
    latest = _plain((await bot.sandbox.messages(CLINICIAN))[-1].text)
    assert "NO ONE REACHED ME (reopened)" in latest


async def test_a_clinician_on_call_gets_the_alert_at_once(team: tuple[BotHarness, str]) -> None:
    bot, code = team
    async with bot.services.sessions() as session:
        chen = (
            await session.exec(select(Clinician).where(Clinician.telegram_user_id == COLLEAGUE))
        ).one()
    status, out, err = await admin(bot, "clinician", "on-call", str(chen.id), "on")
    assert status == 0 and "is on call" in out, err
    await bot.person(CLIENT, "Alex").send(URGENT)
    await _drained(bot)
    latest = (await bot.sandbox.messages(COLLEAGUE))[-1]
    assert code in latest.text and "kill myself" in latest.text
    assert "Escalated" not in latest.text


async def test_help_now_works_in_the_middle_of_set_up_and_set_up_goes_on(
    bot: BotHarness, content: Content
) -> None:
    pack = content.language("en")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await setup_program(bot, rivera)
    _, token = await invite(rivera)
    alex = bot.person(CLIENT, "Alex")
    shown = await alex.send(f"/start {token}")
    await alex.press("I'm 18+ and I agree", shown[-1])
    await alex.press("English")
    (card,) = await alex.send("/help")
    assert card.text == pack.crisis_card("US")
    (card,) = await alex.press(pack.ui.help_button)
    assert card.text == pack.crisis_card("US")
    (next_question,) = await alex.send("denver")
    assert next_question.text == pack.setup.ask_checkin_time
