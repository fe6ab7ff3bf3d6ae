"""Python driver for the sandbox's control API: play users, read what the bot sent.

Works over HTTP (httpx), so the sandbox may run in this process or another one::

    async with Sandbox(server.url) as sandbox:
        ana = sandbox.person(1001, "Ana")
        replies = await ana.send("/start")
        await ana.press("Yes")
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self

import httpx


class ButtonNotFound(AssertionError):
    """No (unique) button with that label; the message lists the buttons there are."""


@dataclass
class SentMessage:
    """One event from ``GET /sandbox/chats/{id}/messages`` (something the bot did)."""

    event: str  # "sent" | "edited" | "deleted"
    message_id: int
    chat_id: int
    text: str | None  # exactly as the bot sent it (HTML included)
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    protect_content: bool = False
    photo: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    caption: str | None = None  # exactly as the bot sent it
    plain_text: str | None = None  # text or caption as the user sees it (after parse_mode)
    entities: list[dict[str, Any]] = field(default_factory=list)
    method: str | None = None
    date: int = 0

    @classmethod
    def from_event(cls, data: dict[str, Any]) -> SentMessage:
        return cls(
            event=data["event"],
            message_id=data["message_id"],
            chat_id=data["chat_id"],
            text=data.get("text"),
            parse_mode=data.get("parse_mode"),
            reply_markup=data.get("reply_markup"),
            protect_content=bool(data.get("protect_content")),
            photo=data.get("photo"),
            document=data.get("document"),
            caption=data.get("caption"),
            plain_text=data.get("plain_text"),
            entities=data.get("entities") or [],
            method=data.get("method"),
            date=data.get("date", 0),
        )

    @property
    def buttons(self) -> list[list[str]]:
        """Inline-keyboard labels by row (empty if none)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[button["text"] for button in row] for row in rows]

    @property
    def reply_keyboard(self) -> list[list[str]]:
        """Reply-keyboard labels by row (buttons may be plain strings)."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [[b if isinstance(b, str) else b["text"] for b in row] for row in rows]

    def inline_button(self, label: str) -> dict[str, Any]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        buttons = [button for row in rows for button in row]
        return _match(label, buttons, lambda b: b["text"], f"message {self.message_id}")

    def data_for(self, label: str) -> str:
        """Callback data of the inline button labelled ``label`` (exact, else unique substring)."""
        button = self.inline_button(label)
        if "callback_data" not in button:
            raise ButtonNotFound(f"button {button['text']!r} has no callback_data: {button}")
        return button["callback_data"]


def _match(label: str, items: list[Any], text_of: Callable[[Any], str], where: str) -> Any:
    exact = [item for item in items if text_of(item) == label]
    if exact:
        return exact[0]
    partial = [item for item in items if label in text_of(item)]
    if len(partial) == 1:
        return partial[0]
    labels = [text_of(item) for item in items]
    if partial:
        raise ButtonNotFound(f"{label!r} matches several buttons on {where}: {labels}")
    raise ButtonNotFound(f"no button {label!r} on {where}; buttons: {labels}")


class Sandbox:
    """Client for the control API of a running sandbox."""

    def __init__(
        self,
        base_url: str,
        settle: Callable[[int], Awaitable[None]] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._settle = settle
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout + 5)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(
                f"sandbox {method} {path} -> {response.status_code}: {response.text}"
            )
        return response.json()

    def person(self, user_id: int, first_name: str, language_code: str = "en") -> Person:
        return Person(self, user_id, first_name, language_code)

    async def events(self, chat_id: int, since: int = 0) -> list[SentMessage]:
        data = await self._call(
            "GET", f"/sandbox/chats/{chat_id}/messages", params={"since": since}
        )
        return [SentMessage.from_event(item) for item in data]

    async def messages(self, chat_id: int) -> list[SentMessage]:
        return await self.events(chat_id)

    async def inject(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "/sandbox/messages", json=body)

    async def inject_callback(
        self, user_id: int, chat_id: int, message_id: int, data: str
    ) -> dict[str, Any]:
        body = {"user_id": user_id, "chat_id": chat_id, "message_id": message_id, "data": data}
        return await self._call("POST", "/sandbox/callbacks", json=body)

    async def block(self, chat_id: int) -> None:
        await self._call("POST", f"/sandbox/chats/{chat_id}/block")

    async def unblock(self, chat_id: int) -> None:
        await self._call("POST", f"/sandbox/chats/{chat_id}/unblock")

    async def set_faults(self, **kwargs: Any) -> None:
        await self._call("POST", "/sandbox/faults", json=kwargs)

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/sandbox/faults")

    async def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        params = {"method": method} if method else None
        return await self._call("GET", "/sandbox/requests", params=params)

    async def callback_answers(self, chat_id: int) -> list[dict[str, Any]]:
        return await self._call("GET", "/sandbox/callback_answers", params={"chat_id": chat_id})

    async def download(self, file_id: str) -> bytes:
        response = await self.http.get(f"/sandbox/files/{file_id}")
        if response.status_code != 200:
            raise RuntimeError(f"sandbox has no file {file_id!r}: {response.text}")
        return response.content

    async def delivered(self, update_id: int) -> bool:
        return (await self._call("GET", f"/sandbox/updates/{update_id}"))["delivered"]

    async def reset(self) -> None:
        await self._call("POST", "/sandbox/reset")

    async def settle(self, update_id: int) -> None:
        """Wait until the bot has handled ``update_id``.

        With a ``settle`` callable (an exact "handled" hook from the test) that is used;
        otherwise: until the update is delivered and the bot then made no request for 0.25 s.
        """
        if self._settle is not None:
            await self._settle(update_id)
            return
        response = await self.http.get(
            f"/sandbox/updates/{update_id}/settle",
            params={"quiet": 0.25, "timeout": self.timeout},
        )
        body = response.json()
        if response.status_code == 504:
            raise TimeoutError(body["error"])
        if response.status_code != 200:
            raise RuntimeError(f"settle({update_id}) -> {response.status_code}: {body}")


class Person:
    """A user talking to the bot in their private chat (chat id == user id)."""

    def __init__(
        self, sandbox: Sandbox, user_id: int, first_name: str, language_code: str = "en"
    ) -> None:
        self.sandbox = sandbox
        self.user_id = user_id
        self.chat_id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.last_sent_id: int | None = None  # the message_id of what this person last sent

    def _user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }

    async def _inject(self, **body: Any) -> list[SentMessage]:
        sent = await self.sandbox.inject({"user": self._user(), **body})
        if "edit_of" not in body:
            self.last_sent_id = sent["message_id"]
        await self.sandbox.settle(sent["update_id"])
        return await self.sandbox.events(sent["chat_id"], since=sent["event_count"])

    async def send(self, text: str) -> list[SentMessage]:
        """Send ``text``; returns what the bot did in this chat in response."""
        return await self._inject(text=text)

    async def send_sticker(self) -> list[SentMessage]:
        return await self._inject(sticker=True)

    async def send_photo(self, caption: str | None = None) -> list[SentMessage]:
        return await self.send_media("photo", caption)

    async def send_voice(self, caption: str | None = None) -> list[SentMessage]:
        return await self.send_media("voice", caption)

    async def send_media(self, kind: str, caption: str | None = None) -> list[SentMessage]:
        """Send a stub ``kind`` (photo, video, document, audio, voice, animation), with a
        caption if given."""
        extra = {"caption": caption} if caption is not None else {}
        return await self._inject(**{kind: True}, **extra)

    async def forward(self, text: str, from_name: str = "Sam") -> list[SentMessage]:
        """Forward someone else's text message (``forward_origin`` names ``from_name``)."""
        return await self._inject(text=text, forwarded_from=from_name)

    async def send_in(self, chat_id: int, text: str) -> list[SentMessage]:
        """Send ``text`` in a group chat; returns the new events in that group."""
        return await self._inject(chat_id=chat_id, text=text)

    async def edit(self, message_id: int, text: str) -> list[SentMessage]:
        """Edit one of this person's earlier messages (an edited_message update)."""
        return await self._inject(edit_of=message_id, text=text)

    async def edit_caption(self, message_id: int, caption: str) -> list[SentMessage]:
        """Edit the caption of one of this person's earlier media messages."""
        return await self._inject(edit_of=message_id, caption=caption)

    async def messages(self) -> list[SentMessage]:
        return await self.sandbox.events(self.chat_id)

    async def last_message(self) -> SentMessage:
        """The bot's latest sent/edited message in this chat."""
        events = await self.messages()
        for event in reversed(events):
            if event.event != "deleted":
                return event
        raise AssertionError(f"the bot sent nothing to chat {self.chat_id}; events: {events}")

    async def press(self, label: str, message: SentMessage | None = None) -> list[SentMessage]:
        """Press the inline button ``label`` (or a reply-keyboard button: sends its text)."""
        events = await self.messages()
        target = message or _latest_with_inline_keyboard(events)
        if target is not None:
            try:
                data = target.data_for(label)
            except ButtonNotFound:
                if message is not None or not _reply_keyboard_has(events, label):
                    raise
            else:
                return await self.press_data(data, target.message_id)
        keyboard = _current_reply_keyboard(events)
        labels = [b for row in keyboard for b in row]
        if keyboard:
            return await self.send(_match(label, labels, str, "the reply keyboard"))
        raise ButtonNotFound(
            f"no inline or reply keyboard in chat {self.chat_id}; events: {events}"
        )

    async def press_data(self, data: str, message_id: int) -> list[SentMessage]:
        """Inject a press with arbitrary ``data`` on ``message_id`` (forged or stale presses)."""
        sent = await self.sandbox.inject_callback(self.user_id, self.chat_id, message_id, data)
        await self.sandbox.settle(sent["update_id"])
        return await self.sandbox.events(self.chat_id, since=sent["event_count"])


def _latest_with_inline_keyboard(events: list[SentMessage]) -> SentMessage | None:
    """The most recently sent/edited message whose current state has an inline keyboard."""
    current: dict[int, SentMessage] = {}
    order: list[int] = []
    for event in events:
        if event.event == "deleted":
            current.pop(event.message_id, None)
            continue
        current[event.message_id] = event
        if event.message_id in order:
            order.remove(event.message_id)
        order.append(event.message_id)
    for message_id in reversed(order):
        event = current.get(message_id)
        if event is not None and event.buttons:
            return event
    return None


def _current_reply_keyboard(events: list[SentMessage]) -> list[list[str]]:
    for event in reversed(events):
        markup = event.reply_markup or {}
        if event.event == "sent" and "keyboard" in markup:
            return event.reply_keyboard
        if event.event == "sent" and "remove_keyboard" in markup:
            return []
    return []


def _reply_keyboard_has(events: list[SentMessage], label: str) -> bool:
    labels = [b for row in _current_reply_keyboard(events) for b in row]
    return any(label == b for b in labels) or sum(label in b for b in labels) == 1
