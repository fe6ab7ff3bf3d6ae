"""Ask when unsure (issue 17), end to end: a message the screen is unsure about gets one
direct question (Yes · No · I'd rather not say, and 🆘 Help now); yes and "rather not
say" take the urgent path at once, no gets a kind reply and a digest line, no answer in
30 minutes raises a same-day alert; never asked twice within an hour; the care team
sees the question and the answer in the alert."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot import safety
from bot.content import Content
from bot.digest import digest_text
from bot.features.delivery import build_engine
from bot.models import Alert, AlertTier, Clinician, Program, UnsureQuestion
from bot.safety.unsure import band_of, unsure
from bot.scheduling.clock import ManualClock
from bot.telegram_sandbox import SentMessage
from tests.e2e.conftest import CLIENT, CLINICIAN, GROUP
from tests.e2e.promises import told_now
from tests.e2e.test_safety_net import _drained
from tests.harness import BotHarness

UNSURE = "no one cares"
ALSO_UNSURE = "i'm done"


def _plain(text: str | None) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text or ""))


@pytest.fixture(autouse=True)
def _the_screen_is_unsure_about_these() -> None:
    """The messages these tests send are in the uncertain band of the screen as trained
    today (the model flags them same-day, not confidently). If a retrained model is sure about them,
    pick others with `python -m bot.safety.unsure`; the flow under test is the same."""
    screener = safety.load_screener()
    band = band_of(screener)
    assert band is not None
    for text in (UNSURE, ALSO_UNSURE):
        result = screener.screen(text, "en")
        assert result.urgency == "same_day" and unsure(result, band), (text, result.to_dict())


def _question_text(content: Content) -> str:
    ask = content.language("en").alerts.ask
    return f"{ask.intro}\n\n{ask.questions['suicide']}\n\n{ask.wait_note}"


async def _asked(bot: BotHarness, content: Content, text: str = UNSURE) -> SentMessage:
    ask = content.language("en").alerts.ask
    replies = await bot.person(CLIENT, "Alex").send(text)
    (question,) = replies
    assert _plain(question.text) == _question_text(content)
    assert question.buttons == [
        [ask.yes_button, ask.no_button],
        [ask.rather_not_say_button],
        [content.language("en").ui.help_button],
    ]
    return question


async def _alerts(bot: BotHarness) -> list[Alert]:
    async with bot.services.sessions() as session:
        return list((await session.exec(select(Alert).order_by(Alert.id))).all())  # type: ignore[arg-type]


async def test_an_unsure_message_gets_one_direct_question_and_nothing_raised_yet(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    question = await _asked(bot, content)
    assert "care team" in question.text  # honest: what happens without an answer
    assert await _alerts(bot) == []
    # 🆘 Help now under the question gives the crisis card.
    (card,) = await bot.person(CLIENT, "Alex").press(content.language("en").ui.help_button)
    assert card.text == content.language("en").crisis_card("US")


@pytest.mark.parametrize("button", ["Yes", "I'd rather not say"])
async def test_yes_or_rather_not_say_is_the_urgent_path_and_the_alert_shows_both(
    team: tuple[BotHarness, str], content: Content, button: str
) -> None:
    bot, code = team
    pack = content.language("en")
    reply = pack.alerts.reply
    question = await _asked(bot, content)
    replies = await bot.person(CLIENT, "Alex").press(button, question)
    # The answer buttons go (🆘 Help now stays); then the urgent reply, word for word.
    edited, *sent = replies
    assert edited.event == "edited" and edited.buttons == [[pack.ui.help_button]]
    assert [r.text for r in sent] == [reply.urgent_opening, pack.crisis_card("US"), told_now(pack)]
    (alert,) = await _alerts(bot)
    assert alert.tier is AlertTier.urgent and alert.category == "suicidal_ideation"
    assert alert.rule == ("ask:yes" if button == "Yes" else "ask:declined")
    await _drained(bot)
    detail = _plain((await bot.sandbox.messages(CLINICIAN))[-1].text)
    assert code in detail and UNSURE in detail
    answer = "Yes" if button == "Yes" else "I'd rather not say (counted as yes)"
    assert f'Waypoint asked: "Are you thinking about killing yourself?" Answer: {answer}' in detail
    # The group sees the pseudonym only: not the question, the answer or the words.
    (group,) = [m for m in await bot.sandbox.messages(GROUP) if m.event == "sent"]
    assert "killing" not in group.text and "cares" not in group.text
    # A second press changes nothing.
    await bot.person(CLIENT, "Alex").press_data(
        question.data_for(pack.alerts.ask.no_button), question.message_id
    )
    answers = await bot.sandbox.callback_answers(CLIENT)
    assert answers[-1]["text"] == pack.alerts.ask.already_answered
    assert len(await _alerts(bot)) == 1


async def test_no_gets_a_kind_reply_nothing_raised_and_a_line_in_the_digest(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    ask = content.language("en").alerts.ask
    question = await _asked(bot, content)
    asked_at = datetime.now(UTC)
    _, reply = await bot.person(CLIENT, "Alex").press("No", question)
    assert reply.text == ask.no_reply
    # Nothing raised now, and nothing when the 30 minutes have passed.
    clock = ManualClock(asked_at + timedelta(minutes=31))
    await build_engine(bot.services, bot.application.bot, clock=clock).run_once()
    assert await _alerts(bot) == []
    async with bot.services.sessions() as session:
        program = (await session.exec(select(Program))).one()
        rivera = (
            await session.exec(select(Clinician).where(Clinician.telegram_user_id == CLINICIAN))
        ).one()
        digest = _plain(
            await digest_text(
                session,
                content,
                clinician=rivera,
                program=program,
                since=asked_at - timedelta(hours=1),
                now=asked_at + timedelta(hours=1),
            )
        )
    assert "Asked when unsure" in digest
    (line,) = [x for x in digest.splitlines() if x.startswith(f"{code} at ")]
    assert f'after "{UNSURE}": asked "Are you thinking about killing yourself?" Answer: No' in line


async def test_no_answer_in_30_minutes_raises_a_same_day_alert_with_the_question(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    await _asked(bot, content)
    asked_at = datetime.now(UTC)
    engine = build_engine(
        bot.services, bot.application.bot, clock=ManualClock(asked_at + timedelta(minutes=29))
    )
    await engine.run_once()
    assert await _alerts(bot) == []  # not yet
    for _ in range(2):  # a second review (another worker, the next minute) raises nothing new
        clock = ManualClock(asked_at + timedelta(minutes=31))
        await build_engine(bot.services, bot.application.bot, clock=clock).run_once()
    (alert,) = await _alerts(bot)
    assert alert.tier is AlertTier.same_day and alert.rule == "ask:no_answer"
    detail = _plain((await bot.sandbox.messages(CLINICIAN))[-1].text)
    assert code in detail and UNSURE in detail
    assert (
        'Waypoint asked: "Are you thinking about killing yourself?" '
        "Answer: No answer in 30 minutes" in detail
    )


async def test_never_asked_twice_within_an_hour(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    pack = content.language("en")
    question = await _asked(bot, content)
    await bot.person(CLIENT, "Alex").press("No", question)
    # Within the hour: another unsure message is not asked about; the screen's own
    # verdict stands (a same-day concern: the team is told, as before this issue).
    replies = await bot.person(CLIENT, "Alex").send(ALSO_UNSURE)
    assert all(pack.alerts.ask.intro not in (r.text or "") for r in replies)
    (alert,) = await _alerts(bot)
    assert alert.tier is AlertTier.same_day
    # An hour later it may be asked again.
    async with bot.services.sessions() as session:
        await session.exec(  # type: ignore[call-overload]
            update(UnsureQuestion).values(
                asked_at=UnsureQuestion.asked_at - timedelta(hours=1, minutes=1)
            )
        )
        await session.commit()
    await _asked(bot, content)  # (a new message: the same words again)


async def test_the_message_answered_no_is_never_asked_about_again(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    alex = bot.person(CLIENT, "Alex")
    ask = content.language("en").alerts.ask
    (question,) = await alex.send(UNSURE)
    assert ask.intro in (question.text or "")
    await alex.press("No", question)
    async with bot.services.sessions() as session:  # the hour has passed
        await session.exec(  # type: ignore[call-overload]
            update(UnsureQuestion).values(asked_at=UnsureQuestion.asked_at - timedelta(hours=2))
        )
        await session.commit()
    # Its edit is not asked about again, and the "no" stands: nothing is raised.
    assert await alex.edit(alex.last_sent_id, UNSURE + "!") == []
    assert await _alerts(bot) == []


async def test_forged_or_old_answer_buttons_change_nothing_and_say_so(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    pack = content.language("en")
    question = await _asked(bot, content)
    alex = bot.person(CLIENT, "Alex")
    data = question.data_for(pack.alerts.ask.yes_button)
    number, token = data.split(":")[1].split(".")
    for forged in (f"uq:{number}.00000000:n", f"uq:{int(number) + 50}.{token}:n", "uq:x:n"):
        assert await alex.press_data(forged, question.message_id) == []
        answers = await bot.sandbox.callback_answers(CLIENT)
        assert answers[-1]["text"] == pack.alerts.reply.out_of_date
    # A forged "yes" still gets the crisis card: help is never withheld.
    (card,) = await alex.press_data(f"uq:{number}.00000000:y", question.message_id)
    assert card.text == pack.crisis_card("US")
    assert await _alerts(bot) == []
    async with bot.services.sessions() as session:
        row = (await session.exec(select(UnsureQuestion))).one()
    assert row.answer is None
