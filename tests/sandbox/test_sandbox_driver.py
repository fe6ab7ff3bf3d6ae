"""The driver against a tiny real python-telegram-bot Application polling the sandbox."""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.telegram_sandbox import ButtonNotFound, Sandbox, SandboxServer

from .conftest import TOKEN


class Handled:
    """An exact "this update was handled" hook, as the app's tests use."""

    def __init__(self) -> None:
        self.done: set[int] = set()
        self.changed = asyncio.Event()

    async def mark(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert isinstance(update, Update)
        self.done.add(update.update_id)
        self.changed.set()

    async def wait(self, update_id: int) -> None:
        async with asyncio.timeout(5):
            while update_id not in self.done:
                self.changed.clear()
                await self.changed.wait()


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    keyboard = ReplyKeyboardMarkup([["Help", "About"]], resize_keyboard=True)
    await update.message.reply_text("Welcome", reply_markup=keyboard)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    text = update.message.text
    if text == "Help":
        await update.message.reply_text("Help is here")
        return
    buttons = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Again", callback_data=f"again:{text[:20]}"),
          InlineKeyboardButton("Stop now", callback_data="stop")]]
    )  # fmt: skip
    await update.message.reply_text(
        f"You said: <b>{html.escape(text)}</b>", parse_mode=ParseMode.HTML, reply_markup=buttons
    )


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    if query.data == "stop":
        await query.answer("Stopped")
        await query.edit_message_reply_markup(None)
    elif query.data.startswith("again:"):
        await query.answer()
        await query.edit_message_text(f"Again: {html.escape(query.data[6:])}")
    else:
        await query.answer("That button has expired", show_alert=True)


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text("I can only read text messages.")


def build_app(server: SandboxServer, handled: Handled | None = None) -> Application:  # type: ignore[type-arg]
    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(server.bot_api_url)
        .base_file_url(server.file_api_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(MessageHandler(filters.Sticker.ALL | filters.PHOTO | filters.VOICE, not_text))
    app.add_handler(CallbackQueryHandler(pressed))
    if handled is not None:
        app.add_handler(TypeHandler(Update, handled.mark), group=1)
    return app


async def run(app: Application) -> None:  # type: ignore[type-arg]
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=5)


async def halt(app: Application) -> None:  # type: ignore[type-arg]
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()


@pytest.fixture
async def sandbox(server: SandboxServer) -> AsyncIterator[Sandbox]:
    """The echo bot polling, and a driver that settles by quiescence."""
    app = build_app(server)
    async with app, Sandbox(server.url) as driver:
        await run(app)
        try:
            yield driver
        finally:
            await halt(app)


async def test_send_press_and_last_message(sandbox: Sandbox) -> None:
    ana = sandbox.person(1001, "Ana")
    (welcome,) = await ana.send("/start")
    assert welcome.text == "Welcome" and welcome.reply_keyboard == [["Help", "About"]]
    assert welcome.buttons == []

    (help_reply,) = await ana.press("Help")  # a reply-keyboard button sends its text
    assert help_reply.text == "Help is here"

    (echoed,) = await ana.send("hi <there>")
    assert echoed.text == "You said: <b>hi &lt;there&gt;</b>" and echoed.parse_mode == "HTML"
    assert echoed.plain_text == "You said: hi <there>"
    assert echoed.buttons == [["Again", "Stop now"]]
    assert echoed.data_for("Again") == "again:hi <there>"

    (again,) = await ana.press("Again")
    assert (again.event, again.message_id, again.text) == (
        "edited",
        echoed.message_id,
        "Again: hi &lt;there&gt;",
    )
    assert again.buttons == []  # editMessageText without reply_markup drops the keyboard

    (second,) = await ana.send("second")
    (stopped,) = await ana.press("Stop")  # unique substring of "Stop now"
    assert stopped.message_id == second.message_id and stopped.buttons == []
    answers = await sandbox.callback_answers(ana.chat_id)
    assert [a["text"] for a in answers] == [None, "Stopped"]

    last = await ana.last_message()
    assert last.message_id == second.message_id and last.event == "edited"
    assert [m.event for m in await ana.messages()] == [
        "sent",
        "sent",
        "sent",
        "edited",
        "sent",
        "edited",
    ]


async def test_forged_press_unsupported_input_and_lookup_errors(sandbox: Sandbox) -> None:
    bo = sandbox.person(1002, "Bo")
    (echoed,) = await bo.send("x")
    with pytest.raises(ButtonNotFound, match="no button 'Nope'"):
        await bo.press("Nope")
    assert echoed.data_for("Stop") == "stop"  # a unique substring is enough
    with pytest.raises(ButtonNotFound, match="matches several buttons"):
        echoed.data_for("n")
    # A forged press: the bot only answers (with an alert), nothing new in the chat.
    assert await bo.press_data("old:data", echoed.message_id) == []
    (reply,) = await bo.send_sticker()
    assert reply.text == "I can only read text messages."
    assert (await bo.send_photo())[0].text == reply.text
    assert (await bo.send_voice())[0].text == reply.text
    answers = await sandbox.callback_answers(bo.chat_id)
    assert answers[-1]["show_alert"] is True


async def test_group_messages(sandbox: Sandbox) -> None:
    cy = sandbox.person(1003, "Cy")
    (reply,) = await cy.send_in(-42, "hello group")
    assert reply.chat_id == -42 and reply.plain_text == "You said: hello group"
    assert await cy.messages() == []


async def test_exact_settle_hook(server: SandboxServer) -> None:
    handled = Handled()
    app = build_app(server, handled)
    async with app, Sandbox(server.url, settle=handled.wait) as sandbox:
        await run(app)
        try:
            dee = sandbox.person(1004, "Dee")
            (echoed,) = await dee.send("exact")
            assert echoed.plain_text == "You said: exact"
            assert len(handled.done) == 1
        finally:
            await halt(app)


async def test_settle_times_out_clearly_when_nobody_polls(server: SandboxServer) -> None:
    async with Sandbox(server.url, timeout=0.3) as sandbox:
        with pytest.raises(TimeoutError, match=r"was not delivered within 0\.3 s"):
            await sandbox.person(1005, "Eve").send("anyone there?")
        with pytest.raises(AssertionError, match="the bot sent nothing"):
            await sandbox.person(1005, "Eve").last_message()
