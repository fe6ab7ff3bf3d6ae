"""Everything the sandbox remembers, in plain dicts and lists.

Users, chats (with their messages and the event log the control side reads), the
update queue (getUpdates / webhook), callback queries and answers, uploaded files,
bot commands, the webhook, injected faults and the request log.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from .base import ApiError
from .limits import TelegramLimits

# Telegram's default when allowed_updates is not set (or set to []).
ALL_UPDATE_TYPES = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post",
        "business_connection", "business_message", "edited_business_message",
        "deleted_business_messages", "message_reaction", "message_reaction_count",
        "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
        "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer",
        "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
        "removed_chat_boost", "managed_bot", "guest_message",
    }
)  # fmt: skip
DEFAULT_UPDATE_TYPES = ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}


class Pulse:
    """A reusable wake-up: waiters take ``current`` before checking their condition."""

    def __init__(self) -> None:
        self.current = asyncio.Event()

    def fire(self) -> None:
        self.current.set()
        self.current = asyncio.Event()


@dataclass(slots=True)
class ChatState:
    info: dict[str, Any]  # the Chat object as it appears in messages
    next_message_id: int = 1  # shared by user and bot messages, like Telegram
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> record
    events: list[dict[str, Any]] = field(default_factory=list)  # what the bot did here


@dataclass(slots=True)
class Fault:
    error_code: int | None
    rate: float | None
    remaining: int | None  # "count": fail exactly this many more matching calls
    retry_after: int
    latency: float
    methods: frozenset[str] | None  # None: every send*/edit*/copy*/forward* method

    def matches(self, method: str) -> bool:
        if self.methods is None:
            return method.startswith(("send", "edit", "copy", "forward"))
        return method in self.methods

    def fires(self) -> bool:
        if self.error_code is None:
            return False
        if self.remaining is not None:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
            return True
        if self.rate is not None:
            return random.random() < self.rate
        return True

    def error(self) -> ApiError:
        code = self.error_code or 500
        if code == 429:
            return ApiError(
                429,
                f"Too Many Requests: retry after {self.retry_after}",
                self.retry_after,
                arranged=True,
            )
        words = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            409: "Conflict",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        return ApiError(code, words.get(code, "Error"), arranged=True)


class SandboxState:
    def __init__(self, bot_username: str) -> None:
        self.bot_username = bot_username
        self.update_pulse = Pulse()  # a new update was queued
        self.delivery_pulse = Pulse()  # an update was delivered
        self.poll_pulse = Pulse()  # a getUpdates long poll started waiting
        self.event_pulse = Pulse()  # the bot sent, edited or deleted something
        self.poller: asyncio.Future[str] | None = None  # the pending long poll, if any
        self.inflight = 0  # bot requests being handled (getUpdates excluded)
        self.last_activity = time.monotonic()
        # Telegram's rate limits, enforced only when set (limits.py); kept across resets.
        self.limits: TelegramLimits | None = None
        self.clear()

    def add_event(self, chat: ChatState, event: dict[str, Any]) -> None:
        chat.events.append(event)
        self.event_pulse.fire()

    def clear(self) -> None:
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, ChatState] = {}
        self.blocked: set[int] = set()
        self.updates: list[tuple[str, dict[str, Any]]] = []  # unconfirmed, by update_id
        self.next_update_id = 1
        self.delivered: dict[int, bool] = {}
        self.allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}  # file_id -> record (with "data" bytes)
        self.file_paths: dict[str, str] = {}  # file_path -> file_id
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.faults: list[Fault] = []
        self.requests: list[dict[str, Any]] = []
        self.counter = 0
        self.terminate_poller("closing")

    def next_id(self) -> int:
        self.counter += 1
        return self.counter

    # -- updates

    def add_update(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = self.next_update_id
        self.next_update_id += 1
        self.updates.append((kind, {"update_id": update_id, kind: payload}))
        self.delivered[update_id] = False
        self.wake_poller("update")
        self.update_pulse.fire()
        return update_id

    def confirm(self, offset: int) -> None:
        """getUpdates ``offset``: forget every update below it (negative: keep the last -offset)."""
        if offset > 0:
            if self.updates and self.updates[0][1]["update_id"] < offset:
                self.updates = [u for u in self.updates if u[1]["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]

    def select(self, limit: int) -> list[dict[str, Any]]:
        allowed = self.allowed_updates
        batch = []
        for kind, update in self.updates:
            if kind in allowed:
                batch.append(update)
                if len(batch) >= limit:
                    break
        return batch

    def mark_delivered(self, updates: list[dict[str, Any]]) -> None:
        for update in updates:
            self.delivered[update["update_id"]] = True
        self.delivery_pulse.fire()

    def set_allowed(self, allowed: list[str] | None) -> None:
        if allowed is not None:
            self.allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES

    def wake_poller(self, reason: str) -> None:
        if self.poller is not None and not self.poller.done():
            self.poller.set_result(reason)

    def terminate_poller(self, reason: str) -> None:
        self.wake_poller(reason)
        self.poller = None

    # -- users and chats

    def bot_user(self, bot_id: int) -> dict[str, Any]:
        return {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Waypoint",
            "username": self.bot_username,
        }

    def upsert_user(self, data: dict[str, Any]) -> dict[str, Any]:
        user = {"id": data["id"], "is_bot": False, "first_name": data["first_name"]}
        for key in ("last_name", "username", "language_code"):
            if data.get(key):
                user[key] = data[key]
        self.users[user["id"]] = user
        chat = self.chats.get(user["id"])
        if chat is not None:
            chat.info = private_chat_info(user)
        return user

    def private_chat(self, user: dict[str, Any]) -> ChatState:
        chat = self.chats.get(user["id"])
        if chat is None:
            chat = self.chats[user["id"]] = ChatState(private_chat_info(user))
        return chat

    def group_chat(self, chat_id: int, title: str | None) -> ChatState:
        chat = self.chats.get(chat_id)
        if chat is None:
            info = {"id": chat_id, "type": "group", "title": title or f"Group {chat_id}"}
            chat = self.chats[chat_id] = ChatState(info)
        return chat

    def chat_for_send(self, chat_id: int | str) -> ChatState:
        """The chat a bot message goes to, refused the way Telegram refuses it."""
        if isinstance(chat_id, str):
            raise ApiError(400, "Bad Request: chat not found")  # no public usernames here
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user", arranged=True)
        chat = self.chats.get(chat_id)
        if chat is None:
            if chat_id in self.users:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def existing_chat(self, chat_id: int | str) -> ChatState:
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    # -- files

    def add_file(
        self, kind: str, data: bytes, file_name: str, mime_type: str, **extra: Any
    ) -> dict[str, Any]:
        number = self.next_id()
        suffix = "." + file_name.rsplit(".", 1)[1] if "." in file_name else ""
        record = {
            "file_id": f"sbx-{kind}-{number}",
            "file_unique_id": f"u{number}",
            "file_size": len(data),
            "file_path": f"{kind}s/file_{number}{suffix}",
            "file_name": file_name,
            "mime_type": mime_type,
            "kind": kind,
            "data": data,
            **extra,
        }
        self.files[record["file_id"]] = record
        self.file_paths[record["file_path"]] = record["file_id"]
        return record


def private_chat_info(user: dict[str, Any]) -> dict[str, Any]:
    info = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    for key in ("last_name", "username"):
        if key in user:
            info[key] = user[key]
    return info
