"""Issue 17, the care team's side: the clinician's alert says which layer of the screen
fired (a rule and its words, or the trained model's score and the categories of the
nearest corpus examples), the group post never does, and clinicians' marks ("false
alarm", "should have been flagged") are recorded without the client's words and refused
to anyone not on the care team."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot import safety
from bot.content import Content
from bot.features.delivery import build_engine, delivery_engine
from bot.models import Alert, AuditEvent, Program, ScreenMark
from bot.safety import ScreenResult
from bot.safety.model import ModelScore
from bot.safety.nearest import DEFAULT_CORPUS_DIR, load_nearest
from bot.scheduling.clock import ManualClock
from tests.e2e.conftest import CLIENT, CLINICIAN, GROUP, STRANGER
from tests.e2e.enrollment_steps import admin, token_in
from tests.harness import BotHarness

URGENT = "honestly i want to kill myself tonight"
# Phrased so that the rules may miss it; the test makes the model the layer that fired.
INDIRECT = "all my pills are lined up on the counter and the letters are written"


async def _drained(bot: BotHarness) -> None:
    await delivery_engine(bot.application).wait_idle()
    clock = ManualClock(datetime.now(UTC) + timedelta(minutes=1))
    await build_engine(bot.services, bot.application.bot, clock=clock).run_once()


def _plain(text: str | None) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text or ""))


async def _group_posts(bot: BotHarness) -> list[str]:
    return [_plain(m.text) for m in await bot.sandbox.messages(GROUP) if m.event == "sent"]


async def test_a_rule_alert_shows_the_rule_and_its_words_to_the_clinician_only(
    team: tuple[BotHarness, str],
) -> None:
    bot, code = team
    await bot.person(CLIENT, "Alex").send(URGENT)
    await _drained(bot)
    async with bot.services.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    assert alert.rule not in ("model", "screen", "")
    detail = _plain((await bot.sandbox.messages(CLINICIAN))[-1].text)
    (why,) = [line for line in detail.splitlines() if line.startswith("Why:")]
    assert f"rule {alert.rule} matched" in why
    assert re.search(r'matched ".*kill myself.*"', why), why
    # "Open details" from the group gives the same view.
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    (group,) = [m for m in await bot.sandbox.messages(GROUP) if m.event == "sent"]
    (opened,) = await rivera.press("Open details", group)
    assert f"rule {alert.rule} matched" in _plain(opened.text)
    # The group post: pseudonym only, no layer, no rule, no words.
    for text in await _group_posts(bot):
        assert code in text
        assert "Why" not in text and alert.rule not in text and "kill" not in text


async def test_a_model_alert_shows_its_score_and_the_nearest_examples_categories(
    team: tuple[BotHarness, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, code = team
    real = safety.screen

    def model_fired(text: str, lang: str = "en", **kw: object) -> ScreenResult:
        if text != INDIRECT:
            return real(text, lang, **kw)  # type: ignore[arg-type]
        score = ModelScore("urgent", "suicidal_ideation", 0.87, 0.95, True)
        return ScreenResult("urgent", "suicidal_ideation", "model", (), "model", score)

    monkeypatch.setattr(safety, "screen", model_fired)
    load_nearest()  # the running bot builds it at start-up (bot/runner.py)
    await bot.person(CLIENT, "Alex").send(INDIRECT)
    await _drained(bot)
    detail = _plain((await bot.sandbox.messages(CLINICIAN))[-1].text)
    assert "Why: the trained model, score 0.87 for urgent (0.95 for any concern)." in detail
    (nearest,) = [line for line in detail.splitlines() if line.startswith("Nearest examples")]
    # Categories with counts (five neighbours in all), never a corpus message.
    counts = [int(n) for n in re.findall(r" (\d+)(?:,|$)", nearest)]
    assert sum(counts) == 5 and "suicidal thoughts" in nearest, nearest
    corpus = [
        json.loads(line)["text"]
        for file in DEFAULT_CORPUS_DIR.glob("*.jsonl")
        for line in file.read_text("utf-8").splitlines()
        if line.strip()
    ]
    assert not [t for t in corpus if len(t) > 12 and t in detail]
    for text in await _group_posts(bot):
        assert code in text and "model" not in text and "Nearest" not in text


@pytest.mark.sandbox_refusals("message is not modified")
async def test_false_alarm_is_recorded_once_and_refused_to_others(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    staff = content.language("en").alerts.staff
    await bot.person(CLIENT, "Alex").send(URGENT)
    await _drained(bot)
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    detail = (await bot.sandbox.messages(CLINICIAN))[-1]
    assert detail.buttons[-1] == [staff.false_alarm_button]
    await rivera.press(staff.false_alarm_button, detail)
    assert (await bot.sandbox.callback_answers(CLINICIAN))[-1]["text"] == (
        staff.false_alarm_recorded
    )
    await rivera.press(staff.false_alarm_button, detail)  # twice: recorded once
    assert (await bot.sandbox.callback_answers(CLINICIAN))[-1]["text"] == staff.already_done
    async with bot.services.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    ref = f"alf:{alert.id}.{alert.token}"
    # A stranger, and a clinician of another program, are refused.
    sam = bot.person(STRANGER, "Sam")
    (welcome,) = await sam.send("/start")
    await sam.press_data(ref, welcome.message_id)
    assert (await bot.sandbox.callback_answers(STRANGER))[-1]["text"] == staff.not_allowed
    outsider = await _outsider(bot)
    (registered,) = await outsider.send("/help")
    await outsider.press_data(ref, registered.message_id)
    async with bot.services.sessions() as session:
        marks = (await session.exec(select(ScreenMark))).all()
        refused = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "alert_press_refused"))
        ).all()
    assert len(refused) == 2
    (mark,) = marks
    assert (mark.kind, mark.client_code, mark.alert_id) == ("false_alarm", code, alert.id)
    assert (mark.category, mark.rule) == (alert.category, alert.rule)
    assert mark.text is None  # no client words
    # The alert is untouched: still open, its buttons still there.
    assert alert.resolved_at is None and alert.acknowledged_at is None


async def test_missed_records_the_category_chosen_without_the_clients_words(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    staff = content.language("en").alerts.staff
    await bot.person(CLIENT, "Alex").send("i dont see the point of anything, gave my dog away")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    (ask,) = await rivera.send(f"/missed {code}")
    assert _plain(ask.text) == f"What should have been flagged for client {code}?"
    (done,) = await rivera.press(staff.categories["suicidal_ideation"], ask)
    assert done.event == "edited"
    assert _plain(done.text).startswith(f"Recorded for client {code}: suicidal thoughts")
    # Words only when the clinician types them in.
    (ask2,) = await rivera.send(f"/missed {code.lower()} gave my dog away")
    await rivera.press(staff.categories["self_harm"], ask2)
    async with bot.services.sessions() as session:
        first, second = (await session.exec(select(ScreenMark).order_by(ScreenMark.id))).all()
    assert (first.kind, first.client_code, first.category, first.text) == (
        "missed",
        code,
        "suicidal_ideation",
        None,
    )
    assert (second.category, second.text) == ("self_harm", "gave my dog away")
    assert first.alert_id is None and first.at is not None

    # Exported for the corpus, one JSON line each.
    status, out, err = await admin(bot, "screen-marks", "--kind", "missed")
    assert status == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["client"], r["category"]) for r in rows] == [
        (code, "suicidal_ideation"),
        (code, "self_harm"),
    ]
    assert "text" not in rows[0] and rows[1]["text"] == "gave my dog away"


async def test_missed_is_refused_to_anyone_not_on_the_care_team(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    staff = content.language("en").alerts.staff
    # The client, a stranger, and a clinician of another program record nothing.
    await bot.person(CLIENT, "Alex").send(f"/missed {code}")
    sam = bot.person(STRANGER, "Sam")
    await sam.send("/start")
    replies = await sam.send(f"/missed {code}")
    assert all("flagged" not in (r.text or "") for r in replies)
    outsider = await _outsider(bot)
    (not_found,) = await outsider.send(f"/missed {code}")
    assert code in _plain(not_found.text) and "no client" in _plain(not_found.text)
    # A clinician's category buttons are hers alone.
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await rivera.send(f"/missed {code}")
    async with bot.services.sessions() as session:
        (mark,) = (await session.exec(select(ScreenMark))).all()
    (registered,) = await outsider.send("/help")
    await outsider.press_data(f"msc:{mark.id}:0", registered.message_id)
    assert (await bot.sandbox.callback_answers(9399))[-1]["text"] == staff.not_allowed
    async with bot.services.sessions() as session:
        (mark,) = (await session.exec(select(ScreenMark))).all()
    assert mark.category is None


async def _outsider(bot: BotHarness):  # type: ignore[no-untyped-def]
    """An admin of another program."""
    async with bot.services.sessions() as session:
        session.add(Program(name="Elsewhere", timezone="UTC", region="US"))
        await session.commit()
    status, out, err = await admin(
        bot, "clinician", "invite", "--program", "Elsewhere", "--role", "admin", "--name", "Other"
    )
    assert status == 0, err
    outsider = bot.person(9399, "Other")
    await outsider.send(f"/start {token_in(out)}")
    return outsider
