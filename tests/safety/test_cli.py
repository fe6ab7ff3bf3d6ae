"""`python -m bot screen`: JSON lines in and out, and the --eval report."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.safety.cli import main

REPO = Path(__file__).resolve().parents[2]
DEV_SET = REPO.parent / "shared" / "safety" / "dev_messages.jsonl"


def run(argv: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, io.StringIO(stdin), out)
    return code, out.getvalue()


def test_screen_mode_one_line_per_input_and_errors_do_not_stop() -> None:
    lines = "\n".join(
        [
            json.dumps({"text": "gonna kill myself tonight"}),
            "{not json",
            json.dumps({"text": "recaí anoche", "lang": "es"}),
            json.dumps(["a", "list"]),
            "",
            json.dumps({"text": "great walk with my dog", "id": 7}),
            json.dumps({"lang": "en"}),
        ]
    )
    code, out = run([], lines)
    assert code == 0
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == 6  # the blank line is not an input
    assert results[0]["urgency"] == "urgent"
    assert results[0]["category"] == "suicidal_ideation"
    assert results[0]["rule"] == "si.kill_self"
    assert results[0]["evidence"][0]["text"] == "kill myself"
    assert results[1] == {"line": 2, "error": results[1]["error"]}
    assert "not JSON" in results[1]["error"]
    assert results[2]["urgency"] == "same_day"
    assert "object" in results[3]["error"]
    model = results[4].pop("model")  # what the trained layer saw, even when nothing fired
    assert set(model) == {"urgency", "category", "p_urgent", "p_flag", "confident"}
    assert results[4] == {
        "id": 7,
        "urgency": "none",
        "category": "none",
        "rule": None,
        "evidence": [],
    }
    assert '"text"' in results[5]["error"]


def test_eval_mode_reports_figures(tmp_path: Path) -> None:
    labelled = [
        {"text": "some days i wanna die", "category": "suicidal_ideation", "urgency": "urgent"},
        {
            "text": "my brother isn't breathing",
            "category": "overdose_or_medical",
            "urgency": "urgent",
        },
        {"text": "relapsed yesterday", "category": "relapse_or_use", "urgency": "same_day"},
        {"text": "i picked flowers", "category": "relapse_or_use", "urgency": "same_day"},
        {"text": "great day at group", "category": "none", "urgency": "none"},
        {"text": "cravings are out of control", "category": "none", "urgency": "none"},
        {
            "text": "hoy quisiera morir",
            "category": "suicidal_ideation",
            "urgency": "urgent",
            "lang": "es",
        },
    ]
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in labelled) + "\nnot a line\n", encoding="utf-8")
    code, out = run(["--eval", str(path)])
    assert code == 1  # same-day recall 1/2 and 1/2 none flagged miss the targets
    assert "skipped line 8" in out
    assert "(7 messages: en 6, es 1)" in out
    assert "urgent recall          3/3     100.0%  target >=95%  ok" in out
    assert "urgent flagged         3/3     100.0%  target >=98%  ok" in out
    assert "same_day recall        1/2      50.0%  target >=90%  MISSED" in out
    assert "none flagged           1/2      50.0%  target <=8%   MISSED" in out
    # issue 17: figures by category and by language
    assert "suicidal_ideation    caught     2/2     100.0%  flagged    2/2     100.0%" in out
    assert "none                 flagged    1/2      50.0%" in out
    assert "en   urgent    2/2     100.0%" in out
    assert "es   urgent    1/1     100.0%" in out
    assert "category accuracy      4/4     100.0%" in out
    assert "  urgent             3         0         0" in out
    assert "  same_day           0         1         1" in out
    assert "  none               0         1         1" in out
    assert '"i picked flowers"' in out  # the miss, with its text
    assert '"cravings are out of control"' in out  # the false alarm
    assert "result: targets NOT met" in out


def test_eval_exit_zero_when_targets_met(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text(
        json.dumps({"text": "kms", "category": "suicidal_ideation", "urgency": "urgent"}) + "\n",
        encoding="utf-8",
    )
    code, out = run(["--eval", str(path)])
    assert code == 0
    assert "result: targets met" in out


def test_eval_missing_file() -> None:
    code, out = run(["--eval", "/nonexistent/file.jsonl"])
    assert code == 2
    assert "no such file" in out


def test_module_runs_as_a_script() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.safety.cli"],
        input=json.dumps({"text": "he isn't breathing"}) + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["category"] == "overdose_or_medical"


# The floor the screen must never fall below on the development set, as measured when issue
# 17's layered screen (rules by composition + the model trained on the 14-pass corpus) landed;
# raise it as the screen improves, never lower it. The set is for measuring only: nothing in
# the screen is written or trained from it. (Issue 17's targets: urgent 95%, urgent flagged
# 98%, same-day 90%, ordinary talk flagged 8%.)
DEV_FLOOR = {"urgent recall": 88.6, "urgent flagged": 97.4, "same_day recall": 85.9}
DEV_NONE_CEILING = 10.0


def _percent(out: str, label: str) -> float:
    line = next(line for line in out.splitlines() if line.startswith(label))
    match = re.search(r"([0-9.]+)%", line)
    assert match, line
    return float(match.group(1))


@pytest.mark.skipif(not DEV_SET.is_file(), reason=f"dev set not found at {DEV_SET}")
def test_dev_set_holds_the_floor() -> None:
    _code, out = run(["--eval", str(DEV_SET)])
    for label, floor in DEV_FLOOR.items():
        assert _percent(out, label) >= floor, out
    assert _percent(out, "none flagged") <= DEV_NONE_CEILING, out


# --- issue 16: rough edges of the screen's command line ------------------------------------


def test_deeply_nested_json_is_an_error_line_not_a_crash() -> None:
    lines = "[" * 100_000 + "\n" + json.dumps({"text": "i want to end my life"}) + "\n"
    code, out = run([], lines)
    assert code == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["line"] == 1
    assert "nested too deeply" in first["error"]
    assert second["urgency"] == "urgent"  # the next line is still screened


def test_eval_skips_non_utf8_lines_and_measures_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    good = json.dumps({"text": "kms", "category": "suicidal_ideation", "urgency": "urgent"})
    latin1 = b'{"text": "caf\xe9", "category": "none", "urgency": "none"}\n'
    path.write_bytes(latin1 + good.encode())
    code, out = run(["--eval", str(path)])
    assert "skipped line 1: not UTF-8" in out
    assert "(1 messages: en 1)" in out
    assert code == 0


def test_eval_of_a_file_with_no_valid_line_does_not_say_targets_met(tmp_path: Path) -> None:
    path = tmp_path / "nothing.jsonl"
    path.write_text("not json\n{}\n\n", encoding="utf-8")
    code, out = run(["--eval", str(path)])
    assert code == 2
    assert "targets met" not in out
    assert "no labelled message could be read" in out


def test_screen_via_python_m_bot_takes_its_own_options(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "screen", "--lang", "es"],
        input=b"\xff\xfe" + json.dumps({"text": "me quiero matar"}).encode() + b"\n",
        capture_output=True,
        cwd=REPO,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 1
    assert "error" in json.loads(lines[0])  # the stray bytes spoil the line, not the run
