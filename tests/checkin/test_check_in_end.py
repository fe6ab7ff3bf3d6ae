"""The end of a check-in (issue 18): at most three messages after the last answer, the
hardest news first on a hard day, and no praise after a disclosure of use or low mood.
Before, a hard check-in could end with up to nine messages, "Nice work." first."""

from __future__ import annotations

import itertools

from bot.checkin.ending import MAX_MESSAGES, Ending, plan
from bot.content import Content
from bot.readability import clean, fk_grade, words_of
from tests.checkin.conftest import Care, tap_through

PRAISE = ("Nice work", "Well done", "Great job", "Every check-in counts", "in a row")


def _sent(out: list) -> list:  # type: ignore[type-arg]
    return [m for m in out if m.event == "sent"]


async def test_a_hard_check_in_ends_with_three_messages_the_hardest_first(care: Care) -> None:
    # Everything at once: strong urge, low mood two days running, triggers, a slip with
    # opioids and benzos, low confidence, no support, the weekly questions and the
    # longer weekly check-in due. The client already has a streak.
    for day in (1, 2, 3):
        await care.seed(day, mood=2 if day == 1 else 6, craving=3)
    await care.set_client(weekly_day=(await care.today()).weekday())
    out = await tap_through(
        care,
        craving="9",
        mood="1",
        triggers=["People", "Stress or conflict", "Boredom"],
        use="Yes",
        substances=["Opioids", "Benzos or sleep pills", "Alcohol"],
        confidence="2",
        support="No",
    )
    sent = _sent(out)
    texts = [m.text or "" for m in sent]
    assert len(sent) <= MAX_MESSAGES, texts
    pack = care.content.language("en")
    # The hardest news first: the team was told, and the help lines after low mood.
    assert texts[0].startswith("Thank you for telling me. That sounds hard.")
    assert pack.checkin.low_mood in texts[0] and "988" in texts[0]
    # Then what to do now: are you alone, the overdose-safety card, the slip plan.
    assert pack.alerts.checks.are_you_alone in texts[1]
    assert pack.checkin.overdose_card in texts[1] and pack.checkin.slip_plan in texts[1]
    assert texts[1].index("Are you alone") < texts[1].index("Stay safer tonight")
    assert all(m.protect_content for m in sent[:2])
    # Thanks, plainly: no praise after a slip and low mood; no placeholder left.
    assert pack.checkin.done_hard in texts[-1]
    for text in texts:
        assert not any(p in text for p in PRAISE), text
        assert "{" not in text, text
    # The care team was told (later flags are added to the open alert).
    assert await care.alerts()


async def test_an_easy_day_keeps_the_streak_and_its_cheer(care: Care) -> None:
    for day in (1, 2):
        await care.seed(day, mood=7, craving=1)
    out = await tap_through(care, craving="7", triggers=["Places"])
    texts = [m.text or "" for m in _sent(out)]
    assert len(texts) <= MAX_MESSAGES
    assert texts[0].startswith(care.texts.done) and "3 days in a row" in texts[0]
    assert care.texts.coping.places in texts[1] and care.texts.high_craving in texts[1]


def test_no_combination_of_answers_ends_with_more_than_three_or_praise_on_a_hard_day() -> None:
    flags = ["relapse_or_use", "high_craving", "low_mood", "suicide_screen", "medication_missed"]
    for used, mood, craving, triggers, first, streak, bam, n in itertools.product(
        (False, True), (1, 5, 8), (2, 9), ((), ("people", "halt")), (False, True), (1, 5),
        (False, True), range(3),
    ):  # fmt: skip
        ending = Ending(
            categories=frozenset(flags[:n] if used or n else ()),
            used=used,
            substances=frozenset({"opioids"} if used else set()),
            mood=mood,
            craving=craving,
            triggers=triggers,
            first_time=first,
            streak=streak,
            recent=3,
            bam_due=bam,
        )
        parts = plan(ending)
        assert 1 <= len(parts) <= MAX_MESSAGES
        keys = [k for p in parts for k in p.texts]
        if ending.hard:
            assert "streak" not in keys and "completion" not in keys
            assert parts[-1].texts[0] == "done_hard"
        if used:
            assert keys.index("are_you_alone") < keys.index("overdose_card")


def test_the_overdose_card_is_short_and_plain(content: Content) -> None:
    card = content.language("en").checkin.overdose_card
    assert len(words_of(clean(card))) <= 60
    assert fk_grade(clean(card)) <= 6
