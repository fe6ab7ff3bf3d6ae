"""A rate limiter for python-telegram-bot that sends the most urgent request first.

One limiter per process, shared by everything that process sends: handlers' replies
and the outbox's deliveries go through the same Bot. Requests to a chat wait for a
send slot (send_budget.py: the overall cap, shared by every worker on PostgreSQL);
at each slot the waiting request of the highest priority class goes, except that a
lower class gets its minimum share (priority.ShareKeeper). So the crisis reply never
waits behind prompts the outbox queued in this process: it takes the next slot.

Groups also get at most `group_per_minute` messages a minute (Telegram: 20). A 429
pauses the whole budget for its `retry_after` (every worker, on PostgreSQL); an
outbox send then returns the error (the dispatcher delays that row, other chats go
on), a handler's own send waits and tries once more. Requests without a chat
(getUpdates, answerCallbackQuery) are not limited, as Telegram does not count them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.scheduling import priority
from bot.scheduling.priority import Priority, ShareKeeper
from bot.scheduling.send_budget import Budget, LocalBudget, Slots

log = logging.getLogger("bot.delivery")

GROUP_WINDOW = 60.0
# A slot this late (a busy event loop) is given up rather than used together with the
# next one: two requests at once could make one second at Telegram go over the cap.
LATE = 0.01
# Telegram's rate for paid broadcasts (allow_paid_broadcast): not part of the free cap.
PAID_BROADCAST_RATE = 1000.0


@dataclass(eq=False)
class _Waiter:
    cls: Priority
    group: int | str | None
    granted: asyncio.Future[None] = field(default_factory=asyncio.Future)


def _retry_after_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class PriorityRateLimiter(BaseRateLimiter[None]):
    def __init__(
        self,
        budget: Budget,
        *,
        group_per_minute: int = 20,
        share: float = 0.1,
        by_class: bool = True,
        paid_budget: Budget | None = None,
    ) -> None:
        self.budget = budget
        self.paid_budget = paid_budget or LocalBudget(PAID_BROADCAST_RATE)
        self._fallback = LocalBudget(budget.rate)
        self.group_per_minute = group_per_minute
        self.by_class = by_class
        self._keeper = ShareKeeper(share)
        self._waiting: dict[Priority, deque[_Waiter]] = {c: deque() for c in Priority}
        self._group_sends: dict[int | str, deque[float]] = {}
        self._pump: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        # What went out, by class (`python -m bot deliveries`, benchmarks).
        self.sent: dict[Priority, int] = {c: 0 for c in Priority}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None

    def share_through(self, budget: Budget) -> None:
        """Use another budget from now on (the database's, once the engine is known)."""
        self.budget = budget
        self._fallback = LocalBudget(budget.rate)

    def backlog(self) -> dict[Priority, int]:
        return {c: len(q) for c, q in self._waiting.items()}

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> Any:
        chat_id = data.get("chat_id")
        if chat_id is None:
            return await callback(*args, **kwargs)
        context = priority.current()
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)
        is_group = (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str)
        group = chat_id if is_group else None
        paid = bool(data.get("allow_paid_broadcast"))
        for attempt in range(context.retries + 1):
            if paid:
                await self._paid_turn()
            else:
                await self._turn(context.priority, group)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = _retry_after_seconds(exc)
                log.warning("429 from Telegram: every send waits %.1f s", seconds)
                await (self.paid_budget if paid else self.budget).pause(seconds)
                if attempt == context.retries:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _paid_turn(self) -> None:
        slots = await self.paid_budget.reserve(1)
        delay = slots.first - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _turn(self, cls: Priority, group: int | str | None) -> None:
        if self.budget.rate <= 0 and group is None:
            return
        waiter = _Waiter(cls if self.by_class else Priority.bulk, group)
        self._waiting[waiter.cls].append(waiter)
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="rate-limiter")
        try:
            await waiter.granted
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):
                self._waiting[waiter.cls].remove(waiter)
            raise

    # --- the pump: one task hands out the slots -----------------------------------------

    def _group_free_at(self, group: int | str | None, now: float) -> float:
        if group is None or self.group_per_minute <= 0:
            return now
        sends = self._group_sends.get(group)
        if sends is None:
            return now
        while sends and sends[0] <= now - GROUP_WINDOW:
            sends.popleft()
        if len(sends) < self.group_per_minute:
            return now
        return sends[0] + GROUP_WINDOW

    def _eligible(self, now: float) -> tuple[dict[Priority, _Waiter], float | None]:
        """The first waiter of each class that may go now, and when a blocked one may."""
        first: dict[Priority, _Waiter] = {}
        blocked_until: float | None = None
        for cls, queue in self._waiting.items():
            for waiter in queue:
                if waiter.granted.done():
                    continue
                free_at = self._group_free_at(waiter.group, now)
                if free_at <= now:
                    first[cls] = waiter
                    break
                blocked_until = free_at if blocked_until is None else min(blocked_until, free_at)
        return first, blocked_until

    def _grant(self, waiter: _Waiter, now: float) -> None:
        self._waiting[waiter.cls].remove(waiter)
        if waiter.group is not None:
            self._group_sends.setdefault(waiter.group, deque()).append(now)
        self.sent[waiter.cls] += 1
        waiter.granted.set_result(None)

    async def _run(self) -> None:
        try:
            await self._hand_out_slots()
        except Exception as exc:  # a bug: no request may wait forever for a turn
            log.exception("the rate limiter failed; waiting requests fail with it")
            for queue in self._waiting.values():
                for waiter in queue:
                    if not waiter.granted.done():
                        waiter.granted.set_exception(exc)
                queue.clear()

    async def _reserve(self, count: int) -> Slots:
        try:
            return await self.budget.reserve(count)
        except Exception:
            # The database is out of reach: this process goes on at the whole rate on
            # its own rather than stop sending (a crisis reply must still go out).
            log.warning("the shared send budget is out of reach; using this process's own")
            return await self._fallback.reserve(count)

    async def _hand_out_slots(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wake is not None
        slots: deque[float] = deque()
        while True:
            now = loop.time()
            eligible, blocked_until = self._eligible(now)
            if not eligible:
                # Nothing may go now: wait for a request, or for a group's minute to pass.
                self._wake.clear()
                timeout = None if blocked_until is None else max(0.0, blocked_until - now)
                if timeout is None and not any(self._waiting.values()):
                    slots.clear()  # unused slots are not kept: never a saved-up burst
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                continue
            if self.budget.rate > 0:
                if not slots or slots[0] < now - LATE:
                    slots.clear()
                    wanted = sum(len(q) for q in self._waiting.values())
                    chunk = max(1, min(wanted, int(self.budget.rate // 20) or 1))
                    reserved = await self._reserve(chunk)
                    slots.extend(reserved.first + n * reserved.interval for n in range(chunk))
                at = slots.popleft()
                delay = at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                # Chosen at the slot itself: a crisis reply that came meanwhile goes now.
                now = loop.time()
                eligible, _ = self._eligible(now)
                if not eligible:
                    continue  # the slot goes unused
            chosen = self._keeper.pick(eligible)
            assert chosen is not None
            self._grant(eligible[chosen], now)
