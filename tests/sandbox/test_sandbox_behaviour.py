"""Conformance of the stateful rules: chats, edits, callbacks, updates, webhooks, faults,
request encodings and files. Direct HTTP against the sandbox, no bot library."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.telegram_sandbox import SandboxServer
from bot.telegram_sandbox.media import make_png

from .conftest import TOKEN, USER_ID, BotClient

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
KEYBOARD = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}


async def inject(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("user", {"id": USER_ID, "first_name": "Ana"})
    response = await http.post("/sandbox/messages", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def events(http: httpx.AsyncClient, chat_id: int) -> list[dict[str, Any]]:
    return (await http.get(f"/sandbox/chats/{chat_id}/messages")).json()


# ---------------------------------------------------------------- chats


async def test_unknown_chat_is_not_found(tg: BotClient) -> None:
    assert await tg.error("sendMessage", chat_id=999, text="hi") == (
        400,
        "Bad Request: chat not found",
    )
    assert await tg.error("sendMessage", chat_id="@somebody", text="hi") == (
        400,
        "Bad Request: chat not found",
    )


async def test_bot_cannot_initiate_a_private_conversation(
    tg: BotClient, http: httpx.AsyncClient
) -> None:
    # Bo is known from a group, but never wrote to the bot privately.
    await inject(http, user={"id": 77, "first_name": "Bo"}, chat_id=-100, text="hello all")
    assert await tg.error("sendMessage", chat_id=77, text="hi") == (
        403,
        "Forbidden: bot can't initiate conversation with a user",
    )
    group = await tg.ok("sendMessage", chat_id=-100, text="hi group")
    assert group["chat"] == {"id": -100, "type": "group", "title": "Group -100"}


async def test_blocked_chat_is_forbidden_until_unblocked(
    tg: BotClient, http: httpx.AsyncClient, user_chat: int
) -> None:
    await http.post(f"/sandbox/chats/{user_chat}/block")
    assert await tg.error("sendMessage", chat_id=user_chat, text="hi") == (
        403,
        "Forbidden: bot was blocked by the user",
    )
    await http.post(f"/sandbox/chats/{user_chat}/unblock")
    await tg.ok("sendMessage", chat_id=user_chat, text="hi")


async def test_message_ids_are_shared_per_chat(tg: BotClient, http: httpx.AsyncClient) -> None:
    first = await inject(http, text="one")
    sent = await tg.ok("sendMessage", chat_id=USER_ID, text="two")
    second = await inject(http, text="three")
    assert [first["message_id"], sent["message_id"], second["message_id"]] == [1, 2, 3]
    other = await inject(http, user={"id": 5, "first_name": "Cy"}, text="elsewhere")
    assert other["message_id"] == 1
    assert isinstance(sent["date"], int) and abs(sent["date"] - time.time()) < 5
    assert sent["from"] == {
        "id": 123456,
        "is_bot": True,
        "first_name": "Waypoint",
        "username": "waypoint_sandbox_bot",
    }


async def test_reply_to_a_missing_message(tg: BotClient, user_chat: int) -> None:
    error = await tg.error(
        "sendMessage", chat_id=user_chat, text="hi", reply_parameters={"message_id": 99}
    )
    assert error == (400, "Bad Request: message to be replied not found")
    reply = await tg.ok(
        "sendMessage", chat_id=user_chat, text="hi", reply_parameters={"message_id": 1}
    )
    assert reply["reply_to_message"]["text"] == "hi"


async def test_get_chat_and_chat_action(tg: BotClient, user_chat: int) -> None:
    chat = await tg.ok("getChat", chat_id=user_chat)
    assert (chat["id"], chat["type"], chat["first_name"]) == (user_chat, "private", "Ana")
    assert await tg.ok("sendChatAction", chat_id=user_chat, action="typing") is True
    assert await tg.error("sendChatAction", chat_id=user_chat, action="dancing") == (
        400,
        "Bad Request: wrong type of chat action",
    )


# ---------------------------------------------------------------- edits and deletes


async def test_edit_text_rules(tg: BotClient, http: httpx.AsyncClient, user_chat: int) -> None:
    sent = await tg.ok("sendMessage", chat_id=user_chat, text="<b>v1</b>", parse_mode="HTML",
                       reply_markup=KEYBOARD)  # fmt: skip
    message_id = sent["message_id"]
    same = {"chat_id": user_chat, "message_id": message_id, "parse_mode": "HTML"}
    assert await tg.error("editMessageText", text="<b>v1</b>", reply_markup=KEYBOARD, **same) == (
        400,
        NOT_MODIFIED,
    )
    # Dropping the keyboard is a change (leaving reply_markup out removes it).
    edited = await tg.ok("editMessageText", text="<b>v1</b>", **same)
    assert "reply_markup" not in edited and edited["edit_date"] >= sent["date"]
    edited = await tg.ok("editMessageText", text="v2", chat_id=user_chat, message_id=message_id)
    assert edited["text"] == "v2" and "entities" not in edited
    assert await tg.error("editMessageText", text="x", chat_id=user_chat, message_id=999) == (
        400,
        "Bad Request: message to edit not found",
    )
    assert await tg.error("editMessageText", text="x", chat_id=user_chat, message_id=1) == (
        400,
        "Bad Request: message can't be edited",
    )
    log = await events(http, user_chat)
    assert [e["event"] for e in log] == ["sent", "edited", "edited"]
    assert log[0]["text"] == "<b>v1</b>" and log[0]["plain_text"] == "v1"
    assert log[2]["method"] == "editMessageText"


async def test_edit_reply_markup_rules(tg: BotClient, user_chat: int) -> None:
    sent = await tg.ok("sendMessage", chat_id=user_chat, text="q", reply_markup=KEYBOARD)
    ids = {"chat_id": user_chat, "message_id": sent["message_id"]}
    assert await tg.error("editMessageReplyMarkup", reply_markup=KEYBOARD, **ids) == (
        400,
        NOT_MODIFIED,
    )
    other = {"inline_keyboard": [[{"text": "No", "callback_data": "no"}]]}
    assert (await tg.ok("editMessageReplyMarkup", reply_markup=other, **ids))[
        "reply_markup"
    ] == other
    assert "reply_markup" not in await tg.ok("editMessageReplyMarkup", **ids)
    assert await tg.error("editMessageReplyMarkup", **ids) == (400, NOT_MODIFIED)
    missing = {"chat_id": user_chat, "message_id": 404}
    assert await tg.error("editMessageReplyMarkup", **missing) == (
        400,
        "Bad Request: message to edit not found",
    )


async def test_delete_message(tg: BotClient, http: httpx.AsyncClient, user_chat: int) -> None:
    sent = await tg.ok("sendMessage", chat_id=user_chat, text="bye")
    ids = {"chat_id": user_chat, "message_id": sent["message_id"]}
    assert await tg.ok("deleteMessage", **ids) is True
    assert await tg.error("deleteMessage", **ids) == (
        400,
        "Bad Request: message to delete not found",
    )
    assert [e["event"] for e in await events(http, user_chat)] == ["sent", "deleted"]


# ---------------------------------------------------------------- callback queries


async def test_callback_queries(tg: BotClient, http: httpx.AsyncClient, user_chat: int) -> None:
    sent = await tg.ok("sendMessage", chat_id=user_chat, text="q", reply_markup=KEYBOARD)
    press = {"user_id": USER_ID, "chat_id": user_chat, "message_id": sent["message_id"]}
    response = await http.post("/sandbox/callbacks", json={**press, "data": "forged"})
    query_id = response.json()["callback_query_id"]
    (update,) = await tg.ok("getUpdates", offset=2)  # the injected "hi" was update 1
    query = update["callback_query"]
    assert query["id"] == query_id and query["data"] == "forged"
    assert query["message"]["reply_markup"] == KEYBOARD and query["chat_instance"]
    assert query["from"]["id"] == USER_ID
    answered = await tg.ok("answerCallbackQuery", callback_query_id=query_id, text="Done")
    assert answered is True
    invalid = (
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    assert await tg.error("answerCallbackQuery", callback_query_id=query_id) == invalid
    assert await tg.error("answerCallbackQuery", callback_query_id="nope") == invalid
    answers = (await http.get("/sandbox/callback_answers", params={"chat_id": user_chat})).json()
    assert [(a["callback_query_id"], a["text"], a["show_alert"]) for a in answers] == [
        (query_id, "Done", False)
    ]
    missing = await http.post("/sandbox/callbacks", json={**press, "message_id": 99, "data": "x"})
    assert missing.status_code == 400


# ---------------------------------------------------------------- getUpdates


async def test_get_updates_offset_and_limit(tg: BotClient, http: httpx.AsyncClient) -> None:
    for n in range(5):
        await inject(http, text=f"m{n}")
    updates = await tg.ok("getUpdates", limit=2)
    assert [u["update_id"] for u in updates] == [1, 2]
    assert updates[0]["message"]["text"] == "m0"
    assert [u["update_id"] for u in await tg.ok("getUpdates", offset=3)] == [3, 4, 5]
    # The offset confirmed 1 and 2 for good.
    assert [u["update_id"] for u in await tg.ok("getUpdates")] == [3, 4, 5]
    assert [u["update_id"] for u in await tg.ok("getUpdates", offset=-1)] == [5]
    assert [u["update_id"] for u in await tg.ok("getUpdates")] == [5]
    assert await tg.ok("getUpdates", offset=6) == []
    delivered = (await http.get("/sandbox/updates/5")).json()
    assert delivered == {"update_id": 5, "delivered": True}


async def test_get_updates_allowed_updates(tg: BotClient, http: httpx.AsyncClient) -> None:
    sent = await inject(http, text="m")
    await http.post(
        "/sandbox/callbacks",
        json={
            "user_id": USER_ID,
            "chat_id": USER_ID,
            "message_id": sent["message_id"],
            "data": "d",
        },
    )
    only = await tg.ok("getUpdates", allowed_updates=["callback_query"])
    assert [next(k for k in u if k != "update_id") for u in only] == ["callback_query"]


async def test_long_poll_wakes_when_an_update_arrives(
    tg: BotClient, http: httpx.AsyncClient, server: SandboxServer
) -> None:
    poll = asyncio.create_task(tg.ok("getUpdates", timeout=20))
    await poll_waiting(server)
    started = time.monotonic()
    await inject(http, text="wake up")
    updates = await asyncio.wait_for(poll, 5)
    assert updates[0]["message"]["text"] == "wake up"
    assert time.monotonic() - started < 2


async def test_long_poll_times_out_empty(tg: BotClient) -> None:
    started = time.monotonic()
    assert await tg.ok("getUpdates", timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 3


async def test_second_get_updates_terminates_the_first(
    tg: BotClient, http: httpx.AsyncClient, server: SandboxServer
) -> None:
    first = asyncio.create_task(tg.call("getUpdates", timeout=20))
    await poll_waiting(server)
    second = asyncio.create_task(tg.call("getUpdates", timeout=20))
    body = await asyncio.wait_for(first, 5)
    assert (body["error_code"], body["description"]) == (
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running",
    )
    await inject(http, text="for the second")
    assert (await asyncio.wait_for(second, 5))["ok"] is True


async def test_get_updates_conflicts_with_a_webhook(tg: BotClient) -> None:
    await tg.ok("setWebhook", url="http://127.0.0.1:9/hook")
    assert await tg.error("getUpdates") == (
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first",
    )
    await tg.ok("deleteWebhook")
    assert await tg.ok("getUpdates") == []


async def poll_waiting(server: SandboxServer) -> None:
    """Until a getUpdates long poll is parked in the sandbox (bounded condition check)."""
    state = server.state
    parked = state.poll_pulse.current
    if state.poller is None or state.poller.done():
        await asyncio.wait_for(parked.wait(), 5)


# ---------------------------------------------------------------- webhook


class Receiver:
    """A tiny webhook endpoint that fails its first ``failures`` deliveries with 500."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[dict[str, Any], str | None]] = []
        self.accepted: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.calls.append((update, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=500)
        await self.accepted.put(update)
        return web.Response(text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    hook = Receiver(failures=2)
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield hook, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


async def test_webhook_delivery_with_secret_and_retry(
    tg: BotClient, http: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    first = await inject(http, text="queued before the hook")
    await tg.ok("setWebhook", url=url, secret_token="s3cret-token_1")
    second = await inject(http, text="after")
    got = [await asyncio.wait_for(hook.accepted.get(), 10) for _ in range(2)]
    assert [u["update_id"] for u in got] == [first["update_id"], second["update_id"]]
    assert len(hook.calls) == 4  # two 500s for the first update, then both accepted
    assert all(secret == "s3cret-token_1" for _, secret in hook.calls)
    assert [u["update_id"] for u, _ in hook.calls[:3]] == [first["update_id"]] * 3
    info = await tg.ok("getWebhookInfo")
    assert info["url"] == url and info["pending_update_count"] == 0
    assert "500" in info["last_error_message"]
    assert (await http.get(f"/sandbox/updates/{second['update_id']}")).json()["delivered"]


async def test_webhook_settings(tg: BotClient, http: httpx.AsyncClient) -> None:
    assert await tg.error("setWebhook", url="ftp://x.org") == (
        400,
        "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
    )
    assert await tg.error("setWebhook", url="https://x.org", secret_token="bad token!") == (
        400,
        "Bad Request: secret token contains unallowed characters",
    )
    await inject(http, text="pending")
    await tg.ok("setWebhook", url="http://127.0.0.1:9/unreachable", max_connections=5)
    info = await tg.ok("getWebhookInfo")
    assert (info["pending_update_count"], info["max_connections"]) == (1, 5)
    await tg.ok("deleteWebhook", drop_pending_updates=True)
    assert await tg.ok("getWebhookInfo") == {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": 0,
    }


# ---------------------------------------------------------------- faults


async def test_fault_429_with_retry_after(
    tg: BotClient, http: httpx.AsyncClient, user_chat: int
) -> None:
    await http.post("/sandbox/faults", json={"error_code": 429, "retry_after": 7})
    body = await tg.call("sendMessage", chat_id=user_chat, text="hi")
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    await tg.ok("getMe")  # getMe/getUpdates are not faulted by default
    await http.delete("/sandbox/faults")
    await tg.ok("sendMessage", chat_id=user_chat, text="hi")


async def test_fault_count_then_success(
    tg: BotClient, http: httpx.AsyncClient, user_chat: int
) -> None:
    fault = {"error_code": 500, "count": 2, "methods": ["sendMessage"]}
    assert (await http.post("/sandbox/faults", json=fault)).status_code == 200
    for _ in range(2):
        assert await tg.error("sendMessage", chat_id=user_chat, text="hi") == (
            500,
            "Internal Server Error",
        )
    await tg.ok("sendMessage", chat_id=user_chat, text="hi")
    log = (await http.get("/sandbox/requests", params={"method": "sendMessage"})).json()
    assert [entry["ok"] for entry in log] == [False, False, True]
    assert log[0]["error_code"] == 500 and log[0]["params"]["text"] == "hi"


async def test_fault_502_rate_and_latency(
    tg: BotClient, http: httpx.AsyncClient, user_chat: int
) -> None:
    await http.post(
        "/sandbox/faults", json={"error_code": 502, "rate": 1.0, "methods": ["getChat"]}
    )
    assert await tg.error("getChat", chat_id=user_chat) == (502, "Bad Gateway")
    await http.post("/sandbox/faults", json={"clear": True})
    await http.post("/sandbox/faults", json={"latency": 0.3})
    started = time.monotonic()
    await tg.ok("sendMessage", chat_id=user_chat, text="slow")
    assert time.monotonic() - started >= 0.3
    bad = await http.post("/sandbox/faults", json={"error_code": 429, "methods": ["sendMesage"]})
    assert bad.status_code == 400


async def test_invalid_requests_are_refused_before_faults(
    tg: BotClient, http: httpx.AsyncClient
) -> None:
    await http.post("/sandbox/faults", json={"error_code": 500, "count": 1})
    assert (await tg.error("sendMessage", chat_id=1, text=""))[0] == 400
    assert (await tg.error("sendMessage", chat_id=1, text="x"))[0] == 500  # the count is still 1


# ---------------------------------------------------------------- request encodings


async def test_form_json_query_and_multipart_bodies(
    http: httpx.AsyncClient, user_chat: int
) -> None:
    url = f"/bot{TOKEN}/sendMessage"
    markup = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    form = await http.post(
        url, data={"chat_id": str(user_chat), "text": "form", "reply_markup": markup}
    )
    as_json = await http.post(
        url,
        json={
            "chat_id": user_chat,
            "text": "json",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
        },
    )
    query = await http.get(url, params={"chat_id": user_chat, "text": "query"})
    multipart = await http.post(
        url,
        data={"chat_id": str(user_chat), "text": "multipart"},
        files={"unused_but_named": ("x.txt", b"x", "text/plain")},
    )
    for response, text in [(form, "form"), (as_json, "json"), (query, "query")]:
        assert response.status_code == 200, response.text
        assert response.json()["result"]["text"] == text
    assert form.json()["result"]["reply_markup"] == as_json.json()["result"]["reply_markup"]
    # A file part that no parameter uses is an unknown parameter too.
    assert multipart.json()["description"] == 'Bad Request: unknown parameter "unused_but_named"'
    bad_json = await http.post(url, content=b"{nope", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400


async def test_send_document_bytes_are_kept(
    tg: BotClient, http: httpx.AsyncClient, user_chat: int
) -> None:
    payload = b"%PDF-1.4 plan\n" * 100
    response = await tg.raw(
        "sendDocument",
        data={"chat_id": str(user_chat), "caption": "<i>Your plan</i>", "parse_mode": "HTML"},
        files={"document": ("plan.pdf", payload, "application/pdf")},
    )
    message = response.json()["result"]
    document = message["document"]
    assert (document["file_name"], document["mime_type"], document["file_size"]) == (
        "plan.pdf",
        "application/pdf",
        len(payload),
    )
    assert message["caption"] == "Your plan"
    assert (await http.get(f"/sandbox/files/{document['file_id']}")).content == payload
    file = await tg.ok("getFile", file_id=document["file_id"])
    assert (await http.get(f"/file/bot{TOKEN}/{file['file_path']}")).content == payload
    (event,) = await events(http, user_chat)
    assert event["document"]["file_id"] == document["file_id"]
    assert event["caption"] == "<i>Your plan</i>"
    # Re-sending by file_id reuses the stored file.
    again = await tg.ok("sendDocument", chat_id=user_chat, document=document["file_id"])
    assert again["document"]["file_size"] == len(payload)
    assert await tg.error("sendDocument", chat_id=user_chat, document="no-such-id") == (
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    )
    assert await tg.error("getFile", file_id="no-such-id") == (400, "Bad Request: invalid file_id")
    empty = await tg.raw(
        "sendDocument",
        data={"chat_id": str(user_chat)},
        files={"document": ("e.txt", b"", "text/plain")},
    )
    assert empty.json()["description"] == "Bad Request: file must be non-empty"


async def test_photo_size_is_read_from_the_png(
    tg: BotClient, http: httpx.AsyncClient, user_chat: int
) -> None:
    response = await tg.raw(
        "sendPhoto",
        data={"chat_id": str(user_chat)},
        files={"photo": ("chart.png", make_png(37, 21), "image/png")},
    )
    (size,) = response.json()["result"]["photo"]
    assert (size["width"], size["height"]) == (37, 21)
    (event,) = await events(http, user_chat)
    assert (event["photo"]["width"], event["photo"]["height"]) == (37, 21)
    not_image = await tg.raw(
        "sendPhoto",
        data={"chat_id": str(user_chat)},
        files={"photo": ("x.png", b"definitely not an image", "image/png")},
    )
    assert not_image.json()["description"] == "Bad Request: IMAGE_PROCESS_FAILED"


async def test_attach_references(tg: BotClient, user_chat: int) -> None:
    response = await tg.raw(
        "sendPhoto",
        data={"chat_id": str(user_chat), "photo": "attach://pic"},
        files={"pic": ("p.png", make_png(3, 2), "image/png")},
    )
    assert response.json()["result"]["photo"][0]["width"] == 3
    missing = await tg.raw("sendPhoto", data={"chat_id": str(user_chat), "photo": "attach://nope"})
    assert missing.status_code == 400


# ---------------------------------------------------------------- control side


async def test_injected_messages_have_telegram_shapes(
    tg: BotClient, http: httpx.AsyncClient
) -> None:
    user = {"id": 8, "first_name": "Di", "username": "di", "language_code": "es"}
    start = await inject(http, user=user, text="/start ref_42")
    await inject(http, user=user, sticker=True)
    await inject(http, user=user, photo=True)
    await inject(http, user=user, voice=True)
    await inject(http, user=user, edit_of=start["message_id"], text="/start other")
    await inject(http, user=user, chat_id=-300, chat_title="Peer group", text="hello group")
    updates = await tg.ok("getUpdates")
    message = updates[0]["message"]
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert message["from"]["language_code"] == "es" and message["chat"]["type"] == "private"
    assert updates[1]["message"]["sticker"]["emoji"]
    photo = updates[2]["message"]["photo"][-1]
    file = await tg.ok("getFile", file_id=photo["file_id"])
    assert (await http.get(f"/file/bot{TOKEN}/{file['file_path']}")).content.startswith(b"\x89PNG")
    assert updates[3]["message"]["voice"]["mime_type"] == "audio/ogg"
    edited = updates[4]["edited_message"]
    assert (edited["message_id"], edited["text"]) == (start["message_id"], "/start other")
    assert updates[5]["message"]["chat"] == {"id": -300, "type": "group", "title": "Peer group"}


async def test_control_errors_and_reset(
    tg: BotClient, http: httpx.AsyncClient, user_chat: int
) -> None:
    bad = await http.post("/sandbox/messages", json={"user": {"id": 1}, "text": "x"})
    assert bad.status_code == 400 and "first_name" in bad.json()["error"]
    assert (await http.get("/sandbox/updates/999")).status_code == 404
    await tg.ok("sendMessage", chat_id=user_chat, text="hi")
    assert (await http.post("/sandbox/reset")).json() == {"ok": True}
    assert await events(http, user_chat) == []
    assert (await http.get("/sandbox/requests")).json() == []
    assert await tg.error("sendMessage", chat_id=user_chat, text="hi") == (
        400,
        "Bad Request: chat not found",
    )


async def test_settle_waits_for_delivery_and_quiet(tg: BotClient, http: httpx.AsyncClient) -> None:
    sent = await inject(http, text="x")
    slow = await http.get(f"/sandbox/updates/{sent['update_id']}/settle", params={"timeout": 0.2})
    assert slow.status_code == 504 and not slow.json()["delivered"]
    settle = asyncio.create_task(
        http.get(f"/sandbox/updates/{sent['update_id']}/settle", params={"quiet": 0.2})
    )
    await tg.ok("getUpdates")
    await tg.ok("sendMessage", chat_id=USER_ID, text="reply")
    started = time.monotonic()
    response = await asyncio.wait_for(settle, 5)
    assert response.json() == {"delivered": True, "settled": True}
    assert time.monotonic() - started >= 0.15


async def test_server_url_properties(server: SandboxServer) -> None:
    assert server.bot_api_url == f"{server.url}/bot"
    assert server.file_api_url == f"{server.url}/file/bot"


async def test_captioned_media_forwards_and_caption_edits_parse_as_telegram_sends_them(
    tg: BotClient, http: httpx.AsyncClient
) -> None:
    from telegram import Update

    kinds = ("photo", "video", "document", "audio", "voice", "animation")
    sent = [await inject(http, **{kind: True}, caption=f"a {kind}") for kind in kinds]
    await inject(http, text="from a friend", forwarded_from="Jo")
    await inject(http, edit_of=sent[0]["message_id"], caption="a new caption")
    updates = [Update.de_json(u, None) for u in await tg.ok("getUpdates")]
    for kind, update in zip(kinds, updates, strict=False):
        assert update.message is not None and update.message.caption == f"a {kind}"
        assert getattr(update.message, kind), kind
    forward = updates[len(kinds)].message
    assert forward is not None and forward.text == "from a friend"
    assert forward.forward_origin is not None and forward.forward_origin.type == "hidden_user"
    edited = updates[-1].edited_message
    assert edited is not None and edited.caption == "a new caption" and edited.photo
    refused = [
        {"caption": "no media", "text": "x"},
        {"photo": True, "voice": True},
        {"edit_of": sent[0]["message_id"], "text": "a media message has no text"},
        {"photo": True, "caption": ""},
    ]
    for body in refused:
        body["user"] = {"id": USER_ID, "first_name": "Ana"}
        assert (await http.post("/sandbox/messages", json=body)).status_code == 400, body
