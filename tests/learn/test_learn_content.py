"""The lessons and practices as content: all 16 lessons and 8 practices load, validate and
pass the grade check; every lesson has check questions with feedback; a broken file is
refused with a message that names the file and the key."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.content import DEFAULT_CONTENT_DIR, Content, ContentError, check_content, load_content
from bot.content.learning import CARD_MAX_WORDS
from bot.readability import clean, words_of
from tests.content.helpers import edit, line_of

EXERCISES = [
    "urge_surfing",
    "sober_breathing",
    "box_breathing",
    "grounding",
    "body_scan",
    "loving_kindness",
    "stop",
    "tipp",
]


@pytest.fixture(scope="module")
def shipped() -> Content:
    return load_content(DEFAULT_CONTENT_DIR)


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    dest = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, dest, ignore=shutil.ignore_patterns("safety"))
    return dest


def test_all_sixteen_lessons_and_eight_practices_load(shipped: Content) -> None:
    pack = shipped.language("en")
    assert [m.number for m in pack.modules] == list(range(1, 17))
    assert [e.slug for e in pack.exercises] == EXERCISES
    # SPEC §1.2: the substance-specific lessons a mental-health-only program hides.
    assert [m.number for m in pack.modules if m.substance_specific] == [3, 5, 6, 11]
    # Lessons link their practice (3 -> urge surfing, 7 -> TIPP, ...).
    assert pack.module(3).practice == "urge_surfing"  # type: ignore[union-attr]
    assert pack.module(7).practice == "tipp"  # type: ignore[union-attr]


def test_every_lesson_has_short_cards_and_check_questions_with_feedback(shipped: Content) -> None:
    for module in shipped.language("en").modules:
        assert 4 <= len(module.cards) <= 6, module.number
        for card in module.cards:
            assert len(words_of(clean(card))) <= CARD_MAX_WORDS, (module.number, card)
        assert 1 <= len(module.questions) <= 2, module.number
        for question in module.questions:
            assert question.right.strip() and question.wrong.strip()
            assert 0 <= question.answer < len(question.options)
            assert "wrong" not in question.wrong.lower()  # kind, never "Wrong!"


def test_every_lesson_and_practice_text_passes_the_grade_check(shipped: Content) -> None:
    report = check_content(shipped, today=date(2026, 11, 22))
    assert report.failures == []
    graded = [
        r for r in report.results if "/modules/" in r.text.where or "/exercises/" in r.text.where
    ]
    files = {r.text.where.split(":")[0] for r in graded}
    assert len([f for f in files if "/modules/" in f]) == 16
    assert len([f for f in files if "/exercises/" in f]) == 8
    # Every card, question, answer, feedback and step is graded, each at grade 8 or lower.
    wheres = {r.text.where for r in graded}
    assert "content/en/modules/03_triggers.yaml: cards[5]" in wheres
    assert "content/en/modules/03_triggers.yaml: questions[1].wrong" in wheres
    assert "content/en/modules/03_triggers.yaml: questions[1].options[0]" in wheres
    assert "content/en/exercises/tipp.yaml: cautions[0]" in wheres
    assert "content/en/exercises/box_breathing.yaml: variants[1].steps[0].text" in wheres
    assert all(r.grade <= 8 for r in graded if r.graded)
    # Practice steps can show on a locked screen: they are checked for lock-screen words.
    steps = [r for r in graded if "/exercises/" in r.text.where and ".steps[" in r.text.where]
    assert steps and all(r.text.discreet for r in steps)
    # The weekly reminder too.
    nudge = next(r for r in report.results if r.text.where == "content/en/learn.yaml: learn.nudge")
    assert nudge.text.discreet


def test_a_card_over_sixty_words_is_refused_naming_file_and_key(content_dir: Path) -> None:
    path = content_dir / "en" / "modules" / "02_brain.yaml"
    long = " ".join(["Sleep helps the brain heal."] * 13)
    edit(path, "    sleep. The brain can heal, but it needs time.", f"    sleep. {long}")
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    message = str(caught.value)
    assert message.startswith("content/en/modules/02_brain.yaml, line ")
    assert "cards[0]: has" in message and f"at most {CARD_MAX_WORDS}" in message


def test_a_lesson_text_above_grade_eight_fails_the_check(content_dir: Path) -> None:
    path = content_dir / "en" / "modules" / "14_food.yaml"
    edit(
        path,
        "    water through the day.",
        "    water. Consistently maintaining adequate hydration substantially supports "
        "physiological restoration.",
    )
    report = check_content(load_content(content_dir), today=date(2026, 11, 22))
    assert [f.where for f in report.failures] == ["content/en/modules/14_food.yaml: cards[3]"]


def test_a_question_whose_answer_is_not_an_option_is_refused(content_dir: Path) -> None:
    path = content_dir / "en" / "modules" / "04_thoughts.yaml"
    edit(path, "    answer: 1\n", "    answer: 5\n")
    with pytest.raises(
        ContentError, match=r"04_thoughts.yaml, line \d+: questions\[0\]: .*answer 5"
    ):
        load_content(content_dir)


def test_a_lesson_linking_a_missing_practice_is_refused(content_dir: Path) -> None:
    path = content_dir / "en" / "modules" / "03_triggers.yaml"
    edit(path, "practice: urge_surfing", "practice: surfing")
    with pytest.raises(ContentError) as caught:
        load_content(content_dir)
    line = line_of(path, "practice: surfing")
    assert str(caught.value) == (
        f"content/en/modules/03_triggers.yaml, line {line}: practice: no exercise 'surfing' "
        "in exercises/"
    )


def test_a_breath_hold_not_declared_is_refused(content_dir: Path) -> None:
    # Clients who must not hold their breath rely on `holds: true` to filter a version.
    path = content_dir / "en" / "exercises" / "box_breathing.yaml"
    edit(path, "    holds: true\n", "")
    with pytest.raises(ContentError, match=r"box_breathing.yaml, line \d+: variants\[0\]: .*holds"):
        load_content(content_dir)


def test_a_lesson_missing_from_the_sequence_is_refused(content_dir: Path) -> None:
    (content_dir / "en" / "modules" / "08_opposite_action.yaml").unlink()
    with pytest.raises(ContentError, match="numbered 1 to 15 without gaps"):
        load_content(content_dir)


def test_a_lock_screen_word_in_a_practice_step_fails_the_check(content_dir: Path) -> None:
    path = content_dir / "en" / "exercises" / "stop.yaml"
    edit(path, "Freeze for a moment.", "Freeze before you reach for alcohol.")
    report = check_content(load_content(content_dir), today=date(2026, 11, 22))
    assert [f.where for f in report.failures] == [
        "content/en/exercises/stop.yaml: variants[0].steps[0].text"
    ]
