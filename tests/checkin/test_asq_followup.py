"""The weekly safety questions (adapted from the NIMH ASQ), issue 18: the "how and when"
after a yes to "tried" (for the clinician; the client may skip it), "since the last time
I asked" after the first screen (and the clinician's alert says which wording was
asked), and the positive reply's truthful promise of when the team will see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.careteam_promise import promise_sentence
from bot.content import render
from bot.db import session_scope
from bot.models import AlertTier, Screening
from tests.checkin.conftest import DEFAULTS, Care, tap_through


async def _weekly_today(care: Care) -> None:
    await care.set_client(weekly_day=(await care.today()).weekday())


async def _texts(care: Care) -> list[str]:
    return [m.text or "" for m in await care.alex.messages()]


async def _screen(care: Care) -> Screening:
    async with care.bot.services.sessions() as session:
        rows = (await session.exec(select(Screening).where(Screening.kind == "asq"))).all()
    return max(rows, key=lambda s: s.local_date)


async def test_a_yes_to_tried_asks_how_and_when_and_the_clinician_reads_it(care: Care) -> None:
    await _weekly_today(care)
    asked: list[str] = []
    await tap_through(
        care, asked, asq_tried="Yes", asq_how="pills, about two years ago", asq_now="No"
    )
    assert asked.index("asq_tried") + 1 == asked.index("asq_how")
    assert asked.index("asq_how") + 1 == asked.index("asq_now")  # acuity still asked
    sent = await _texts(care)
    assert care.texts.asq.how_when in sent
    assert care.texts.asq.how_when_saved in sent
    (alert,) = await care.alerts()
    assert (alert.tier, alert.category) == (AlertTier.same_day, "suicide_screen")
    assert "how and when: pills, about two years ago" in (alert.evidence or "")
    assert "first screen" in (alert.evidence or "")
    await care.drain()
    detail = [m.text or "" for m in await care.rivera.messages()]
    assert any("pills, about two years ago" in t for t in detail)
    # Not the note: the words are kept with the screen, for the clinician.
    assert (await care.checkin()).note is None


async def test_the_how_and_when_can_be_skipped(care: Care) -> None:
    await _weekly_today(care)
    asked: list[str] = []
    await tap_through(care, asked, asq_tried="Yes", asq_now="No")
    assert "asq_how" in asked and "asq_now" in asked
    (alert,) = await care.alerts()
    assert "how and when: skipped" in (alert.evidence or "")


async def test_no_how_and_when_without_a_yes_to_tried(care: Care) -> None:
    await _weekly_today(care)
    asked: list[str] = []
    await tap_through(care, asked, asq_wished="Yes", asq_now="No")
    assert "asq_how" not in asked and "asq_now" in asked
    assert care.texts.asq.how_when not in await _texts(care)


async def test_after_the_first_screen_every_question_says_since_the_last_time(
    care: Care,
) -> None:
    await _weekly_today(care)
    today = await care.today()
    async with session_scope(care.bot.services.sessions) as session:
        session.add(
            Screening(
                client_id=care.client.id or 0,
                kind="asq",
                local_date=today - timedelta(days=7),
                answers={"asq_wished": "no"},
                result={"tier": "negative", "wording": "first"},
                completed_at=datetime.now(UTC) - timedelta(days=7),
            )
        )
    await tap_through(care, asq_thoughts="Yes", asq_now="No")
    sent = await _texts(care)
    asq = care.texts.asq
    for since in (asq.wished_dead_since, asq.thoughts_since, asq.tried_since):
        assert any(since in t for t in sent), since
    assert asq.better_off_dead_since in sent
    for first in (asq.wished_dead, asq.better_off_dead, asq.thoughts, asq.ever_tried):
        assert not any(first in t for t in sent), first
    assert (await _screen(care)).result == {"tier": "same_day", "wording": "since_last"}
    (alert,) = await care.alerts()
    assert 'asked "since the last time I asked"' in (alert.evidence or "")


async def test_the_positive_reply_says_truthfully_when_the_team_will_see_it(care: Care) -> None:
    await _weekly_today(care)
    before = datetime.now(UTC)
    await tap_through(care, asq_better="Yes", asq_now="No")
    after = datetime.now(UTC)
    pack = care.content.language("en")
    program = care.program

    def expected(at: datetime) -> str:
        promise = promise_sentence(
            pack.alerts.promise,
            at,
            program.timezone,
            program.care_team_hours,
            program.on_call_24_7,
            pack.checkin.weekdays,
        )
        return render(pack.checkin.asq.positive, promise=promise)

    sent = await _texts(care)
    assert expected(before) in sent or expected(after) in sent
    positive = next(t for t in sent if t.startswith("Thank you for being honest"))
    assert "{" not in positive and "call you" not in positive.lower()


async def test_danger_now_in_the_how_and_when_gets_the_crisis_reply_at_once(care: Care) -> None:
    await _weekly_today(care)
    await care.alex.send(care.content.language("en").menu.checkin)
    for _ in range(20):
        step = (await care.checkin()).step
        if step == "asq_how":
            break
        assert step is not None
        answers = {**DEFAULTS, "triggers": care.texts.triggers.none_button, "asq_tried": "Yes"}
        await care.alex.press(str(answers.get(step, "No")))
    out = await care.alex.send("i want to kill myself tonight")
    reply = care.content.language("en").alerts.reply
    assert reply.urgent_opening in [m.text for m in out]  # the screen's crisis path
    assert any(a.tier is AlertTier.urgent for a in await care.alerts())
    # The words were kept with the screen; the acuity question waits for their return.
    assert (await care.checkin()).step == "asq_now"
    assert "asq_how" in (await _screen(care)).answers
