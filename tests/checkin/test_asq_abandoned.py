"""A yes to a weekly safety question reaches the care team whatever happens after it: the
same-day alert is raised at the first yes (the client may close the chat there), the
client reads the help lines at once, and the finished screen's answers complete that
alert; a yes to "right now" raises the urgent one. Never the same alert twice."""

from __future__ import annotations

from bot.models import AlertTier
from tests.checkin.conftest import DEFAULTS, Care, tap_through


async def _weekly_today(care: Care) -> None:
    await care.set_client(weekly_day=(await care.today()).weekday())


async def _answer_until(care: Care, stop_after: str, **answers: str) -> list[str]:
    """Start a check-in and answer up to and including `stop_after`; what the bot sent
    after that answer."""
    await care.alex.send(care.content.language("en").menu.checkin)
    values = {**DEFAULTS, "triggers": care.texts.triggers.none_button, **answers}
    for _ in range(20):
        step = (await care.checkin()).step
        assert step is not None
        out = await care.alex.press(str(values.get(step, "No")))
        if step == stop_after:
            return [m.text or "" for m in out]
    raise AssertionError(f"{stop_after} was never asked")


async def _clinician_texts(care: Care) -> list[str]:
    await care.drain()
    return [m.text or "" for m in await care.rivera.messages()]


async def test_a_yes_then_silence_still_reaches_the_clinician_and_shows_the_help_lines(
    care: Care,
) -> None:
    await _weekly_today(care)
    after_yes = await _answer_until(care, "asq_wished", asq_wished="Yes")
    pack = care.content.language("en")
    # The help lines right after the yes, before the next question.
    assert pack.crisis_card(care.program.region) in after_yes
    assert any(t.startswith("Thank you for being honest") for t in after_yes)
    # The client stops: taps another menu button and never answers again.
    await care.alex.send(pack.menu.breathe)
    (alert,) = await care.alerts()
    assert (alert.tier, alert.category) == (AlertTier.same_day, "suicide_screen")
    assert "wished dead: yes" in (alert.evidence or "")
    assert "not finished yet" in (alert.evidence or "")
    detail = await _clinician_texts(care)
    assert sum("wished dead: yes" in t for t in detail) == 1
    assert (await care.checkin()).step == "asq_better"  # nothing else was answered


async def test_a_yes_then_finishing_is_one_alert_with_every_answer(care: Care) -> None:
    await _weekly_today(care)
    await tap_through(
        care, asq_better="Yes", asq_tried="Yes", asq_how="pills, about two years ago", asq_now="No"
    )
    (alert,) = await care.alerts()
    assert alert.tier is AlertTier.same_day
    evidence = alert.evidence or ""
    for part in (
        "wished dead: no",
        "better off dead: yes",
        "tried: yes",
        "thoughts right now: no",
        "first screen",
        "how and when: pills, about two years ago",
    ):
        assert part in evidence, part
    detail = await _clinician_texts(care)
    # The alert once (at the first yes); the finished answers follow as one short note.
    assert len(detail) == 2, detail
    assert "better off dead: yes" in detail[0] and "not finished yet" in detail[0]
    assert "pills, about two years ago" in detail[1] and "thoughts right now: no" in detail[1]
    # The client read the help lines once, not again at the end.
    card = care.content.language("en").crisis_card(care.program.region)
    assert [m.text for m in await care.alex.messages()].count(card) == 1


async def test_a_yes_then_right_now_yes_is_one_alert_and_one_urgent(care: Care) -> None:
    await _weekly_today(care)
    # The crisis reply comes at once; the rest of the check-in waits for their return.
    await _answer_until(care, "asq_now", asq_thoughts="Yes", asq_now="Yes")
    same_day, urgent = await care.alerts()
    assert same_day.tier is AlertTier.same_day and urgent.tier is AlertTier.urgent
    assert urgent.high_priority
    for alert in (same_day, urgent):
        assert "thoughts of suicide: yes" in (alert.evidence or "")
        assert "thoughts right now: yes" in (alert.evidence or "")
    reply = care.content.language("en").alerts.reply
    assert reply.urgent_opening in [m.text for m in await care.alex.messages()]
    detail = await _clinician_texts(care)
    # The same-day alert at the first yes, then the urgent one: no note besides.
    assert len(detail) == 2, detail
    assert "thoughts right now: yes" in detail[1]


async def test_a_no_then_silence_raises_nothing(care: Care) -> None:
    await _weekly_today(care)
    after = await _answer_until(care, "asq_wished", asq_wished="No")
    card = care.content.language("en").crisis_card(care.program.region)
    assert card not in after
    await care.alex.send(care.content.language("en").menu.breathe)
    assert await care.alerts() == []
    assert await _clinician_texts(care) == []
