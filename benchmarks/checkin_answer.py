"""What one check-in answer costs, end to end, against a bare python-telegram-bot echo.

`python benchmarks/checkin_answer.py [N] [--postgres] [--own-process]` starts the local
Telegram sandbox and the real bot (python-telegram-bot polling over HTTP; SQLite, or a
fresh database on the local PostgreSQL), lets N clients start a check-in, and times each
tap on an answer: injection -> the answer committed, the question edited to show it and
the next question in the chat (two sandbox events). Each client answers the craving,
mood and sleep questions, so 3N answers are timed.

Baselines, in the same run, each bot on a sandbox of its own; all of them take turns tap
by tap, so all of them meet the machine in the same moment:
- a bare python-telegram-bot handler that echoes a text message, on python-telegram-bot's
  own httpx transport (the issue's baseline);
- the same echo on Waypoint's aiohttp transport (bot/telegram_http.py), to show how much
  of the gap the transport closes and how much Waypoint's own work does;
- a bare python-telegram-bot callback handler making the same three Bot API calls as a
  check-in answer (answerCallbackQuery, then editMessageText and sendMessage together, as
  Waypoint makes them) on Waypoint's transport with no database: how much of the cost is
  Telegram round trips rather than Waypoint.
The sandboxes run in this process (the default) or, with `--own-process`, in another
process as Telegram would be, timing each answer on their own clock.
Target (issue 6): the answer at most 3x the echo.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlmodel import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.app import build_application, polling
from bot.content import DEFAULT_CONTENT_DIR, load_content
from bot.db import make_engine, make_sessionmaker, session_scope, upgrade
from bot.models import CheckIn, Client, ClientStatus, Program
from bot.safety import load_screener
from bot.services import Services
from bot.settings import load_settings

TOKEN = "777:benchmark-token-abcdefghijklmnop"
# The tests' helpers make and drop PostgreSQL databases; the repository root is their home.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sandbox_chat import (  # noqa: E402
    InProcess,
    Sandbox,
    bare_bot,
    echo_latencies,
    events,
    inject_text,
    latency_line,
    press,
    remote_sandboxes,
)

ANSWERS = (("craving", "3"), ("mood", "6"), ("sleep_hours", "from_6_to_8"))
# Between two taps, as between a person's taps (seconds, not milliseconds): the bot's
# work after its replies (marking the update done) finishes before the next tap, as it
# would for a person, instead of being timed as part of the next answer.
PAUSE = 0.1


async def three_calls(chats: int, sandbox: Sandbox) -> AsyncIterator[float]:
    """Answer, edit, send: the Bot API calls of one check-in answer, nothing else, made
    together as Waypoint makes them, on its transport. Each step taps once (round the
    `chats` chats) and yields the seconds to the edit and the next question."""
    url = await sandbox.start()
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("3", callback_data="x:3")]])

    async def start(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat
        await update.effective_chat.send_message("question", reply_markup=keyboard)

    async def tapped(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query, chat = update.callback_query, update.effective_chat
        assert query and chat
        await asyncio.gather(
            query.answer(),
            query.edit_message_text("question\n\nYour answer: 3"),
            chat.send_message("next question", reply_markup=keyboard),
        )

    handlers = (MessageHandler(filters.TEXT, start), CallbackQueryHandler(tapped))
    try:
        async with bare_bot(TOKEN, url, *handlers, aiohttp=True) as http:
            for i in itertools.count():
                user = 51_000 + i % chats
                if i < chats:
                    await inject_text(http, user, "go")
                    await sandbox.wait(http, user, 1, time.perf_counter())
                seen = await events(http, user)
                last = max(int(e["message_id"]) for e in seen)
                start = time.perf_counter()
                await press(http, user, last, "x:3")
                yield await sandbox.wait(http, user, len(seen) + 2, start)
    finally:
        await sandbox.stop()


async def _postgres_database() -> str:
    """A fresh database on the local PostgreSQL (as the tests make them)."""
    from tests.databases import create_postgres_database

    return await create_postgres_database()


async def waypoint(n: int, sandbox: Sandbox, *, postgres: bool = False) -> AsyncIterator[float]:
    """N clients check in one after another; each step taps one answer and yields its
    latency (craving, mood and sleep for each client, so 3N steps)."""
    url = await sandbox.start()
    workdir = Path(tempfile.mkdtemp(prefix="waypoint-bench-"))
    database_url = await _postgres_database() if postgres else f"sqlite:///{workdir}/b.db"
    settings = load_settings(
        read_env_file=False,
        database_url=database_url,
        telegram_api_base_url=url,
        telegram_bot_token=TOKEN,
        dispatch_interval=0,
        # Like the baselines, no rate limiter: at one answer every ~30 ms the run asks
        # for ~90 calls a second, and Telegram's 30 a second would make it a test of the
        # limiter. (In production the limiter paces sends; it is not handler cost.)
        telegram_rate_limit=0,
    )
    engine = make_engine(settings.database_url)
    await upgrade(engine)
    content = load_content(DEFAULT_CONTENT_DIR)
    svc = Services(
        settings=settings, content=content, engine=engine, sessions=make_sessionmaker(engine)
    )
    load_screener()
    today = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        program = Program(name="Bench", timezone="America/New_York", region="US")
        session.add(program)
        await session.flush()
        assert program.id is not None
        for i in range(n):
            session.add(
                Client(
                    program_id=program.id,
                    code=f"B{i:03d}"[:5],
                    telegram_user_id=70_000 + i,
                    chat_id=70_000 + i,
                    status=ClientStatus.active,
                    enrolled_at=today - timedelta(days=30),
                    weekly_day=(today.weekday() + 3) % 7,  # no weekly questions today
                )
            )
    menu = content.language("en").menu.checkin
    application = build_application(svc, TOKEN)
    try:
        async with polling(application, poll_timeout=5), httpx.AsyncClient(base_url=url) as http:
            for i in range(n):
                user = 70_000 + i
                await inject_text(http, user, menu)
                await sandbox.wait(
                    http, user, 2, time.perf_counter()
                )  # "let's check in" + question
                async with svc.sessions() as session:
                    checkin = (
                        await session.exec(select(CheckIn).where(CheckIn.client_id == i + 1))
                    ).one()
                for step, value in ANSWERS:
                    seen = await events(http, user)
                    last = max(int(e["message_id"]) for e in seen)
                    start = time.perf_counter()
                    await press(http, user, last, f"ck:{checkin.id}:{step}:{value}")
                    yield await sandbox.wait(http, user, len(seen) + 2, start)
            async with svc.sessions() as session:
                rows = (await session.exec(select(CheckIn))).all()
            assert all(r.step == "sleep_quality" for r in rows), "an answer was not saved"
    finally:
        await engine.dispose()
        await sandbox.stop()
        if postgres:
            from tests.databases import drop_postgres_database

            await drop_postgres_database(database_url)


async def main(n: int, postgres: bool, *, in_process: bool = True) -> None:
    taps = n * len(ANSWERS)
    with remote_sandboxes(0 if in_process else 4) as remote:
        sandboxes: list[Sandbox] = list(remote) or [InProcess() for _ in range(4)]
        # The three bots run side by side and take turns, one tap each: every measurement
        # of Waypoint has baseline measurements from the same moment next to it, so the
        # machine's ups and downs (it is shared) fall on all three alike.
        runs = {
            "baseline: bare PTB echo": echo_latencies(TOKEN, n, sandboxes[0]),
            "baseline: the echo, aiohttp transport": echo_latencies(
                TOKEN, n, sandboxes[1], aiohttp=True
            ),
            "baseline: answer+edit+send, aiohttp": three_calls(n, sandboxes[2]),
            "Waypoint check-in answer": waypoint(n, sandboxes[3], postgres=postgres),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        try:
            for _ in range(taps):
                for name, run in runs.items():
                    times[name].append(await anext(run))
                    await asyncio.sleep(PAUSE)
        finally:
            for run in runs.values():
                await run.aclose()
    echo, echo_aiohttp, calls, answers = (statistics.median(t) for t in times.values())
    where = "PostgreSQL" if postgres else "SQLite"
    home = "in this process" if in_process else "in their own process"
    print(f"{n} clients x {len(ANSWERS)} answers ({where}); the sandboxes {home}; interleaved")
    for name, values in times.items():
        print(latency_line(name, values))
    print(
        f"answer / echo (median): {answers / echo:.2f}x (target <= 3x);"
        f" answer / echo on the same transport: {answers / echo_aiohttp:.2f}x;"
        f" answer / the same three calls: {answers / calls:.2f}x"
    )


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    asyncio.run(
        main(
            int(numbers[0]) if numbers else 30,
            "--postgres" in sys.argv,
            in_process="--own-process" not in sys.argv,
        )
    )
