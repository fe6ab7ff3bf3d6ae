"""Issue 16, defects 10 and 11, end to end in the sandbox: the ticks of a multi-select show
on the question and what was chosen shows after Done; a note with risk words is saved,
screened and ends the check-in, with the crisis path."""

from __future__ import annotations

from bot.content import render
from bot.telegram_sandbox import SentMessage
from tests.checkin.conftest import Care


def _labels(message: SentMessage) -> list[str]:
    return [label for row in message.buttons for label in row]


async def _to_triggers(care: Care) -> SentMessage:
    await care.alex.send(care.content.language("en").menu.checkin)
    for label in ("2", "6", "6 to 8 hours", "OK"):
        await care.alex.press(label)
    question = await care.alex.last_message()
    assert question.text == care.texts.triggers.text
    return question


async def test_ticked_triggers_show_their_ticks_and_done_shows_what_was_chosen(
    care: Care,
) -> None:
    question = await _to_triggers(care)
    (ticked,) = await care.alex.press("Boredom")
    assert ticked.event == "edited" and ticked.message_id == question.message_id
    assert "✓ Boredom" in _labels(ticked)
    (ticked,) = await care.alex.press("Stress or conflict")
    assert {"✓ Boredom", "✓ Stress or conflict"} <= set(_labels(ticked))
    assert "People" in _labels(ticked)  # not ticked: no tick
    out = await care.alex.press(care.texts.triggers.done_button)
    shown = next(m for m in out if m.message_id == question.message_id)
    assert shown.event == "edited"
    assert render(care.texts.answer_shown, answer="Stress or conflict, Boredom") in shown.text
    assert care.texts.triggers.none_button not in shown.text
    assert (await care.checkin()).triggers == "stress,boredom"


async def test_ticked_substances_show_their_ticks_and_done_shows_what_was_chosen(
    care: Care,
) -> None:
    await _to_triggers(care)
    await care.alex.press(care.texts.triggers.none_button)
    await care.alex.press("Yes")
    question = await care.alex.last_message()
    assert question.text == care.texts.substances.text
    (ticked,) = await care.alex.press("Opioids")
    assert "✓ Opioids" in _labels(ticked) and "Alcohol" in _labels(ticked)
    (ticked,) = await care.alex.press("Alcohol")
    (ticked,) = await care.alex.press("Alcohol")  # untick
    assert "✓ Opioids" in _labels(ticked) and "Alcohol" in _labels(ticked)
    out = await care.alex.press(care.texts.substances.done_button)
    shown = next(m for m in out if m.message_id == question.message_id)
    assert render(care.texts.answer_shown, answer="Opioids") in shown.text
    assert (await care.checkin()).substances == "opioids"


async def test_no_trigger_shows_none_of_these(care: Care) -> None:
    question = await _to_triggers(care)
    out = await care.alex.press(care.texts.triggers.none_button)
    shown = next(m for m in out if m.message_id == question.message_id)
    none = care.texts.triggers.none_button
    assert render(care.texts.answer_shown, answer=none) in shown.text


async def _to_note(care: Care) -> None:
    await care.alex.send(care.content.language("en").menu.checkin)
    answers = {"craving": "2", "mood": "6", "sleep_hours": "6 to 8 hours"}
    answers |= {"sleep_quality": "OK", "triggers": care.texts.triggers.none_button}
    answers |= {"use": "No", "confidence": "8", "support": "Yes", "medicine": "Yes"}
    for _ in range(20):
        step = (await care.checkin()).step
        if step == "note":
            return
        assert step in answers, step
        await care.alex.press(answers[step])
    raise AssertionError("the check-in never reached its note")


NOTE_WITH_RISK = "work was hard and i want to end my life"


async def test_a_note_with_risk_words_is_saved_ends_the_check_in_and_gets_the_crisis_path(
    care: Care,
) -> None:
    await _to_note(care)
    out = await care.alex.send(NOTE_WITH_RISK)
    pack = care.content.language("en")
    texts = [m.text for m in out if m.event == "sent"]
    # The crisis path, as for any message with these words.
    assert texts[0] == pack.alerts.reply.urgent_opening
    assert pack.crisis_card(care.program.region) in texts
    (alert,) = await care.alerts()
    assert (alert.tier.value, alert.category) == ("urgent", "suicidal_ideation")
    # The note is kept for the care team and the check-in is finished.
    row = await care.checkin()
    assert row.note == NOTE_WITH_RISK
    assert row.step is None and row.completed_at is not None
    # Checking in again starts anew: nothing was left waiting.
    (lead, question) = await care.alex.send(pack.menu.checkin)
    assert lead.text == care.texts.start_again and question.text == care.texts.craving.text


async def test_a_calm_note_is_saved_and_the_check_in_ends_with_thanks(care: Care) -> None:
    await _to_note(care)
    out = await care.alex.send("slept badly but ok")
    texts = [m.text or "" for m in out if m.event == "sent"]
    assert texts[0] == care.texts.note.saved
    assert texts[1].startswith(care.texts.done)
    row = await care.checkin()
    assert row.note == "slept badly but ok" and row.step is None
    assert await care.alerts() == []
