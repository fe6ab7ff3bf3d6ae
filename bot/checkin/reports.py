"""What clinicians see of check-ins: the digest's section and chart, and `/client CODE`.

No Telegram here: the digest section and the `/client` section are registered with
bot/digest.py and bot/client_view.py; the caseload chart is a delivery kind sent right
after each clinician's digest. Pseudonyms only, never a name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.checkin import charts, store
from bot.checkin.items import SLEEP_HOURS
from bot.checkin.stats import Record, last_days, week
from bot.client_view import register_client_section
from bot.content import Content, render
from bot.db import session_scope
from bot.digest import DigestScope, _caseload, register_digest_companion, register_digest_section
from bot.models import CheckIn, Client, ClientStatus, Clinician, CravingMoment, Program, Screening
from bot.scheduling.kinds import Kind, Rule, register_kind
from bot.scheduling.rendering import DueDelivery, Outgoing, RenderContext, Skip, register_renderer

CHART = register_kind(
    Kind("digest_chart", Rule.at_most_once, grace=timedelta(hours=6), needs_active_client=False)
)


def _stat(
    content: Content, mean: float | None, edge: int | None, trend: str | None, *, low: bool
) -> str:
    staff = content.language(None).checkin.staff
    if mean is None or edge is None:
        return staff.no_answers
    arrow = staff.trends.get(trend or "", "")
    if low:
        return render(staff.stat_low, mean=f"{mean:g}", min=edge, trend=arrow)
    return render(staff.stat, mean=f"{mean:g}", max=edge, trend=arrow)


async def _records(
    session: AsyncSession, client_ids: Sequence[int], since: date
) -> dict[int, list[CheckIn]]:
    if not client_ids:
        return {}
    rows = (
        await session.exec(
            select(CheckIn).where(
                col(CheckIn.client_id).in_(client_ids), col(CheckIn.local_date) >= since
            )
        )
    ).all()
    out: dict[int, list[CheckIn]] = {}
    for row in rows:
        out.setdefault(row.client_id, []).append(row)
    return out


def _today(client: Client, program: Program, now: datetime) -> date:
    return now.astimezone(ZoneInfo(client.timezone or program.timezone)).date()


async def digest_section(session: AsyncSession, content: Content, scope: DigestScope) -> str | None:
    staff = content.language(None).checkin.staff
    clients = [c for c in scope.caseload if c.status is not ClientStatus.invited and c.id]
    ids = [c.id for c in clients if c.id is not None]
    earliest = min((_today(c, scope.program, scope.now) for c in clients), default=None)
    if earliest is None:
        return None
    by_client = await _records(session, ids, earliest - timedelta(days=14))
    lines = []
    for client in clients:
        assert client.id is not None
        rows = by_client.get(client.id, [])
        if not rows:
            continue
        end = _today(client, scope.program, scope.now)
        start_at = scope.now - timedelta(days=7)
        moments = (
            await session.exec(
                select(CravingMoment.craving).where(
                    CravingMoment.client_id == client.id, col(CravingMoment.at) >= start_at
                )
            )
        ).all()
        records = [store.record_of(r) for r in rows]
        w = week(records, list(moments), end)
        # A check-in left half-way counts in the means (its answers are real), so it is
        # counted here too, beside the finished ones: "0/7 done" over a mean of 5 would
        # read as a contradiction.
        start = end - timedelta(days=w.days - 1)
        unfinished = sum(not r.complete and start <= r.local_date <= end for r in records)
        extra = ""
        if w.top_triggers:
            labels = content.language(client.language).checkin.triggers.options
            extra += render(
                staff.digest_triggers,
                triggers=", ".join(f"{getattr(labels, k)} ({n})" for k, n in w.top_triggers),
            )
        if w.medicine_missed:
            extra += render(staff.digest_medicine, days=w.medicine_missed)
        bam = (
            await session.exec(
                select(Screening)
                .where(
                    Screening.client_id == client.id,
                    Screening.kind == "bam",
                    col(Screening.completed_at) >= scope.now - timedelta(days=8),
                )
                .order_by(col(Screening.local_date).desc())
            )
        ).first()
        if bam is not None and bam.result and "use" in bam.result:
            extra += render(
                staff.digest_bam, **{k: bam.result[k] for k in ("use", "risk", "protective")}
            )
        lines.append(
            render(
                staff.digest_line,
                code=client.code,
                completed=w.completed,
                unfinished=render(staff.digest_unfinished, count=unfinished) if unfinished else "",
                craving=_stat(content, w.craving_mean, w.craving_max, w.craving_trend, low=False),
                mood=_stat(content, w.mood_mean, w.mood_min, w.mood_trend, low=True),
                short=w.short_nights,
                use=w.use_days,
                support=w.support_days,
                extra=extra,
            )
        )
    return staff.digest_header + "\n" + ("\n".join(lines) or staff.digest_none)


async def render_chart(ctx: RenderContext, item: DueDelivery) -> Outgoing | Skip:
    """The caseload's craving over 14 days as small multiples, by pseudonym."""
    program = await ctx.session.get(Program, item.payload.get("program_id"))
    clinician = await ctx.session.get(Clinician, item.payload.get("clinician_id"))
    if program is None or clinician is None or not clinician.active:
        return Skip("program or clinician gone")
    caseload = [c for c in await _caseload(ctx.session, clinician) if c.id is not None]
    end = ctx.now.astimezone(ZoneInfo(program.timezone)).date()
    by_client = await _records(
        ctx.session, [c.id for c in caseload if c.id], end - timedelta(days=14)
    )
    series = [
        (
            c.code,
            [
                r.craving if r else None
                for r in last_days(
                    [store.record_of(x) for x in by_client[c.id]], _today(c, program, ctx.now)
                )
            ],
        )
        for c in caseload
        if c.id in by_client
    ]
    if not series:
        return Skip("no check-ins in the caseload")
    title = ctx.content.language(None).checkin.staff.chart_title
    png = await asyncio.to_thread(charts.caseload_chart, series, end, title)
    return Outgoing(title, photo=png)


def _sleep(value: str | None) -> str:
    hours = SLEEP_HOURS.get(value or "")
    return f"~{hours:g} h" if hours is not None else "-"


async def client_section(
    session: AsyncSession, content: Content, client: Client, program: Program, now: datetime
) -> str | None:
    """The last 14 days' check-ins, newest first, with the client's notes."""
    staff = content.language(None).checkin.staff
    assert client.id is not None
    end = _today(client, program, now)
    rows = [r for r in await store.history(session, client.id) if (end - r.local_date).days < 14]
    if not rows:
        return staff.client_header + "\n" + staff.client_none
    lines = [staff.client_header]
    for r in rows:
        lines.append(
            render(
                staff.client_line,
                date=f"{r.local_date:%a %d %b}",
                craving=r.craving if r.craving is not None else "-",
                mood=r.mood if r.mood is not None else "-",
                sleep=_sleep(r.sleep_hours),
                confidence=r.confidence if r.confidence is not None else "-",
                use=(r.use or "-") + (f" ({r.substances})" if r.substances else ""),
            )
        )
        if r.note:
            lines.append(render(staff.client_note, note=r.note))
    return "\n".join(lines)


async def client_chart(
    session: AsyncSession, content: Content, client: Client, program: Program, now: datetime
) -> bytes | None:
    assert client.id is not None
    end = _today(client, program, now)
    records: list[Record] = [store.record_of(c) for c in await store.history(session, client.id)]
    window = last_days(records, end)
    if not any(window):
        return None
    from bot.features.checkin import chart_labels  # the labels are the client's own texts

    return await asyncio.to_thread(
        charts.client_chart, window, end, chart_labels(content.language(client.language))
    )


async def review_missed(
    sessions: async_sessionmaker[AsyncSession], content: Content, now: datetime
) -> int:
    async with session_scope(sessions) as session:
        return len(await store.review_missed(session, content, now))


register_digest_section(digest_section)
register_digest_companion(CHART.name)
register_renderer(CHART.name, render_chart)
register_client_section(client_chart)
register_client_section(client_section)
