"""The unmodified python-telegram-bot ``Bot`` parses every shape the sandbox answers, on
its own httpx transport and on Waypoint's aiohttp one (bot/telegram_http.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.telegram_http import AiohttpRequest
from bot.telegram_sandbox import SandboxServer

from .conftest import TOKEN, USER_ID


@pytest.fixture(params=["httpx", "aiohttp"])
async def ptb(server: SandboxServer, request: pytest.FixtureRequest) -> AsyncIterator[Bot]:
    transport = (
        {"request": AiohttpRequest(), "get_updates_request": AiohttpRequest(1)}
        if request.param == "aiohttp"
        else {}
    )
    async with Bot(
        TOKEN, base_url=server.bot_api_url, base_file_url=server.file_api_url, **transport
    ) as bot:
        yield bot


async def test_python_telegram_bot_round_trip(
    ptb: Bot, http: httpx.AsyncClient, user_chat: int
) -> None:
    assert ptb.bot.is_bot and ptb.bot.username == "waypoint_sandbox_bot"
    (update,) = await ptb.get_updates()
    assert update.message is not None and update.message.text == "hi"

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
    message = await ptb.send_message(
        user_chat, "<b>Ready</b> &amp; set?", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    assert message.text == "Ready & set?"
    assert message.entities == (MessageEntity(MessageEntity.BOLD, 0, 5),)
    assert message.reply_markup == keyboard
    assert message.from_user is not None and message.from_user.is_bot

    edited = await message.edit_text("Done")
    assert not isinstance(edited, bool) and edited.text == "Done" and edited.reply_markup is None

    document = await ptb.send_document(user_chat, b"col1,col2\n", filename="export.csv")
    assert document.document is not None and document.document.file_name == "export.csv"
    file = await ptb.get_file(document.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"col1,col2\n"

    chat = await ptb.get_chat(user_chat)
    assert chat.first_name == "Ana"
    assert await ptb.set_my_commands([("start", "Start")])
    info = await ptb.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 1  # getUpdates did not confirm


async def test_python_telegram_bot_gets_the_right_exceptions(
    ptb: Bot, http: httpx.AsyncClient, user_chat: int
) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await ptb.send_message(user_chat, "a<br>b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await ptb.send_message(
            user_chat,
            "x",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("x", callback_data="x" * 65)]]
            ),
        )
    with pytest.raises(BadRequest, match="Chat not found"):
        await ptb.send_message(USER_ID + 1, "hi")

    await http.post(f"/sandbox/chats/{user_chat}/block")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await ptb.send_message(user_chat, "hi")
    await http.post(f"/sandbox/chats/{user_chat}/unblock")

    await http.post("/sandbox/faults", json={"error_code": 429, "retry_after": 3, "count": 1})
    with pytest.raises(RetryAfter) as flood:
        await ptb.send_message(user_chat, "hi")
    assert flood.value.retry_after == timedelta(seconds=3)
    assert (await ptb.send_message(user_chat, "hi")).text == "hi"
