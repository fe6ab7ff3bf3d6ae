"""A broken rules file is refused, with the file, the line and the place in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.safety import RulesError, Screener
from bot.safety.screener import DEFAULT_RULES_DIR

MINIMAL = """\
lang: en
fillers: [really]
lists:
  self: [myself, me]
categories:
  suicidal_ideation:
    negation: downgrade
    rules:
      - id: si.test
        urgency: urgent
        phrases:
          - '[kill|end] {self}'
context:
  negation:
    cues: [not, never]
  history:
    before: [used to]
"""


def write(tmp_path: Path, text: str, name: str = "en.yaml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_minimal_file_loads_and_screens(tmp_path: Path) -> None:
    screener = Screener.from_dir(write(tmp_path, MINIMAL))
    assert screener.languages == ("en",)
    assert screener.screen("i want to kill myself").urgency == "urgent"
    assert screener.screen("i will never kill myself").urgency == "same_day"
    assert screener.screen("nice day").urgency == "none"


def test_shipped_rules_load() -> None:
    screener = Screener.from_dir(DEFAULT_RULES_DIR)
    assert set(screener.languages) == {"en", "es"}


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (("urgency: urgent", "urgency: soon"), "line 10", "urgency"),
        (
            ("        urgency: urgent\n", "        urgency: urgent\n        colour: red\n"),
            "line 11",
            "Extra inputs are not permitted",
        ),
        (("'[kill|end] {self}'", "'[kill|end] {selves}'"), "phrases → 0", "unknown list {selves}"),
        (("'[kill|end] {self}'", "'[kill|end {self}'"), "phrases → 0", "'[' without ']'"),
        (("'[kill|end] {self}'", "'[kill|really] {self}'"), "phrases → 0", "filler"),
        (
            (
                "        phrases:\n          - '[kill|end] {self}'\n",
                "        patterns:\n          - 'kill (myself'\n",
            ),
            "patterns → 0",
            "invalid regular expression",
        ),
        (("id: si.test", "id: SI Test"), "id", "should match pattern"),
        (("cues: [not, never]", "cues: [not, no]"), "cues → 1", "true/false"),
        (("suicidal_ideation:", "sadness:"), "categories", "Input should be"),
        (("lang: en", "lang: en\nlang2: x"), "lang2", "Extra inputs"),
    ],
)
def test_broken_file_is_refused_with_its_place(
    tmp_path: Path, change: tuple[str, str], where: str, message: str
) -> None:
    old, new = change
    assert old in MINIMAL
    write(tmp_path, MINIMAL.replace(old, new))
    with pytest.raises(RulesError) as err:
        Screener.from_dir(tmp_path)
    text = str(err.value)
    assert "en.yaml" in text
    assert where in text
    assert message in text


def test_duplicate_rule_ids_are_refused(tmp_path: Path) -> None:
    doubled = MINIMAL.replace(
        "context:",
        "  self_harm:\n    rules:\n      - id: si.test\n        urgency: urgent\n"
        "        phrases: [cut myself]\ncontext:",
    )
    write(tmp_path, doubled)
    with pytest.raises(RulesError, match=r"duplicate rule id 'si\.test'"):
        Screener.from_dir(tmp_path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL.replace("  self: [myself, me]", "  self: [myself, me"))
    with pytest.raises(RulesError, match=r"en\.yaml, line \d+: not valid YAML"):
        Screener.from_dir(tmp_path)


def test_file_name_must_match_its_language(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL, name="es.yaml")
    with pytest.raises(RulesError, match=r"lang is 'en' but the file is es\.yaml"):
        Screener.from_dir(tmp_path)


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="no rules files"):
        Screener.from_dir(tmp_path)
