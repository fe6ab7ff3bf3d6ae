"""Issue 18: what a careful clinical reader found in the content, held true."""

import re

from bot.content import Content
from bot.readability import clean


def _lesson(shipped: Content, number: int) -> str:
    module = next(m for m in shipped.language("en").modules if m.number == number)
    return "\n".join(module.cards)


def test_lesson_11_says_which_medicine_slows_breathing_and_warns_of_disulfiram(
    shipped: Content,
) -> None:
    text = " ".join(_lesson(shipped, 11).split())
    assert "Methadone and buprenorphine ease cravings" in text
    assert "these two slow your breathing" in text
    assert "Naltrexone and acamprosate do not slow your breathing" in text
    assert "Disulfiram" in text and "makes you very sick" in text
    # The old sentence blamed every medicine for slowed breathing.
    assert "Mixing it with alcohol" not in text


def test_stopping_alcohol_or_benzos_at_once_warns_of_seizures(shipped: Content) -> None:
    pack = shipped.language("en")
    for text in (_lesson(shipped, 11), _lesson(shipped, 6), pack.alerts.reply.same_day_use):
        assert "seizures" in " ".join(text.split()), text


def test_cravings_rise_and_fall_with_no_timing_figure(shipped: Content) -> None:
    pack = shipped.language("en")
    texts = [_lesson(shipped, 3), pack.checkin.high_craving, pack.alerts.reply.same_day_craving]
    for text in texts:
        flat = " ".join(text.split()).lower()
        assert "like a wave" in flat
        assert not re.search(r"\d+\s*(to \d+\s*)?minutes", flat), flat


def test_family_consent_names_the_exceptions(shipped: Content) -> None:
    text = " ".join(_lesson(shipped, 15).split())
    assert "Most of the time, they need your OK in writing" in text
    assert "In an emergency" in text and "warn" in text


def test_box_breathing_carries_the_breath_hold_cautions(shipped: Content) -> None:
    box = next(e for e in shipped.language("en").exercises if e.slug == "box_breathing")
    # In the hold variant only: a client with holds turned off never gets that variant.
    holds = next(v for v in box.variants if v.holds)
    caution = holds.steps[0].text or ""
    for words in ("pregnant", "heart or lung", "panic", "dizzy"):
        assert words in caution


def test_the_overdose_line_says_who_it_is_for(shipped: Content) -> None:
    text = shipped.language("en").alerts.reply.same_day_use
    assert "If you used opioids or pills" not in text
    assert "If you might use opioids, benzos, or sleep pills again, don't use alone." in text


def test_consent_says_typed_messages_are_shown_word_for_word(shipped: Content) -> None:
    disclosure = shipped.language("en").join.disclosures[1]
    assert "your care team is shown that message word for word" in disclosure


def test_check_in_length_is_one_figure_everywhere(shipped: Content) -> None:
    pack = shipped.language("en")
    for text in (pack.checkin.start, pack.setup.ask_checkin_time, pack.ui.checkin_prompt):
        assert "about two minutes" in text, text
        assert "a minute" not in text and "under" not in text


def test_bam_keeps_most_of_the_day_and_the_age_65_rule(shipped: Content) -> None:
    items = shipped.language("en").checkin.bam.items
    assert items.upset.endswith("for most of the day?")
    assert "Men under 65" in items.heavy_drinking


def test_tipp_cautions_are_short_sentences(shipped: Content) -> None:
    from bot.readability import sentences_of, words_of

    tipp = next(e for e in shipped.language("en").exercises if e.slug == "tipp")
    lesson_7 = next(c for c in _lesson(shipped, 7).split("\n") if "beta blockers" in c)
    for text in [*tipp.cautions, lesson_7]:
        for sentence in sentences_of(clean(" ".join(text.split()))):
            assert len(words_of(sentence)) <= 20, sentence


def test_slip_plan_and_withdrawal_reply_warn_of_seizures(shipped: Content) -> None:
    pack = shipped.language("en")
    assert "seizures" in pack.checkin.slip_plan
    assert "seizures" in pack.alerts.checks.withdrawal


def test_overdose_card_gives_the_recovery_position(shipped: Content) -> None:
    card = shipped.language("en").checkin.overdose_card
    assert "Don't use alone" in card and "naloxone" in card
    assert "Lay them on their side" in card


def test_someone_drunk_or_high_is_asked_if_they_are_alone(shipped: Content) -> None:
    assert "Are you alone right now?" in shipped.language("en").alerts.checks.are_you_alone
