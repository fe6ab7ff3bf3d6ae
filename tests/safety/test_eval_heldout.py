"""`python -m bot screen --eval FILE --heldout`: one report with the file's figures (urgent
flagged at all, by category, by language) and then the trained layer's held-out passes."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bot.safety.cli import main

# Made-up words, so that only the trained layer (never a rule) can flag these: the
# wiring of the report is what is measured here, not the screen.
PASSES = {
    "pass_a": [
        ("the blorp zeffle is here", "suicidal_ideation", "urgent"),
        ("blorp zeffle again now", "suicidal_ideation", "urgent"),
        ("quimble trask today", "relapse_or_use", "same_day"),
        ("trask quimble lately", "relapse_or_use", "same_day"),
        ("great day at group", "none", "none"),
        ("my phone died lol", "none", "none"),
    ],
    "pass_b": [
        ("blorp zeffle came back", "suicidal_ideation", "urgent"),
        ("zeffle blorp so much", "suicidal_ideation", "urgent"),
        ("more quimble trask", "relapse_or_use", "same_day"),
        ("the trask quimble thing", "relapse_or_use", "same_day"),
        ("good meeting today", "none", "none"),
        ("nice walk at the park", "none", "none"),
    ],
}


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    for name, rows in PASSES.items():
        lines = [
            json.dumps({"text": t, "category": c, "urgency": u, "lang": "en", "pass": name})
            for t, c, u in rows
        ]
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return main(argv, io.StringIO(), out), out.getvalue()


def test_eval_says_how_to_get_the_held_out_figures(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    _code, out = _run(["--eval", str(corpus / "pass_a.jsonl"), "--quiet"])
    assert "urgent flagged " in out and "by category" in out and "by language" in out
    assert out.rstrip().endswith("add --heldout)")
    assert "held-out passes" not in out


def test_eval_with_heldout_reports_the_file_then_each_pass_held_out(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    labelled = corpus / "pass_a.jsonl"
    code, out = _run(["--eval", str(labelled), "--heldout", "--corpus", str(corpus), "--quiet"])
    file_part, _, held_part = out.partition("held-out passes (train on all passes but one")
    assert f"safety screen eval: {labelled} (6 messages: en 6)" in file_part
    assert "urgent flagged " in file_part and "by language" in file_part
    assert held_part, out
    assert "pass_a" in held_part and "pass_b" in held_part
    assert "the trained layer alone, held out:" in held_part
    assert "rules + trained layer, held out:" in held_part
    assert f"{corpus} (rules + model) (12 messages: en 12)" in held_part
    assert code in (0, 1)  # figures, not an error
