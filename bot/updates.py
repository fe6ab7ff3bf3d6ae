"""How updates are processed: one chat at a time, different chats concurrently.

python-telegram-bot either handles every update in sequence (one slow chat delays
everyone) or all concurrently (two taps of one client can race). Waypoint needs the
middle: a per-chat lock, so one client's updates keep their order while other
clients are served at once (DESIGN.md, "Updates are an inbox").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

DoneHook = Callable[[object], Awaitable[None] | None]


# The inbox stores update ids in a BIGINT column.
_LARGEST_UPDATE_ID = 2**63 - 1


def update_shape_error(data: object) -> str | None:
    """Why `data` (decoded JSON) is not an update Telegram could send; None if it could be.

    Checked before an update is stored: a row that is not an update must never reach
    the inbox, where it would be handled again on every start."""
    if not isinstance(data, dict):
        return "not a JSON object"
    update_id = data.get("update_id")
    # bool is an int in Python, not in JSON.
    if type(update_id) is not int or not 0 <= update_id <= _LARGEST_UPDATE_ID:
        return "update_id is not a non-negative integer"
    kinds = [key for key in data if key != "update_id"]
    if not kinds:
        return "no content besides update_id"
    if not all(isinstance(data[key], dict) for key in kinds):
        return "content is not a JSON object"
    return None


def chat_key(update: object) -> int | None:
    """The chat an update belongs to, or None for updates without one."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Serializes updates per chat; calls the done hooks after each update, even on error."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        # chat -> (lock, number of updates holding or waiting for it)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        self.done_hooks: list[DoneHook] = []

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        try:
            if key is None:
                await coroutine
                return
            lock, users = self._locks.get(key, (asyncio.Lock(), 0))
            self._locks[key] = (lock, users + 1)
            try:
                async with lock:
                    await coroutine
            finally:
                # Forget a chat's lock once nobody holds or awaits it, so memory does
                # not grow with the number of chats ever seen.
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)
        finally:
            for hook in self.done_hooks:
                try:
                    result = hook(update)
                    if result is not None:
                        await result
                except Exception:
                    log.exception("update done hook failed")

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class HandledUpdates:
    """Remembers which update ids the application finished handling.

    The demo and the tests wait on it, so they read replies exactly when the bot is done
    instead of sleeping. Attach with `processor.done_hooks.append(tracker.mark)`.
    """

    def __init__(self, limit_seconds: float = 10.0) -> None:
        self._limit = limit_seconds
        self._done: set[int] = set()
        self._changed = asyncio.Condition()

    async def mark(self, update: object) -> None:
        if isinstance(update, Update):
            async with self._changed:
                self._done.add(update.update_id)
                self._changed.notify_all()

    def is_done(self, update_id: int) -> bool:
        return update_id in self._done

    async def wait(self, update_id: int) -> None:
        async with asyncio.timeout(self._limit), self._changed:
            await self._changed.wait_for(lambda: update_id in self._done)
