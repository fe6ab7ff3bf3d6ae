"""What clinicians and the client read about lessons and practice: the digest section,
the `/client CODE` section and the client's `/progress` section. No Telegram here.

Clinicians see completion, right-first-time counts of the check questions, each
practice with its before and after ratings, and whether the distress rule fired. Never
anything the client typed (nothing is typed in lessons or practice).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.client_view import register_client_section
from bot.content import Content, LanguagePack, render
from bot.digest import DigestScope, register_digest_section
from bot.exercises import restrictions_of, runs_since
from bot.lessons import (
    Status,
    checks_right,
    client_zone,
    completed_since,
    program_week,
    progress_of,
    start_of,
    states_for,
)
from bot.models import Client, ExerciseRun, PracticeSettings, Program
from bot.progress_view import register_progress_section

CLIENT_PRACTICE_DAYS = 30
CLIENT_PRACTICE_LINES = 10
PROGRESS_PRACTICE_DAYS = 7


def _rating(value: int | None) -> str:
    return "-" if value is None else str(value)


def _exercise_title(pack: LanguagePack, run: ExerciseRun) -> str:
    exercise = pack.exercise(run.exercise)
    return exercise.title if exercise else run.exercise


def _variant_label(pack: LanguagePack, run: ExerciseRun) -> str:
    exercise = pack.exercise(run.exercise)
    variant = exercise.variant(run.variant) if exercise else None
    return variant.label if variant else run.variant


async def digest_section(session: AsyncSession, content: Content, scope: DigestScope) -> str | None:
    pack = content.language(None)
    staff = pack.learning.staff
    ids = [c.id for c in scope.caseload if c.id is not None]
    codes = {c.id: c.code for c in scope.caseload}
    items: dict[int, list[str]] = defaultdict(list)
    for row in await completed_since(session, ids, scope.since):
        if row.completed_at is not None and row.completed_at <= scope.now:
            right, asked = checks_right(row.results)
            items[row.client_id].append(
                render(staff.digest_lesson, number=row.module, right=right, asked=asked)
            )
    for run in await runs_since(session, ids, scope.since):
        if run.started_at > scope.now:
            continue
        items[run.client_id].append(
            render(
                staff.digest_practice,
                title=_exercise_title(pack, run),
                before=_rating(run.before),
                after=_rating(run.after),
                flag=staff.flag_rose if run.distress_rose else "",
            )
        )
    if not items:
        return None
    lines = [staff.digest_header]
    for client_id in sorted(items, key=lambda i: codes.get(i, "")):
        lines.append(
            render(
                staff.digest_line, code=codes.get(client_id, "?"), items="; ".join(items[client_id])
            )
        )
    return "\n".join(lines)


async def client_section(
    session: AsyncSession, content: Content, client: Client, program: Program, now: datetime
) -> str | None:
    assert client.id is not None
    pack = content.language(None)
    staff = pack.learning.staff
    states = await states_for(session, pack.modules, client, program, now)
    progress = await progress_of(session, client.id)
    settings_row = await session.get(PracticeSettings, client.id)
    any_practice = (
        await session.exec(select(ExerciseRun.id).where(ExerciseRun.client_id == client.id))
    ).first()
    chosen = any(s.assigned or s.status is Status.hidden for s in states)
    if not progress and any_practice is None and settings_row is None and not chosen:
        return None  # nothing begun, nothing set: nothing to add to the record
    visible = [s for s in states if s.status is not Status.hidden]
    done = sum(1 for s in visible if s.status is Status.done)
    week = program_week(start_of(client), now, client_zone(client, program))
    lines = [render(staff.client_lessons, done=done, total=len(visible), week=week)]
    for state in states:
        if state.status is Status.done:
            label = staff.state_done
        elif state.status is Status.in_progress:
            label = staff.state_in_progress
        elif state.status is Status.hidden:
            label = staff.state_hidden
        elif state.assigned:
            label = staff.state_assigned
        else:
            continue
        line = render(
            staff.client_module_line,
            number=state.module.number,
            title=state.module.title,
            state=label,
        )
        row = progress.get(state.module.number)
        if row is not None and row.results:
            right, asked = checks_right(row.results)
            line += render(staff.client_checks, right=right, asked=asked)
        lines.append(line)
    runs = list(
        (
            await session.exec(
                select(ExerciseRun)
                .where(
                    ExerciseRun.client_id == client.id,
                    col(ExerciseRun.started_at) >= now - timedelta(days=CLIENT_PRACTICE_DAYS),
                    col(ExerciseRun.step) >= 0,
                )
                .order_by(col(ExerciseRun.started_at).desc())
            )
        ).all()
    )
    zone = ZoneInfo(client_zone(client, program))
    lines += ["", render(staff.client_practice, count=len(runs))]
    if not runs:
        lines.append(staff.client_practice_none)
    for run in runs[:CLIENT_PRACTICE_LINES]:
        flag = staff.flag_rose if run.distress_rose else ""
        if run.stopped_early:
            flag += staff.stopped_early
        lines.append(
            render(
                staff.client_practice_line,
                when=f"{run.started_at.astimezone(zone):%a %d %b %H:%M}",
                title=_exercise_title(pack, run),
                version=_variant_label(pack, run),
                before=_rating(run.before),
                after=_rating(run.after),
                flag=flag,
            )
        )
    settings = await restrictions_of(session, client.id)
    lines.append(
        render(
            staff.client_settings,
            holds=staff.on_word if settings.no_breath_holds else staff.off_word,
            inward=staff.on_word if settings.no_long_inward else staff.off_word,
        )
    )
    return "\n".join(lines)


async def progress_section(
    session: AsyncSession, pack: LanguagePack, client: Client, program: Program, now: datetime
) -> str | None:
    assert client.id is not None
    texts = pack.learning.progress
    states = [
        s
        for s in await states_for(session, pack.modules, client, program, now)
        if s.status is not Status.hidden
    ]
    done = sum(1 for s in states if s.status is Status.done)
    runs = await runs_since(session, [client.id], now - timedelta(days=PROGRESS_PRACTICE_DAYS))
    lines = [
        render(texts.lessons, done=done, total=len(states)),
        render(texts.practice, count=len(runs)),
    ]
    rated = [r for r in runs if r.after is not None]
    if rated:
        last = rated[-1]
        title = _exercise_title(pack, last)
        if last.before is not None:
            lines.append(
                render(texts.last_practice, title=title, before=last.before, after=last.after)
            )
        else:
            lines.append(render(texts.last_practice_no_rating, title=title))
    return "\n".join(lines)


register_digest_section(digest_section)
register_client_section(client_section)
register_progress_section(progress_section)
