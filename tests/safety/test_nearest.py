"""The nearest corpus examples behind a model alert: labels and counts only, never texts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.safety import RulesError
from bot.safety.nearest import Label, NearestIndex, Neighbour, load_nearest, summarize

SMALL = [
    Label("i took all my pills and i feel weird", "overdose_or_medical", "urgent"),
    Label("took a whole bottle of pills an hour ago", "overdose_or_medical", "urgent"),
    Label("he hit me again and locked the door", "unsafe_or_abuse", "urgent"),
    Label("my phone died in group lol", "none", "none"),
    Label("killing it at work today", "none", "none"),
    Label("i want to end my life tonight", "suicidal_ideation", "urgent"),
]


def test_the_nearest_examples_are_the_most_alike_and_only_labels_come_back() -> None:
    index = NearestIndex(SMALL)
    near = index.nearest("took all the pills in the bottle", k=2)
    assert [n.category for n in near] == ["overdose_or_medical", "overdose_or_medical"]
    assert near[0].similarity >= near[1].similarity > 0
    assert all(isinstance(n, Neighbour) and not hasattr(n, "text") for n in near)
    assert index.categories("he hit me and locked me in", k=1) == [("unsafe_or_abuse", 1)]


def test_case_accents_and_typos_still_meet() -> None:
    index = NearestIndex(SMALL)
    assert index.nearest("MY PHONE DIED 😅", k=1)[0].category == "none"
    assert index.nearest("i wnat to end my lyfe", k=1)[0].category == "suicidal_ideation"


def test_nothing_alike_and_empty_text_give_no_neighbours() -> None:
    index = NearestIndex(SMALL)
    assert index.nearest("   ") == ()
    assert index.nearest("qqqq zzzz", k=3) == ()


def test_counts_are_commonest_first_and_ties_keep_the_nearest_first() -> None:
    near = [
        Neighbour("self_harm", "urgent", 0.9),
        Neighbour("none", "none", 0.8),
        Neighbour("none", "none", 0.7),
        Neighbour("suicidal_ideation", "urgent", 0.6),
    ]
    assert summarize(near) == [("none", 2), ("self_harm", 1), ("suicidal_ideation", 1)]


def test_the_same_question_gets_the_same_answer() -> None:
    index = NearestIndex(SMALL * 3)  # exact ties: corpus order decides
    assert index.nearest("pills", k=4) == index.nearest("pills", k=4)


def test_a_broken_corpus_line_is_named(tmp_path: Path) -> None:
    good = json.dumps({"text": "hi", "category": "none", "urgency": "none"})
    (tmp_path / "a.jsonl").write_text(good + "\n{not json\n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"a\.jsonl:2"):
        NearestIndex.from_dir(tmp_path)
    with pytest.raises(RulesError, match="no corpus files"):
        NearestIndex.from_dir(tmp_path / "empty")


def test_the_real_corpus_is_loaded_once_and_tells_risk_from_ordinary_talk() -> None:
    index = load_nearest()
    assert load_nearest() is index
    assert len(index) >= 3000
    risky = index.categories("i have the pills lined up and wrote the goodbye letters")
    assert risky[0][0] != "none" and sum(n for _, n in risky) == 5
    ordinary = index.categories("my phone died lol, see you at group tomorrow")
    assert ordinary[0][0] == "none"
