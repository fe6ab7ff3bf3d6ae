"""The delivery engine of one worker: plan, then dispatch, on every tick.

The JobQueue calls `tick()` every few seconds (bot/features/delivery.py); the work is
kept here so tests drive it with a manual clock and no Telegram. Draining runs as one
background task: a tick that finds it still busy only plans and records its heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.scheduling import heartbeat, outbox, planner, program_cron
from bot.scheduling.clock import Clock
from bot.scheduling.dispatcher import DispatchConfig, Dispatcher, Tally
from bot.scheduling.planner import PlanConfig
from bot.scheduling.rendering import Sender, renderable_kinds

log = logging.getLogger("bot.delivery")

# Periodic reviews that may queue messages (missed check-ins raise alerts): run after
# planning, at most once a minute per worker. Each must be safe to run in several workers
# at once (their alerts have unique keys).
Review = Callable[[async_sessionmaker[AsyncSession], Content, datetime], Awaitable[int]]
_REVIEWS: list[Review] = []
REVIEW_EVERY = timedelta(minutes=1)


def register_review(review: Review) -> Review:
    if review not in _REVIEWS:
        _REVIEWS.append(review)
    return review


class DeliveryEngine:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        content: Content,
        sender: Sender,
        worker_id: str,
        clock: Clock,
        role: str = "bot",
        dispatch: DispatchConfig | None = None,
        plan: PlanConfig | None = None,
        wake_within: float = 0.0,
    ) -> None:
        self.engine = engine
        self.sessions = sessions
        self.content = content
        self.clock = clock
        self.worker_id = worker_id
        self.role = role
        self.plan_config = plan or PlanConfig()
        self.dispatcher = Dispatcher(
            engine=engine,
            sessions=sessions,
            content=content,
            sender=sender,
            worker_id=worker_id,
            clock=clock,
            config=dispatch,
        )
        self.started_at = clock.now()
        self.last_tick: datetime | None = None
        self._draining: asyncio.Task[Tally] | None = None
        self._caught_up = False
        self._reviewed_at: datetime | None = None
        self._again = False
        # With a real clock: a row due sooner than this many seconds (the tick interval)
        # starts a drain at its due time, not at the next tick.
        self.wake_within = wake_within
        self._wake: asyncio.TimerHandle | None = None

    async def tick(self) -> None:
        """Heartbeat, plan, and start draining if no drain is running."""
        now = self.clock.now()
        await heartbeat.beat(
            self.engine,
            worker_id=self.worker_id,
            role=self.role,
            started_at=self.started_at,
            now=now,
        )
        if not self._caught_up:
            await program_cron.catch_up(self.engine, self.sessions, now)
            self._caught_up = True
        await planner.plan(self.engine, now, self.plan_config, content=self.content)
        if self._reviewed_at is None or now - self._reviewed_at >= REVIEW_EVERY:
            await self.review(now)
        self.last_tick = now
        if self.kick() is not None and self.wake_within > 0:
            await self._wake_at_next_due(now)

    async def _wake_at_next_due(self, now: datetime) -> None:
        async with self.engine.connect() as connection:
            due = await outbox.next_available(connection, renderable_kinds())
        if due is None:
            return
        delay = (due - now).total_seconds()
        if 0 < delay < self.wake_within:
            if self._wake is not None:
                self._wake.cancel()
            self._wake = asyncio.get_running_loop().call_later(delay, self.kick)

    def kick(self) -> asyncio.Task[Tally] | None:
        """Start a drain unless one is running (or sending has been halted). A kick
        during a drain makes that drain look once more when it is done, so a row queued
        just as it was finishing (an alert) does not wait for the next tick."""
        if self.dispatcher.halted is not None:
            return None
        if self._draining is None or self._draining.done():
            self._again = False
            self._draining = asyncio.create_task(self._drain(), name="delivery-drain")
        else:
            self._again = True
            self.dispatcher.preempt()
        return self._draining

    async def _drain(self) -> Tally:
        while True:
            self._again = False
            try:
                tally = await self.dispatcher.drain()
            except Exception:
                log.exception("the dispatcher failed; the next tick tries again")
                return Tally()
            if not self._again or self.dispatcher.halted is not None:
                return tally

    async def run_once(self) -> Tally:
        """Plan and send everything due now, in the caller's task (tests, benchmarks)."""
        await planner.plan(self.engine, self.clock.now(), self.plan_config, content=self.content)
        await self.review(self.clock.now())
        return await self.dispatcher.drain()

    async def review(self, now: datetime) -> int:
        """Run the registered reviews; a failing one is logged and retried next time."""
        self._reviewed_at = now
        queued = 0
        for review in _REVIEWS:
            try:
                queued += await review(self.sessions, self.content, now)
            except Exception:
                log.exception("review %s failed; the next tick tries again", review.__name__)
        return queued

    async def wait_idle(self) -> Tally:
        """Wait for the drain a tick started (tests, benchmarks)."""
        if self._draining is None:
            return Tally()
        return await self._draining

    async def stop(self) -> None:
        """Finish the message being sent, put the rest of the batch back, and return."""
        self.dispatcher.halt("shutting down")
        if self._wake is not None:
            self._wake.cancel()
        if self._draining is not None:
            await asyncio.gather(self._draining, return_exceptions=True)
