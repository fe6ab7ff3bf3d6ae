"""The labelled corpus the trained screen learns from (content/safety/corpus/, issue 17).

The trainer and the held-out figures rely on these promises: every line is a valid labelled
message, the corpus is big and Spanish enough, and each pass (one writer's voice) covers
every category with ordinary talk among it, so that any whole pass can be held out.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import get_args

import pytest

from bot.safety.models import Category, Urgency

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "content" / "safety" / "corpus"
DEV_SET = REPO.parent / "shared" / "safety" / "dev_messages.jsonl"

# The screen's own label values: the corpus labels what the screen returns.
CATEGORIES = set(get_args(Category))
URGENCIES = set(get_args(Urgency))
KEYS = {"text", "category", "urgency", "lang", "pass"}
PASS_NAME = re.compile(r"pass_\d\d_[a-z0-9_]+")


def _key(text: str) -> str:
    """Texts that differ only in case or spacing count as the same message."""
    return " ".join(text.lower().split())


def load() -> list[tuple[str, int, dict]]:
    rows = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            rows.append((path.name, number, json.loads(line)))
    return rows


ROWS = load()


def by_pass() -> dict[str, list[dict]]:
    passes: dict[str, list[dict]] = defaultdict(list)
    for _, _, row in ROWS:
        passes[row["pass"]].append(row)
    return passes


def test_every_line_is_a_valid_labelled_message() -> None:
    problems = []
    for name, number, row in ROWS:
        where = f"{name}:{number}"
        if set(row) != KEYS:
            problems.append(f"{where} keys {sorted(row)}")
            continue
        if not isinstance(row["text"], str) or not row["text"].strip():
            problems.append(f"{where} empty text")
        if row["category"] not in CATEGORIES:
            problems.append(f"{where} category {row['category']!r}")
        if row["urgency"] not in URGENCIES:
            problems.append(f"{where} urgency {row['urgency']!r}")
        # Ordinary talk and only ordinary talk carries no urgency.
        if (row["category"] == "none") != (row["urgency"] == "none"):
            problems.append(f"{where} {row['category']} with urgency {row['urgency']}")
        if row["lang"] not in {"en", "es"}:
            problems.append(f"{where} lang {row['lang']!r}")
        if row["pass"] != Path(name).stem or not PASS_NAME.fullmatch(row["pass"]):
            problems.append(f"{where} pass {row['pass']!r} in file {name}")
    assert not problems, "\n".join(problems[:50])


def test_corpus_is_big_enough_and_one_fifth_spanish() -> None:
    assert len(ROWS) >= 3000
    spanish = sum(row["lang"] == "es" for _, _, row in ROWS)
    assert spanish / len(ROWS) >= 0.20, f"{spanish} of {len(ROWS)} in Spanish"


def test_no_message_appears_twice() -> None:
    seen: dict[str, str] = {}
    repeats = []
    for name, number, row in ROWS:
        key = _key(row["text"])
        if key in seen:
            repeats.append(f"{name}:{number} repeats {seen[key]}")
        else:
            seen[key] = f"{name}:{number}"
    assert not repeats, "\n".join(repeats[:50])


def test_at_least_six_passes_each_covering_every_category() -> None:
    passes = by_pass()
    assert len(passes) >= 6, sorted(passes)
    for name, rows in passes.items():
        categories = Counter(row["category"] for row in rows)
        urgencies = Counter(row["urgency"] for row in rows)
        assert set(categories) == CATEGORIES, f"{name} lacks {CATEGORIES - set(categories)}"
        assert set(urgencies) == URGENCIES, f"{name} lacks {URGENCIES - set(urgencies)}"
        # About two fifths ordinary talk, so a held-out pass measures false alarms too.
        share = categories["none"] / len(rows)
        assert 0.30 <= share <= 0.50, f"{name}: {share:.0%} ordinary talk"


def test_no_sentence_is_copied_from_the_development_set() -> None:
    """The corpus was written apart from the dev set; the count alone is reported, so that
    running this test never shows a development message to the corpus writer."""
    if not DEV_SET.exists():
        pytest.skip(f"no development set at {DEV_SET}")
    dev = set()
    for line in DEV_SET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            dev.add(_key(json.loads(line)["text"]))
    shared = sum(_key(row["text"]) in dev for _, _, row in ROWS)
    assert shared == 0, f"{shared} corpus messages are also in the development set"
