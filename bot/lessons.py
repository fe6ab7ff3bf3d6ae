"""Lessons (SPEC §1): which are open to a client, which comes next, where they are in one,
and what an answer to a check question means. No Telegram here.

A lesson opens in its program week, counted from the client's start date (the day they
gave consent) in their own time zone: week 1 is the first 7 days. A clinician can open
a lesson sooner or put it first (`assigned`), or hide it; a mental-health-only program
hides the substance-specific lessons unless a clinician opens one for a client.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content.learning import ModuleFile
from bot.models import (
    Client,
    LessonAccess,
    LessonOverride,
    LessonProgress,
    Program,
    ProgramLessons,
)


def now_utc() -> datetime:
    return datetime.now(UTC)


class Status(StrEnum):
    done = "done"
    in_progress = "in_progress"
    new = "new"  # open, not started
    locked = "locked"  # opens in a later week
    hidden = "hidden"  # not offered to this client


@dataclass(frozen=True)
class LessonState:
    module: ModuleFile
    status: Status
    assigned: bool = False

    @property
    def open(self) -> bool:
        return self.status in (Status.done, Status.in_progress, Status.new)


def start_of(client: Client) -> datetime:
    return client.enrolled_at or client.created_at


def program_week(start: datetime, now: datetime, zone: str) -> int:
    """The client's program week at `now`: 1 in their first 7 days, 2 in the next 7, ..."""
    tz = ZoneInfo(zone)
    days = (now.astimezone(tz).date() - start.astimezone(tz).date()).days
    return max(0, days) // 7 + 1


def client_zone(client: Client, program: Program) -> str:
    return client.timezone or program.timezone


def lesson_states(
    modules: Sequence[ModuleFile],
    *,
    week: int,
    progress: dict[int, LessonProgress],
    overrides: dict[int, LessonAccess],
    mental_health_only: bool,
) -> list[LessonState]:
    states = []
    for module in modules:
        access = overrides.get(module.number)
        opened = access in (LessonAccess.assigned, LessonAccess.unlocked)
        row = progress.get(module.number)
        if access is LessonAccess.hidden or (
            mental_health_only and module.substance_specific and not opened
        ):
            status = Status.hidden
        elif row is not None and row.completed_at is not None:
            status = Status.done
        elif row is not None:
            status = Status.in_progress
        elif module.week <= week or opened:
            status = Status.new
        else:
            status = Status.locked
        states.append(LessonState(module, status, assigned=access is LessonAccess.assigned))
    return states


def next_lesson(states: Iterable[LessonState]) -> LessonState | None:
    """What "Learn" offers first: a lesson the care team assigned, then one in progress,
    then the first open one not started (lowest number first in each)."""
    states = list(states)
    for wanted in (
        lambda s: s.assigned and s.status in (Status.new, Status.in_progress),
        lambda s: s.status is Status.in_progress,
        lambda s: s.status is Status.new,
    ):
        found = [s for s in states if wanted(s)]
        if found:
            return found[0]
    return None


# --- inside one lesson ---------------------------------------------------------------


def total_positions(module: ModuleFile) -> int:
    return len(module.cards) + len(module.questions)


def is_card(module: ModuleFile, position: int) -> bool:
    return 0 <= position < len(module.cards)


def question_index(module: ModuleFile, position: int) -> int | None:
    index = position - len(module.cards)
    return index if 0 <= index < len(module.questions) else None


@dataclass(frozen=True)
class Answer:
    correct: bool
    feedback: str
    # Where the lesson goes: the next question, or None when this was the last one. A
    # wrong answer stays on the same question (asked again after the kind correction).
    next_position: int | None


def answer(module: ModuleFile, position: int, option: int) -> Answer | None:
    """The meaning of choosing `option` at `position`; None if it is no question there."""
    index = question_index(module, position)
    if index is None:
        return None
    question = module.questions[index]
    if not 0 <= option < len(question.options):
        return None
    if option != question.answer:
        return Answer(False, question.wrong, position)
    following = position + 1
    return Answer(True, question.right, following if following < total_positions(module) else None)


def record_first_answer(results: dict[str, bool], index: int, correct: bool) -> dict[str, bool]:
    """Only the first answer to each question counts (teach-back: right first time)."""
    if str(index) in results:
        return results
    return {**results, str(index): correct}


def checks_right(results: dict[str, bool]) -> tuple[int, int]:
    """(right the first time, questions answered)."""
    return sum(1 for v in results.values() if v), len(results)


# --- database --------------------------------------------------------------------------


async def mental_health_only(session: AsyncSession, program_id: int) -> bool:
    row = await session.get(ProgramLessons, program_id)
    return bool(row and row.mental_health_only)


async def progress_of(session: AsyncSession, client_id: int) -> dict[int, LessonProgress]:
    rows = (
        await session.exec(select(LessonProgress).where(LessonProgress.client_id == client_id))
    ).all()
    return {row.module: row for row in rows}


async def overrides_of(session: AsyncSession, client_id: int) -> dict[int, LessonAccess]:
    rows = (
        await session.exec(select(LessonOverride).where(LessonOverride.client_id == client_id))
    ).all()
    return {row.module: row.access for row in rows}


async def states_for(
    session: AsyncSession,
    modules: Sequence[ModuleFile],
    client: Client,
    program: Program,
    now: datetime,
) -> list[LessonState]:
    assert client.id is not None and program.id is not None
    return lesson_states(
        modules,
        week=program_week(start_of(client), now, client_zone(client, program)),
        progress=await progress_of(session, client.id),
        overrides=await overrides_of(session, client.id),
        mental_health_only=await mental_health_only(session, program.id),
    )


async def set_override(
    session: AsyncSession,
    *,
    client_id: int,
    module: int,
    access: LessonAccess | None,
    clinician_id: int | None,
    now: datetime,
) -> None:
    """Set (or with None, remove) a clinician's choice about one lesson for one client."""
    row = (
        await session.exec(
            select(LessonOverride).where(
                LessonOverride.client_id == client_id, LessonOverride.module == module
            )
        )
    ).first()
    if access is None:
        if row is not None:
            await session.delete(row)
        return
    if row is None:
        row = LessonOverride(client_id=client_id, module=module, access=access)
    row.access = access
    row.clinician_id = clinician_id
    row.at = now
    session.add(row)


async def completed_since(
    session: AsyncSession, client_ids: Sequence[int], since: datetime
) -> list[LessonProgress]:
    if not client_ids:
        return []
    return list(
        (
            await session.exec(
                select(LessonProgress)
                .where(
                    col(LessonProgress.client_id).in_(client_ids),
                    col(LessonProgress.completed_at).is_not(None),
                    col(LessonProgress.completed_at) >= since,
                )
                .order_by(col(LessonProgress.completed_at))
            )
        ).all()
    )
