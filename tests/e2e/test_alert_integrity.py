"""Alerts that reach the right person, and only once (issue 16, safety defects 1, 2, 12).

- A button names the alert it named when it was sent: an old button whose alert is gone
  is "out of date" and changes nothing, even where SQLite would reuse the alert's id.
- The detail of an urgent alert that cannot reach the primary clinician goes on at once
  (on call, every clinician, admins); if nobody can be reached, the client is told so,
  after the crisis lines.
- Repeated messages of one client are grouped into the open alert, answered once, and
  every copy of an alert shows its new state.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot.alerts import Finding, raise_alert
from bot.content import Content
from bot.features.delivery import build_engine, delivery_engine
from bot.models import Alert, AlertAction, AlertTier, Clinician, Program
from bot.scheduling.clock import ManualClock
from bot.telegram_sandbox.driver import SentMessage
from tests.e2e.conftest import ADMIN, CLIENT, CLINICIAN, COLLEAGUE, GROUP
from tests.e2e.enrollment_steps import admin, client_row, clinician_row, invite, join_and_set_up
from tests.harness import BotHarness

URGENT = "honestly i want to kill myself tonight, Maria knows"
OTHER_CLIENT = 7302


async def _drained(bot: BotHarness) -> None:
    """Everything queued so far is sent: the bot's own drain finishes, then an engine on a
    clock a minute ahead sends what was paced (one message a second per chat)."""
    await delivery_engine(bot.application).wait_idle()
    clock = ManualClock(datetime.now(UTC) + timedelta(minutes=1))
    await build_engine(bot.services, bot.application.bot, clock=clock).run_once()


async def _dispatched(bot: BotHarness, seconds: int = 10) -> None:
    """The drain the message started, then one dispatch a few seconds later (what one
    message a second per chat held back): far before any escalation is due."""
    await delivery_engine(bot.application).wait_idle()
    clock = ManualClock(datetime.now(UTC) + timedelta(seconds=seconds))
    await build_engine(bot.services, bot.application.bot, clock=clock).run_once()


def _plain(text: str | None) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text or ""))


async def _alerts(bot: BotHarness) -> list[Alert]:
    async with bot.services.sessions() as session:
        return list((await session.exec(select(Alert).order_by(col(Alert.id)))).all())


# --- defect 1: a stale button never acts on another client's alert ----------------------


async def test_an_old_acknowledge_button_is_out_of_date_and_the_new_clients_alert_escalates(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    pack = content.language("en")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    alex = bot.person(CLIENT, "Alex")
    await alex.send(URGENT)
    await _drained(bot)
    # The alert, not the "joined" notice queued before it: an urgent alert goes first.
    old = [m for m in await bot.sandbox.messages(CLINICIAN) if "URGENT" in m.text][-1]
    stale_acknowledge = old.data_for("Acknowledge")
    (old_alert,) = await _alerts(bot)
    old_client_id = old_alert.client_id
    # Closed with a note, then the client erases everything (the alert with it).
    await rivera.press("Resolved", old)
    await rivera.send("Called, she is safe with her sister.")
    await alex.send("/delete")
    (gone,) = await alex.press(pack.account.delete_yes)
    assert gone.text == pack.account.deleted
    assert await _alerts(bot) == []

    # A new client joins and writes in crisis: on old SQLite, the same client and alert ids.
    code_b, token = await invite(rivera)
    bea = bot.person(OTHER_CLIENT, "Bea")
    await join_and_set_up(bea, token)
    await bea.send(URGENT)
    await _drained(bot)
    (new_alert,) = await _alerts(bot)

    # The clinician presses Acknowledge on the old message: out of date, nothing changes.
    await rivera.press_data(stale_acknowledge, old.message_id)
    answers = await bot.sandbox.callback_answers(CLINICIAN)
    assert answers[-1]["text"] == pack.alerts.staff.out_of_date
    async with bot.services.sessions() as session:
        alert = await session.get(Alert, new_alert.id)
        actions = (await session.exec(select(AlertAction))).all()
    assert alert is not None and alert.acknowledged_at is None
    assert actions == []
    # Bea's alert still escalates to the rest of the team.
    engine = build_engine(
        bot.services,
        bot.application.bot,
        clock=ManualClock(new_alert.raised_at + timedelta(minutes=15, seconds=1)),
    )
    await engine.run_once()
    escalated = _plain((await bot.sandbox.messages(COLLEAGUE))[-1].text)
    assert "Escalated" in escalated and code_b in escalated
    # And on SQLite too, neither the client's id nor the alert's was given out again.
    bea_row = await client_row(bot.services, code_b)
    assert bea_row.id != old_client_id and new_alert.id != old_alert.id


async def test_an_old_safety_button_changes_nothing_but_still_shows_the_help_lines(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    reply = content.language("en").alerts.reply
    alex = bot.person(CLIENT, "Alex")
    first = await alex.send(URGENT)
    (alert,) = await _alerts(bot)
    forged = f"cr:unsafe:{alert.id}.{'0' * 8}"  # the right id with another token
    (card,) = await alex.press_data(forged, first[0].message_id)
    assert card.text == content.language("en").crisis_card("US")
    assert (await bot.sandbox.callback_answers(CLIENT))[-1]["text"] == reply.out_of_date
    (after,) = await _alerts(bot)
    assert not after.high_priority  # nothing was recorded


# --- defect 2: an unreachable clinician does not swallow the alert -----------------------


async def test_a_primary_who_blocked_the_bot_is_passed_over_in_the_same_dispatch(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    staff = content.language("en").alerts.staff
    await bot.sandbox.block(CLINICIAN)
    await bot.person(CLIENT, "Alex").send(URGENT)
    await _dispatched(bot)
    refused = [r for r in await bot.sandbox.requests("sendMessage") if r.get("error_code") == 403]
    assert refused, "the primary clinician's copy was refused"
    for other in (COLLEAGUE, ADMIN):
        detail = _plain((await bot.sandbox.messages(other))[-1].text)
        assert code in detail and "kill myself" in detail, other
        assert "Escalated" not in detail
        assert _plain(staff.rerouted) in detail
    # Their Acknowledge works (and stops the escalation).
    chen = bot.person(COLLEAGUE, "Dr. Chen")
    await chen.press("Acknowledge", (await bot.sandbox.messages(COLLEAGUE))[-1])
    (alert,) = await _alerts(bot)
    assert alert.acknowledged_at is not None


async def test_when_the_on_call_clinician_is_unreachable_too_the_rest_of_the_team_gets_it(
    team: tuple[BotHarness, str],
) -> None:
    bot, code = team
    chen = await clinician_row(bot.services, COLLEAGUE)
    status, _, err = await admin(bot, "clinician", "on-call", str(chen.id), "on")
    assert status == 0, err
    await bot.sandbox.block(CLINICIAN)
    await bot.sandbox.block(COLLEAGUE)
    await bot.person(CLIENT, "Alex").send(URGENT)
    await _dispatched(bot)
    detail = _plain((await bot.sandbox.messages(ADMIN))[-1].text)
    assert code in detail and "kill myself" in detail and "Escalated" not in detail


async def test_when_nobody_can_be_reached_the_client_is_told_after_the_crisis_lines(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    pack = content.language("en")
    for chat in (CLINICIAN, COLLEAGUE, ADMIN, GROUP):
        await bot.sandbox.block(chat)
    alex = bot.person(CLIENT, "Alex")
    await alex.send(URGENT)
    await _dispatched(bot)
    told = (await alex.messages())[-1]
    assert told.text.startswith(pack.crisis_card("US"))
    assert told.text.endswith(pack.alerts.reply.team_unreached)


async def test_with_no_clinician_to_send_to_the_client_is_not_told_the_team_knows(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    pack = content.language("en")
    async with bot.services.sessions() as session:
        for row in (await session.exec(select(Clinician))).all():
            row.active = False
        program = (await session.exec(select(Program))).one()
        program.care_team_chat_id = None
        await session.commit()
    replies = await bot.person(CLIENT, "Alex").send(URGENT)
    texts = [r.text for r in replies]
    assert texts[1] == pack.crisis_card("US")  # the help lines come before the news
    assert pack.alerts.reply.team_unreached in texts
    assert all("care team now" not in (t or "") for t in texts)


# --- defect 12: one alert per crisis, answered once, every copy current --------------------


def _group_posts(events: list[SentMessage]) -> list[SentMessage]:
    return [m for m in events if m.event == "sent"]


async def test_a_second_message_is_added_to_the_open_alert_and_shown_to_its_holder(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    reply = content.language("en").alerts.reply
    alex = bot.person(CLIENT, "Alex")
    await alex.send(URGENT)
    await _drained(bot)
    (ack,) = await alex.send("i still want to die")
    assert ack.text == reply.repeat_ack  # short, and not the whole crisis reply again
    await _drained(bot)
    assert len(await _alerts(bot)) == 1
    assert len(_group_posts(await bot.sandbox.messages(GROUP))) == 1
    note = _plain((await bot.sandbox.messages(CLINICIAN))[-1].text)
    assert code in note and "wrote again" in note and "still want to die" in note
    # The detail, as any press shows it, counts what was added.
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    alert = [m for m in await bot.sandbox.messages(CLINICIAN) if "URGENT" in m.text][-1]
    (edited,) = await rivera.press("Acknowledge", alert)
    assert "Client wrote again 1 time(s)" in _plain(edited.text)


async def test_only_a_more_urgent_message_raises_a_new_alert(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    pack = content.language("en")
    alex = bot.person(CLIENT, "Alex")
    await alex.send("i drank last night after 30 days")
    await alex.send("i drank again today")  # same day again: added to the first
    assert len(await _alerts(bot)) == 1
    replies = await alex.send(URGENT)  # more urgent: a new alert and the whole reply
    assert [r.text for r in replies][:2] == [
        pack.alerts.reply.urgent_opening,
        pack.crisis_card("US"),
    ]
    assert [a.tier.value for a in await _alerts(bot)] == ["same_day", "urgent"]
    (ack,) = await alex.send("i drank a lot tonight")  # less urgent: added to the urgent one
    assert ack.text == pack.alerts.reply.repeat_ack
    assert len(await _alerts(bot)) == 2


async def test_a_burst_of_fifty_messages_is_one_alert_answered_once(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    pack = content.language("en")
    alex = bot.person(CLIENT, "Alex")
    started = datetime.now(UTC)
    replies = []
    for n in range(50):
        replies += await alex.send(f"i want to end it all tonight {n}")
    minutes = int((datetime.now(UTC) - started).total_seconds() // 60)
    texts = [r.text for r in replies]
    assert texts.count(pack.crisis_card("US")) == 1
    assert texts.count(pack.alerts.reply.urgent_opening) == 1
    assert 1 <= texts.count(pack.alerts.reply.repeat_ack) <= 1 + minutes
    assert len(texts) <= 4 + 1 + minutes  # nothing else: 49 messages, one short answer
    (alert,) = await _alerts(bot)
    await _drained(bot)
    assert len(_group_posts(await bot.sandbox.messages(GROUP))) == 1
    # One escalation per colleague, not fifty.
    engine = build_engine(
        bot.services,
        bot.application.bot,
        clock=ManualClock(alert.raised_at + timedelta(minutes=15, seconds=1)),
    )
    await engine.run_once()
    escalations = [
        m for m in await bot.sandbox.messages(COLLEAGUE) if "Escalated" in (m.text or "")
    ]
    assert len(escalations) == 1 and code in escalations[0].text


async def test_every_copy_of_an_alert_shows_that_it_was_acknowledged(
    team: tuple[BotHarness, str],
) -> None:
    bot, code = team
    await bot.person(CLIENT, "Alex").send(URGENT)
    await _drained(bot)
    (post,) = _group_posts(await bot.sandbox.messages(GROUP))
    chen = bot.person(COLLEAGUE, "Dr. Chen")
    await chen.press_data(post.data_for("Open details"), post.message_id)
    opened = (await bot.sandbox.messages(COLLEAGUE))[-1]
    assert code in opened.text and "kill myself" in opened.text
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    # The alert, not the "joined" notice queued before it: an urgent alert goes first.
    alert = [m for m in await bot.sandbox.messages(CLINICIAN) if "URGENT" in m.text][-1]
    await rivera.press("Acknowledge", alert)
    # Chen's copy and the group post now say so.
    chens = [m for m in await bot.sandbox.events(COLLEAGUE) if m.message_id == opened.message_id]
    assert chens[-1].event == "edited" and "Acknowledged by Dr. Rivera" in _plain(chens[-1].text)
    posts = [m for m in await bot.sandbox.events(GROUP) if m.message_id == post.message_id]
    assert posts[-1].event == "edited"
    group_text = _plain(posts[-1].text)
    assert "Status: acknowledged" in group_text and code in group_text
    assert "kill" not in group_text and "Alex" not in group_text


async def test_one_check_in_with_two_same_day_flags_raises_one_alert(
    team: tuple[BotHarness, str],
) -> None:
    bot, code = team
    row = await client_row(bot.services, code)
    now = datetime.now(UTC)
    async with bot.services.sessions() as session:
        for category in ("high_craving", "relapse_or_use"):
            await raise_alert(
                session,
                content=bot.services.content,
                client=row,
                now=now,
                finding=Finding(AlertTier.same_day, category, "checkin", "check-in answer"),
                source="checkin",
            )
        await session.commit()
    (alert,) = await _alerts(bot)
    async with bot.services.sessions() as session:
        added = (await session.exec(select(AlertAction))).all()
    assert alert.category == "high_craving" and [a.action for a in added] == ["more"]
