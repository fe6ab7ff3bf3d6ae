"""The inbox: every update is written to the database before it is handled.

python-telegram-bot confirms an update to Telegram before handling it: polling moves
its offset once the update is in `Application.update_queue`, and a webhook answers 200
first. A crash then loses what was in flight. Waypoint hooks in at that queue
(`InboxQueue`, handed to `ApplicationBuilder.update_queue`): the Updater's
`update_queue.put()` writes an `InboundUpdate` row, and only returns once the row is
committed, so polling confirms nothing that is not stored. An update numbered above the
newest row cannot be a redelivery, so it goes to the handlers while its row is written,
not after (its done-mark waits for the row); any other is stored first. The webhook
receiver writes the row itself before answering 200 (bot/webhook.py). The update
processor's done hook marks the row done after the handlers ran. On start, rows not done
are handled again.

An update whose handling failed is never marked done: it is handled again after a pause
that grows with each try. While the database cannot be reached it is retried until it
can (a database outage loses nothing); an update that fails for any other reason (a
bug) is tried a few times, then set aside as failed. The person is told once.

A redelivered update (same update_id) finds its row and is dropped: handled once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    NoResultFound,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.models import InboundStatus, InboundUpdate
from bot.scheduling.clock import Clock, SystemClock
from bot.services import AnyApplication
from bot.updates import chat_key, update_shape_error

log = logging.getLogger(__name__)

inbound = InboundUpdate.__table__  # type: ignore[attr-defined]

_INBOX_KEY = "waypoint.inbox"

ActivityHook = Callable[[AsyncConnection, int, datetime], Awaitable[object]]


def database_unavailable(error: BaseException | None) -> bool:
    """The database cannot be reached right now (refused, dropped, timed out), as against
    a statement that is wrong in itself: the first heals by waiting, the second does not."""
    if isinstance(error, (IntegrityError, DataError, ProgrammingError, NoResultFound)):
        return False
    return isinstance(error, (SQLAlchemyError, OSError, TimeoutError))


def retry_delay(failures: int) -> float:
    """Seconds before the next try of an update that failed `failures` times."""
    return float(min(0.5 * 2 ** (failures - 1), 10.0))


class Inbox:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        worker_id: str,
        clock: Clock | None = None,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = 3,
        retention: timedelta = timedelta(days=2),
        retry_after: Callable[[int], float] = retry_delay,
    ) -> None:
        self.engine = engine
        self.worker_id = worker_id
        self.clock = clock or SystemClock()
        # A row claimed longer ago than this, and not done, is taken over by any worker.
        self.lease = lease
        # An update whose handling crashed its process this many times is set aside.
        self.max_attempts = max_attempts
        self.retention = retention
        # Seconds to wait before handling a failed update again, by failures so far.
        self.retry_after = retry_after
        # update id -> how many times its handling failed (in this process).
        self._failures: dict[int, int] = {}
        # The error of the attempt that just failed, until its done hook runs.
        self._failed_now: dict[int, BaseException | None] = {}
        self._retries: set[asyncio.Task[None]] = set()
        # Updates whose sender already got the crisis card while the database was down
        # (bot/features/crisis_fallback.py): when handled again, not a second time.
        self.crisis_cards: set[int] = set()
        self._application: AnyApplication | None = None
        # The row is one INSERT: on PostgreSQL it runs in autocommit, one round trip
        # instead of three (BEGIN, INSERT, COMMIT) on the path every update waits on.
        # (SQLite's transaction costs no round trip; switching modes there would.)
        self._writer = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else engine
        )
        self._in_flight: set[int] = set()
        self._handled: dict[int, asyncio.Event] = {}
        # The newest update id stored, read when polling starts. Telegram numbers updates
        # in order, so a polled update above it cannot be a redelivery: it is handled
        # while its row is written (`store_while_handled`) instead of after.
        self._newest: int | None = None
        self._storing: dict[int, asyncio.Task[bool]] = {}
        # Polling only (set when it starts): while an update waits for the database,
        # look ahead at what Telegram holds behind it, for crisis messages
        # (`_look_ahead`). Seconds between looks; ids looked at already.
        self.looks_ahead = False
        self.look_ahead_every = 3.0
        self._looked_at: set[int] = set()
        # Built once: every update goes through it, and building and keying the
        # statement cost more than SQLite running it.
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        columns = ("update_id", "chat_id", "payload", "received_at", "claimed_by", "claimed_at")
        self._insert = (
            insert(inbound)
            .values(
                {
                    **{name: sa.bindparam(name) for name in columns},
                    "status": InboundStatus.received.value,
                    "attempts": 1,
                }
            )
            .on_conflict_do_nothing(index_elements=["update_id"])
            .returning(inbound.c.id)
        )
        # Called in the transaction that marks an update done, with its chat and the
        # time it arrived (e.g. a message cancels a pending check-in nudge).
        self.activity_hooks: list[ActivityHook] = []

    def install(self, application: AnyApplication) -> None:
        """Before the application's own error handler is added: this one runs first."""
        application.bot_data[_INBOX_KEY] = self
        self._application = application
        application.add_error_handler(self._handling_failed)

    async def _handling_failed(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Error handler: note the failure (the done hook then retries instead of marking
        the update done). The person is told once: a retry that fails again is quiet."""
        if not isinstance(update, Update):
            return
        self._failed_now[update.update_id] = context.error
        if database_unavailable(context.error):
            # The crisis card must not wait for the database (the alert has to).
            await self.card_while_down(update)
        if self._failures.get(update.update_id, 0) > 0:
            log.warning(
                "update %s failed again (%s); it will be retried",
                update.update_id,
                type(context.error).__name__,
            )
            raise ApplicationHandlerStop

    # --- writing -------------------------------------------------------------------

    async def record(self, update: Update, as_sent: dict[str, Any] | None = None) -> bool:
        """Store the update (`as_sent`: its JSON as Telegram sent it, when at hand); True
        when it is new (handle it), False when seen before."""
        now = self.clock.now()
        row = {
            "update_id": update.update_id,
            "chat_id": chat_key(update),
            "payload": json.dumps(
                update.to_dict() if as_sent is None else as_sent, separators=(",", ":")
            ),
            "received_at": now,
            "claimed_by": self.worker_id,
            "claimed_at": now,
        }
        # In flight from before the row exists: a sweep running meanwhile must not take it.
        self._in_flight.add(update.update_id)
        try:
            async with self._writer.begin() as connection:
                new = (await connection.execute(self._insert, row)).first() is not None
        except BaseException:
            self._in_flight.discard(update.update_id)
            raise
        if not new:
            self._in_flight.discard(update.update_id)
            log.info("update %s is already in the inbox: not handled again", update.update_id)
        elif self._newest is not None:
            self._newest = max(self._newest, update.update_id)
        return new

    async def record_patiently(self, update: Update, as_sent: dict[str, Any] | None = None) -> bool:
        """`record`, retried while the database is unreachable. Polling waits here, so
        Telegram keeps the update until it is stored (the offset does not move)."""
        failures = 0
        loop = asyncio.get_running_loop()
        looked = -float("inf")
        while True:
            try:
                return await self.record(update, as_sent)
            except (SQLAlchemyError, OSError) as exc:
                failures += 1
                log.error(
                    "cannot store update %s yet (%s); retrying",
                    update.update_id,
                    type(exc).__name__,
                )
            if self.looks_ahead and loop.time() - looked >= self.look_ahead_every:
                looked = loop.time()
                try:
                    await self._look_ahead(update.update_id)
                except Exception:  # storing this update must go on whatever happens
                    log.exception("looking ahead of update %s failed", update.update_id)
            await asyncio.sleep(self.retry_after(failures))

    async def _look_ahead(self, waiting: int) -> None:
        """Polling waits for update `waiting` to be stored, so Telegram holds every later
        message unread: a crisis among them would get no card until the database is
        back. Fetch them without confirming anything (offset = the waiting update's id,
        which the Updater asks for next anyway; its own poll is not running while it
        waits here) and send the crisis card to those the screen flags. They are
        handled as usual once the database is back; the card is not sent again then."""
        application = self._application
        if application is None or not application.running:
            return
        try:
            ahead = await application.bot.get_updates(offset=waiting, timeout=0)
        except TelegramError as exc:
            log.warning("cannot look ahead of update %s (%s)", waiting, type(exc).__name__)
            return
        self._looked_at = {seen for seen in self._looked_at if seen >= waiting}
        for update in ahead:
            update_id = update.update_id
            if update_id in self._looked_at or update_id in self.crisis_cards:
                continue
            self._looked_at.add(update_id)
            if update_id in self._storing:
                continue  # being handled already: a failure there sends the card
            await self.card_while_down(update)

    async def load_newest(self) -> None:
        """Read the newest update id stored (at the start of polling, the only consumer)."""
        newest = sa.select(sa.func.max(inbound.c.update_id))
        if self.engine.dialect.name == "sqlite":
            # SQLite keeps whatever type it was given: a text id stored by an older
            # version would sort above every number (and compare with none).
            newest = newest.where(sa.func.typeof(inbound.c.update_id) == "integer")
        async with self.engine.connect() as connection:
            found = await connection.scalar(newest)
        self._newest = found if isinstance(found, int) else 0

    def surely_new(self, update_id: int) -> bool:
        return self._newest is not None and update_id > self._newest

    def store_while_handled(
        self, update: Update, as_sent: dict[str, Any] | None
    ) -> asyncio.Task[bool]:
        """Start storing an update that is surely new; its done-mark waits for the row."""
        stored = asyncio.create_task(self.record_patiently(update, as_sent))
        self._storing[update.update_id] = stored
        return stored

    async def mark_done(self, update: object) -> None:
        """Done hook of the update processor: runs after the handlers, even on error.

        The update's words and chat id are erased: the row is kept only so that a
        redelivery is recognised (nothing is kept about who wrote what, or when). An
        update whose handling failed is not done: it is handled again later."""
        if not isinstance(update, Update):
            return
        update_id = update.update_id
        if update_id in self._failed_now:
            error = self._failed_now.pop(update_id)
            failures = self._failures.get(update_id, 0) + 1
            self._failures[update_id] = failures
            if database_unavailable(error) or failures < self.max_attempts:
                task = asyncio.create_task(self._retry(update, failures))
                self._retries.add(task)
                task.add_done_callback(self._retries.discard)
                return
            log.error("update %s failed %d times: set aside", update_id, failures)
            await self._finish(update, InboundStatus.failed)
            return
        await self._finish(update, InboundStatus.done)

    async def card_while_down(self, update: Update) -> None:
        """The database cannot be reached and this update cannot be stored or handled:
        send its crisis card now if the screen flags it (crisis_fallback), once."""
        application = self._application
        if application is None or update.update_id in self.crisis_cards:
            return
        from bot.features.crisis_fallback import card_while_database_down

        context = application.context_types.context.from_update(update, application)
        try:
            if await card_while_database_down(update, context):
                self.crisis_cards.add(update.update_id)
        except TelegramError:
            log.exception("could not send the crisis card of update %s", update.update_id)

    def no_second_card(self, update: Update) -> None:
        """An update whose card went out while the database was down is handled without
        sending that card again."""
        application = self._application
        if application is None or update.update_id not in self.crisis_cards:
            return
        from bot.features.crisis_fallback import without_second_card
        from bot.services import services

        without_second_card(update, services(application).content)

    async def _retry(self, update: Update, failures: int) -> None:
        """Handle a failed update again after a pause (its row is written first)."""
        storing = self._storing.pop(update.update_id, None)
        if storing is not None:
            await storing
        await asyncio.sleep(self.retry_after(failures))
        application = self._application
        if application is None or not application.running:
            # Stopping: the row is not done, so the next start handles it.
            self._forget(update.update_id)
            return
        log.info("handling update %s again (failed %d time(s))", update.update_id, failures)
        self.no_second_card(update)
        queue = application.update_queue
        if isinstance(queue, InboxQueue):
            await queue.put_recorded(update)
        else:
            await queue.put(update)

    async def _finish(self, update: Update, status: InboundStatus) -> None:
        storing = self._storing.pop(update.update_id, None)
        if storing is not None:
            await storing  # the row must exist before it can be marked done
        chat_id = chat_key(update)
        failures = 0
        try:
            while True:
                try:
                    await self._write_finished(update.update_id, chat_id, status)
                    return
                except BaseException as exc:
                    # Handled, but the database is gone for the moment: keep trying, so
                    # that the update is not handled a second time by a sweep.
                    if not database_unavailable(exc):
                        raise
                    log.error(
                        "cannot mark update %s %s yet (%s); retrying",
                        update.update_id,
                        status.value,
                        type(exc).__name__,
                    )
                    failures += 1
                    await asyncio.sleep(self.retry_after(failures))
        finally:
            self._forget(update.update_id)

    async def _write_finished(
        self, update_id: int, chat_id: int | None, status: InboundStatus
    ) -> None:
        now = self.clock.now()
        async with self.engine.begin() as connection:
            received_at = (
                await connection.execute(
                    sa.update(inbound)
                    .where(inbound.c.update_id == update_id)
                    .values(status=status.value, handled_at=now, payload=None, chat_id=None)
                    .returning(inbound.c.received_at)
                )
            ).scalar_one_or_none()
            if status is InboundStatus.done and chat_id is not None and received_at is not None:
                for hook in self.activity_hooks:
                    await hook(connection, chat_id, received_at)

    def _forget(self, update_id: int) -> None:
        self._in_flight.discard(update_id)
        self._failures.pop(update_id, None)
        self.crisis_cards.discard(update_id)
        event = self._handled.pop(update_id, None)
        if event is not None:
            event.set()

    # --- waiting (webhook mode answers once the update is handled, or after a while) ---

    def expect(self, update_id: int) -> asyncio.Event:
        return self._handled.setdefault(update_id, asyncio.Event())

    def forget(self, update_id: int) -> None:
        self._handled.pop(update_id, None)

    # --- recovery --------------------------------------------------------------------

    async def claim_unfinished(self, *, everything: bool, limit: int = 500) -> list[dict[str, Any]]:
        """Rows not done, oldest update first, now claimed by this worker.

        `everything`: at start of the only update consumer (polling), take every row
        not done; otherwise those whose claim outlived the lease (their worker died) and
        this worker's own. Rows that crashed their process `max_attempts` times are set
        aside.
        """
        now = self.clock.now()
        candidates = sa.select(inbound.c.id).where(inbound.c.status == InboundStatus.received.value)
        if not everything:
            # A dead worker's rows, or this worker's own from before a restart (not in
            # flight here, and its id is unique to it while it runs).
            candidates = candidates.where(
                sa.or_(
                    inbound.c.claimed_at < now - self.lease,
                    inbound.c.claimed_by == self.worker_id,
                )
            )
        if self._in_flight:
            candidates = candidates.where(inbound.c.update_id.not_in(list(self._in_flight)))
        candidates = candidates.order_by(inbound.c.update_id).limit(limit)
        if self.engine.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        async with self.engine.begin() as connection:
            rows = (
                await connection.execute(
                    sa.update(inbound)
                    .where(inbound.c.id.in_(candidates.scalar_subquery()))
                    .values(
                        claimed_by=self.worker_id,
                        claimed_at=now,
                        attempts=inbound.c.attempts + 1,
                    )
                    .returning(
                        inbound.c.id, inbound.c.update_id, inbound.c.payload, inbound.c.attempts
                    )
                )
            ).all()
            poisoned = {r.id for r in rows if r.attempts > self.max_attempts}
            updates = {r.id: _stored_update(r.update_id, r.payload) for r in rows}
            # Not an update (a row stored before updates were checked, or damaged): it
            # could never be handled, and must not stop the others.
            malformed = {row_id for row_id, data in updates.items() if data is None} - poisoned
            if poisoned or malformed:
                await connection.execute(
                    sa.update(inbound)
                    .where(inbound.c.id.in_(poisoned | malformed))
                    .values(
                        status=InboundStatus.failed.value,
                        handled_at=now,
                        payload=None,
                        chat_id=None,
                    )
                )
        for row in rows:
            if row.id in poisoned:
                log.error("update %s crashed its worker repeatedly: set aside", row.update_id)
            elif row.id in malformed:
                log.error("inbox row %s holds no valid update: set aside", row.id)
        recovered = sorted(
            (
                data
                for row_id, data in updates.items()
                if data is not None and row_id not in poisoned
            ),
            key=lambda data: int(data["update_id"]),
        )
        for data in recovered:
            self._in_flight.add(int(data["update_id"]))
        return recovered

    async def set_aside(self, update_id: int) -> None:
        """An update that cannot even be read back is failed, never retried."""
        async with self.engine.begin() as connection:
            await connection.execute(
                sa.update(inbound)
                .where(inbound.c.update_id == update_id)
                .values(
                    status=InboundStatus.failed.value,
                    handled_at=self.clock.now(),
                    payload=None,
                    chat_id=None,
                )
            )
        self._forget(update_id)

    async def prune(self) -> int:
        """Forget handled rows after the retention (Telegram redelivers within a day)."""
        before = self.clock.now() - self.retention
        async with self.engine.begin() as connection:
            result = await connection.execute(
                sa.delete(inbound).where(
                    inbound.c.status != InboundStatus.received.value,
                    inbound.c.handled_at < before,
                )
            )
        return result.rowcount


def _stored_update(update_id: object, payload: str | None) -> dict[str, Any] | None:
    """A stored row's update, or None when the row holds none (never raises)."""
    if type(update_id) is not int or not payload:
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if update_shape_error(data) is not None or data["update_id"] != update_id:
        return None
    return data  # type: ignore[no-any-return]


def inbox_of(application: AnyApplication) -> Inbox | None:
    return application.bot_data.get(_INBOX_KEY)  # type: ignore[no-any-return]


class InboxQueue(asyncio.Queue[object]):
    """`Application.update_queue` that writes each update to the inbox as it is queued.

    Everything that enters the application goes through `put` (the Updater's polling
    loop, python-telegram-bot's own webhook server), so nothing is handled unrecorded.
    """

    def __init__(
        self, inbox: Inbox, as_sent: Callable[[int], dict[str, Any] | None] | None = None
    ) -> None:
        super().__init__()
        self.inbox = inbox
        # The update's JSON as Telegram sent it (bot.telegram_http.PollingRequest).
        self.as_sent = as_sent

    async def put(self, item: object) -> None:
        if not isinstance(item, Update):
            await super().put(item)
            return
        raw = self.as_sent(item.update_id) if self.as_sent is not None else None
        # Its card may have gone out while the database was down (`Inbox._look_ahead`).
        self.inbox.no_second_card(item)
        if self.inbox.surely_new(item.update_id):
            # Handled while its row is written (on PostgreSQL the two overlap); polling
            # still confirms it only once stored, as it waits for this `put`.
            stored = self.inbox.store_while_handled(item, raw)
            await super().put(item)
            if not await stored:
                log.error("update %s was stored already, yet above the newest", item.update_id)
            return
        if await self.inbox.record_patiently(item, raw):
            await super().put(item)

    async def put_recorded(self, item: Update) -> None:
        """Queue an update whose row is already written (recovery, our webhook)."""
        await super().put(item)


async def resume_unfinished(application: AnyApplication, *, everything: bool) -> int:
    """Queue the updates a previous run stored but did not finish; returns how many."""
    inbox = inbox_of(application)
    queue = application.update_queue
    if inbox is None or not isinstance(queue, InboxQueue):
        return 0
    count = 0
    while True:
        payloads = await inbox.claim_unfinished(everything=everything)
        for payload in payloads:
            try:
                update = Update.de_json(payload, application.bot)
            except Exception as exc:
                log.error(
                    "update %s cannot be read back (%s): set aside",
                    payload["update_id"],
                    type(exc).__name__,
                )
                await inbox.set_aside(int(payload["update_id"]))
                continue
            await queue.put_recorded(update)
        count += len(payloads)
        if not payloads or not everything:
            break
    if count:
        log.warning("handling %d update(s) a previous run received but did not finish", count)
    return count


async def sweep(application: AnyApplication) -> None:
    """Periodic: take over updates whose worker died (lease over), forget old rows."""
    inbox = inbox_of(application)
    if inbox is None:
        return
    try:
        await resume_unfinished(application, everything=False)
        await inbox.prune()
    except (SQLAlchemyError, OSError):
        log.exception("inbox sweep failed; the next one tries again")
