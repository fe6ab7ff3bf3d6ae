"""Control side: the HTTP endpoints tests, the demo and benchmarks use to play the users.

Every endpoint lives under ``/sandbox`` and speaks JSON; errors answer
``{"ok": false, "error": "..."}`` with status 400 or 404. See README.md for examples.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .base import utf16_len
from .limits import TelegramLimits
from .media import STUB_VOICE, make_png
from .spec import ApiSpec
from .state import ChatState, Fault, SandboxState

# The media a user can send with a caption (a sticker has none).
_MEDIA = ("photo", "video", "document", "audio", "voice", "animation")
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]+)?")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _guard(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ControlError as err:
            return _reply({"ok": False, "error": err.message}, err.status)

    return wrapped


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ControlError(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _int(value: Any, what: str) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise ControlError(400, f"{what} must be an integer")


class Control:
    def __init__(self, spec: ApiSpec, state: SandboxState, on_reset: Callable[[], None]) -> None:
        self.spec = spec
        self.state = state
        self.on_reset = on_reset

    def routes(self) -> list[web.RouteDef]:
        g = _guard
        return [
            web.post("/sandbox/messages", g(self.post_message)),
            web.post("/sandbox/callbacks", g(self.post_callback)),
            web.get("/sandbox/chats/{chat_id}/messages", g(self.get_events)),
            web.post("/sandbox/chats/{chat_id}/block", g(self.block)),
            web.post("/sandbox/chats/{chat_id}/unblock", g(self.unblock)),
            web.get("/sandbox/callback_answers", g(self.get_callback_answers)),
            web.get("/sandbox/files/{file_id}", g(self.get_file)),
            web.post("/sandbox/faults", g(self.post_faults)),
            web.delete("/sandbox/faults", g(self.delete_faults)),
            web.post("/sandbox/limits", g(self.post_limits)),
            web.get("/sandbox/limits", g(self.get_limits)),
            web.delete("/sandbox/limits", g(self.delete_limits)),
            web.get("/sandbox/requests", g(self.get_requests)),
            web.get("/sandbox/updates/{update_id}", g(self.get_update)),
            web.get("/sandbox/updates/{update_id}/settle", g(self.settle)),
            web.post("/sandbox/reset", g(self.reset)),
        ]

    # ------------------------------------------------------------------ injecting users

    def _user(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ControlError(400, '"user" must be an object with "id" and "first_name"')
        user_id = _int(data.get("id"), "user.id")
        if user_id <= 0:
            raise ControlError(400, "user.id must be positive")
        first_name = data.get("first_name")
        if not isinstance(first_name, str) or not first_name:
            raise ControlError(400, "user.first_name must be a non-empty string")
        return self.state.upsert_user({**data, "id": user_id})

    async def post_message(self, request: web.Request) -> web.Response:
        body = await _body(request)
        state = self.state
        user = self._user(body.get("user"))
        chat_id = _int(body.get("chat_id", user["id"]), "chat_id")
        if chat_id == user["id"]:
            chat = state.private_chat(user)
        elif chat_id < 0:
            chat = state.group_chat(chat_id, body.get("chat_title"))
        else:
            raise ControlError(
                400, "chat_id must be the user's id (private chat) or negative (group)"
            )
        if "edit_of" in body:
            return _reply(self._edit(chat, user, body))
        content = self._content(body)
        message_id = chat.next_message_id
        chat.next_message_id += 1
        message = {
            "message_id": message_id,
            "from": user,
            "chat": chat.info,
            "date": int(time.time()),
            **content,
        }
        chat.messages[message_id] = {"message": message, "from_bot": False}
        update_id = state.add_update("message", dict(message))
        return _reply(
            {
                "update_id": update_id,
                "message_id": message_id,
                "chat_id": chat.info["id"],
                "event_count": len(chat.events),
            }
        )

    def _content(self, body: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        caption = body.get("caption")
        if caption is not None and (not isinstance(caption, str) or not caption):
            raise ControlError(400, '"caption" must be a non-empty string')
        if body.get("sticker"):
            record = state.add_file("sticker", make_png(8, 8), "sticker.webp", "image/webp")
            return {
                "sticker": {
                    **_file_meta(record),
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "🙂",
                }
            }
        media = [kind for kind in _MEDIA if body.get(kind)]
        if len(media) > 1:
            raise ControlError(400, f"one kind of media per message, not {', '.join(media)}")
        if media:
            content = self._media(media[0])
            if caption:
                content["caption"] = caption
            return self._forwarded(body, content)
        if caption is not None:
            raise ControlError(400, f'a "caption" goes with one of {", ".join(_MEDIA)}')
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise ControlError(
                400, f'give "text" (non-empty) or one of "sticker", {", ".join(_MEDIA)}'
            )
        return self._forwarded(body, _text_content(text))

    def _media(self, kind: str) -> dict[str, Any]:
        """A stub file of ``kind``, in the shape Telegram gives it in a message."""
        state = self.state
        if kind == "photo":
            record = state.add_file("photo", make_png(64, 48), "photo.png", "image/png")
            return {"photo": [{**_file_meta(record), "width": 64, "height": 48}]}
        if kind == "voice":
            record = state.add_file("voice", STUB_VOICE, "voice.ogg", "audio/ogg")
            return {"voice": {**_file_meta(record), "duration": 2, "mime_type": "audio/ogg"}}
        if kind == "audio":
            record = state.add_file("audio", STUB_VOICE, "song.ogg", "audio/ogg")
            return {"audio": {**_file_meta(record), "duration": 2, "mime_type": "audio/ogg"}}
        if kind == "document":
            record = state.add_file("document", b"%PDF-1.4\n", "notes.pdf", "application/pdf")
            meta = {**_file_meta(record), "file_name": "notes.pdf", "mime_type": "application/pdf"}
            return {"document": meta}
        moving = {"width": 64, "height": 48, "duration": 2, "mime_type": "video/mp4"}
        record = state.add_file(kind, b"\x00\x00\x00\x18ftypmp42", f"{kind}.mp4", "video/mp4")
        if kind == "video":
            return {"video": {**_file_meta(record), **moving}}
        # An animation (GIF) comes with a document field too, as on Telegram.
        animation = {**_file_meta(record), **moving, "file_name": "animation.mp4"}
        document = {**_file_meta(record), "file_name": "animation.mp4", "mime_type": "video/mp4"}
        return {"animation": animation, "document": document}

    def _forwarded(self, body: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        """``"forwarded_from": "<name>"``: the message is a forward of someone else's."""
        origin = body.get("forwarded_from")
        if origin is None:
            return content
        if not isinstance(origin, str) or not origin:
            raise ControlError(400, '"forwarded_from" must be a non-empty name')
        forward = {"type": "hidden_user", "sender_user_name": origin, "date": int(time.time())}
        return {**content, "forward_origin": forward}

    def _edit(self, chat: ChatState, user: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        message_id = _int(body["edit_of"], "edit_of")
        record = chat.messages.get(message_id)
        if record is None or record["from_bot"] or record["message"]["from"]["id"] != user["id"]:
            raise ControlError(
                400, f"no message {message_id} from user {user['id']} in chat {chat.info['id']}"
            )
        original = record["message"]
        message = {k: v for k, v in original.items() if k not in ("entities", "caption")}
        if any(kind in original for kind in _MEDIA):
            # A media message's edit changes its caption.
            caption = body.get("caption")
            if not isinstance(caption, str) or not caption:
                raise ControlError(400, 'an edit of a media message needs a non-empty "caption"')
            message["caption"] = caption
        else:
            text = body.get("text")
            if not isinstance(text, str) or not text:
                raise ControlError(400, 'an edit needs a non-empty "text"')
            message.update(_text_content(text))
        message["edit_date"] = int(time.time())
        record["message"] = message
        update_id = self.state.add_update("edited_message", dict(message))
        return {
            "update_id": update_id,
            "message_id": message_id,
            "chat_id": chat.info["id"],
            "event_count": len(chat.events),
        }

    async def post_callback(self, request: web.Request) -> web.Response:
        body = await _body(request)
        state = self.state
        user_id = _int(body.get("user_id"), "user_id")
        chat_id = _int(body.get("chat_id", user_id), "chat_id")
        message_id = _int(body.get("message_id"), "message_id")
        data = body.get("data")
        if not isinstance(data, str):
            raise ControlError(400, '"data" must be a string')
        chat = state.chats.get(chat_id)
        record = chat.messages.get(message_id) if chat is not None else None
        if chat is None or record is None:
            raise ControlError(400, f"message {message_id} does not exist in chat {chat_id}")
        user = state.users.get(user_id) or state.upsert_user(
            {"id": user_id, "first_name": f"User {user_id}"}
        )
        query_id = str(4_000_000_000_000 + state.next_id())
        query = {
            "id": query_id,
            "from": user,
            "message": dict(record["message"]),
            "chat_instance": str(1_000_000_000_000 + abs(chat_id)),
            "data": data,
        }
        state.callback_queries[query_id] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "answered": False,
        }
        update_id = state.add_update("callback_query", query)
        return _reply(
            {"update_id": update_id, "callback_query_id": query_id, "event_count": len(chat.events)}
        )

    # ------------------------------------------------------------------ reading what the bot did

    async def get_events(self, request: web.Request) -> web.Response:
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        since = _int(request.query.get("since", "0"), "since")
        chat = self.state.chats.get(chat_id)
        return _reply(chat.events[since:] if chat is not None else [])

    async def get_callback_answers(self, request: web.Request) -> web.Response:
        answers = self.state.callback_answers
        if "chat_id" in request.query:
            chat_id = _int(request.query["chat_id"], "chat_id")
            answers = [a for a in answers if a["chat_id"] == chat_id]
        return _reply(answers)

    async def get_file(self, request: web.Request) -> web.Response:
        record = self.state.files.get(request.match_info["file_id"])
        if record is None:
            raise ControlError(404, "no such file_id")
        return web.Response(body=record["data"], content_type=record["mime_type"])

    async def get_requests(self, request: web.Request) -> web.Response:
        log = self.state.requests
        method = request.query.get("method")
        if method:
            log = [entry for entry in log if entry["method"] == method]
        return _reply(log)

    async def get_update(self, request: web.Request) -> web.Response:
        update_id = _int(request.match_info["update_id"], "update_id")
        if update_id not in self.state.delivered:
            raise ControlError(404, f"no update {update_id}")
        return _reply({"update_id": update_id, "delivered": self.state.delivered[update_id]})

    async def settle(self, request: web.Request) -> web.Response:
        """Wait until the update is delivered, then until the bot is quiet for ``quiet`` s."""
        state = self.state
        update_id = _int(request.match_info["update_id"], "update_id")
        if update_id not in state.delivered:
            raise ControlError(404, f"no update {update_id}")
        quiet = float(request.query.get("quiet", "0.25"))
        timeout = float(request.query.get("timeout", "10"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not state.delivered.get(update_id):
            wake = state.delivery_pulse.current
            remaining = deadline - loop.time()
            if remaining <= 0:
                return _reply(
                    {
                        "delivered": False,
                        "settled": False,
                        "error": f"update {update_id} was not delivered within {timeout} s: is the "
                        "bot polling getUpdates, or is its webhook reachable?",
                    },
                    504,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), remaining)
        delivered_seen = time.monotonic()
        while True:
            idle = time.monotonic() - max(state.last_activity, delivered_seen)
            if state.inflight == 0 and idle >= quiet:
                return _reply({"delivered": True, "settled": True})
            remaining = deadline - loop.time()
            if remaining <= 0:
                return _reply(
                    {
                        "delivered": True,
                        "settled": False,
                        "error": f"update {update_id} was delivered but the bot kept making "
                        f"requests for {timeout} s (never quiet for {quiet} s)",
                    },
                    504,
                )
            pause = quiet - idle if state.inflight == 0 else 0.02
            await asyncio.sleep(
                min(max(pause, 0.005), remaining)
            )  # quiet time is wall-clock by definition

    # ------------------------------------------------------------------ steering

    async def block(self, request: web.Request) -> web.Response:
        self.state.blocked.add(_int(request.match_info["chat_id"], "chat_id"))
        return _reply({"ok": True})

    async def unblock(self, request: web.Request) -> web.Response:
        self.state.blocked.discard(_int(request.match_info["chat_id"], "chat_id"))
        return _reply({"ok": True})

    async def post_faults(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if body.get("clear"):
            self.state.faults.clear()
            return _reply({"ok": True, "faults": 0})
        self.state.faults.append(self._fault(body))
        return _reply({"ok": True, "faults": len(self.state.faults)})

    def _fault(self, body: dict[str, Any]) -> Fault:
        known = {"error_code", "rate", "count", "retry_after", "latency", "methods"}
        unknown = set(body) - known
        if unknown:
            raise ControlError(400, f"unknown fault fields: {', '.join(sorted(unknown))}")
        code = body.get("error_code")
        if code is not None and (type(code) is not int or not 400 <= code <= 599):
            raise ControlError(400, "error_code must be an HTTP error status (400-599)")
        rate = body.get("rate")
        if rate is not None and (not isinstance(rate, int | float) or not 0 <= rate <= 1):
            raise ControlError(400, "rate must be between 0 and 1")
        count = body.get("count")
        if count is not None and (type(count) is not int or count < 0):
            raise ControlError(400, "count must be a non-negative integer")
        latency = body.get("latency", 0)
        if not isinstance(latency, int | float) or latency < 0:
            raise ControlError(400, "latency must be a non-negative number of seconds")
        if code is None and not latency:
            raise ControlError(400, "a fault needs error_code and/or latency")
        methods = body.get("methods")
        if methods is not None:
            if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
                raise ControlError(400, "methods must be a list of method names")
            missing = [m for m in methods if m not in self.spec.methods]
            if missing:
                raise ControlError(400, f"not Bot API methods: {', '.join(missing)}")
        return Fault(
            error_code=code,
            rate=rate,
            remaining=count,
            retry_after=int(body.get("retry_after", 1)),
            latency=float(latency),
            methods=frozenset(methods) if methods is not None else None,
        )

    async def post_limits(self, request: web.Request) -> web.Response:
        """Enforce Telegram's rate limits from now on (limits.py); fields override the
        defaults: overall, per_chat, chat_burst, per_group, paid."""
        body = await _body(request)
        known = {"overall", "per_chat", "chat_burst", "per_group", "paid"}
        unknown = set(body) - known
        if unknown:
            raise ControlError(400, f"unknown limit fields: {', '.join(sorted(unknown))}")
        for name, value in body.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ControlError(400, f"{name} must be a positive number")
        self.state.limits = TelegramLimits(**body)
        return _reply({"ok": True})

    async def get_limits(self, request: web.Request) -> web.Response:
        limits = self.state.limits
        if limits is None:
            return _reply({"ok": True, "enforced": False})
        return _reply(
            {
                "ok": True,
                "enforced": True,
                "sent": len(limits.sent_at),
                "refused": limits.refused,
                "busiest_second": limits.busiest_second(),
                "paid_sent": limits.paid_sent,
                "paid_over_free": limits.paid_over_free,
            }
        )

    async def delete_limits(self, request: web.Request) -> web.Response:
        self.state.limits = None
        return _reply({"ok": True})

    async def delete_faults(self, request: web.Request) -> web.Response:
        self.state.faults.clear()
        return _reply({"ok": True, "faults": 0})

    async def reset(self, request: web.Request) -> web.Response:
        self.state.clear()
        self.on_reset()
        return _reply({"ok": True})


def _file_meta(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("file_id", "file_unique_id", "file_size")}


def _text_content(text: str) -> dict[str, Any]:
    """A user's text, with the bot_command entity Telegram adds to a leading /command."""
    content: dict[str, Any] = {"text": text}
    match = _COMMAND_RE.match(text)
    if match and (match.end() == len(text) or text[match.end()].isspace()):
        content["entities"] = [
            {"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}
        ]
    return content
