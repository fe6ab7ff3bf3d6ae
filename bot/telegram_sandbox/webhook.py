"""Webhook delivery: POST each pending update to the bot's URL, in order, one at a time.

A non-2xx answer or a connection error is retried with a short backoff (0.1 s doubling
up to 2 s) until the receiver accepts it; the error shows in getWebhookInfo.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import aiohttp

from .state import SandboxState

FIRST_BACKOFF = 0.1
MAX_BACKOFF = 2.0


class WebhookDelivery:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def restart(self) -> None:
        """Follow ``state.webhook``: (re)start delivery to it, or stop when it is gone."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self.state.webhook is not None:
            self._task = asyncio.get_running_loop().create_task(self._run(self.state.webhook))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _next(self) -> dict[str, Any] | None:
        """The oldest pending update of an allowed type; others are dropped, as Telegram does."""
        state = self.state
        while state.updates:
            kind, update = state.updates[0]
            if kind in state.allowed_updates:
                return update
            state.updates.pop(0)
        return None

    async def _run(self, hook: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        backoff = FIRST_BACKOFF
        state = self.state
        while True:
            wake = state.update_pulse.current
            update = self._next()
            if update is None:
                await wake.wait()
                continue
            error = await self._post(hook["url"], update, headers)
            if error is None:
                if state.updates and state.updates[0][1] is update:
                    state.updates.pop(0)
                state.mark_delivered([update])
                backoff = FIRST_BACKOFF
                continue
            hook["last_error_date"] = int(time.time())
            hook["last_error_message"] = error
            await asyncio.sleep(backoff)  # retry pacing, not synchronisation
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _post(self, url: str, update: dict[str, Any], headers: dict[str, str]) -> str | None:
        assert self._session is not None
        try:
            async with self._session.post(url, data=json.dumps(update), headers=headers) as resp:
                await resp.read()
                if 200 <= resp.status < 300:
                    return None
                return f"Wrong response from the webhook: {resp.status} {resp.reason}"
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            return f"Connection failed: {err.__class__.__name__}: {err}"
