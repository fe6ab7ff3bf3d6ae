"""Flags from check-in answers end to end: an alert to the clinician at the threshold,
none just below it, exactly once; and what the client reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.db import session_scope
from bot.features.delivery import build_engine
from bot.models import AlertTier, CheckinFlag, Delivery, DeliveryStatus, Screening
from bot.scheduling.clock import ManualClock
from tests.checkin.conftest import Care, tap_through


async def test_craving_8_alerts_the_clinician_once_and_7_does_not(care: Care) -> None:
    await tap_through(care, craving="7")
    assert await care.alerts() == []
    out = await tap_through(care, craving="8")  # the same day, again
    (alert,) = await care.alerts()
    assert (alert.tier, alert.category) == (AlertTier.same_day, "high_craving")
    assert "craving 8/10" in (alert.evidence or "")
    texts = [m.text or "" for m in out]
    reply = care.content.language("en").alerts.reply
    opening, closing = reply.same_day.split("{promise}")
    assert any(opening in t and closing in t for t in await _texts(care))
    assert not any(reply.urgent_opening in t for t in texts)
    await care.drain()
    to_clinician = [m.text or "" for m in await care.rivera.messages()]
    assert any("strong craving" in t and care.client.code in t for t in to_clinician)
    # The high-craving answer offers riding out the urge.
    offer = [m for m in await care.alex.messages() if m.text == care.texts.high_craving][-1]
    pack = care.content.language("en")
    surfing = pack.exercise("urge_surfing")
    assert surfing is not None
    out = await care.alex.press(surfing.title, offer)  # the guided practice starts
    assert any(pack.learning.breathe.in_charge in (m.text or "") for m in out)
    await tap_through(care, craving="9")  # a third time: the day's flag fired already
    assert len(await care.alerts()) == 1


async def _texts(care: Care) -> list[str]:
    return [m.text or "" for m in await care.alex.messages()]


async def test_craving_7_with_confidence_4_does_not_alert(care: Care) -> None:
    await tap_through(care, craving="7", confidence="4")
    assert await care.alerts() == []


async def test_craving_7_with_confidence_3_alerts(care: Care) -> None:
    await tap_through(care, craving="7", confidence="3")
    (alert,) = await care.alerts()
    assert "confidence 3/10" in (alert.evidence or "")


async def test_craving_7_on_two_check_ins_in_a_row_alerts(care: Care) -> None:
    await tap_through(care, craving="7", confidence="9")
    assert await care.alerts() == []
    await tap_through(care, craving="7", confidence="9")
    (alert,) = await care.alerts()
    assert "at the check-in before" in (alert.evidence or "")


async def test_a_slip_gets_the_slip_plan_the_overdose_card_and_a_same_day_alert(
    care: Care,
) -> None:
    await care.alex.send(care.content.language("en").menu.checkin)
    for label in ("2", "6", "6 to 8 hours", "OK", care.texts.triggers.none_button, "Yes"):
        await care.alex.press(label)
    assert (await care.checkin()).step == "substances"
    await care.alex.press("Opioids")
    await care.alex.press("Alcohol")
    await care.alex.press("Alcohol")  # untick
    await care.alex.press(care.texts.substances.done_button)
    await care.alex.press("Yes, I'm safe")
    for label in ("6", "Yes"):
        await care.alex.press(label)
    await care.alex.press(care.texts.note.skip_button)
    row = await care.checkin()
    assert (row.use, row.substances, row.safe_now) == ("yes", "opioids", "yes")
    (alert,) = await care.alerts()
    assert (alert.category, alert.high_priority) == ("relapse_or_use", True)
    sent = await _texts(care)
    assert any(care.texts.slip_plan in t and care.texts.overdose_card in t for t in sent)


async def test_not_safe_after_use_is_urgent_at_once_and_the_check_in_waits(care: Care) -> None:
    await care.alex.send(care.content.language("en").menu.checkin)
    for label in ("5", "4", "Under 4 hours", "Poorly", care.texts.triggers.none_button, "Yes"):
        await care.alex.press(label)
    await care.alex.press("Cannabis")
    await care.alex.press(care.texts.substances.done_button)
    out = await care.alex.press("No, I'm not safe")
    sent = [m.text or "" for m in out if m.event == "sent"]
    assert sent[0] == care.texts.not_safe_reply
    assert "911" in sent[1]  # the card, numbers first
    assert sent[-1] == care.texts.resumed_after_help
    assert care.texts.confidence.text not in sent  # no next question after a crisis
    tiers = sorted(a.tier.value for a in await care.alerts())
    assert tiers == ["same_day", "urgent"]
    await care.drain()
    group_or_private = [m.text or "" for m in await care.rivera.messages()]
    assert any("URGENT" in t for t in group_or_private)
    _, question = await care.alex.send(care.content.language("en").menu.checkin)
    assert question.text == care.texts.confidence.text


async def test_low_mood_two_days_running_alerts_and_runs_the_risk_questions(care: Care) -> None:
    await care.seed(1, mood=2, craving=1)
    await care.alex.send(care.content.language("en").menu.checkin)
    await care.alex.press("1")
    await care.alex.press("2")
    assert (await care.checkin()).asq_due  # the suicide-risk questions come today
    (alert,) = await care.alerts()
    assert alert.category == "low_mood"
    await tap_through(care)  # goes on through the ASQ, all "No"
    async with care.bot.services.sessions() as session:
        screen = (await session.exec(select(Screening))).one()
    assert screen.result == {"tier": "negative", "wording": "first"}
    assert screen.answers["asq_wished"] == "no"
    sent = await _texts(care)
    assert care.texts.asq.negative in sent
    assert any(care.texts.low_mood in t for t in sent)  # with the help lines


async def test_mood_at_3_after_2_yesterday_does_not_alert(care: Care) -> None:
    await care.seed(1, mood=2)
    await tap_through(care, mood="3")
    assert await care.alerts() == []
    assert not (await care.checkin()).asq_due


async def test_the_weekly_questions_positive_not_acute_is_same_day(care: Care) -> None:
    today = await care.today()
    await care.set_client(weekly_day=today.weekday())
    await tap_through(care, asq_wished="Yes", asq_now="No")
    (alert,) = await care.alerts()
    assert (alert.tier, alert.category) == (AlertTier.same_day, "suicide_screen")
    sent = await _texts(care)
    opening = care.texts.asq.positive.split("{promise}")[0]
    assert any(t.startswith(opening) for t in sent)
    assert care.texts.asq.ever_tried in sent  # the first screen asks "ever"


async def test_the_weekly_questions_acute_is_urgent(care: Care) -> None:
    today = await care.today()
    await care.set_client(weekly_day=today.weekday())
    await care.alex.send(care.content.language("en").menu.checkin)
    for label in ("2", "6", "6 to 8 hours", "OK", care.texts.triggers.none_button, "No", "7"):
        await care.alex.press(label)
    await care.alex.press("Yes")  # support
    for label in ("No", "No", "Yes", "No"):
        await care.alex.press(label)
    out = await care.alex.press("Yes")  # thoughts right now
    reply = care.content.language("en").alerts.reply
    assert reply.urgent_opening in [m.text for m in out]
    # The same-day alert came at the yes to "thoughts"; "right now" raised the urgent one.
    same_day, alert = await care.alerts()
    assert same_day.tier is AlertTier.same_day
    assert (alert.tier, alert.high_priority) == (AlertTier.urgent, True)


async def test_the_weekly_questions_all_no_raise_nothing_and_later_ask_since_last_time(
    care: Care,
) -> None:
    today = await care.today()
    await care.set_client(weekly_day=today.weekday())
    await tap_through(care)
    assert await care.alerts() == []
    async with session_scope(care.bot.services.sessions) as session:
        screen = (await session.exec(select(Screening))).one()
        screen.local_date = today - timedelta(days=7)  # as if it was last week
        session.add(screen)
    assert (await care.checkin()).step is None
    # A new day's check-in on the weekly day: "since the last time" this time.
    async with session_scope(care.bot.services.sessions) as session:
        row = await care.checkin()
        row.local_date = today - timedelta(days=1)
        session.add(row)
    await tap_through(care)
    assert care.texts.asq.tried_since in await _texts(care)


async def test_three_missed_check_ins_raise_one_alert(care: Care) -> None:
    bot = care.bot
    clock = ManualClock(datetime(2026, 6, 11, 0, 0, tzinfo=UTC))  # 20:00 New York, 10 June
    engine = build_engine(bot.services, bot.application.bot, clock=clock)
    for _ in range(2):
        await engine.run_once()
        clock.advance(timedelta(days=1))
    await engine.run_once()  # the third prompt; its day has not ended
    assert await care.alerts() == []
    clock.advance(timedelta(hours=5))  # 01:00 on the 13th: the third day ended
    await engine.run_once()
    (alert,) = await care.alerts()
    assert alert.category == "missed_checkins" and "3 check-ins" in (alert.evidence or "")
    await engine.run_once()
    assert len(await care.alerts()) == 1
    async with bot.services.sessions() as session:
        flags = (await session.exec(select(CheckinFlag))).all()
        prompts = (await session.exec(select(Delivery).where(Delivery.kind == "checkin"))).all()
    assert [f.key for f in flags] == ["missed:2026-06-12"]
    assert all(p.status is DeliveryStatus.sent for p in prompts)


async def test_a_second_check_in_the_same_day_does_not_ask_the_weekly_questions_again(
    care: Care,
) -> None:
    today = await care.today()
    await care.set_client(weekly_day=today.weekday())
    await tap_through(care)
    asked = [m.text for m in await care.alex.messages()].count(care.texts.asq.thoughts)
    assert asked == 1
    await tap_through(care, craving="4")
    assert [m.text for m in await care.alex.messages()].count(care.texts.asq.thoughts) == 1
    assert (await care.checkin()).craving == 4
