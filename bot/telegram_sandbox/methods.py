"""Bot API methods with real behaviour; any other spec method answers a well-formed fake.

Parameters arrive here already decoded and checked against the spec (``spec.py``);
these handlers add the rules that need state or parsing, worded as Telegram words them:

* text: HTML parsed (``html_entities``), Markdown/MarkdownV2 accepted, other parse_mode ->
  ``Bad Request: unsupported parse_mode``; empty/whitespace after parsing -> ``Bad Request:
  message text is empty``; over 4096 UTF-16 units -> ``Bad Request: message is too long``;
  caption over 1024 -> ``Bad Request: message caption is too long``;
* chats: unknown -> 400 ``Bad Request: chat not found``; a known user without a private
  chat -> 403 ``Forbidden: bot can't initiate conversation with a user``; blocked -> 403
  ``Forbidden: bot was blocked by the user``;
* edits: unknown message -> ``Bad Request: message to edit not found``; same text,
  entities and markup -> ``Bad Request: message is not modified: ...``; a user's message ->
  ``Bad Request: message can't be edited``; text edit of a media message -> ``Bad Request:
  there is no text in the message to edit``;
* deleteMessage: unknown -> ``Bad Request: message to delete not found``;
* answerCallbackQuery: unknown or already answered id -> ``Bad Request: query is too old
  and response timeout expired or query ID is invalid``;
* reply_parameters naming a missing message -> ``Bad Request: message to be replied not
  found`` (unless allow_sending_without_reply);
* getUpdates: 409 ``Conflict: terminated by other getUpdates request; make sure that only
  one bot instance is running`` for the older of two concurrent polls, 409 ``Conflict:
  can't use getUpdates method while webhook is active; use deleteWebhook to delete the
  webhook first`` while a webhook is set;
* sendPhoto bytes that are not an image -> ``Bad Request: IMAGE_PROCESS_FAILED``; empty
  upload -> ``Bad Request: file must be non-empty``; unknown file_id -> ``Bad Request:
  wrong file identifier/HTTP URL specified``; getFile of one -> ``Bad Request: invalid
  file_id``;
* sendChatAction with an unknown action -> ``Bad Request: wrong type of chat action``;
* setMyCommands with more than 100 commands -> ``Bad Request: BOT_COMMANDS_TOO_MUCH``;
* setWebhook with a non-http(s) URL -> ``Bad Request: bad webhook: An HTTPS URL must be
  provided for webhook`` (plain http is allowed here, for local receivers); a secret
  token outside ``[A-Za-z0-9_-]`` -> ``Bad Request: secret token contains unallowed
  characters``.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .base import ApiError, Upload, bad_request, utf16_len
from .html_entities import HtmlError, parse_html, plain_markdown, strip_text
from .media import image_size
from .spec import ApiSpec, MethodSpec
from .state import DEFAULT_UPDATE_TYPES, ChatState, SandboxState
from .webhook import WebhookDelivery

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_RAW = {"editMessageText": "text", "editMessageCaption": "caption"}
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")

Params = dict[str, Any]


@dataclass(slots=True)
class BotCall:
    """Who is calling: the bot id from the token, and whether the client is still there."""

    bot_id: int
    alive: Callable[[], bool]


class BotApi:
    def __init__(self, spec: ApiSpec, state: SandboxState, webhook: WebhookDelivery) -> None:
        self.spec = spec
        self.state = state
        self.webhook = webhook
        sync: dict[str, Callable[[Params, BotCall], Any]] = {
            "getMe": self.get_me,
            "logOut": lambda p, c: True,
            "close": lambda p, c: True,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "answerCallbackQuery": self.answer_callback_query,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "sendChatAction": self.send_chat_action,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "getFile": self.get_file,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
        }
        self.sync_handlers = sync
        self.async_handlers: dict[str, Callable[[Params, BotCall], Awaitable[Any]]] = {
            "getUpdates": self.get_updates,
        }

    @property
    def real_methods(self) -> list[str]:
        return sorted([*self.sync_handlers, *self.async_handlers])

    async def dispatch(self, method: MethodSpec, params: Params, call: BotCall) -> Any:
        handler = self.sync_handlers.get(method.name)
        if handler is not None:
            return handler(params, call)
        waiter = self.async_handlers.get(method.name)
        if waiter is not None:
            return await waiter(params, call)
        return self.generic(method, params, call)

    # ------------------------------------------------------------------ updates

    async def get_updates(self, p: Params, call: BotCall) -> list[dict[str, Any]]:
        state = self.state
        if state.webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        state.terminate_poller("conflict")  # Telegram ends the older request
        if "offset" in p:
            state.confirm(p["offset"])
        state.set_allowed(p.get("allowed_updates"))
        limit = min(max(p.get("limit", 100), 1), 100)
        timeout = min(max(p.get("timeout", 0), 0), 50)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = state.select(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0:
                break
            waiter: asyncio.Future[str] = loop.create_future()
            state.poller = waiter
            state.poll_pulse.fire()
            try:
                reason = await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                reason = "timeout"
            finally:
                if state.poller is waiter:
                    state.poller = None
            if reason == "conflict":
                raise ApiError(409, POLL_CONFLICT)
            if reason == "webhook":
                raise ApiError(409, WEBHOOK_ACTIVE)
            if reason == "closing":
                return []
        if batch and call.alive():  # an abandoned poll must not count as delivery
            state.mark_delivered(batch)
        return batch

    def set_webhook(self, p: Params, call: BotCall) -> bool:
        url = p.get("url", "")
        if not url:
            return self.delete_webhook({}, call)
        if not re.match(r"https?://[^/\s]+", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        state = self.state
        if p.get("drop_pending_updates"):
            state.updates.clear()
        state.set_allowed(p.get("allowed_updates"))
        state.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": min(max(p.get("max_connections", 40), 1), 100),
            "ip_address": p.get("ip_address", "127.0.0.1"),
        }
        state.terminate_poller("webhook")
        self.webhook.restart()
        return True

    def delete_webhook(self, p: Params, call: BotCall) -> bool:
        if p.get("drop_pending_updates"):
            self.state.updates.clear()
        self.state.webhook = None
        self.webhook.restart()
        return True

    def get_webhook_info(self, p: Params, call: BotCall) -> dict[str, Any]:
        state = self.state
        hook = state.webhook or {}
        info: dict[str, Any] = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(state.updates),
        }
        if hook:
            info["max_connections"] = hook["max_connections"]
            info["ip_address"] = hook["ip_address"]
            if state.allowed_updates != DEFAULT_UPDATE_TYPES:
                info["allowed_updates"] = sorted(state.allowed_updates)
            for key in ("last_error_date", "last_error_message"):
                if key in hook:
                    info[key] = hook[key]
        return info

    # ------------------------------------------------------------------ bot profile

    def get_me(self, p: Params, call: BotCall) -> dict[str, Any]:
        return {
            **self.state.bot_user(call.bot_id),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @staticmethod
    def _commands_key(p: Params) -> str:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps([scope, p.get("language_code", "")], sort_keys=True)

    def set_my_commands(self, p: Params, call: BotCall) -> bool:
        if len(p["commands"]) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        self.state.commands[self._commands_key(p)] = p["commands"]
        return True

    def get_my_commands(self, p: Params, call: BotCall) -> list[dict[str, Any]]:
        return self.state.commands.get(self._commands_key(p), [])

    def delete_my_commands(self, p: Params, call: BotCall) -> bool:
        self.state.commands.pop(self._commands_key(p), None)
        return True

    # ------------------------------------------------------------------ sending

    def send_message(self, p: Params, call: BotCall) -> dict[str, Any]:
        text, entities = format_text(p["text"], p.get("parse_mode"), p.get("entities"))
        check_text(text)
        chat = self.state.chat_for_send(p["chat_id"])
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self._post(chat, call, "sendMessage", content, p, raw=p["text"])

    def send_photo(self, p: Params, call: BotCall) -> dict[str, Any]:
        caption = self._caption(p)
        photo = p["photo"]
        if isinstance(photo, Upload):
            size = image_size(photo.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            record = self.state.add_file(
                "photo", photo.data, photo.filename or "photo.jpg",
                photo.content_type or "image/jpeg", width=size[0], height=size[1],
            )  # fmt: skip
        else:
            record = self._file_by_reference(photo, "photo")
        chat = self.state.chat_for_send(p["chat_id"])
        content = {"photo": [photo_size(record)], **caption}
        return self._post(chat, call, "sendPhoto", content, p, raw=p.get("caption"), file=record)

    def send_document(self, p: Params, call: BotCall) -> dict[str, Any]:
        caption = self._caption(p)
        document = p["document"]
        if isinstance(document, Upload):
            if not document.data:
                raise bad_request("file must be non-empty")
            name = document.filename or "document"
            mime = document.content_type or guess_mime(name)
            record = self.state.add_file("document", document.data, name, mime)
        else:
            record = self._file_by_reference(document, "document")
        chat = self.state.chat_for_send(p["chat_id"])
        meta = {
            k: record[k]
            for k in ("file_id", "file_unique_id", "file_name", "mime_type", "file_size")
        }
        content = {"document": meta, **caption}
        return self._post(chat, call, "sendDocument", content, p, raw=p.get("caption"), file=record)

    def send_chat_action(self, p: Params, call: BotCall) -> bool:
        if p["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong type of chat action")
        self.state.chat_for_send(p["chat_id"])
        return True

    def _caption(self, p: Params) -> dict[str, Any]:
        if "caption" not in p:
            return {}
        caption, entities = format_text(
            p["caption"], p.get("parse_mode"), p.get("caption_entities")
        )
        if utf16_len(caption) > 1024:
            raise bad_request("message caption is too long")
        out: dict[str, Any] = {"caption": caption} if caption else {}
        if entities:
            out["caption_entities"] = entities
        return out

    def _file_by_reference(self, ref: str, kind: str) -> dict[str, Any]:
        record = self.state.files.get(ref)
        if record is not None:
            return record
        if re.match(r"https?://", ref):
            # No internet here: a URL stands for an empty remote file.
            name = ref.rsplit("/", 1)[-1] or kind
            return self.state.add_file(
                kind, b"", name, guess_mime(name), width=320, height=320, url=ref
            )
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _post(
        self,
        chat: ChatState,
        call: BotCall,
        method: str,
        content: dict[str, Any],
        p: Params,
        *,
        raw: str | None,
        file: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store a new bot message in ``chat``, log a "sent" event and return the Message."""
        reply_to = self._reply_target(chat, p)
        message_id = chat.next_message_id
        chat.next_message_id += 1
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self.state.bot_user(call.bot_id),
            "chat": chat.info,
            "date": int(time.time()),
            **content,
        }
        markup = p.get("reply_markup")
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # only inline keyboards belong to the message
        if p.get("protect_content"):
            message["has_protected_content"] = True
        if reply_to is not None:
            message["reply_to_message"] = {
                k: v for k, v in reply_to.items() if k != "reply_to_message"
            }
        record = {
            "message": message,
            "from_bot": True,
            "method": method,
            "raw_text": raw,
            "parse_mode": p.get("parse_mode"),
            "markup": markup,
            "protect": bool(p.get("protect_content")),
            "file": file,
        }
        chat.messages[message_id] = record
        self.state.add_event(chat, make_event("sent", chat, record))
        return message

    def _reply_target(self, chat: ChatState, p: Params) -> dict[str, Any] | None:
        reply = p.get("reply_parameters")
        if not reply:
            return None
        record = chat.messages.get(reply["message_id"]) if "chat_id" not in reply else None
        if record is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return record["message"]

    # ------------------------------------------------------------------ editing

    def _editable(self, p: Params) -> tuple[ChatState, dict[str, Any]]:
        if "inline_message_id" in p:
            raise bad_request("message to edit not found")  # no inline messages here
        if "chat_id" not in p:
            raise bad_request("chat_id is empty")
        if "message_id" not in p:
            raise bad_request("message identifier is not specified")
        chat = self.state.chat_for_send(p["chat_id"])
        record = chat.messages.get(p["message_id"])
        if record is None:
            raise bad_request("message to edit not found")
        if not record["from_bot"]:
            raise bad_request("message can't be edited")
        return chat, record

    def _apply_edit(
        self,
        chat: ChatState,
        record: dict[str, Any],
        changes: dict[str, Any],
        p: Params,
        method: str,
    ) -> dict[str, Any]:
        """Apply ``changes`` (None = remove) and the new markup, refusing a no-op edit."""
        old = record["message"]
        markup = p.get("reply_markup")  # leaving it out removes the inline keyboard
        same = (
            all(old.get(k) == v for k, v in changes.items()) and old.get("reply_markup") == markup
        )
        if same:
            raise bad_request(NOT_MODIFIED)
        message = {**old, **changes, "edit_date": int(time.time())}
        for key, value in changes.items():
            if value is None:
                del message[key]
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        record["message"] = message
        record["markup"] = markup
        record["method"] = method
        if method != "editMessageReplyMarkup":
            record["raw_text"], record["parse_mode"] = p.get(_RAW[method]), p.get("parse_mode")
        self.state.add_event(chat, make_event("edited", chat, record))
        return message

    def edit_message_text(self, p: Params, call: BotCall) -> dict[str, Any]:
        if "text" not in p:
            raise bad_request("message text is empty")
        text, entities = format_text(p["text"], p.get("parse_mode"), p.get("entities"))
        check_text(text)
        chat, record = self._editable(p)
        if "text" not in record["message"]:
            raise bad_request("there is no text in the message to edit")
        changes = {"text": text, "entities": entities or None}
        return self._apply_edit(chat, record, changes, p, "editMessageText")

    def edit_message_caption(self, p: Params, call: BotCall) -> dict[str, Any]:
        caption = self._caption(p)
        chat, record = self._editable(p)
        if "text" in record["message"]:
            raise bad_request("there is no caption in the message to edit")
        changes = {
            "caption": caption.get("caption"),
            "caption_entities": caption.get("caption_entities"),
        }
        return self._apply_edit(chat, record, changes, p, "editMessageCaption")

    def edit_message_reply_markup(self, p: Params, call: BotCall) -> dict[str, Any]:
        chat, record = self._editable(p)
        return self._apply_edit(chat, record, {}, p, "editMessageReplyMarkup")

    def delete_message(self, p: Params, call: BotCall) -> bool:
        chat = self.state.existing_chat(p["chat_id"])
        record = chat.messages.pop(p["message_id"], None)
        if record is None:
            raise bad_request("message to delete not found")
        self.state.add_event(chat, make_event("deleted", chat, record))
        return True

    def delete_messages(self, p: Params, call: BotCall) -> bool:
        chat = self.state.existing_chat(p["chat_id"])
        found = [m for m in p["message_ids"] if m in chat.messages]
        if not found:
            raise bad_request("message to delete not found")
        for message_id in found:
            self.state.add_event(chat, make_event("deleted", chat, chat.messages.pop(message_id)))
        return True

    # ------------------------------------------------------------------ callbacks, files, chats

    def answer_callback_query(self, p: Params, call: BotCall) -> bool:
        query = self.state.callback_queries.get(p["callback_query_id"])
        if query is None or query["answered"]:
            raise bad_request(QUERY_INVALID)
        query["answered"] = True
        self.state.callback_answers.append(
            {
                "callback_query_id": p["callback_query_id"],
                "chat_id": query["chat_id"],
                "message_id": query["message_id"],
                "text": p.get("text"),
                "show_alert": bool(p.get("show_alert", False)),
                "url": p.get("url"),
                "cache_time": p.get("cache_time", 0),
                "date": int(time.time()),
            }
        )
        return True

    def get_file(self, p: Params, call: BotCall) -> dict[str, Any]:
        record = self.state.files.get(p["file_id"])
        if record is None:
            raise bad_request("invalid file_id")
        return {k: record[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")}

    def get_chat(self, p: Params, call: BotCall) -> dict[str, Any]:
        chat_id = p["chat_id"]
        chat = self.state.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is not None:
            info = dict(chat.info)
        elif isinstance(chat_id, int) and chat_id in self.state.users:
            user = self.state.users[chat_id]
            info = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        else:
            raise bad_request("chat not found")
        return {
            **info,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": self.spec.fake("AcceptedGiftTypes"),
        }

    def get_chat_member(self, p: Params, call: BotCall) -> dict[str, Any]:
        self.state.existing_chat(p["chat_id"])
        if p["user_id"] == call.bot_id:
            return {"status": "member", "user": self.state.bot_user(call.bot_id)}
        user = self.state.users.get(p["user_id"])
        if user is None:
            raise bad_request("user not found")
        return {"status": "member", "user": user}

    # ------------------------------------------------------------------ everything else

    def generic(self, method: MethodSpec, p: Params, call: BotCall) -> Any:
        """Unmodelled methods: parameters were validated; answer a well-formed result."""
        returns = method.returns
        sends = method.name.startswith(("send", "copy", "forward")) and "chat_id" in p
        if sends and ("Message" in returns or "MessageId" in returns):
            chat = self.state.chat_for_send(p["chat_id"])
            message = self._post(chat, call, method.name, {}, p, raw=None)
            return {"message_id": message["message_id"]} if "MessageId" in returns else message
        if not returns or "Boolean" in returns:  # e.g. edit* methods: "Message or True"
            return True
        if returns[0] == "User":
            return self.state.bot_user(call.bot_id)
        return self.spec.fake(returns[0])


WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running"
)


def format_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]]]:
    """Apply parse_mode (or explicit entities) -> (text as the user sees it, entities)."""
    if entities is not None:
        return strip_text(text, entities)  # explicit entities win over parse_mode, as on Telegram
    if parse_mode is None:
        return text.strip(), []
    mode = parse_mode.lower()
    if mode == "html":
        try:
            return parse_html(text)
        except HtmlError as err:
            raise bad_request(f"can't parse entities: {err}") from None
    if mode in ("markdown", "markdownv2"):
        return plain_markdown(text), []
    raise bad_request("unsupported parse_mode")


def check_text(text: str) -> None:
    if not text:
        raise bad_request("message text is empty")
    if utf16_len(text) > 4096:
        raise bad_request("message is too long")


def guess_mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def photo_size(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "file_id": record["file_id"],
        "file_unique_id": record["file_unique_id"],
        "width": record.get("width", 0),
        "height": record.get("height", 0),
        "file_size": record["file_size"],
    }


def make_event(kind: str, chat: ChatState, record: dict[str, Any]) -> dict[str, Any]:
    """One item of ``GET /sandbox/chats/{id}/messages``.

    ``text``/``caption`` are exactly what the bot sent (HTML included, so tests can compare
    with their templates); ``plain_text`` and ``entities`` are what the user sees.
    """
    message = record["message"]
    event: dict[str, Any] = {
        "event": kind,
        "chat_id": chat.info["id"],
        "message_id": message["message_id"],
        "method": record.get("method"),
        "text": None,
        "plain_text": None,
        "parse_mode": None,
        "entities": [],
        "reply_markup": None,
        "protect_content": record.get("protect", False),
        "date": int(time.time()),
    }
    if kind == "deleted":
        return event
    raw = record.get("raw_text")
    if "text" in message:
        event["text"] = raw
        event["plain_text"] = message["text"]
        event["entities"] = message.get("entities", [])
    elif "caption" in message:
        event["caption"] = raw
        event["plain_text"] = message["caption"]
        event["entities"] = message.get("caption_entities", [])
    event["parse_mode"] = record.get("parse_mode")
    event["reply_markup"] = record.get("markup")
    file = record.get("file")
    if file is not None:
        keys = ("file_id", "file_unique_id", "file_name", "mime_type", "file_size")
        meta = {k: file[k] for k in keys}
        if "photo" in message:
            event["photo"] = {
                **meta,
                "width": file.get("width", 0),
                "height": file.get("height", 0),
            }
        else:
            event["document"] = meta
    return event
