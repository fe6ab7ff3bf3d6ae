"""The outbox's statements: claim due rows, fence every write by the claim, recover.

Each claim is ONE statement. PostgreSQL: `UPDATE … WHERE id IN (SELECT … FOR UPDATE
SKIP LOCKED LIMIT n) RETURNING …`, so concurrent workers take disjoint rows without
waiting for each other. SQLite drops FOR UPDATE, but it has one writer at a time, so
the same single UPDATE … RETURNING is atomic there too (never SELECT-then-UPDATE).

Every later write names the claim it finishes (worker, status, attempt number): a
worker whose lease expired and whose rows were taken over changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import AuditEvent, Client, ClientStatus, Delivery, DeliveryStatus
from bot.scheduling import priority
from bot.scheduling.rendering import DueDelivery

delivery = Delivery.__table__  # type: ignore[attr-defined]
client_table = Client.__table__  # type: ignore[attr-defined]
audit = AuditEvent.__table__  # type: ignore[attr-defined]

_RETURNED = (
    delivery.c.id,
    delivery.c.kind,
    delivery.c.recipient_chat_id,
    delivery.c.client_id,
    delivery.c.due_at,
    delivery.c.expires_at,
    delivery.c.payload,
    delivery.c.attempts,
    delivery.c.dedupe_key,
    delivery.c.priority,
)


async def claim(
    connection: AsyncConnection,
    *,
    worker: str,
    now: datetime,
    kinds: Sequence[str],
    limit: int,
    share: float = 0.1,
    by_class: bool = True,
    up_to: priority.Priority | None = None,
) -> list[DueDelivery]:
    """Take up to `limit` due pending rows of the given kinds: by priority class, then
    due time (earlier first), then id. A `share` of the batch goes to the rows due
    earliest whatever their class, so a steady stream of alerts never starves the
    prompts (`by_class=False`: by due time alone, as before priority classes)."""
    if not kinds or limit <= 0:
        return []
    if not by_class:
        return await _claim(connection, worker, now, kinds, limit, by_class=False)
    if up_to is not None:  # only the classes this urgent (no share for the others)
        return await _claim(connection, worker, now, kinds, limit, by_class=True, up_to=up_to)
    ranked, fair = priority.split_claim(limit, share)
    # The share first: what it takes is then not counted twice by the ranked part.
    due = await _claim(connection, worker, now, kinds, fair, by_class=False) if fair else []
    due += await _claim(connection, worker, now, kinds, ranked, by_class=True)
    due.sort(key=lambda d: (d.priority, d.due_at, d.id))
    return due


async def _claim(
    connection: AsyncConnection,
    worker: str,
    now: datetime,
    kinds: Sequence[str],
    limit: int,
    *,
    by_class: bool,
    up_to: priority.Priority | None = None,
) -> list[DueDelivery]:
    order = (delivery.c.due_at, delivery.c.id)
    if by_class:
        order = (delivery.c.priority, *order)
    candidates = (
        sa.select(delivery.c.id)
        .where(
            delivery.c.status == DeliveryStatus.pending.value,
            delivery.c.available_at <= now,
            delivery.c.kind.in_(kinds),
            sa.true() if up_to is None else delivery.c.priority <= int(up_to),
        )
        .order_by(*order)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        sa.update(delivery)
        .where(delivery.c.id.in_(candidates.scalar_subquery()))
        .values(
            status=DeliveryStatus.claimed.value,
            claimed_by=worker,
            claimed_at=now,
            attempts=delivery.c.attempts + 1,
        )
        .returning(*_RETURNED)
    )
    rows = (await connection.execute(statement)).all()
    return [
        DueDelivery(
            id=r.id,
            kind=r.kind,
            recipient_chat_id=r.recipient_chat_id,
            client_id=r.client_id,
            due_at=r.due_at,
            expires_at=r.expires_at,
            payload=r.payload or {},
            attempts=r.attempts,
            dedupe_key=r.dedupe_key,
            priority=r.priority,
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Recovered:
    released: int  # claimed, never started: available again
    resent: int  # at-least-once, was sending: will be sent again
    uncertain: int  # at-most-once, was sending: recorded as sent, uncertain


async def recover_expired(
    connection: AsyncConnection,
    *,
    now: datetime,
    stale_before: datetime,
    at_least_once: Sequence[str],
    at_most_once: Sequence[str],
    own_worker: str | None = None,
) -> Recovered:
    """Finish what dead workers left: the lease of a claim older than `stale_before` is
    over. `own_worker`, at a worker's start: its claims from before a restart (same
    WORKER_ID) are over too, without waiting for the lease."""
    stale = delivery.c.claimed_at < stale_before
    if own_worker is not None:
        stale = sa.or_(stale, delivery.c.claimed_by == own_worker)
    released = await connection.execute(
        sa.update(delivery)
        .where(delivery.c.status == DeliveryStatus.claimed.value, stale)
        .values(status=DeliveryStatus.pending.value, available_at=now, claimed_by=None)
    )
    resent = uncertain = 0
    if at_least_once:
        result = await connection.execute(
            sa.update(delivery)
            .where(
                delivery.c.status == DeliveryStatus.sending.value,
                stale,
                delivery.c.kind.in_(at_least_once),
            )
            .values(
                status=DeliveryStatus.pending.value,
                available_at=now,
                claimed_by=None,
                last_error="worker stopped while sending; sending again",
            )
        )
        resent = result.rowcount
    if at_most_once:
        result = await connection.execute(
            sa.update(delivery)
            .where(
                delivery.c.status == DeliveryStatus.sending.value,
                stale,
                delivery.c.kind.in_(at_most_once),
            )
            .values(
                status=DeliveryStatus.sent.value,
                sent_at=delivery.c.claimed_at,
                reason="uncertain: the worker stopped while sending; not sent again",
            )
        )
        uncertain = result.rowcount
    return Recovered(released=released.rowcount, resent=resent, uncertain=uncertain)


async def mark_sending(
    connection: AsyncConnection, item: DueDelivery, *, worker: str, now: datetime
) -> bool:
    """Claimed -> sending, just before the request; False: the claim was lost."""
    return item.id in await finish_many(connection, [sending(item, now)], worker=worker)


async def finish(
    connection: AsyncConnection,
    item: DueDelivery,
    *,
    worker: str,
    from_status: DeliveryStatus,
    values: dict[str, Any],
) -> bool:
    """Record an outcome for a row this worker still holds; False: the claim was lost."""
    outcome = Outcome(item, from_status, values)
    return item.id in await finish_many(connection, [outcome], worker=worker)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One row's write, to be made only if the row is still this worker's claim."""

    item: DueDelivery
    from_status: DeliveryStatus
    values: dict[str, Any]


def sending(item: DueDelivery, now: datetime) -> Outcome:
    """Claimed -> sending: written (durably) just before the row's request goes out."""
    return Outcome(
        item, DeliveryStatus.claimed, {"status": DeliveryStatus.sending.value, "claimed_at": now}
    )


async def finish_many(
    connection: AsyncConnection, outcomes: Sequence[Outcome], *, worker: str
) -> set[int]:
    """Write several rows' outcomes in ONE statement (atomic on its own, so it may run
    outside a transaction); returns the ids written. A row whose claim was lost (its
    lease ran out and another worker took it) is left as it is and not returned.

    The at-most-once path writes one statement per message (the previous row's result
    and the next row's `sending` mark together): on this machine a statement through
    SQLAlchemy costs 0.3-0.5 ms of CPU, as much as a third of a send."""
    if not outcomes:
        return set()
    shape = tuple(tuple(sorted(o.values)) for o in outcomes)
    parameters: dict[str, Any] = {"worker": worker}
    for n, outcome in enumerate(outcomes):
        parameters[f"id{n}"] = outcome.item.id
        parameters[f"status{n}"] = outcome.from_status.value
        parameters[f"attempts{n}"] = outcome.item.attempts
        parameters.update({f"v{n}_{column}": value for column, value in outcome.values.items()})
    result = await connection.execute(_fenced_many(shape), parameters)
    return {row[0] for row in result}


@lru_cache(maxsize=128)
def _fenced_many(shape: tuple[tuple[str, ...], ...]) -> Any:
    """UPDATE delivery SET c = CASE WHEN id = :id0 THEN :v0_c … ELSE c END …
    WHERE claimed_by = :worker AND ((id = :id0 AND status = :status0 AND attempts =
    :attempts0) OR …) RETURNING id. Built once per shape (how many rows, which columns):
    the common shapes are few, so SQLAlchemy's compiled cache is reused."""
    columns = sorted({column for row in shape for column in row})
    values = {}
    for column in columns:
        whens = [
            (
                delivery.c.id == sa.bindparam(f"id{n}"),
                sa.bindparam(f"v{n}_{column}", type_=delivery.c[column].type),
            )
            for n, row in enumerate(shape)
            if column in row
        ]
        values[column] = sa.case(*whens, else_=delivery.c[column])
    held = sa.or_(
        *(
            sa.and_(
                delivery.c.id == sa.bindparam(f"id{n}"),
                delivery.c.status == sa.bindparam(f"status{n}"),
                delivery.c.attempts == sa.bindparam(f"attempts{n}"),
            )
            for n in range(len(shape))
        )
    )
    return (
        sa.update(delivery)
        .where(delivery.c.claimed_by == sa.bindparam("worker"), held)
        .values(values)
        .returning(delivery.c.id)
    )


async def mark_client_unreachable(
    connection: AsyncConnection, item: DueDelivery, *, now: datetime, error: str
) -> bool:
    """A 403 from the client's own chat: stop their deliveries, leave a note for the
    care team (the digest reads these audit events)."""
    if item.client_id is None:
        return False
    result = await connection.execute(
        sa.update(client_table)
        .where(
            client_table.c.id == item.client_id,
            client_table.c.chat_id == item.recipient_chat_id,
            client_table.c.status == ClientStatus.active.value,
        )
        .values(status=ClientStatus.unreachable.value)
    )
    if result.rowcount == 1:
        # Only when the chat that refused is the client's own: a clinician who blocked the
        # bot must not silently cancel the alerts about this client queued to them (they
        # fail, and their failure hands the alert on to someone else).
        await connection.execute(
            sa.update(delivery)
            .where(
                delivery.c.client_id == item.client_id,
                delivery.c.recipient_chat_id == item.recipient_chat_id,
                delivery.c.status == DeliveryStatus.pending.value,
            )
            .values(status=DeliveryStatus.skipped.value, reason="client unreachable")
        )
        await connection.execute(
            sa.insert(audit).values(
                at=now,
                actor="system",
                action="client_unreachable",
                subject=f"client:{item.client_id}",
                detail={"delivery_id": item.id, "kind": item.kind, "error": error[:200]},
            )
        )
    return result.rowcount == 1


async def note_recipient_refused(
    connection: AsyncConnection, item: DueDelivery, *, now: datetime, error: str
) -> None:
    """A 403 from a chat that is not the client's own (a clinician, a care-team group)."""
    await connection.execute(
        sa.insert(audit).values(
            at=now,
            actor="system",
            action="delivery_refused",
            subject=f"chat:{item.recipient_chat_id}",
            detail={"delivery_id": item.id, "kind": item.kind, "error": error[:200]},
        )
    )


async def next_available(connection: AsyncConnection, kinds: Sequence[str]) -> datetime | None:
    """When the next pending row of these kinds may be claimed."""
    if not kinds:
        return None
    return (
        await connection.execute(
            sa.select(sa.func.min(delivery.c.available_at)).where(
                delivery.c.status == DeliveryStatus.pending.value, delivery.c.kind.in_(kinds)
            )
        )
    ).scalar()


FINISHED = (DeliveryStatus.sent.value, DeliveryStatus.failed.value, DeliveryStatus.skipped.value)


async def prune_finished(connection: AsyncConnection, *, before: datetime) -> int:
    """Delete rows finished before `before` (by when they were sent, else last claimed,
    else due). Only finished rows: a pending one is still to be sent, whatever its age."""
    finished_at = sa.func.coalesce(delivery.c.sent_at, delivery.c.claimed_at, delivery.c.due_at)
    result = await connection.execute(
        sa.delete(delivery).where(delivery.c.status.in_(FINISHED), finished_at < before)
    )
    return int(result.rowcount or 0)
