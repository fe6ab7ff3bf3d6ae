"""The pure rules of lessons: program weeks, what is open, what comes next, answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.content import Content
from bot.content.learning import ModuleFile
from bot.lessons import (
    Status,
    answer,
    checks_right,
    lesson_states,
    next_lesson,
    program_week,
    record_first_answer,
)
from bot.models import LessonAccess, LessonProgress


@pytest.fixture
def modules(content: Content) -> list[ModuleFile]:
    return content.language("en").modules


def test_program_week_counts_whole_weeks_in_the_clients_zone() -> None:
    start = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # Sunday 1 March, 22:00 in New York
    zone = "America/New_York"
    assert program_week(start, datetime(2026, 3, 2, 3, 0, tzinfo=UTC), zone) == 1
    assert program_week(start, datetime(2026, 3, 8, 3, 0, tzinfo=UTC), zone) == 1  # day 6
    # 8 March, 00:30 New York time (the night the clocks change): day 7, week 2.
    assert program_week(start, datetime(2026, 3, 8, 5, 30, tzinfo=UTC), zone) == 2
    assert program_week(start, datetime(2026, 5, 1, tzinfo=UTC), zone) == 9
    # Before the start (a clock set back): still week 1.
    assert program_week(start, datetime(2026, 1, 1, tzinfo=UTC), zone) == 1


def states(modules: list[ModuleFile], **kwargs: object) -> dict[int, Status]:
    options: dict[str, object] = {
        "week": 1,
        "progress": {},
        "overrides": {},
        "mental_health_only": False,
    }
    options.update(kwargs)
    return {s.module.number: s.status for s in lesson_states(modules, **options)}  # type: ignore[arg-type]


def test_lessons_open_by_week(modules: list[ModuleFile]) -> None:
    week1 = states(modules, week=1)
    assert [n for n, s in week1.items() if s is Status.new] == [1, 2]
    assert week1[16] is Status.locked
    assert all(s is not Status.locked for s in states(modules, week=10).values())


def test_overrides_and_the_program_setting(modules: list[ModuleFile]) -> None:
    got = states(
        modules,
        overrides={16: LessonAccess.unlocked, 2: LessonAccess.hidden, 5: LessonAccess.assigned},
        mental_health_only=True,
    )
    assert got[16] is Status.new and got[2] is Status.hidden
    # Mental-health-only hides 3, 5, 6, 11 unless a clinician opened one (5).
    assert (got[3], got[5], got[6], got[11]) == (
        Status.hidden,
        Status.new,
        Status.hidden,
        Status.hidden,
    )


def test_next_lesson_prefers_assigned_then_in_progress_then_new(
    modules: list[ModuleFile],
) -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    started = {2: LessonProgress(client_id=1, module=2, position=1)}
    done = {1: LessonProgress(client_id=1, module=1, completed_at=now)}
    base = {"week": 3, "overrides": {}, "mental_health_only": False}
    pick = next_lesson(lesson_states(modules, progress={**done, **started}, **base))  # type: ignore[arg-type]
    assert pick is not None and pick.module.number == 2
    pick = next_lesson(lesson_states(modules, progress=done, **base))  # type: ignore[arg-type]
    assert pick is not None and pick.module.number == 2
    assigned = {**base, "overrides": {9: LessonAccess.assigned}}
    pick = next_lesson(lesson_states(modules, progress={**done, **started}, **assigned))  # type: ignore[arg-type]
    assert pick is not None and pick.module.number == 9 and pick.assigned
    all_done = {
        m.number: LessonProgress(client_id=1, module=m.number, completed_at=now) for m in modules
    }
    assert next_lesson(lesson_states(modules, progress=all_done, **base)) is None  # type: ignore[arg-type]


def test_answers_wrong_stays_right_moves_on(modules: list[ModuleFile]) -> None:
    module = modules[0]  # two questions after five cards
    first = len(module.cards)
    q = module.questions[0]
    wrong = answer(module, first, 1 - q.answer)
    assert wrong is not None and not wrong.correct and wrong.next_position == first
    assert wrong.feedback == q.wrong
    right = answer(module, first, q.answer)
    assert right is not None and right.correct and right.next_position == first + 1
    last = answer(module, first + 1, module.questions[1].answer)
    assert last is not None and last.next_position is None
    assert answer(module, 0, 0) is None  # a card is no question
    assert answer(module, first, 9) is None  # no such option


def test_only_the_first_answer_counts() -> None:
    results = record_first_answer({}, 0, False)
    results = record_first_answer(results, 0, True)
    results = record_first_answer(results, 1, True)
    assert results == {"0": False, "1": True}
    assert checks_right(results) == (1, 2)
