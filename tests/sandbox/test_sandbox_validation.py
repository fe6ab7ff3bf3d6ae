"""Conformance: requests Telegram would refuse are refused with Telegram's code and
description, and the valid neighbour of each one is accepted. Direct HTTP, no bot library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.telegram_sandbox import SandboxServer
from bot.telegram_sandbox.spec import default_spec_path

from .conftest import TOKEN, BotClient


def inline(*rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"inline_keyboard": list(rows)}


async def test_unknown_method_is_404(tg: BotClient) -> None:
    assert await tg.error("sendMesage", chat_id=1, text="x") == (404, "Not Found")


async def test_method_names_are_case_insensitive(tg: BotClient) -> None:
    assert (await tg.ok("getme"))["is_bot"] is True


@pytest.mark.parametrize("token", ["nodigits:abc", "123", "123:", "123:a b", "abc:def"])
async def test_malformed_token_is_401(http: httpx.AsyncClient, token: str) -> None:
    response = await http.post(f"/bot{token}/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_get_me_describes_the_bot_from_the_token(tg: BotClient) -> None:
    me = await tg.ok("getMe")
    assert me["id"] == int(TOKEN.split(":")[0])
    assert (me["is_bot"], me["first_name"], me["username"]) == (
        True,
        "Waypoint",
        "waypoint_sandbox_bot",
    )


@pytest.mark.parametrize(
    ("method", "params", "description"),
    [
        ("sendMessage", {"text": "hi"}, "Bad Request: chat_id is empty"),
        ("sendMessage", {"chat_id": 1}, "Bad Request: message text is empty"),
        ("sendMessage", {"chat_id": 1, "text": ""}, "Bad Request: message text is empty"),
        ("answerCallbackQuery", {}, "Bad Request: callback_query_id is empty"),
        ("sendChatAction", {"chat_id": 1}, "Bad Request: action is empty"),
        ("getFile", {}, "Bad Request: file_id is empty"),
    ],
)
async def test_missing_required_parameter(
    tg: BotClient, method: str, params: dict[str, Any], description: str
) -> None:
    assert await tg.error(method, **params) == (400, description)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"message_thread_id": "abc"}, "message_thread_id"),
        ({"message_thread_id": "1.5"}, "message_thread_id"),
        ({"disable_notification": "maybe"}, "disable_notification"),
        ({"protect_content": "yes"}, "protect_content"),
        ({"reply_parameters": "[1, 2]"}, "reply_parameters"),
    ],
)
async def test_wrong_type_names_the_parameter(
    tg: BotClient, user_chat: int, params: dict[str, Any], name: str
) -> None:
    code, description = await tg.error("sendMessage", chat_id=user_chat, text="hi", **params)
    assert code == 400
    assert description.startswith("Bad Request:") and f'"{name}' in description


@pytest.mark.parametrize("flag", ["true", "True", "1", "false", "FALSE", "0"])
async def test_booleans_accept_telegram_spellings(tg: BotClient, user_chat: int, flag: str) -> None:
    await tg.ok("sendMessage", chat_id=user_chat, text="hi", disable_notification=flag)


async def test_wrong_json_type_in_a_json_body(http: httpx.AsyncClient, user_chat: int) -> None:
    response = await http.post(
        f"/bot{TOKEN}/sendMessage", json={"chat_id": user_chat, "text": ["not", "a", "string"]}
    )
    assert response.status_code == 400
    assert 'parameter "text" must be of type String' in response.json()["description"]


async def test_unknown_parameter_is_refused(tg: BotClient, user_chat: int) -> None:
    error = await tg.error("sendMessage", chat_id=user_chat, text="hi", parse_mod="HTML")
    assert error == (400, 'Bad Request: unknown parameter "parse_mod"')


async def test_unknown_nested_field_is_refused(tg: BotClient, user_chat: int) -> None:
    markup = inline([{"text": "Go", "callback_data": "go", "colour": "red"}])
    code, description = await tg.error(
        "sendMessage", chat_id=user_chat, text="hi", reply_markup=markup
    )
    assert code == 400
    assert description == (
        'Bad Request: can\'t parse inline keyboard button: unknown field "colour" '
        "(at reply_markup.inline_keyboard[0][0])"
    )


async def test_nested_wrong_type_is_refused(tg: BotClient, user_chat: int) -> None:
    entities = [{"type": "bold", "offset": "0", "length": 2}]
    code, description = await tg.error(
        "sendMessage", chat_id=user_chat, text="hi", entities=entities
    )
    assert code == 400
    assert 'field "offset" must be of type Integer' in description


async def test_undecodable_reply_markup(tg: BotClient, user_chat: int) -> None:
    error = await tg.error("sendMessage", chat_id=user_chat, text="hi", reply_markup="{oops")
    assert error == (400, "Bad Request: can't parse reply keyboard markup JSON object")


# ---------------------------------------------------------------- text and caption limits


@pytest.mark.parametrize(
    ("text", "parse_mode", "ok"),
    [
        ("a" * 4096, None, True),
        ("a" * 4097, None, False),
        ("😀" * 2048, None, True),  # 4096 UTF-16 code units
        ("😀" * 2049, None, False),  # only 2049 characters, but 4098 units
        ("<b>" + "a" * 4096 + "</b>", "HTML", True),  # counted after entity parsing
        ("&lt;" * 4097, "HTML", False),
    ],
)
async def test_text_length_limit(
    tg: BotClient, user_chat: int, text: str, parse_mode: str | None, ok: bool
) -> None:
    params: dict[str, Any] = {"chat_id": user_chat, "text": text}
    if parse_mode:
        params["parse_mode"] = parse_mode
    body = await tg.call("sendMessage", **params)
    if ok:
        assert body["ok"] is True, body
    else:
        assert (body["error_code"], body["description"]) == (
            400,
            "Bad Request: message is too long",
        )


@pytest.mark.parametrize(
    ("text", "parse_mode"), [(" ", None), ("\n\t  ", None), ("<b> </b>", "HTML")]
)
async def test_blank_text_is_empty(
    tg: BotClient, user_chat: int, text: str, parse_mode: str | None
) -> None:
    params: dict[str, Any] = {"chat_id": user_chat, "text": text}
    if parse_mode:
        params["parse_mode"] = parse_mode
    assert await tg.error("sendMessage", **params) == (400, "Bad Request: message text is empty")


async def test_text_is_trimmed_like_telegram(tg: BotClient, user_chat: int) -> None:
    message = await tg.ok("sendMessage", chat_id=user_chat, text="  <b>hi</b>\n", parse_mode="HTML")
    assert message["text"] == "hi"
    assert message["entities"] == [{"type": "bold", "offset": 0, "length": 2}]


@pytest.mark.parametrize(("size", "ok"), [(1024, True), (1025, False)])
async def test_caption_length_limit(tg: BotClient, user_chat: int, size: int, ok: bool) -> None:
    from bot.telegram_sandbox.media import make_png

    response = await tg.raw(
        "sendPhoto",
        data={"chat_id": str(user_chat), "caption": "c" * size},
        files={"photo": ("p.png", make_png(4, 4), "image/png")},
    )
    body = response.json()
    if ok:
        assert body["ok"] is True and len(body["result"]["caption"]) == 1024
    else:
        assert response.status_code == 400
        assert body["description"] == "Bad Request: message caption is too long"


# ---------------------------------------------------------------- keyboards


@pytest.mark.parametrize(
    ("data", "ok"),
    [("x" * 64, True), ("x" * 65, False), ("é" * 32, True), ("é" * 33, False), ("", False)],
)
async def test_callback_data_is_1_to_64_bytes(
    tg: BotClient, user_chat: int, data: str, ok: bool
) -> None:
    markup = inline([{"text": "Go", "callback_data": data}])
    body = await tg.call("sendMessage", chat_id=user_chat, text="hi", reply_markup=markup)
    if ok:
        assert body["ok"] is True, body
    else:
        assert (body["error_code"], body["description"]) == (
            400,
            "Bad Request: BUTTON_DATA_INVALID",
        )


@pytest.mark.parametrize(
    ("markup", "description"),
    [
        (
            {"inline_keyboard": [{"text": "Go", "callback_data": "go"}]},
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an '
            "Array of Arrays",
        ),
        (
            {"inline_keyboard": {"text": "Go"}},
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an '
            "Array of Arrays",
        ),
        (
            inline([{"callback_data": "go"}]),
            'Bad Request: can\'t parse inline keyboard button: field "text" is missing '
            "(at reply_markup.inline_keyboard[0][0])",
        ),
        (
            inline([{"text": "Go"}]),
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard (at reply_markup.inline_keyboard[0][0])",
        ),
        (
            inline(
                [{"text": "ok", "callback_data": "a"}],
                [{"text": "Go", "callback_data": "go", "url": "https://x.org"}],
            ),
            "Bad Request: can't parse inline keyboard button: exactly one of the fields other "
            "than text, icon_custom_emoji_id, style must be used, got url, callback_data "
            "(at reply_markup.inline_keyboard[1][0])",
        ),
        (
            {"keyboard": ["Yes", "No"]},
            'Bad Request: field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays',
        ),
        (
            {"keyboard": [[{"text": "Me", "request_contact": True, "request_location": True}]]},
            "Bad Request: can't parse keyboard button: at most one of the fields other than "
            "text, icon_custom_emoji_id, style must be used, got request_contact, "
            "request_location (at reply_markup.keyboard[0][0])",
        ),
        (
            {"keyboard": [[{"label": "Yes"}]]},
            'Bad Request: can\'t parse keyboard button: unknown field "label" '
            "(at reply_markup.keyboard[0][0])",
        ),
    ],
)
async def test_bad_keyboards(
    tg: BotClient, user_chat: int, markup: dict[str, Any], description: str
) -> None:
    error = await tg.error("sendMessage", chat_id=user_chat, text="hi", reply_markup=markup)
    assert error == (400, description)


@pytest.mark.parametrize(
    "markup",
    [
        inline([{"text": "A", "callback_data": "a"}, {"text": "B", "url": "https://x.org"}]),
        {"keyboard": [["Yes", {"text": "No"}], [{"text": "Share", "request_contact": True}]]},
        {"keyboard": [["Yes"]], "resize_keyboard": True, "one_time_keyboard": True},
        {"remove_keyboard": True},
        {"force_reply": True, "input_field_placeholder": "Your answer"},
    ],
)
async def test_good_keyboards(tg: BotClient, user_chat: int, markup: dict[str, Any]) -> None:
    message = await tg.ok("sendMessage", chat_id=user_chat, text="hi", reply_markup=markup)
    # Only inline keyboards belong to the message, as on Telegram.
    assert message.get("reply_markup") == (markup if "inline_keyboard" in markup else None)


# ---------------------------------------------------------------- HTML parse mode


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Hello<br>", 'Unsupported start tag "br" at byte offset 5'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<3", "Unclosed start tag at byte offset 0"),
        ("Tom & Jerry", 'Unescaped "&" at byte offset 4; use "&amp;"'),
        ("&nbsp;", 'Unescaped "&" at byte offset 0; use "&amp;"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("é<u>x", 'Can\'t find end tag corresponding to start tag "u"'),
        ("é<p>x</p>", 'Unsupported start tag "p" at byte offset 2'),  # bytes, not chars
    ],
)
async def test_invalid_html_is_refused(
    tg: BotClient, user_chat: int, text: str, reason: str
) -> None:
    error = await tg.error("sendMessage", chat_id=user_chat, text=text, parse_mode="HTML")
    assert error == (400, f"Bad Request: can't parse entities: {reason}")


@pytest.mark.parametrize(
    ("text", "plain", "entities"),
    [
        (
            "<b>Hi</b>, <i>you</i> &amp; <u>me</u>",
            "Hi, you & me",
            [
                {"type": "bold", "offset": 0, "length": 2},
                {"type": "italic", "offset": 4, "length": 3},
                {"type": "underline", "offset": 10, "length": 2},
            ],
        ),
        (
            '<a href="https://example.org/?a=1&b=2">site</a>',
            "site",
            [
                {
                    "type": "text_link",
                    "offset": 0,
                    "length": 4,
                    "url": "https://example.org/?a=1&b=2",
                }
            ],
        ),
        (
            '<pre><code class="language-python">x = 1</code></pre>',
            "x = 1",
            [{"type": "pre", "offset": 0, "length": 5, "language": "python"}],
        ),
        (
            "<blockquote expandable>quote</blockquote> <tg-spoiler>s</tg-spoiler>",
            "quote s",
            [
                {"type": "expandable_blockquote", "offset": 0, "length": 5},
                {"type": "spoiler", "offset": 6, "length": 1},
            ],
        ),
        (
            "😀 <s>x</s> &lt;3 &#x2764;",
            "😀 x <3 ❤",
            [{"type": "strikethrough", "offset": 3, "length": 1}],  # UTF-16 offsets
        ),
        (
            '<B>caps</B> <span class="tg-spoiler">s</span> <code>c</code>',
            "caps s c",
            [
                {"type": "bold", "offset": 0, "length": 4},
                {"type": "spoiler", "offset": 5, "length": 1},
                {"type": "code", "offset": 7, "length": 1},
            ],
        ),
    ],
)
async def test_valid_html_becomes_text_and_entities(
    tg: BotClient, user_chat: int, text: str, plain: str, entities: list[dict[str, Any]]
) -> None:
    message = await tg.ok("sendMessage", chat_id=user_chat, text=text, parse_mode="HTML")
    assert message["text"] == plain
    assert message["entities"] == entities


async def test_unsupported_parse_mode(tg: BotClient, user_chat: int) -> None:
    error = await tg.error("sendMessage", chat_id=user_chat, text="hi", parse_mode="Textile")
    assert error == (400, "Bad Request: unsupported parse_mode")


@pytest.mark.parametrize("mode", ["MarkdownV2", "Markdown", "html"])
async def test_other_parse_modes_are_accepted(tg: BotClient, user_chat: int, mode: str) -> None:
    await tg.ok("sendMessage", chat_id=user_chat, text="hello\\!", parse_mode=mode)


# ---------------------------------------------------------------- other spec rules


async def test_bot_commands_are_validated(tg: BotClient) -> None:
    error = await tg.error("setMyCommands", commands=[{"command": "Start", "description": "Go"}])
    assert error == (400, "Bad Request: BOT_COMMAND_INVALID")
    commands = [{"command": "start", "description": "Begin"}]
    assert await tg.ok("setMyCommands", commands=commands) is True
    assert await tg.ok("getMyCommands") == commands
    scoped = {"scope": {"type": "all_private_chats"}, "language_code": "es"}
    assert await tg.ok("getMyCommands", **scoped) == []
    await tg.ok("setMyCommands", commands=[{"command": "ayuda", "description": "Ayuda"}], **scoped)
    assert (await tg.ok("getMyCommands", **scoped))[0]["command"] == "ayuda"
    await tg.ok("deleteMyCommands")
    assert await tg.ok("getMyCommands") == []


async def test_abstract_types_resolve_by_their_type_field(tg: BotClient) -> None:
    code, description = await tg.error(
        "setMyCommands",
        commands=[{"command": "start", "description": "Go"}],
        scope={"type": "everyone"},
    )
    assert code == 400 and 'unsupported type "everyone"' in description
    code, description = await tg.error(
        "setMyCommands", commands=[{"command": "a", "description": "b"}], scope={"type": "chat"}
    )
    assert code == 400 and 'field "chat_id" is missing' in description


async def test_methods_without_modelled_behaviour_are_validated_then_answered(
    tg: BotClient, user_chat: int
) -> None:
    error = await tg.error("sendLocation", chat_id=user_chat, latitude=1.5)
    assert error == (400, "Bad Request: longitude is empty")
    message = await tg.ok("sendLocation", chat_id=user_chat, latitude=1.5, longitude=2)
    assert message["chat"]["id"] == user_chat and message["from"]["is_bot"] is True
    assert await tg.ok("setChatTitle", chat_id=-5, title="New") is True
    error = await tg.error("setChatTitle", chat_id=-5, title="x" * 129)
    assert error == (400, 'Bad Request: parameter "title" must be 1-128 characters long')


async def test_spec_path_env_var_and_missing_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = json.loads(default_spec_path().read_text())
    tiny = {**full, "methods": {"getMe": full["methods"]["getMe"]}}
    path = tmp_path / "api.json"
    path.write_text(json.dumps(tiny))
    monkeypatch.setenv("TELEGRAM_API_SPEC", str(path))
    async with SandboxServer() as server, httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.post(f"/bot{TOKEN}/getMe")).status_code == 200
        assert (await http.post(f"/bot{TOKEN}/sendMessage")).status_code == 404
    with pytest.raises(FileNotFoundError, match="TELEGRAM_API_SPEC"):
        SandboxServer(spec_path=tmp_path / "missing.json")
