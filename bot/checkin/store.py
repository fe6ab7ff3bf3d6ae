"""The check-in's records: start or resume, write an answer exactly once, fire the rules.

No Telegram here. Every answer is committed as it arrives, with the step it answers in
the WHERE clause: a double tap, a tap on an old question, an update handled twice or
a second worker answering at the same moment changes the row once or not at all. The
rules run in the same transaction, so an alert exists exactly when its answer does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts import EVIDENCE_MAX, Finding, add_to_alert, raise_alert
from bot.checkin import items, rules
from bot.checkin.items import Plan, Shape
from bot.checkin.stats import Record, is_complete
from bot.content import Content
from bot.lessons import mental_health_only
from bot.models import (
    Alert,
    AlertTier,
    CheckIn,
    CheckinFlag,
    Client,
    CravingMoment,
    Delivery,
    DeliveryStatus,
    Program,
    Screening,
)
from bot.people import CLIENT_BY_USER
from bot.scheduling.kinds import CHECKIN
from bot.sealed import seal, unseal

checkin_t = CheckIn.__table__  # type: ignore[attr-defined]
flag_t = CheckinFlag.__table__  # type: ignore[attr-defined]
ANSWER_COLUMNS = (
    "craving", "mood", "sleep_hours", "sleep_quality", "triggers", "use", "substances",
    "safe_now", "medicine", "confidence", "support",
)  # fmt: skip
SCALE_COLUMNS = frozenset({"craving", "mood", "confidence"})
# The answers some rule reads (the others feed trends and the digest only).
RULE_STEPS = frozenset(
    {"craving", "mood", "use", "substances", "safe_now", "medicine", "confidence"}
)
# An unfinished check-in is resumed by "Check in" for this long (a day-long pause).
RESUME_WITHIN_DAYS = 1
HOW_WHEN_MAX = 1000  # characters kept of the ASQ's "how and when"


def zone_of(client: Client, program: Program) -> ZoneInfo:
    return ZoneInfo(client.timezone or program.timezone)


def local_today(client: Client, program: Program, now: datetime) -> date:
    return now.astimezone(zone_of(client, program)).date()


def weekly_day(client: Client) -> int:
    if client.weekly_day is not None:
        return client.weekly_day
    return client.enrolled_at.weekday() if client.enrolled_at else 6


def how_when(answers: dict[str, Any]) -> str | None:
    """The ASQ's "how and when" as the client typed it (None: skipped or not asked)."""
    stored = answers.get("asq_how")
    if not isinstance(stored, str) or stored == items.SKIP:
        return None
    return unseal(stored)


def readable_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """A screen's answers with the "how and when" opened (for the client's own export)."""
    if "asq_how" not in answers:
        return dict(answers)
    return {**answers, "asq_how": how_when(answers) or items.SKIP}


def answers_of(checkin: CheckIn, screen: Screening | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {name: getattr(checkin, name) for name in ANSWER_COLUMNS}
    if screen is not None:
        out.update(screen.answers)
    return out


def day_of(checkin: CheckIn) -> rules.Day:
    return rules.Day(
        local_date=checkin.local_date,
        craving=checkin.craving,
        mood=checkin.mood,
        confidence=checkin.confidence,
        use=checkin.use,
        substances=checkin.substances,
        safe_now=checkin.safe_now,
        medicine=checkin.medicine,
    )


def record_of(checkin: CheckIn) -> Record:
    return Record(
        local_date=checkin.local_date,
        complete=checkin.completed_at is not None or is_complete(answers_of(checkin)),
        craving=checkin.craving,
        mood=checkin.mood,
        confidence=checkin.confidence,
        sleep_hours=checkin.sleep_hours,
        sleep_quality=checkin.sleep_quality,
        triggers=checkin.triggers,
        use=checkin.use,
        medicine=checkin.medicine,
        support=checkin.support,
    )


# Built once: the days before today are read on every mood answer.
_HISTORY = (
    select(CheckIn)
    .where(CheckIn.client_id == sa.bindparam("client"))
    .order_by(col(CheckIn.local_date).desc())
)
_HISTORY_BEFORE = _HISTORY.where(
    col(CheckIn.local_date) < sa.bindparam("before"),
    col(CheckIn.local_date) >= sa.bindparam("since"),
)


async def history(
    session: AsyncSession, client_id: int, *, before: date | None = None, days: int = 14
) -> list[CheckIn]:
    """The client's check-ins of the `days` days before `before` (or up to today), newest
    first."""
    if before is None:
        rows = await session.exec(_HISTORY, params={"client": client_id})  # type: ignore[call-overload]
    else:
        params = {"client": client_id, "before": before, "since": before - timedelta(days=days)}
        rows = await session.exec(_HISTORY_BEFORE, params=params)  # type: ignore[call-overload]
    return list(rows.all())


async def screening(session: AsyncSession, client_id: int, kind: str, on: date) -> Screening | None:
    return (
        await session.exec(
            select(Screening).where(
                Screening.client_id == client_id, Screening.kind == kind, Screening.local_date == on
            )
        )
    ).first()


async def last_screening(
    session: AsyncSession, client_id: int, kind: str, *, completed: bool = True
) -> Screening | None:
    query = select(Screening).where(Screening.client_id == client_id, Screening.kind == kind)
    if completed:
        query = query.where(col(Screening.completed_at).is_not(None))
    return (await session.exec(query.order_by(col(Screening.local_date).desc()))).first()


async def asked_before(session: AsyncSession, client_id: int, before: date) -> bool:
    """Has the client finished the risk questions before `before`? Then they are asked
    "since the last time I asked" (the first screen asks "past few weeks" and "ever")."""
    query = select(Screening.id).where(
        Screening.client_id == client_id,
        Screening.kind == "asq",
        col(Screening.completed_at).is_not(None),
        col(Screening.local_date) < before,
    )
    return (await session.exec(query.limit(1))).first() is not None


async def weekly_due(session: AsyncSession, client: Client, kind: str, today: date) -> bool:
    """A weekly questionnaire is due on the client's day, and also later in the week when
    that day's check-in was skipped; never twice within six days."""
    assert client.id is not None
    last = await last_screening(session, client.id, kind)
    if last is not None and (today - last.local_date).days < 6:
        return False
    if today.weekday() == weekly_day(client):
        return True
    return last is not None and (today - last.local_date).days >= 8


async def plan_of(session: AsyncSession, client: Client, checkin: CheckIn) -> Plan:
    # A client with medication reminders answers those instead (Taken / Skip), so the
    # check-in does not ask twice; their misses are flagged by the reminders.
    # (bot/medication.py: has_medication_reminders is this same setting.)
    medicine = client.checkin_medicine and not client.medication_reminders
    asq = checkin.asq_due
    if asq and checkin.step not in (*items.ASQ_STEPS, *items.ASQ_FOLLOW_UPS):
        # Answered already today (a second check-in that day does not ask again).
        done = await screening(session, checkin.client_id, "asq", checkin.local_date)
        asq = done is None or done.completed_at is None
    return Plan(medicine=medicine, asq=asq, substance=await _treats_substance(session, client))


async def _treats_substance(session: AsyncSession, client: Client) -> bool:
    """False for a mental-health-only program: no urge or use questions (SPEC §1.2)."""
    return not await mental_health_only(session, client.program_id)


# --- starting ------------------------------------------------------------------------


@dataclass
class Opened:
    checkin: CheckIn
    how: str  # "new", "resume", "again"


async def open_checkin(
    session: AsyncSession, client: Client, program: Program, now: datetime
) -> Opened:
    """Resume an unfinished check-in of today or yesterday; else start today's, or start
    today's again (a second check-in the same day updates the same record)."""
    assert client.id is not None
    today = local_today(client, program, now)
    recent = (
        await session.exec(
            select(CheckIn)
            .where(
                CheckIn.client_id == client.id,
                col(CheckIn.local_date) >= today - timedelta(days=RESUME_WITHIN_DAYS),
            )
            .order_by(col(CheckIn.local_date).desc())
        )
    ).all()
    unfinished = next((c for c in recent if c.step is not None), None)
    if unfinished is not None:
        return Opened(unfinished, "resume")
    todays = next((c for c in recent if c.local_date == today), None)
    if todays is not None:
        todays.step = items.first_step(Plan(False, False, await _treats_substance(session, client)))
        todays.rounds += 1
        todays.updated_at = now
        todays.completed_at = None
        session.add(todays)
        await session.flush()
        return Opened(todays, "again")
    checkin = CheckIn(
        client_id=client.id,
        local_date=today,
        step=items.first_step(Plan(False, False, await _treats_substance(session, client))),
        started_at=now,
        updated_at=now,
        asq_due=await weekly_due(session, client, "asq", today),
    )
    try:
        async with session.begin_nested():
            session.add(checkin)
    except IntegrityError:  # a second tap or worker created it a moment ago
        existing = (
            await session.exec(
                select(CheckIn).where(CheckIn.client_id == client.id, CheckIn.local_date == today)
            )
        ).one()
        return Opened(existing, "resume")
    return Opened(checkin, "new")


# --- answering -------------------------------------------------------------------------


@dataclass
class Answered:
    status: str  # "ok", "stale" (not the question waiting), "invalid" (not offered)
    checkin: CheckIn | None = None
    step: str | None = None  # the step answered
    value: str | None = None
    selected: list[str] = field(default_factory=list)  # a multi-select's keys so far
    advanced: bool = False  # moved on to the next step
    alerts: list[Alert] = field(default_factory=list)
    asq: str | None = None  # the screen's result, when this answer finished it
    # This answer made the screen positive (the first yes): the team was told at once.
    asq_positive: bool = False
    replay: bool = False  # saved by an earlier handling of the same update


# Who is answering, with the check-in they answer: one statement on the path the client
# waits on.
_ANSWERING = CLIENT_BY_USER.add_columns(CheckIn).outerjoin(
    CheckIn,
    sa.and_(col(CheckIn.id) == sa.bindparam("checkin"), col(CheckIn.client_id) == Client.id),
)


async def answering(
    session: AsyncSession, telegram_user_id: int, checkin_id: int
) -> tuple[Client | None, Program | None, CheckIn | None]:
    """The enrolled client behind a Telegram account, their program, and their check-in
    `checkin_id` (None if there is none such, or it is someone else's)."""
    params = {"user": telegram_user_id, "checkin": checkin_id}
    row = (await session.exec(_ANSWERING, params=params)).first()  # type: ignore[call-overload]
    return (row[0], row[1], row[2]) if row is not None else (None, None, None)


async def answer(
    session: AsyncSession,
    *,
    content: Content,
    client: Client,
    checkin: CheckIn | None,
    step: str,
    value: str,
    now: datetime,
    note: str | None = None,
    update_id: int | None = None,
    program: Program | None = None,
) -> Answered:
    """Write one answer (or one toggle of a multi-select) to `checkin` (as `answering`
    read it) if `step` is the question waiting; then the rules. The caller commits."""
    if checkin is None or checkin.client_id != client.id:
        return Answered("invalid")
    if not items.valid_value(step, value):
        return Answered("invalid", checkin)
    if checkin.step != step:
        if update_id is not None and checkin.last_update_id == update_id:
            # This very update wrote the answer before the bot stopped: say and ask again.
            multi = items.STEPS[step].shape is Shape.multi
            selected = items.split_keys(getattr(checkin, step)) if multi else []
            toggle = multi and value not in (items.DONE, items.NONE)
            return Answered("ok", checkin, step, value, selected, not toggle, replay=True)
        return Answered("stale", checkin, step)
    spec = items.STEPS[step]
    values: dict[str, Any] = {"updated_at": now, "last_update_id": update_id}
    screen: Screening | None = None
    if step.startswith("asq_"):
        screen = await _asq_row(session, checkin, now)
    if spec.shape is Shape.multi and value != items.DONE:
        # A toggle: the step stays; the row changes only if nobody changed it meanwhile.
        current = getattr(checkin, step)
        if step == "triggers" and value == items.NONE:
            new, advance = "", True
        else:
            new, advance = items.toggle(current, value, spec.options), False
        values[step] = new
        if advance:
            answers = {**answers_of(checkin, screen), step: new}
            values["step"] = items.next_step(step, answers, await plan_of(session, client, checkin))
        if not await _write(session, checkin, step, values, unchanged=current or ""):
            return Answered("stale", checkin, step)
        result = Answered("ok", checkin, step, value, items.split_keys(new), advanced=advance)
        if advance:
            await _after_step(session, content, client, checkin, step, now, result, program=program)
        return result
    answers = answers_of(checkin, screen)
    if spec.shape is Shape.scale:
        values[step] = int(value)
        answers[step] = int(value)
    elif spec.shape is Shape.choice and not step.startswith("asq_"):
        values[step] = value
        answers[step] = value
    elif spec.shape is Shape.text and note and step == "note":
        values["note"] = note
    if step == "asq_how":
        # The client's own words for the clinician, sealed at rest like the note; or skip.
        value = seal(note[:HOW_WHEN_MAX]) if note else items.SKIP
    if step.startswith("asq_"):
        answers[step] = value
    plan = await plan_of(session, client, checkin)
    earlier: list[rules.Day] | None = None
    if step == "mood":
        # Low mood two days running, or a sharp drop: the risk questions come today.
        earlier = [
            day_of(c) for c in await history(session, client.id or 0, before=checkin.local_date)
        ]
        th = await thresholds_for(session, client, program)
        probe = rules.Day(checkin.local_date, mood=int(value))
        if rules.runs_screen(rules.answer_flags(probe, earlier, th)) and not plan.asq:
            values["asq_due"] = True
            plan = Plan(medicine=plan.medicine, asq=True, substance=plan.substance)
    values["step"] = items.next_step(step, answers, plan)
    if values["step"] is None:
        values["completed_at"] = now
    if not await _write(session, checkin, step, values):
        return Answered("stale", checkin, step)
    if screen is not None:
        screen.answers = {**screen.answers, step: value}
        session.add(screen)
    if step == "craving":
        session.add(
            CravingMoment(
                client_id=client.id or 0, checkin_id=checkin.id, at=now, craving=int(value)
            )
        )
    # Done on a multi-select: what was ticked is the answer shown.
    selected = items.split_keys(getattr(checkin, step)) if spec.shape is Shape.multi else []
    result = Answered("ok", checkin, step, value, selected, advanced=True)
    await _after_step(
        session,
        content,
        client,
        checkin,
        step,
        now,
        result,
        screen=screen,
        program=program,
        earlier=earlier,
    )
    return result


@functools.cache
def _update(columns: tuple[str, ...], guarded: str | None) -> sa.Update:
    """UPDATE … WHERE id = ? AND step = ? [AND the guarded column is unchanged], built once
    per shape: building and keying a statement costs more than SQLite running it."""
    condition = sa.and_(
        checkin_t.c.id == sa.bindparam("w_id"), checkin_t.c.step == sa.bindparam("w_step")
    )
    if guarded is not None:
        unchanged = sa.func.coalesce(checkin_t.c[guarded], "") == sa.bindparam("w_unchanged")
        condition = sa.and_(condition, unchanged)
    return sa.update(checkin_t).where(condition).values({c: sa.bindparam(c) for c in columns})


async def _write(
    session: AsyncSession,
    checkin: CheckIn,
    step: str,
    values: dict[str, Any],
    *,
    unchanged: str | None = None,
) -> bool:
    """UPDATE … WHERE id = ? AND step = ?: True if this answer was the one written. With
    `unchanged`, only if the step's column still holds that (a multi-select's toggles)."""
    statement = _update(tuple(values), None if unchanged is None else step)
    params = {**values, "w_id": checkin.id, "w_step": step}
    if unchanged is not None:
        params["w_unchanged"] = unchanged
    result = await session.exec(statement, params=params)  # type: ignore[call-overload]
    if result.rowcount != 1:
        return False
    for name, value in values.items():  # what was written is what the row now holds
        set_committed_value(checkin, name, value)
    return True


async def _asq_row(session: AsyncSession, checkin: CheckIn, now: datetime) -> Screening:
    row = await screening(session, checkin.client_id, "asq", checkin.local_date)
    if row is None:
        row = Screening(
            client_id=checkin.client_id, kind="asq", local_date=checkin.local_date, started_at=now
        )
        session.add(row)
        await session.flush()
    return row


async def thresholds_for(
    session: AsyncSession, client: Client, program: Program | None = None
) -> rules.Thresholds:
    program = program or await session.get(Program, client.program_id)
    return rules.thresholds(
        program.checkin_thresholds if program else None, client.checkin_thresholds
    )


_LAST_TWO_CRAVINGS = (
    select(CravingMoment.craving)
    .where(
        CravingMoment.client_id == sa.bindparam("client"),
        col(CravingMoment.at) <= sa.bindparam("at"),
    )
    .order_by(col(CravingMoment.at).desc(), col(CravingMoment.id).desc())
    .limit(2)
)


async def _previous_craving(session: AsyncSession, client_id: int, before: datetime) -> int | None:
    """The craving answered before the latest one (the two most recent moments)."""
    params = {"client": client_id, "at": before}
    moments = (await session.exec(_LAST_TWO_CRAVINGS, params=params)).all()  # type: ignore[call-overload]
    return moments[1] if len(moments) == 2 else None


async def _after_step(
    session: AsyncSession,
    content: Content,
    client: Client,
    checkin: CheckIn,
    step: str,
    now: datetime,
    result: Answered,
    *,
    screen: Screening | None = None,
    program: Program | None = None,
    earlier: list[rules.Day] | None = None,
) -> None:
    """The rules, after each answer: what fires now raises its alert (once per key)."""
    assert client.id is not None
    if step not in RULE_STEPS and screen is None:
        return  # sleep, triggers, support, the note: trends only, no rule
    await session.flush()
    th = await thresholds_for(session, client, program)
    today = day_of(checkin)
    flags: list[rules.Flag] = []
    if step in ("craving", "confidence") and today.craving is not None:
        # The craving rules need no earlier days, only the craving answered before this
        # one. Craving with confidence waits for the confidence answer; the rules share
        # a key, so the strongest fires once.
        previous = await _previous_craving(session, client.id, now)
        only = rules.Day(today.local_date, craving=today.craving, confidence=today.confidence)
        flags = rules.answer_flags(only, [], th, previous_craving=previous)
    elif step in RULE_STEPS:
        if earlier is None:
            earlier = [
                day_of(c) for c in await history(session, client.id, before=checkin.local_date)
            ]
        flags = rules.answer_flags(rules.Day(today.local_date, **_only(today, step)), earlier, th)
    if screen is not None:
        flags += await _asq_flags(session, content, client, checkin, screen, step, now, result)
    for flag in flags:
        alert = await fire(session, content, client, flag, now, source="checkin")
        if alert is not None:
            result.alerts.append(alert)


async def _asq_flags(
    session: AsyncSession,
    content: Content,
    client: Client,
    checkin: CheckIn,
    screen: Screening,
    step: str,
    now: datetime,
    result: Answered,
) -> list[rules.Flag]:
    """The risk questions' alerts. The first yes raises the same-day alert at once, so a
    client who stops there (closes the chat, taps elsewhere) is still seen by the team.
    When the screen ends, that alert gets every answer (the wording asked, the "how and
    when"); a yes to "right now" raises the urgent one, with every answer too."""
    assert client.id is not None
    key = f"asq:{checkin.local_date.isoformat()}"
    since_last = await asked_before(session, client.id, screen.local_date)
    answers = screen.answers
    flags: list[rules.Flag] = []
    if step in items.ASQ_STEPS and rules.asq_positive(answers):
        before = {k: v for k, v in answers.items() if k != step}
        if not rules.asq_positive(before):
            result.asq_positive = True
            flags.append(
                rules.Flag(
                    key,
                    "same_day",
                    "suicide_screen",
                    "asq_positive",
                    "weekly safety questions: "
                    + rules.asq_evidence(answers, since_last=since_last, finished=False),
                )
            )
    if checkin.step in (*items.ASQ_STEPS, *items.ASQ_FOLLOW_UPS):
        return flags
    # The risk questions just ended.
    outcome = rules.asq_result(answers)
    screen.result = {"tier": outcome, "wording": "since_last" if since_last else "first"}
    screen.completed_at = now
    screen.step = None
    session.add(screen)
    result.asq = outcome
    if outcome == "negative":
        return flags
    evidence = "weekly safety questions: " + rules.asq_evidence(
        answers, since_last=since_last, how_when=how_when(answers)
    )
    # Urgent: the new urgent alert carries the answers; no note on the same-day one too.
    await _complete_asq_alert(session, client, key, evidence, now, note=outcome != "urgent")
    if outcome == "urgent":
        flags.append(
            rules.Flag(
                f"asq_now:{checkin.local_date.isoformat()}",
                "urgent",
                "suicide_screen",
                "asq_acute",
                evidence,
                high_priority=True,
            )
        )
    return flags


async def _complete_asq_alert(
    session: AsyncSession,
    client: Client,
    key: str,
    evidence: str,
    now: datetime,
    *,
    note: bool,
) -> None:
    """The same-day alert of the first yes, given every answer once the screen ends. The
    holder gets one short note with them (the alert is not sent again); an alert the
    first yes was added to (another of today's) gets them as an addition only."""
    flag = (
        await session.exec(
            select(CheckinFlag).where(CheckinFlag.client_id == client.id, CheckinFlag.key == key)
        )
    ).first()
    alert = await session.get(Alert, flag.alert_id) if flag and flag.alert_id else None
    if alert is None:
        return
    if alert.category == "suicide_screen" and alert.rule == "asq_positive":
        alert.evidence = evidence[:EVIDENCE_MAX]
        session.add(alert)
    if note and alert.resolved_at is None:
        await add_to_alert(
            session,
            alert=alert,
            finding=Finding(AlertTier.same_day, "suicide_screen", "asq_positive", evidence),
            now=now,
        )


def _only(today: rules.Day, step: str) -> dict[str, Any]:
    """Today's answers that belong to `step`, so a rule fires on the answer that proves
    it, not again on every later answer (the key would stop a second alert anyway)."""
    related = {
        "mood": ("mood",),
        "use": ("use",),
        "substances": ("use", "substances"),
        "safe_now": ("safe_now",),
        "medicine": ("medicine",),
    }.get(step, ())
    return {name: getattr(today, name) for name in related}


async def fire(
    session: AsyncSession,
    content: Content,
    client: Client,
    flag: rules.Flag,
    now: datetime,
    *,
    source: str,
) -> Alert | None:
    """Raise the flag's alert unless its key fired before (INSERT … ON CONFLICT DO NOTHING
    on the unique key: exactly once, whichever worker gets here first)."""
    assert client.id is not None
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(flag_t)
    inserted = await session.exec(  # type: ignore[call-overload]
        insert.values(client_id=client.id, key=flag.key, raised_at=now)
        .on_conflict_do_nothing(index_elements=["client_id", "key"])
        .returning(flag_t.c.id)
    )
    flag_id = inserted.scalar()
    if flag_id is None:
        if flag.high_priority:
            # Fired already (e.g. at "yes" to use); what was used since makes it a priority.
            earlier = (
                await session.exec(
                    select(CheckinFlag).where(
                        CheckinFlag.client_id == client.id, CheckinFlag.key == flag.key
                    )
                )
            ).first()
            alert = (
                await session.get(Alert, earlier.alert_id) if earlier and earlier.alert_id else None
            )
            if alert is not None and not alert.high_priority:
                alert.high_priority = True
                alert.evidence = flag.evidence
                session.add(alert)
        return None
    alert = await raise_alert(
        session,
        content=content,
        client=client,
        finding=Finding(
            tier=AlertTier(flag.tier),
            category=flag.category,
            rule=flag.rule,
            evidence=flag.evidence,
        ),
        now=now,
        source=source,
    )
    if flag.high_priority:
        alert.high_priority = True
        session.add(alert)
    await session.exec(sa.update(flag_t).where(flag_t.c.id == flag_id).values(alert_id=alert.id))  # type: ignore[call-overload]
    return alert


# --- missed check-ins ----------------------------------------------------------------------


async def review_missed(session: AsyncSession, content: Content, now: datetime) -> list[Alert]:
    """For each check-in prompt whose day ended in the last two days: was it answered?
    Fires the missed-check-in rules once per day (their keys)."""
    delivery = Delivery.__table__  # type: ignore[attr-defined]
    ended = (
        await session.exec(  # type: ignore[call-overload]
            sa.select(delivery.c.client_id)
            .where(
                delivery.c.kind == CHECKIN.name,
                delivery.c.status == DeliveryStatus.sent.value,
                delivery.c.expires_at <= now,
                delivery.c.expires_at > now - timedelta(days=2),
            )
            .distinct()
        )
    ).scalars()
    raised: list[Alert] = []
    for client_id in list(ended):
        client = await session.get(Client, client_id)
        if client is None or client.status.value != "active":
            continue
        prompts = (
            await session.exec(
                select(Delivery)
                .where(
                    Delivery.client_id == client_id,
                    Delivery.kind == CHECKIN.name,
                    Delivery.status == DeliveryStatus.sent,
                    col(Delivery.expires_at) <= now,
                )
                .order_by(col(Delivery.due_at).desc())
                .limit(14)
            )
        ).all()
        done = {
            c.local_date
            for c in await history(session, client_id)
            if c.craving is not None  # started and answered something counts as checked in
        }
        prompted = [
            rules.Prompted(
                local_date=date.fromisoformat(p.dedupe_key.rsplit(":", 1)[1]),
                sent_at=p.sent_at or p.due_at,
                answered=date.fromisoformat(p.dedupe_key.rsplit(":", 1)[1]) in done,
            )
            for p in prompts
        ]
        alert_times = (
            await session.exec(
                select(Alert.raised_at).where(
                    Alert.client_id == client_id,
                    col(Alert.raised_at) >= now - timedelta(days=5),
                    col(Alert.category) != "missed_checkins",
                )
            )
        ).all()
        th = await thresholds_for(session, client)
        for flag in rules.missed_flags(prompted, list(alert_times), th):
            alert = await fire(session, content, client, flag, now, source="checkin")
            if alert is not None:
                raised.append(alert)
    return raised
