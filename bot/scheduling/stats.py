"""What `python -m bot deliveries` shows: counts, the oldest due, recent failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import Delivery, DeliveryStatus
from bot.scheduling.heartbeat import Beat, beats
from bot.scheduling.priority import Priority, of_rank

delivery = Delivery.__table__  # type: ignore[attr-defined]

# How the dispatcher's `reason` starts on a row recorded as sent though it may not have
# arrived (bot/scheduling/dispatcher.py, outbox.py); the column shown for them.
UNCERTAIN_PREFIX = "uncertain:"
UNCERTAIN = "uncertain"
# Telegram's fee for a message sent with allow_paid_broadcast.
STARS_PER_PAID_MESSAGE = 0.1


@dataclass(frozen=True)
class Failure:
    id: int
    kind: str
    due_at: datetime
    attempts: int
    error: str


@dataclass
class Overview:
    now: datetime
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, status) -> n
    oldest_due: datetime | None = None  # the oldest pending row already due
    next_due: datetime | None = None  # the next pending row not due yet
    failures: list[Failure] = field(default_factory=list)
    workers: list[Beat] = field(default_factory=list)
    # Priority classes: due and unsent rows by class, and the rate of the last minute.
    backlog: dict[Priority, int] = field(default_factory=dict)
    sent_last_minute: int = 0
    cap: float = 30.0  # TELEGRAM_RATE_LIMIT, the rate when nothing was sent lately
    bulk_next_day: int = 0  # the larger of the last day's bulk and what is queued
    paid_broadcast: bool = False

    def rate(self) -> float:
        recent = self.sent_last_minute / 60
        return recent if recent > 0 else self.cap

    def clears_in(self, cls: Priority) -> float | None:
        """Seconds until this class's backlog is sent: the classes above it go first."""
        ahead = sum(n for c, n in self.backlog.items() if c <= cls)
        rate = self.rate()
        return ahead / rate if rate > 0 else None


async def overview(
    engine: AsyncEngine,
    now: datetime,
    failures: int = 10,
    *,
    cap: float = 30.0,
    paid_broadcast: bool = False,
) -> Overview:
    result = Overview(now=now, cap=cap, paid_broadcast=paid_broadcast)
    pending = delivery.c.status == DeliveryStatus.pending.value
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(delivery.c.kind, delivery.c.status, sa.func.count())
            .group_by(delivery.c.kind, delivery.c.status)
            .order_by(delivery.c.kind, delivery.c.status)
        )
        result.counts = {(r[0], str(r[1])): r[2] for r in rows}
        # "Sent" that may not have arrived (a timeout, a worker stopped while sending) is
        # its own column: shown as plain "sent" it would hide a message nobody confirmed.
        uncertain = await connection.execute(
            sa.select(delivery.c.kind, sa.func.count())
            .where(
                delivery.c.status == DeliveryStatus.sent.value,
                delivery.c.reason.like(f"{UNCERTAIN_PREFIX}%"),
            )
            .group_by(delivery.c.kind)
        )
        for kind, count in uncertain:
            result.counts[(kind, DeliveryStatus.sent.value)] -= count
            result.counts[(kind, UNCERTAIN)] = count
        result.oldest_due = (
            await connection.execute(
                sa.select(sa.func.min(delivery.c.due_at)).where(
                    pending, delivery.c.available_at <= now
                )
            )
        ).scalar()
        result.next_due = (
            await connection.execute(
                sa.select(sa.func.min(delivery.c.available_at)).where(
                    pending, delivery.c.available_at > now
                )
            )
        ).scalar()
        failed = await connection.execute(
            sa.select(
                delivery.c.id,
                delivery.c.kind,
                delivery.c.due_at,
                delivery.c.attempts,
                delivery.c.last_error,
            )
            .where(delivery.c.status == DeliveryStatus.failed.value)
            .order_by(delivery.c.claimed_at.desc(), delivery.c.id.desc())
            .limit(failures)
        )
        result.failures = [
            Failure(r.id, r.kind, r.due_at, r.attempts, r.last_error or "") for r in failed
        ]
        backlog = await connection.execute(
            sa.select(delivery.c.priority, sa.func.count())
            .where(pending, delivery.c.available_at <= now)
            .group_by(delivery.c.priority)
        )
        result.backlog = {of_rank(rank): count for rank, count in backlog}
        result.sent_last_minute = (
            await connection.execute(
                sa.select(sa.func.count()).where(
                    delivery.c.status == DeliveryStatus.sent.value,
                    delivery.c.sent_at > now - timedelta(minutes=1),
                )
            )
        ).scalar() or 0
        bulk = delivery.c.priority == int(Priority.bulk)
        last_day = (
            await connection.execute(
                sa.select(sa.func.count()).where(
                    bulk,
                    delivery.c.status == DeliveryStatus.sent.value,
                    delivery.c.sent_at > now - timedelta(days=1),
                )
            )
        ).scalar() or 0
        queued = (
            await connection.execute(
                sa.select(sa.func.count()).where(
                    bulk, pending, delivery.c.due_at < now + timedelta(days=1)
                )
            )
        ).scalar() or 0
        result.bulk_next_day = max(last_day, queued)
    result.workers = await beats(engine)
    return result


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "-"
    seconds = int((now - then).total_seconds())
    sign = "" if seconds >= 0 else "in "
    seconds = abs(seconds)
    text = (
        f"{seconds}s"
        if seconds < 120
        else f"{seconds // 60}m"
        if seconds < 7200
        else f"{seconds // 3600}h"
    )
    return f"{sign}{text}" + (" ago" if not sign else "")


def format_overview(view: Overview) -> str:
    lines: list[str] = []
    statuses = [s.value for s in DeliveryStatus]
    kinds = sorted({kind for kind, status in view.counts if status != UNCERTAIN})
    width = max([len("kind"), *map(len, kinds)])
    lines.append("kind".ljust(width) + "".join(s.rjust(10) for s in statuses))
    for kind in kinds:
        lines.append(
            kind.ljust(width)
            + "".join(str(view.counts.get((kind, s), 0)).rjust(10) for s in statuses)
        )
    if not kinds:
        lines.append("(no deliveries yet)")
    uncertain = [
        f"{kind} {view.counts[(kind, UNCERTAIN)]}"
        for kind in kinds
        if (kind, UNCERTAIN) in view.counts
    ]
    lines.append(
        "sent, uncertain (may not have arrived; never sent again, not counted as sent): "
        + (", ".join(uncertain) if uncertain else "none")
    )
    lines.append("")
    lines.append(
        f"oldest due and unsent: {view.oldest_due:%Y-%m-%d %H:%M:%S} UTC "
        f"({_ago(view.now, view.oldest_due)})"
        if view.oldest_due
        else "oldest due and unsent: none"
    )
    lines.append(
        f"next due: {view.next_due:%Y-%m-%d %H:%M:%S} UTC ({_ago(view.now, view.next_due)})"
        if view.next_due
        else "next due: none"
    )
    lines.append("")
    lines.extend(_class_lines(view))
    lines.append("")
    lines.append("recent failures:" if view.failures else "recent failures: none")
    for f in view.failures:
        lines.append(
            f"  #{f.id} {f.kind} due {f.due_at:%Y-%m-%d %H:%M} UTC, "
            f"{f.attempts} attempt(s): {f.error}"
        )
    lines.append("")
    lines.append("workers (last dispatcher tick):" if view.workers else "workers: none has ticked")
    for w in view.workers:
        lines.append(f"  {w.worker_id} ({w.role}): {_ago(view.now, w.beat_at)}")
    return "\n".join(lines)


def _class_lines(view: Overview) -> list[str]:
    rate = view.rate()
    source = "sent in the last minute" if view.sent_last_minute else "the cap; none sent lately"
    lines = [f"backlog by priority class (at {rate:.1f} a second, {source}):"]
    for cls in Priority:
        clears = view.clears_in(cls)
        when = "-" if clears is None else f"{clears:.0f}s"
        lines.append(f"  {cls.name:<12}{view.backlog.get(cls, 0):>8} due, clears in {when}")
    stars = view.bulk_next_day * STARS_PER_PAID_MESSAGE
    mode = "on" if view.paid_broadcast else "off (TELEGRAM_PAID_BROADCAST)"
    lines.append(
        f"paid broadcasts {mode}: the next day's bulk, about {view.bulk_next_day} messages, "
        f"would cost about {stars:.0f} Stars ({STARS_PER_PAID_MESSAGE} a message)"
    )
    return lines
