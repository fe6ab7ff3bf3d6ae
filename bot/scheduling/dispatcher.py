"""The dispatcher: claim due deliveries, render them, send them, record what happened.

Two paths, by the kind's rule (see kinds.py):

- At most once (prompts, nudges, reminders): sent one at a time (DELIVERY_IN_FLIGHT
  lanes, 4 by default). Each row is marked `sending` in the same commit that records
  the previous row's outcome, then the request goes out. If the worker dies, at most
  one row per lane is in doubt, and it is recorded as sent-uncertain, never sent again.
- At least once (alerts): sent concurrently; a row whose worker died is sent again.

HTTP requests never run inside a database transaction. Errors are classified
(errors.py): a 429 delays only that row (other chats go on), 5xx and network errors
back off with jitter, a 403 makes the client unreachable, a 400 fails at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.models import Alert, Client, ClientStatus, DeliveryStatus, Program
from bot.scheduling import outbox, priority
from bot.scheduling.clock import Clock
from bot.scheduling.errors import Action, Backoff, Decision, Failure, SendFailed, decide
from bot.scheduling.kinds import AfterAlert, Kind, Rule, get_kind
from bot.scheduling.rendering import (
    DueDelivery,
    Outgoing,
    RenderContext,
    Sender,
    Skip,
    failure_hook_for,
    renderable_kinds,
    renderer_for,
)

log = logging.getLogger("bot.delivery")

Write = Callable[[AsyncConnection], Awaitable[None]]


@dataclass(frozen=True)
class DispatchConfig:
    batch_size: int = 100
    # A claim not finished within the lease is taken over (its worker is presumed dead).
    lease: timedelta = timedelta(seconds=60)
    # At-least-once sends in flight at once.
    concurrency: int = 16
    # At-most-once sends in flight at once: also how many can be in doubt if this worker
    # is killed (1: never more than one). More helps only when Telegram is far away.
    in_flight: int = 1
    # Telegram: about one message a second per chat.
    per_chat_interval: float = 1.0
    backoff: Backoff = field(default_factory=Backoff)
    # Finished rows (sent, failed, skipped) older than this are erased: a payload may
    # hold what the message said (DELIVERY_RETENTION_DAYS).
    retention: timedelta = timedelta(days=30)
    # How often this worker looks for such rows.
    prune_every: timedelta = timedelta(hours=1)
    # Claim by priority class, then due time (False: by due time alone, for comparison).
    priority_classes: bool = True
    # The share of each claim that goes to the rows due earliest whatever their class.
    lower_class_share: float = 0.1


@dataclass
class Tally:
    claimed: int = 0
    sent: int = 0
    uncertain: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    lost_claims: int = 0

    def add(self, other: Tally) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def log_event(level: int, event: str, **values: Any) -> None:
    """One line per event, `event key=value …`, and the same values in `extra` for JSON
    log formatters. Never a message's text: logs are no place for health information."""
    if not log.isEnabledFor(level):
        return
    text = " ".join(f"{k}={_plain(v)}" for k, v in values.items())
    log.log(level, "%s %s", event, text, extra={"delivery": {"event": event, **values}})


@dataclass(frozen=True)
class _Finish:
    """A write recording one row's outcome, fenced by this worker's claim."""

    item: DueDelivery
    from_status: DeliveryStatus
    values: dict[str, Any]
    worker: str

    @property
    def outcome(self) -> outbox.Outcome:
        return outbox.Outcome(self.item, self.from_status, self.values)

    async def __call__(self, connection: AsyncConnection) -> None:
        recorded = await outbox.finish(
            connection,
            self.item,
            worker=self.worker,
            from_status=self.from_status,
            values=self.values,
        )
        if not recorded:
            _claim_lost(self.item, self.worker)


def _claim_lost(item: DueDelivery, worker: str) -> None:
    """The lease ran out and another worker took the row over: nothing was written."""
    log_event(logging.WARNING, "delivery.claim_lost", id=item.id, worker=worker)


def _plain(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (" " in text or '"' in text or not text) else text


@dataclass(frozen=True)
class _LastAlert:
    """A client's latest alert and their program's quiet period after one."""

    at: datetime
    quiet: timedelta


_NO = timedelta(0)


def _aware(at: datetime) -> datetime:
    # func.max() comes back without the column's type on SQLite: a naive UTC datetime
    # (or its text); the column's own values are aware.
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class Dispatcher:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        content: Content,
        sender: Sender,
        worker_id: str,
        clock: Clock,
        config: DispatchConfig | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.sessions = sessions
        self.content = content
        self.sender = sender
        self.worker_id = worker_id
        self.clock = clock
        self.config = config or DispatchConfig()
        self.rng = rng or random.Random()
        self._last_sent: dict[int, datetime] = {}  # chat -> when this worker last sent to it
        # Set when Telegram refuses the bot itself (revoked token) or at shutdown: the
        # rest of the batch is put back for another worker (or a later start).
        self.halted: str | None = None
        self._release_delay = 0.0
        self._started = False
        self._pruned_at: datetime | None = None
        # Set by a kick during a batch (an alert was just raised): the lanes stop to send
        # the crisis and care-team rows due now before the rest of the batch.
        self._preempt = False

    def preempt(self) -> None:
        """Something urgent was queued: claim and send it before the rest of the batch."""
        if self.config.priority_classes:
            self._preempt = True

    def halt(self, reason: str, *, release_delay: float = 0.0) -> None:
        if self.halted is None:
            self.halted = reason
            self._release_delay = release_delay

    # --- the loop ----------------------------------------------------------------

    async def drain(self, max_batches: int | None = None) -> Tally:
        """Recover expired claims, then send batches until nothing is due."""
        total = Tally()
        await self.recover()
        batches = 0
        while self.halted is None and (max_batches is None or batches < max_batches):
            tally = await self.dispatch_batch()
            total.add(tally)
            batches += 1
            if tally.claimed == 0:
                break
        return total

    async def recover(self) -> outbox.Recovered:
        now = self.clock.now()
        kinds = [get_kind(k) for k in renderable_kinds()]
        async with self.engine.begin() as connection:
            recovered = await outbox.recover_expired(
                connection,
                now=now,
                stale_before=now - self.config.lease,
                at_least_once=[k.name for k in kinds if k and k.rule is Rule.at_least_once],
                at_most_once=[k.name for k in kinds if k and k.rule is Rule.at_most_once],
                own_worker=None if self._started else self.worker_id,
            )
        self._started = True
        if self._pruned_at is None or now - self._pruned_at >= self.config.prune_every:
            await self.prune(now)
        if recovered.released or recovered.resent or recovered.uncertain:
            log_event(
                logging.WARNING,
                "delivery.recovered",
                worker=self.worker_id,
                released=recovered.released,
                resent=recovered.resent,
                uncertain=recovered.uncertain,
            )
        return recovered

    async def prune(self, now: datetime) -> int:
        """Erase finished rows older than the retention; returns how many."""
        self._pruned_at = now
        async with self.engine.begin() as connection:
            pruned = await outbox.prune_finished(connection, before=now - self.config.retention)
        if pruned:
            log_event(logging.INFO, "delivery.pruned", worker=self.worker_id, rows=pruned)
        return pruned

    async def dispatch_batch(
        self, up_to: priority.Priority | None = None, lanes: int | None = None
    ) -> Tally:
        """Claim and send one batch. `lanes`: at-most-once lanes (default in_flight); a
        preempting lane passes 1, so the urgent batch sends in its place, not beside it."""
        kinds = [k for k in renderable_kinds() if get_kind(k) is not None]
        async with self.engine.begin() as connection:
            items = await outbox.claim(
                connection,
                worker=self.worker_id,
                now=self.clock.now(),
                kinds=kinds,
                limit=self.config.batch_size,
                share=self.config.lower_class_share,
                by_class=self.config.priority_classes,
                up_to=up_to,
            )
        tally = Tally(claimed=len(items))
        if not items:
            return tally
        clients = await self._load_clients(items)
        clients_alerts = await self._load_alerts(items)
        at_most_once = [i for i in items if self._kind(i).rule is Rule.at_most_once]
        at_least_once = [i for i in items if self._kind(i).rule is Rule.at_least_once]
        lanes = max(1, self.config.in_flight if lanes is None else lanes)
        await asyncio.gather(
            *(
                self._send_one_at_a_time(at_most_once[lane::lanes], clients, clients_alerts, tally)
                for lane in range(lanes)
            ),
            self._send_concurrently(at_least_once, clients, clients_alerts, tally),
        )
        self._forget_quiet_chats()
        return tally

    # --- the two paths -------------------------------------------------------------

    async def _send_one_at_a_time(
        self,
        items: Sequence[DueDelivery],
        clients: dict[int, Client],
        alerts: dict[int, _LastAlert],
        tally: Tally,
    ) -> None:
        # Outcomes wait to be written in the same statement that marks the next row
        # `sending`: one write per message, and never two rows in doubt. One connection
        # serves the whole batch, in autocommit: every write is a single statement, and
        # no transaction is open while a request is out.
        unwritten: list[Write] = []
        async with self.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for item in items:
                if self.halted is not None:
                    unwritten.append(self._release_write(item, DeliveryStatus.claimed))
                    continue
                if self._preempt:
                    # An alert raised during this batch goes now, not after the batch.
                    # This lane's last outcome is written first (its row would otherwise
                    # stay `sending`), and the urgent batch takes this lane's one place:
                    # never more than `in_flight` at-most-once rows in doubt at once.
                    self._preempt = False
                    await self._write(connection, unwritten)
                    unwritten = []
                    tally.add(await self.dispatch_batch(up_to=priority.Priority.care_team, lanes=1))
                prepared = await self._prepare(item, clients, alerts, tally)
                if not isinstance(prepared, Outgoing):
                    unwritten.append(prepared)
                    continue
                marked = await self._write(connection, unwritten, mark=item)
                unwritten = []
                if not marked:
                    tally.lost_claims += 1
                    continue
                unwritten.append(await self._send(item, prepared, DeliveryStatus.sending, tally))
            await self._write(connection, unwritten)

    async def _write(
        self, connection: AsyncConnection, writes: Sequence[Write], mark: DueDelivery | None = None
    ) -> bool:
        """Write the outcomes waiting to be written and mark `mark` sending, in one
        statement; True if `mark` is now this worker's to send. A write of several
        statements (a 403 making a client unreachable) first gets its own transaction."""
        outcomes = []
        for write in writes:
            if isinstance(write, _Finish):
                outcomes.append(write.outcome)
            else:
                async with self.engine.begin() as transaction:
                    await write(transaction)
        if mark is not None:
            outcomes.append(outbox.sending(mark, self.clock.now()))
        written = await outbox.finish_many(connection, outcomes, worker=self.worker_id)
        for outcome in outcomes:
            if outcome.item is not mark and outcome.item.id not in written:
                _claim_lost(outcome.item, self.worker_id)
        return mark is not None and mark.id in written

    async def _send_concurrently(
        self,
        items: Sequence[DueDelivery],
        clients: dict[int, Client],
        alerts: dict[int, _LastAlert],
        tally: Tally,
    ) -> None:
        gate = asyncio.Semaphore(self.config.concurrency)

        async def one(item: DueDelivery) -> None:
            async with gate:
                if self.halted is not None:
                    write = self._release_write(item, DeliveryStatus.claimed)
                else:
                    prepared = await self._prepare(item, clients, alerts, tally)
                    if isinstance(prepared, Outgoing):
                        write = await self._send(item, prepared, DeliveryStatus.claimed, tally)
                    else:
                        write = prepared
                async with self.engine.begin() as connection:
                    await write(connection)

        await asyncio.gather(*(one(item) for item in items))

    # --- one delivery ----------------------------------------------------------------

    def _kind(self, item: DueDelivery) -> Kind:
        kind = get_kind(item.kind)
        assert kind is not None, item.kind  # only declared kinds are claimed
        return kind

    async def _load_clients(self, items: Sequence[DueDelivery]) -> dict[int, Client]:
        ids = {i.client_id for i in items if i.client_id is not None}
        if not ids:
            return {}
        async with self.sessions() as session:
            rows = (await session.exec(select(Client).where(col(Client.id).in_(ids)))).all()
        return {c.id: c for c in rows if c.id is not None}

    async def _load_alerts(self, items: Sequence[DueDelivery]) -> dict[int, _LastAlert]:
        """For the clients of messages an alert can hold: when their latest alert was
        raised and their program's quiet period. One query, and none when no such kind
        is in the batch (alerts, digests)."""
        ids = {
            i.client_id
            for i in items
            if i.client_id is not None and self._kind(i).after_alert is not AfterAlert.send
        }
        if not ids:
            return {}
        async with self.sessions() as session:
            rows = (
                await session.exec(
                    select(
                        Alert.client_id,
                        func.max(Alert.raised_at),
                        Program.quiet_after_alert_hours,
                    )
                    .join(Program, col(Program.id) == col(Alert.program_id))
                    .where(col(Alert.client_id).in_(ids))
                    .group_by(col(Alert.client_id), col(Program.quiet_after_alert_hours))
                )
            ).all()
        return {
            client_id: _LastAlert(_aware(at), timedelta(hours=hours))
            for client_id, at, hours in rows
            if at is not None
        }

    async def _prepare(
        self,
        item: DueDelivery,
        clients: dict[int, Client],
        alerts: dict[int, _LastAlert],
        tally: Tally,
    ) -> Outgoing | Write:
        """The message to send, or the write that records why not (late, client
        inactive, the renderer's own skip, a chat sent to less than a second ago)."""
        kind = self._kind(item)
        from_status = DeliveryStatus.claimed
        now = self.clock.now()
        late = kind.late_reason(item.due_at, item.expires_at, now)
        if late is not None:
            return self._skip_write(item, late, tally)
        if kind.needs_active_client and item.client_id is not None:
            client = clients.get(item.client_id)
            if client is None:
                return self._skip_write(item, "client deleted", tally)
            if client.status != ClientStatus.active:
                return self._skip_write(item, f"client {client.status.value}", tally)
        last = alerts.get(item.client_id) if item.client_id is not None else None
        held = kind.held_after_alert(last.at if last else None, last.quiet if last else _NO, now)
        if held is not None:
            action, until = held
            if action is AfterAlert.drop:
                return self._skip_write(item, "quiet after an alert", tally)
            tally.retried += 1
            wait_out = (until - now).total_seconds()
            return self._retry_write(
                item, from_status, Decision(Action.retry, delay=wait_out, counts=False), None
            )
        wait = self._reserve_chat(item.recipient_chat_id)
        if wait > 0:
            tally.retried += 1
            return self._retry_write(
                item, from_status, Decision(Action.retry, delay=wait, counts=False), None
            )
        renderer = renderer_for(item.kind)
        assert renderer is not None, item.kind  # only renderable kinds are claimed
        context = RenderContext(
            sessions=self.sessions, content=self.content, now=now, clients=clients
        )
        try:
            rendered = await renderer(context, item)
        except Exception as exc:
            log.exception("renderer for %s failed on delivery %s", item.kind, item.id)
            failure = SendFailed(Failure.transient, f"render error: {type(exc).__name__}")
            return self._failure_write(item, from_status, failure, tally)
        finally:
            await context.close()
        if isinstance(rendered, Skip):
            return self._skip_write(item, rendered.reason, tally)
        return rendered

    async def _send(
        self, item: DueDelivery, message: Outgoing, from_status: DeliveryStatus, tally: Tally
    ) -> Write:
        self._last_sent[item.recipient_chat_id] = self.clock.now()
        try:
            # The row's class travels with the request to the rate limiter; a 429 comes
            # back here (retries=0): this row waits, other chats go on.
            with priority.sending_as(priority.of_rank(item.priority), retries=0):
                message_id = await self.sender.send(item.recipient_chat_id, message)
        except SendFailed as failure:
            return self._failure_write(item, from_status, failure, tally)
        except Exception as exc:  # a bug or an unexpected transport error
            log.exception("sending delivery %s failed unexpectedly", item.id)
            failure = SendFailed(Failure.transient, f"{type(exc).__name__}: {exc}"[:300])
            return self._failure_write(item, from_status, failure, tally)
        now = self.clock.now()
        tally.sent += 1
        log_event(
            logging.INFO,
            "delivery.sent",
            id=item.id,
            kind=item.kind,
            chat=item.recipient_chat_id,
            attempt=item.attempts,
            late_ms=int((now - item.due_at).total_seconds() * 1000),
        )
        return self._finish_write(
            item,
            from_status,
            status=DeliveryStatus.sent.value,
            sent_at=now,
            telegram_message_id=message_id,
            last_error=None,
            reason=None,
        )

    def _failure_write(
        self, item: DueDelivery, from_status: DeliveryStatus, failure: SendFailed, tally: Tally
    ) -> Write:
        kind = self._kind(item)
        decision = decide(kind, failure, item.attempts, backoff=self.config.backoff, rng=self.rng)
        now = self.clock.now()
        fields_ = {
            "id": item.id,
            "kind": item.kind,
            "chat": item.recipient_chat_id,
            "attempt": item.attempts,
            "failure": failure.failure.value,
            "action": decision.action.value,
        }
        lost_alert = kind.rule is Rule.at_least_once and decision.action in (
            Action.fail,
            Action.unreachable,
        )
        log_event(
            logging.CRITICAL if lost_alert else logging.WARNING,
            "delivery.failed" if decision.action is not Action.retry else "delivery.retry",
            **fields_,
            error=failure.description[:120],
        )
        match decision.action:
            case Action.retry:
                tally.retried += 1
                return self._retry_write(item, from_status, decision, failure)
            case Action.sent_uncertain:
                tally.uncertain += 1
                return self._finish_write(
                    item,
                    from_status,
                    status=DeliveryStatus.sent.value,
                    sent_at=now,
                    last_error=failure.description,
                    reason=f"uncertain: {failure.failure.value}; not sent again",
                )
            case Action.fail:
                tally.failed += 1
                return self._then_hook(
                    item,
                    now,
                    self._finish_write(
                        item,
                        from_status,
                        status=DeliveryStatus.failed.value,
                        last_error=failure.description,
                    ),
                )
            case Action.unreachable:
                tally.failed += 1
                finish = self._finish_write(
                    item,
                    from_status,
                    status=DeliveryStatus.failed.value,
                    last_error=failure.description,
                )

                async def unreachable(connection: AsyncConnection) -> None:
                    await finish(connection)
                    if not await outbox.mark_client_unreachable(
                        connection, item, now=now, error=failure.description
                    ):
                        await outbox.note_recipient_refused(
                            connection, item, now=now, error=failure.description
                        )

                return self._then_hook(item, now, unreachable)
            case Action.release:
                self.halt(failure.description, release_delay=30.0)
                log.critical("Telegram refuses this bot (%s): sending stops", failure.description)
                return self._release_write(item, from_status)
        raise AssertionError(decision)  # pragma: no cover

    # --- writes ----------------------------------------------------------------------

    def _then_hook(self, item: DueDelivery, now: datetime, write: Write) -> Write:
        """The failure's write, then the kind's failure hook in the same transaction (an
        alert that cannot reach its clinician goes on to someone else at once)."""
        hook = failure_hook_for(item.kind)
        if hook is None:
            return write

        async def with_hook(connection: AsyncConnection) -> None:
            await write(connection)
            await hook(connection, self.content, item, now)

        return with_hook

    def _finish_write(self, item: DueDelivery, from_status: DeliveryStatus, **values: Any) -> Write:
        return _Finish(item, from_status, values, self.worker_id)

    def _skip_write(self, item: DueDelivery, reason: str, tally: Tally) -> Write:
        tally.skipped += 1
        log_event(logging.INFO, "delivery.skipped", id=item.id, kind=item.kind, reason=reason)
        return self._finish_write(
            item, DeliveryStatus.claimed, status=DeliveryStatus.skipped.value, reason=reason[:200]
        )

    def _retry_write(
        self,
        item: DueDelivery,
        from_status: DeliveryStatus,
        decision: Decision,
        failure: SendFailed | None,
    ) -> Write:
        values: dict[str, Any] = {
            "status": DeliveryStatus.pending.value,
            "available_at": self.clock.now() + timedelta(seconds=decision.delay),
            "claimed_by": None,
            "attempts": item.attempts if decision.counts else item.attempts - 1,
        }
        if failure is not None:
            values["last_error"] = failure.description
            if failure.migrate_to_chat_id is not None:
                values["recipient_chat_id"] = failure.migrate_to_chat_id
        return self._finish_write(item, from_status, **values)

    def _release_write(self, item: DueDelivery, from_status: DeliveryStatus) -> Write:
        return self._retry_write(
            item,
            from_status,
            Decision(Action.release, delay=self._release_delay, counts=False),
            None,
        )

    # --- one message a second per chat ------------------------------------------------

    def _reserve_chat(self, chat_id: int) -> float:
        """0 and the chat is this message's, or the seconds until it may be sent to."""
        now = self.clock.now()
        last = self._last_sent.get(chat_id)
        if last is not None:
            wait = self.config.per_chat_interval - (now - last).total_seconds()
            if wait > 0:
                return wait
        self._last_sent[chat_id] = now
        return 0.0

    def _forget_quiet_chats(self) -> None:
        if len(self._last_sent) < 1024:
            return
        horizon = self.clock.now() - timedelta(seconds=self.config.per_chat_interval)
        self._last_sent = {c: t for c, t in self._last_sent.items() if t > horizon}
