"""Telegram's rate limits, as the sandbox enforces them when asked (off by default).

Telegram: about 30 messages a second per bot overall, about 1 a second per chat (short
bursts are let through), 20 a minute per group; beyond them a 429 "Too Many Requests:
retry after N" with `parameters.retry_after`. Paid broadcasts (`allow_paid_broadcast`)
may go up to 1,000 a second, and each one over the free 30 a second costs Stars.

Exact algorithms are Telegram's secret; here: at most `overall` sends in any window of
one second (the busiest second a benchmark reads is then never above it), a token
bucket per private chat (`per_chat` a second, `chat_burst` at once) and at most
`per_group` sends in any minute per group. Only requests that send a message count
(send*, copyMessage, forwardMessage), as with Telegram; edits and answers do not.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from .base import ApiError

PAID_RATE = 1000
STARS_PER_PAID_MESSAGE = 0.1  # Telegram: 0.1 Star for each paid message over the free rate


def counts(method: str) -> bool:
    """Does a request of this method count against the sending limits?"""
    name = method.lower()
    if name == "sendchataction":
        return False
    return name.startswith("send") or name in ("copymessage", "forwardmessage")


@dataclass
class TelegramLimits:
    overall: float = 30.0  # a second, the whole bot (free)
    per_chat: float = 1.0  # a second, one private chat
    chat_burst: int = 5
    per_group: int = 20  # a minute, one group
    paid: float = PAID_RATE  # a second, with allow_paid_broadcast
    # What happened, for tests and benchmarks.
    sent_at: list[float] = field(default_factory=list)
    refused: int = 0
    paid_sent: int = 0
    paid_over_free: int = 0
    _window: deque[float] = field(default_factory=deque)
    _paid_window: deque[float] = field(default_factory=deque)
    _chats: dict[int, tuple[float, float]] = field(default_factory=dict)  # tokens, at
    _groups: dict[int | str, deque[float]] = field(default_factory=dict)

    def check(self, chat_id: object, now: float, *, paid: bool = False) -> None:
        """Count one send at `now` (seconds), or raise the 429 Telegram would answer."""
        waits: list[float] = []
        window = self._paid_window if paid else self._window
        cap = self.paid if paid else self.overall
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= cap:
            waits.append(window[0] + 1.0 - now)
        group = _group_of(chat_id)
        if group is not None:
            sends = self._groups.setdefault(group, deque())
            while sends and sends[0] <= now - 60.0:
                sends.popleft()
            if len(sends) >= self.per_group:
                waits.append(sends[0] + 60.0 - now)
        tokens: float | None = None
        if group is None and isinstance(chat_id, int):
            tokens, at = self._chats.get(chat_id, (float(self.chat_burst), now))
            tokens = min(float(self.chat_burst), tokens + (now - at) * self.per_chat)
            if tokens < 1.0:
                waits.append((1.0 - tokens) / self.per_chat)
        if waits:
            self.refused += 1
            # Telegram says whole seconds, at least 1.
            seconds = max(1, math.ceil(max(waits)))
            raise ApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)
        if tokens is not None:
            self._chats[chat_id] = (tokens - 1.0, now)  # type: ignore[index]
        if group is not None:
            self._groups[group].append(now)
        window.append(now)
        if paid:
            self.paid_sent += 1
            free = [t for t in self._window if t > now - 1.0]
            if len(free) + len(self._paid_window) > self.overall:
                self.paid_over_free += 1
        self.sent_at.append(now)

    def busiest_second(self) -> int:
        """The most sends in any window of one second."""
        times = sorted(self.sent_at)
        best = start = 0
        for end, t in enumerate(times):
            while times[start] <= t - 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best


def _group_of(chat_id: object) -> int | str | None:
    if isinstance(chat_id, str):
        return chat_id
    if isinstance(chat_id, int) and chat_id < 0:
        return chat_id
    return None
