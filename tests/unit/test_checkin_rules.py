"""The check-in's flag rules at their thresholds and just below, the ASQ pathway, the BAM
scores on known answers, and the question order (pure core)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.checkin import items, rules
from bot.checkin.items import Plan
from bot.checkin.rules import Day, Prompted, Thresholds

TODAY = date(2026, 6, 10)
TH = Thresholds()


def keys(flags: list[rules.Flag]) -> list[str]:
    return [f.key.split(":")[0] for f in flags]


def ago(days: int, **answers: object) -> Day:
    return Day(TODAY - timedelta(days=days), **answers)  # type: ignore[arg-type]


@pytest.mark.parametrize(("craving", "fires"), [(8, True), (7, False), (10, True), (0, False)])
def test_craving_at_8_fires_and_7_alone_does_not(craving: int, fires: bool) -> None:
    flags = rules.answer_flags(Day(TODAY, craving=craving), [], TH)
    assert keys(flags) == (["craving"] if fires else [])


@pytest.mark.parametrize(("confidence", "fires"), [(3, True), (4, False)])
def test_craving_7_with_confidence_at_3_fires_and_at_4_does_not(
    confidence: int, fires: bool
) -> None:
    flags = rules.answer_flags(Day(TODAY, craving=7, confidence=confidence), [], TH)
    assert keys(flags) == (["craving"] if fires else [])


@pytest.mark.parametrize(("previous", "fires"), [(7, True), (6, False), (None, False)])
def test_craving_7_twice_in_a_row_fires(previous: int | None, fires: bool) -> None:
    flags = rules.answer_flags(Day(TODAY, craving=7), [], TH, previous_craving=previous)
    assert keys(flags) == (["craving"] if fires else [])
    below = rules.answer_flags(Day(TODAY, craving=6), [], TH, previous_craving=9)
    assert below == []


@pytest.mark.parametrize(
    ("today", "yesterday", "fires"), [(2, 2, True), (2, 3, False), (3, 1, False)]
)
def test_mood_at_2_two_days_running(today: int, yesterday: int, fires: bool) -> None:
    flags = rules.answer_flags(Day(TODAY, mood=today), [ago(1, mood=yesterday)], TH)
    assert keys(flags) == (["mood"] if fires else [])
    assert rules.runs_screen(flags) is fires


def test_low_mood_on_days_not_in_a_row_does_not_fire() -> None:
    assert rules.answer_flags(Day(TODAY, mood=1), [ago(2, mood=1)], TH) == []


@pytest.mark.parametrize(("before", "now", "fires"), [(7, 3, True), (7, 4, False), (9, 5, True)])
def test_a_mood_drop_of_4_fires_and_3_does_not(before: int, now: int, fires: bool) -> None:
    flags = rules.answer_flags(Day(TODAY, mood=now), [ago(2, mood=before)], TH)
    assert keys(flags) == (["mood"] if fires else [])


def test_any_use_fires_with_priority_for_overdose_risk_or_after_a_break() -> None:
    plain = rules.answer_flags(
        Day(TODAY, use="yes", substances="cannabis"), [ago(1, use="yes")], TH
    )
    assert keys(plain) == ["use"] and not plain[0].high_priority
    risky = rules.answer_flags(Day(TODAY, use="yes", substances="alcohol,opioids"), [], TH)
    assert risky[0].high_priority and "opioids" in risky[0].evidence
    after_break = rules.answer_flags(
        Day(TODAY, use="yes", substances="alcohol"), [ago(1, use="no"), ago(7, use="no")], TH
    )
    assert after_break[0].high_priority
    short_break = rules.answer_flags(
        Day(TODAY, use="yes", substances="alcohol"), [ago(1, use="no"), ago(6, use="no")], TH
    )
    assert not short_break[0].high_priority
    assert rules.answer_flags(Day(TODAY, use="no"), [], TH) == []
    assert rules.answer_flags(Day(TODAY, use="skip"), [], TH) == []


def test_not_safe_right_now_is_urgent() -> None:
    (flag,) = rules.answer_flags(Day(TODAY, safe_now="no"), [], TH)
    assert (flag.tier, flag.category, flag.high_priority) == ("urgent", "overdose_or_medical", True)
    assert rules.answer_flags(Day(TODAY, safe_now="yes"), [], TH) == []


def test_medicine_missed_two_days_running() -> None:
    assert keys(
        rules.answer_flags(Day(TODAY, medicine="missed"), [ago(1, medicine="missed")], TH)
    ) == ["medicine"]
    assert rules.answer_flags(Day(TODAY, medicine="missed"), [ago(1, medicine="taken")], TH) == []
    assert rules.answer_flags(Day(TODAY, medicine="missed"), [ago(2, medicine="missed")], TH) == []


def test_thresholds_per_program_and_client_override_and_bad_values_are_ignored() -> None:
    th = rules.thresholds({"craving": 9, "low_mood": 3}, {"craving": 6, "mood_drop": 99})
    assert (th.craving, th.low_mood, th.mood_drop) == (6, 3, 4)
    assert keys(rules.answer_flags(Day(TODAY, craving=6), [], th)) == ["craving"]
    assert rules.parse_overrides(["craving=7", "low_mood=3"]) == {"craving": 7, "low_mood": 3}
    with pytest.raises(ValueError, match="unknown"):
        rules.parse_overrides(["cravings=7"])
    with pytest.raises(ValueError, match="from 1 to 10"):
        rules.parse_overrides(["craving=11"])


def _prompted(*answered: bool) -> list[Prompted]:
    """Newest first."""
    now = datetime(2026, 6, 11, 0, 0, tzinfo=UTC)
    return [
        Prompted(TODAY - timedelta(days=i), now - timedelta(days=i), a)
        for i, a in enumerate(answered)
    ]


def test_three_missed_in_a_row_fires_and_two_does_not() -> None:
    assert keys(rules.missed_flags(_prompted(False, False, False, True), [], TH)) == ["missed"]
    assert rules.missed_flags(_prompted(False, False, True, False), [], TH) == []
    assert rules.missed_flags(_prompted(True, False, False), [], TH) == []


def test_a_miss_within_72_hours_of_an_alert_fires() -> None:
    prompted = _prompted(False, True)
    sent = prompted[0].sent_at
    assert keys(rules.missed_flags(prompted, [sent - timedelta(hours=71)], TH)) == ["missed"]
    assert rules.missed_flags(prompted, [sent - timedelta(hours=73)], TH) == []


@pytest.mark.parametrize(
    ("answers", "result"),
    [
        ({"asq_wished": "no", "asq_better": "no", "asq_thoughts": "no", "asq_tried": "no"},
         "negative"),
        ({"asq_wished": "yes", "asq_better": "no", "asq_thoughts": "no", "asq_tried": "no",
          "asq_now": "no"}, "same_day"),
        ({"asq_wished": "no", "asq_better": "no", "asq_thoughts": "no", "asq_tried": "skip",
          "asq_now": "no"}, "same_day"),
        ({"asq_wished": "no", "asq_better": "no", "asq_thoughts": "yes", "asq_tried": "no",
          "asq_now": "yes"}, "urgent"),
        ({"asq_wished": "yes", "asq_better": "yes", "asq_thoughts": "yes", "asq_tried": "yes",
          "asq_now": "skip"}, "urgent"),
    ],
)  # fmt: skip
def test_the_asq_pathway(answers: dict[str, str], result: str) -> None:
    assert rules.asq_result(answers) == result


def test_one_yes_or_a_refusal_makes_the_screen_positive_before_it_ends() -> None:
    assert not rules.asq_positive({"asq_wished": "no"})
    assert rules.asq_positive({"asq_wished": "no", "asq_better": "yes"})
    assert rules.asq_positive({"asq_wished": "skip"})
    assert not rules.asq_positive({"asq_now": "yes"})  # acuity alone is not the screen


def test_an_unfinished_screen_says_so_and_claims_no_how_and_when() -> None:
    partial = rules.asq_evidence({"asq_wished": "no", "asq_tried": "yes"}, finished=False)
    assert "tried: yes" in partial and partial.endswith("not finished yet")
    assert "how and when" not in partial


def test_the_acuity_question_is_asked_only_after_a_yes() -> None:
    plan = Plan(medicine=False, asq=True)
    all_no = {k: "no" for k in items.ASQ_STEPS}
    assert items.next_step("asq_tried", all_no, plan) == "note"
    assert items.next_step("asq_tried", {**all_no, "asq_better": "yes"}, plan) == "asq_now"


def test_the_order_skips_what_does_not_apply() -> None:
    plain = Plan(medicine=False, asq=False)
    assert items.next_step(None, {}, plain) == "craving"
    assert items.next_step("use", {"use": "no"}, plain) == "confidence"
    assert items.next_step("use", {"use": "yes"}, plain) == "substances"
    assert items.next_step("safe_now", {"use": "yes"}, Plan(medicine=True, asq=False)) == "medicine"
    assert items.next_step("support", {}, Plan(medicine=False, asq=True)) == "asq_wished"
    assert items.next_step("note", {}, plain) is None


@pytest.mark.parametrize(
    ("text", "value"), [("7", 7), (" 10 ", 10), ("3/10", 3), ("0", 0), ("11", None), ("-1", None),
                        ("seven", None), ("7.5", None)]
)  # fmt: skip
def test_typed_scale_answers(text: str, value: int | None) -> None:
    assert items.parse_typed_scale(text) == value


def test_bam_scores_on_known_answers() -> None:
    answers = {
        "health": "h3",  # fair -> 3
        "sleep": "d7",  # 7 nights -> 4
        "upset": "d2",  # 2 days -> 2
        "any_alcohol": "d1",  # 1 -> 1
        "heavy_drinking": "d0",  # 0
        "any_drug": "d4",  # 4 -> 3
        "urges": "a2",  # 2
        "confidence": "a3",  # 3
        "meetings": "d5",  # 5 -> 3
        "risky": "d3",  # 3 -> 2
        "spirit": "a0",  # 0
        "work": "d6",  # 6 -> 4
        "income": "yes",  # 4
        "conflict": "a4",  # 4
        "support": "d1",  # 1
        "satisfied": "a2",  # unscored
    }
    assert rules.bam_scores(answers) == {
        "use": 1 + 0 + 3,
        "risk": 3 + 4 + 2 + 2 + 2 + 4,
        "protective": 3 + 3 + 0 + 4 + 4 + 1,
    }
    (flag,) = rules.bam_flags(answers, TODAY)
    assert flag.category == "relapse_or_use" and not flag.high_priority
    no_use = {**answers, "any_alcohol": "d0", "any_drug": "d0"}
    assert rules.bam_flags(no_use, TODAY) == []
    assert rules.bam_flags({**no_use, "heavy_drinking": "d2"}, TODAY)[0].high_priority
