"""From a Delivery row to the message it becomes: one renderer per kind.

Feature modules register a renderer for each kind they queue (check-in prompts here,
later session reminders, alerts, digests). A renderer may also decide not to send
(`Skip`): the client started their check-in already, the thing reminded of is gone.
The dispatcher never claims a kind nobody can render, so a row queued by a newer
version of Waypoint waits instead of failing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.models import Client


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    callback_data: str  # at most 64 bytes: ids, never payloads


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to send: Telegram HTML text and optional inline buttons; with `photo`
    (PNG bytes) it is sent as a photo and the text is its caption (at most 1024)."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    photo: bytes | None = None


@dataclass(frozen=True, slots=True)
class Skip:
    reason: str


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A claimed row, as the claim statement returned it."""

    id: int
    kind: str
    recipient_chat_id: int
    client_id: int | None
    due_at: datetime
    expires_at: datetime | None
    payload: dict[str, Any]
    attempts: int
    dedupe_key: str
    priority: int = 2  # bot/scheduling/priority.Priority


@dataclass
class RenderContext:
    sessions: async_sessionmaker[AsyncSession]
    content: Content
    now: datetime
    # The clients of the whole batch, loaded in one query.
    clients: Mapping[int, Client] = field(default_factory=dict)
    _session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """For reads; the dispatcher commits nothing a renderer writes. Opened on first
        use: most renderers read nothing, and a session costs ~0.1 ms a message."""
        if self._session is None:
            self._session = self.sessions()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def client(self, delivery: DueDelivery) -> Client | None:
        return self.clients.get(delivery.client_id) if delivery.client_id is not None else None


Renderer = Callable[[RenderContext, DueDelivery], Awaitable[Outgoing | Skip]]


class Sender(Protocol):
    """Where rendered messages go: python-telegram-bot in production
    (telegram_sender.TelegramSender), anything in a test."""

    async def send(self, chat_id: int, message: Outgoing) -> int:
        """Send; return Telegram's message id, or raise errors.SendFailed."""
        ...


_RENDERERS: dict[str, Renderer] = {}

# Called when a row of the kind has failed for good (a 400, a 403): in the transaction that
# records the failure, so what it queues (the alert for someone else) commits with it.
FailureHook = Callable[[AsyncConnection, Content, DueDelivery, datetime], Awaitable[None]]
_FAILURE_HOOKS: dict[str, FailureHook] = {}


def register_failure_hook(kind: str, hook: FailureHook) -> None:
    _FAILURE_HOOKS[kind] = hook


def failure_hook_for(kind: str) -> FailureHook | None:
    return _FAILURE_HOOKS.get(kind)


def register_renderer(kind: str, renderer: Renderer) -> None:
    _RENDERERS[kind] = renderer


def renderer_for(kind: str) -> Renderer | None:
    return _RENDERERS.get(kind)


def renderable_kinds() -> list[str]:
    return sorted(_RENDERERS)


def unregister_renderer(kind: str) -> None:
    _RENDERERS.pop(kind, None)
