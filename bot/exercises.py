"""Guided practice (SPEC §2): what is offered to whom, the steps and their timing, and the
distress rule. No Telegram here.

- Offering: a clinician's per-client settings filter the versions offered (SPEC §2.1
  rules 3-4): "no breath-holds" removes box breathing's holds and TIPP's cold water and
  hard exercise (the same people: pregnant, heart or lung conditions); "no long
  eyes-closed practice" removes the long body scans and kind wishes.
- Pacing: a version's steps become a plan of timed steps; a breathing pattern becomes
  one step per phase, shown by editing one message ("Breathe in … 4").
- The distress rule (SPEC §2.1 rule 2, §5.1 Tier 1): after the practice, a rating up by
  3 or more from before, or at 8 or more, stops guided practice and raises a same-day
  flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content.learning import ExerciseFile, ExerciseVariant
from bot.models import ExerciseRun, PracticeSettings, RunStatus

RISE = 3  # points up from before
HIGH = 8  # or at least this, after
RATINGS = range(0, 11)
# A step whose time passed longer ago than this (the bot was down or stalled) is not
# sent late: the practice ends with one message instead of a burst of stale steps.
STALE_AFTER = timedelta(seconds=90)
# Live states: a client has at most one practice in them at a time.
LIVE = (RunStatus.rating_before, RunStatus.running, RunStatus.rating_after)


@dataclass(frozen=True)
class Restrictions:
    no_breath_holds: bool = False
    no_long_inward: bool = False

    @classmethod
    def of(cls, row: PracticeSettings | None) -> Restrictions:
        if row is None:
            return cls()
        return cls(no_breath_holds=row.no_breath_holds, no_long_inward=row.no_long_inward)


def allowed(variant: ExerciseVariant, restrictions: Restrictions) -> bool:
    if restrictions.no_breath_holds and (variant.holds or variant.strain):
        return False
    return not (restrictions.no_long_inward and variant.long)


def offered_variants(exercise: ExerciseFile, restrictions: Restrictions) -> list[ExerciseVariant]:
    return [v for v in exercise.variants if allowed(v, restrictions)]


def offered(exercises: Sequence[ExerciseFile], restrictions: Restrictions) -> list[ExerciseFile]:
    return [e for e in exercises if offered_variants(e, restrictions)]


def distress_rose(before: int | None, after: int) -> bool:
    """SPEC §2.1 rule 2: up by RISE or more, or at HIGH or more."""
    return after >= HIGH or (before is not None and after - before >= RISE)


@dataclass(frozen=True)
class PlanStep:
    seconds: int
    text: str | None = None  # a text step
    # A breathing phase: "in", "hold" or "out", its count, and which round.
    phase: str | None = None
    round: int = 0
    rounds: int = 0
    # Shown by editing the message of the step before (the same breathing count).
    edits_previous: bool = False


def step_plan(variant: ExerciseVariant) -> list[PlanStep]:
    plan: list[PlanStep] = []
    for step in variant.steps:
        if step.text is not None:
            assert step.seconds is not None
            plan.append(PlanStep(seconds=step.seconds, text=step.text))
            continue
        assert step.breath is not None and step.rounds is not None
        first = True
        for round_ in range(1, step.rounds + 1):
            for phase, count in step.breath:
                plan.append(
                    PlanStep(
                        seconds=count,
                        phase=phase,
                        round=round_,
                        rounds=step.rounds,
                        edits_previous=not first,
                    )
                )
                first = False
    return plan


# --- database ------------------------------------------------------------------------


async def restrictions_of(session: AsyncSession, client_id: int) -> Restrictions:
    return Restrictions.of(await session.get(PracticeSettings, client_id))


async def live_runs(session: AsyncSession, client_id: int) -> list[ExerciseRun]:
    return list(
        (
            await session.exec(
                select(ExerciseRun).where(
                    ExerciseRun.client_id == client_id, col(ExerciseRun.status).in_(LIVE)
                )
            )
        ).all()
    )


_run = ExerciseRun.__table__  # type: ignore[attr-defined]


async def claim_step(
    session: AsyncSession, run_id: int, *, from_step: int, to_step: int, next_at: datetime | None
) -> bool:
    """Move a running practice from `from_step` to `to_step`, if nobody did already (a
    Next press and the timer, or two workers): the one whose UPDATE matched sends it."""
    result = await session.exec(  # type: ignore[call-overload]
        sa.update(_run)
        .where(
            _run.c.id == run_id,
            _run.c.status == RunStatus.running.value,
            _run.c.step == from_step,
        )
        .values(step=to_step, next_at=next_at)
    )
    return bool(result.rowcount == 1)


async def claim_status(
    session: AsyncSession,
    run_id: int,
    *,
    from_status: RunStatus,
    at_step: int | None = None,
    **values: object,
) -> bool:
    """Move a practice on from `from_status` (and `at_step`, if given), if nobody did."""
    where = [_run.c.id == run_id, _run.c.status == from_status.value]
    if at_step is not None:
        where.append(_run.c.step == at_step)
    result = await session.exec(sa.update(_run).where(*where).values(**values))  # type: ignore[call-overload]
    return bool(result.rowcount == 1)


async def due_runs(session: AsyncSession, now: datetime, limit: int = 100) -> list[ExerciseRun]:
    return list(
        (
            await session.exec(
                select(ExerciseRun)
                .where(
                    ExerciseRun.status == RunStatus.running,
                    col(ExerciseRun.next_at).is_not(None),
                    col(ExerciseRun.next_at) <= now,
                )
                .order_by(col(ExerciseRun.next_at))
                .limit(limit)
            )
        ).all()
    )


async def runs_since(
    session: AsyncSession, client_ids: Sequence[int], since: datetime
) -> list[ExerciseRun]:
    """Practices started since `since` that got past their first step."""
    if not client_ids:
        return []
    return list(
        (
            await session.exec(
                select(ExerciseRun)
                .where(
                    col(ExerciseRun.client_id).in_(client_ids),
                    col(ExerciseRun.started_at) >= since,
                    col(ExerciseRun.step) >= 0,
                )
                .order_by(col(ExerciseRun.started_at))
            )
        ).all()
    )
