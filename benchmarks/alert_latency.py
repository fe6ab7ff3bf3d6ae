"""How long from a client's crisis message to the alert in the clinician's chat.

`python benchmarks/alert_latency.py [N]` starts the local Telegram sandbox and the real
bot (python-telegram-bot polling over HTTP, SQLite), sends N urgent messages from N
clients (each with their own clinician, so Telegram's one-message-a-second-per-chat pace
does not queue them), and measures, per message:

- reply: injection -> the crisis reply's first message in the client's chat;
- alert: injection -> the alert in the clinician's private chat (through the outbox).

Baseline, in the same run: a bare python-telegram-bot echo handler on the same sandbox,
injection -> echo. The target (issue 5): the crisis reply within a second, the alert
within five seconds.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bot.app import build_application, polling
from bot.content import DEFAULT_CONTENT_DIR, load_content
from bot.db import make_engine, make_sessionmaker, session_scope, upgrade
from bot.models import Client, ClientStatus, Clinician, Program
from bot.safety import load_screener
from bot.services import Services
from bot.settings import load_settings
from bot.telegram_sandbox import SandboxServer

TOKEN = "777:benchmark-token-abcdefghijklmnop"
URGENT = "i want to kill myself tonight"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sandbox_chat import echo_baseline, inject_text, latency_line, wait_for  # noqa: E402


async def waypoint(n: int) -> tuple[list[float], list[float]]:
    server = SandboxServer()
    url = await server.start()
    workdir = Path(tempfile.mkdtemp(prefix="waypoint-bench-"))
    settings = load_settings(
        read_env_file=False,
        database_url=f"sqlite:///{workdir}/b.db",
        telegram_api_base_url=url,
        telegram_bot_token=TOKEN,
    )
    engine = make_engine(settings.database_url)
    await upgrade(engine)
    svc = Services(
        settings=settings,
        content=load_content(DEFAULT_CONTENT_DIR),
        engine=engine,
        sessions=make_sessionmaker(engine),
    )
    load_screener()
    async with session_scope(svc.sessions) as session:
        program = Program(name="Bench", timezone="America/New_York", region="US")
        session.add(program)
        await session.flush()
        assert program.id is not None
        for i in range(n):
            clinician = Clinician(
                program_id=program.id, telegram_user_id=60_000 + i, display_name=f"C{i}"
            )
            session.add(clinician)
            await session.flush()
            session.add(
                Client(
                    program_id=program.id,
                    code=f"B{i:02d}-2"[:5],
                    telegram_user_id=70_000 + i,
                    chat_id=70_000 + i,
                    status=ClientStatus.active,
                    primary_clinician_id=clinician.id,
                    enrolled_at=datetime.now(UTC),
                )
            )
    for i in range(n):  # clinicians have written to the bot before (Telegram requires it)
        server.state.private_chat(server.state.upsert_user({"id": 60_000 + i, "first_name": "C"}))
    replies, alerts = [], []
    application = build_application(svc, TOKEN)
    async with polling(application, poll_timeout=5), httpx.AsyncClient(base_url=url) as http:
        for i in range(n):
            start = time.perf_counter()
            await inject_text(http, 70_000 + i, URGENT)
            replies.append(await wait_for(server, 70_000 + i, 1, start))
            alerts.append(await wait_for(server, 60_000 + i, 1, start))
    await engine.dispose()
    await server.stop()
    return replies, alerts


async def main(n: int) -> None:
    baseline = await echo_baseline(TOKEN, n, n)
    replies, alerts = await waypoint(n)
    print(f"{n} messages, each from its own client, on the local sandbox")
    print(latency_line("baseline: bare PTB echo", baseline, width=28))
    print(latency_line("crisis reply (first part)", replies, width=28))
    print(latency_line("alert in clinician's chat", alerts, width=28))
    print(
        f"reply / echo (median): {statistics.median(replies) / statistics.median(baseline):.1f}x;"
        f" alerts within 5 s: {sum(a < 5 for a in alerts)}/{n}"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
