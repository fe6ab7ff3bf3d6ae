"""The digest: at each of the program's digest times, every clinician gets the list to
act on — a call list (who to contact today and why, most urgent first), alerts since
the last digest by tier and category, and clients whose status changed. The care-team
group gets counts only.

Rows are queued by the delivery engine's program cron; the text is built when the row is
sent, from the database as it is then, so a digest never shows an alert as open that was
resolved a minute before. No Telegram here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts import age, alert_state, clock_time, open_alerts
from bot.content import Content, render
from bot.models import (
    Alert,
    AlertTier,
    AuditEvent,
    Client,
    ClientStatus,
    Clinician,
    ClinicianRole,
    Program,
)
from bot.scheduling.kinds import Kind, Rule, register_kind
from bot.scheduling.local_times import Slot, parse_hhmm
from bot.scheduling.program_cron import ProgramSchedule, register_program_schedule
from bot.scheduling.rendering import DueDelivery, Outgoing, RenderContext, Skip, register_renderer

DIGEST = register_kind(
    Kind("digest", Rule.at_most_once, grace=timedelta(hours=6), needs_active_client=False)
)
QUIET_DAYS = 3
# What counts as a change worth telling in the digest (audit actions).
CHANGES = (
    "client_unreachable",
    "client_paused",
    "client_left",
    "client_discharge",
    "client_reachable",
)


@dataclass(frozen=True)
class DigestScope:
    """What one clinician's digest covers: their caseload (admins: the whole program)."""

    clinician: Clinician
    program: Program
    caseload: Sequence[Client]
    since: datetime
    now: datetime


# A feature's part of the digest (check-ins, lessons, sessions): text to append after
# the alerts, or None when it has nothing to say. Registered at import, called in order.
DigestSection = Callable[[AsyncSession, Content, DigestScope], Awaitable[str | None]]
_SECTIONS: list[DigestSection] = []


def register_digest_section(section: DigestSection) -> DigestSection:
    if section not in _SECTIONS:
        _SECTIONS.append(section)
    return section


# Kinds sent to each clinician right after their digest (a chart); each renderer gets the
# digest's payload (program_id, since, clinician_id) and may Skip.
_COMPANIONS: list[str] = []
COMPANION_DELAY = timedelta(seconds=1)


def register_digest_companion(kind: str) -> None:
    if kind not in _COMPANIONS:
        _COMPANIONS.append(kind)


async def digest_text(
    session: AsyncSession,
    content: Content,
    *,
    clinician: Clinician,
    program: Program,
    since: datetime,
    now: datetime,
) -> str:
    staff = content.language(None).alerts.staff
    parts = [render(staff.digest_header, time=_when(program, now))]

    # The call list: one line per client, most urgent first. A client with several open
    # alerts (a burst of messages, a check-in) is one call: the line shows the most urgent
    # alert and how many more are open.
    calls: list[str] = []
    by_client: dict[str, list[Alert]] = {}
    for alert, code in await open_alerts(session, clinician=clinician, now=now):
        by_client.setdefault(code, []).append(alert)  # dicts keep the most urgent first
    flagged = set(by_client)
    for code, alerts in by_client.items():
        alert = alerts[0]
        reason = render(
            staff.digest_reason_alert,
            tier=staff.tiers[alert.tier.value],
            category=staff.categories.get(alert.category, alert.category),
            state=alert_state(content, alert, program, now),
            age=age(now, alert.raised_at),
        )
        if len(alerts) > 1:
            more = dict.fromkeys(staff.categories.get(a.category, a.category) for a in alerts[1:])
            reason += render(
                staff.digest_reason_more, count=len(alerts) - 1, categories=", ".join(more)
            )
        flag = "‼️" if alert.high_priority else ("🚨" if alert.tier is AlertTier.urgent else "•")
        calls.append(render(staff.digest_call_line, flag=flag, code=code, reason=reason))
    caseload = await _caseload(session, clinician)
    for client in caseload:
        if client.status is not ClientStatus.active or client.code in flagged:
            continue
        heard = client.last_contact_at or client.enrolled_at
        if heard is not None and now - heard >= timedelta(days=QUIET_DAYS):
            days = (now - heard).days
            calls.append(
                render(
                    staff.digest_call_line,
                    flag="•",
                    code=client.code,
                    reason=render(staff.digest_reason_quiet, days=days),
                )
            )
    parts.append(staff.digest_call_header + "\n" + ("\n".join(calls) or staff.digest_call_none))

    # Alerts since the last digest, by tier and category.
    ids = [c.id for c in caseload]
    raised = (
        (
            await session.exec(
                select(Alert).where(col(Alert.client_id).in_(ids), col(Alert.raised_at) > since)
            )
        ).all()
        if ids
        else []
    )
    counts = Counter((a.tier.value, a.category) for a in raised)
    lines = [
        render(
            staff.digest_since_line,
            tier=staff.tiers[tier],
            category=staff.categories.get(category, category),
            count=count,
        )
        for (tier, category), count in sorted(counts.items())
    ]
    parts.append(staff.digest_since_header + "\n" + ("\n".join(lines) or staff.digest_since_none))

    # Status changes since the last digest.
    subjects = {f"client:{c.id}": c.code for c in caseload}
    events = (
        (
            await session.exec(
                select(AuditEvent)
                .where(
                    col(AuditEvent.action).in_(CHANGES),
                    col(AuditEvent.at) > since,
                    col(AuditEvent.subject).in_(list(subjects)),
                )
                .order_by(col(AuditEvent.at))
            )
        ).all()
        if subjects
        else []
    )
    if events:
        parts.append(
            staff.digest_changes_header
            + "\n"
            + "\n".join(
                render(
                    staff.digest_change_line,
                    code=subjects[e.subject or ""],
                    change=staff.changes[e.action],
                )
                for e in events
            )
        )
    scope = DigestScope(clinician, program, caseload, since, now)
    for section in _SECTIONS:
        text = await section(session, content, scope)
        if text:
            parts.append(text)
    return "\n\n".join(parts)


async def group_text(
    session: AsyncSession, content: Content, *, program: Program, since: datetime, now: datetime
) -> str:
    staff = content.language(None).alerts.staff
    raised = (
        await session.exec(
            select(Alert).where(Alert.program_id == program.id, col(Alert.raised_at) > since)
        )
    ).all()
    still_open = (
        await session.exec(
            select(Alert.id).where(Alert.program_id == program.id, col(Alert.resolved_at).is_(None))
        )
    ).all()
    return render(
        staff.digest_group,
        time=_when(program, now),
        urgent=sum(a.tier is AlertTier.urgent for a in raised),
        same_day=sum(a.tier is AlertTier.same_day for a in raised),
        open=len(still_open),
    )


def _when(program: Program, now: datetime) -> str:
    """The digest's time in the program's zone, named: "Fri 04 Dec 9:14 pm CST"."""
    local = now.astimezone(ZoneInfo(program.timezone))
    return f"{local:%a %d %b} {clock_time(local)}"


async def _caseload(session: AsyncSession, clinician: Clinician) -> list[Client]:
    query = select(Client).where(
        Client.program_id == clinician.program_id, Client.status != ClientStatus.invited
    )
    if clinician.role is not ClinicianRole.admin:
        query = query.where(Client.primary_clinician_id == clinician.id)
    return list((await session.exec(query.order_by(col(Client.code)))).all())


def previous_digest(program: Program, slot: Slot) -> datetime:
    """When the digest before this one was due: the latest of the program's digest times,
    today or yesterday (local), before this slot. Its alerts and changes are "new"."""
    zone = ZoneInfo(program.timezone)
    local = slot.at.astimezone(zone)
    earlier = [
        datetime.combine(local.date() - timedelta(days=back), parse_hhmm(hhmm), zone)
        for hhmm in program.digest_times
        for back in (0, 1)
    ]
    return max((t for t in earlier if t < local), default=local - timedelta(days=1))


def _key(program: Program, slot: Slot, hhmm: str, who: str) -> str:
    return f"digest:{program.id}:{who}:{slot.local_date.isoformat()}:{hhmm}"


async def build_rows(
    session: AsyncSession, program: Program, slot: Slot, hhmm: str
) -> list[dict[str, Any]]:
    since = previous_digest(program, slot)
    payload = {"program_id": program.id, "since": since.isoformat()}
    rows: list[dict[str, Any]] = []
    if program.care_team_chat_id is not None:
        rows.append(
            {
                "kind": DIGEST.name,
                "recipient_chat_id": program.care_team_chat_id,
                "due_at": slot.at,
                "payload": payload,
                "dedupe_key": _key(program, slot, hhmm, "group"),
            }
        )
    clinicians = (
        await session.exec(
            select(Clinician)
            .where(
                Clinician.program_id == program.id,
                col(Clinician.active).is_(True),
                col(Clinician.telegram_user_id).is_not(None),
            )
            .order_by(col(Clinician.id))
        )
    ).all()
    for clinician in clinicians:
        rows.append(
            {
                "kind": DIGEST.name,
                "recipient_chat_id": clinician.telegram_user_id,
                "due_at": slot.at,
                "payload": {**payload, "clinician_id": clinician.id},
                "dedupe_key": _key(program, slot, hhmm, f"clinician{clinician.id}"),
            }
        )
        for kind in _COMPANIONS:
            rows.append(
                {
                    "kind": kind,
                    "recipient_chat_id": clinician.telegram_user_id,
                    "due_at": slot.at + COMPANION_DELAY,
                    "payload": {**payload, "clinician_id": clinician.id},
                    "dedupe_key": _key(program, slot, hhmm, f"clinician{clinician.id}:{kind}"),
                }
            )
    return rows


async def render_digest(ctx: RenderContext, item: DueDelivery) -> Outgoing | Skip:
    program = await ctx.session.get(Program, item.payload.get("program_id"))
    if program is None:
        return Skip("program gone")
    since = datetime.fromisoformat(item.payload["since"])
    clinician_id = item.payload.get("clinician_id")
    if clinician_id is None:
        return Outgoing(
            await group_text(ctx.session, ctx.content, program=program, since=since, now=ctx.now)
        )
    clinician = await ctx.session.get(Clinician, clinician_id)
    if clinician is None or not clinician.active:
        return Skip("clinician no longer active")
    return Outgoing(
        await digest_text(
            ctx.session, ctx.content, clinician=clinician, program=program, since=since, now=ctx.now
        )
    )


register_renderer(DIGEST.name, render_digest)
register_program_schedule(
    ProgramSchedule(
        kind=DIGEST.name,
        times=lambda program: program.digest_times,
        build=build_rows,
        # The group's row marks a slot as queued; a program without a group chat is
        # rebuilt by the minute's catch-up, and the rows' unique keys keep it to once.
        key=lambda program, slot, hhmm: _key(program, slot, hhmm, "group"),
    )
)
