"""Normalization: folding with a way back to the original, and bounded word rewriting."""

from __future__ import annotations

import pytest

from bot.safety import load_screener
from bot.safety.normalize import Normalizer, fold, fold_offsets


def en() -> Normalizer:
    return load_screener().rulesets["en"].normalizer


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("I'M NOT OK", "im not ok"),
        ("don’t", "dont"),
        ("Está bien", "esta bien"),
        ("ﬁne", "fine"),
        ("ｋｉｌｌ", "kill"),
        ("kіll", "kill"),  # Cyrillic і
        ("su\u200bicide", "suicide"),
        ("⚰️", "⚰"),  # variation selector dropped
        ("Straße", "strasse"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    "text", ["don't", "café ß x", "e\u0301 accent", "a\u200bb", "plain", "😭🪦"]
)
def test_fold_offsets_cover_every_folded_character(text: str) -> None:
    starts, ends = fold_offsets(text)
    assert len(starts) == len(ends) == len(fold(text))
    assert all(0 <= s < e <= len(text) for s, e in zip(starts, ends, strict=True))


def test_combining_accent_stays_with_its_letter() -> None:
    text = "e\u0301"  # e + combining acute
    starts, ends = fold_offsets(text)
    assert (starts, ends) == ([0], [2])


@pytest.mark.parametrize(
    ("word", "canonical"),
    [
        ("k1ll", "kill"),
        ("d13", "die"),
        ("$uicide", "suicide"),
        ("0d", "od"),
        ("kiiiiill", "kill"),
        ("soooo", "so"),
        ("diiiie", "die"),
        ("suicde", "suicide"),
        ("sucidal", "suicidal"),
        ("myslef", "myself"),
        ("overdoes", "overdose"),
        ("kil", "kill"),
        ("killmyself", "kill myself"),
        ("wannadie", "wanna die"),
        ("rn", "right now"),
        ("really", ""),  # a filler
    ],
)
def test_rewrite_word(word: str, canonical: str) -> None:
    assert en().rewrite_word(word) == canonical


@pytest.mark.parametrize(
    "word",
    [
        "skill",
        "still",
        "kilt",
        "diet",
        "dye",
        "build",
        "overdue",
        "10mg",
        "5am",
        "2nd",
        "relaxed",
        "carving",
        "strange",
        "together",
        "someone",
        "deadline",
        "odd",
        "sizing",
    ],
)
def test_ordinary_words_are_left_alone(word: str) -> None:
    assert en().rewrite_word(word) == word


def test_fuzzy_needs_five_letters_and_the_same_first_letter() -> None:
    n = en()
    assert n.rewrite_word("suicde") == "suicide"
    assert n.rewrite_word("uicide") == "uicide"  # first letter differs
    assert n.rewrite_word("dei") == "die"  # only through the explicit misspelling table
    assert n.rewrite_word("diw") == "diw"  # too short for fuzzy matching


def test_spanish_words_are_not_corrected_by_english_rules() -> None:
    n = en()
    for word in ("sucede", "sucedio", "suicidio"):
        assert n.rewrite_word(word) == word


def test_canonical_maps_spans_back() -> None:
    text = "OMG i'm gonna k1ll   mysélf!!"
    canon = en().canonicalize(text)
    start = canon.text.index("kill")
    end = canon.text.index("myself") + len("myself")
    s, e = canon.to_original(start, end)
    assert text[s:e] == "k1ll   mysélf"


def test_letter_spacing_maps_to_the_whole_run() -> None:
    text = "its s.u.i.c.i.d.e time"
    canon = en().canonicalize(text)
    assert "suicide" in canon.text
    start = canon.text.index("suicide")
    s, e = canon.to_original(start, start + len("suicide"))
    assert text[s:e] == "s.u.i.c.i.d.e"
