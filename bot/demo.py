"""`python -m bot demo`: Waypoint in a terminal, without a Telegram token.

Starts the local Telegram sandbox and the real bot on a fresh SQLite file, seeds a demo
program with a clinician and a client, and lets a person play a seat in the chat.
Buttons are shown as numbered choices; type the number to press one. `/as clinician`,
`/as client` and `/as guest` (someone with no invitation) switch seats; messages the
bot sends to the other seats and to the care-team group are shown too.

When standard input is not a terminal it reads a script of lines and prints the whole
conversation, so CI can run it.
"""

from __future__ import annotations

import asyncio
import html
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.app import build_application, configure_logging, polling
from bot.content import DEFAULT_CONTENT_DIR, load_content
from bot.db import make_engine, make_sessionmaker, session_scope, upgrade
from bot.models import Client, ClientStatus, Clinician, ClinicianRole, Program
from bot.services import Services
from bot.settings import load_settings
from bot.telegram_sandbox import Sandbox, SandboxServer, SentMessage
from bot.updates import HandledUpdates, PerChatUpdateProcessor

DEMO_TOKEN = "424242:demo-sandbox-token-not-a-real-one"
_INVITE_LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")
CARE_TEAM_CHAT_ID = -1000000000042


@dataclass(frozen=True)
class Seat:
    name: str
    user_id: int
    first_name: str
    describe: str


SEATS = {
    "client": Seat("client", 2001, "Alex", "the client K7Q-2, enrolled in the demo program"),
    "clinician": Seat("clinician", 1001, "Dr. Rivera", "Dr. Rivera, the client's clinician"),
    "guest": Seat("guest", 3001, "Sam", "someone who has no invitation yet"),
}


async def seed(svc: Services) -> None:
    async with session_scope(svc.sessions) as session:
        program = Program(
            name="Demo Program",
            timezone="America/New_York",
            region="US",
            care_team_chat_id=CARE_TEAM_CHAT_ID,
            digest_times=["08:00", "16:00"],
        )
        session.add(program)
        await session.flush()
        assert program.id is not None
        clinician = Clinician(
            program_id=program.id,
            telegram_user_id=SEATS["clinician"].user_id,
            display_name="Dr. Rivera",
            role=ClinicianRole.clinician,
        )
        session.add(clinician)
        await session.flush()
        session.add(
            Client(
                program_id=program.id,
                code="K7Q-2",
                telegram_user_id=SEATS["client"].user_id,
                chat_id=SEATS["client"].user_id,
                status=ClientStatus.active,
                timezone="America/New_York",
                checkin_time="20:00",
                primary_clinician_id=clinician.id,
            )
        )


def plain(message: SentMessage) -> str:
    """What a person would read: HTML tags removed, entities decoded."""
    text = message.text or message.caption or ""
    if (message.parse_mode or "").upper() == "HTML":
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return text


class Terminal:
    """Prints the conversation and maps typed numbers to buttons."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.choices: list[tuple[str, SentMessage | None]] = []  # (label, message) by number
        self.last_link: str | None = None  # token of the last invite link shown

    def say(self, line: str = "") -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def show(self, who: str, messages: list[SentMessage], *, choices: bool) -> None:
        for message in messages:
            if message.event == "deleted":
                continue
            prefix = f"{who} (edited)" if message.event == "edited" else who
            body = plain(message)
            if message.document:
                body += f"\n[document: {message.document.get('file_name')}]"
            if message.photo:
                body += "\n[photo]"
            lines = body.splitlines() or [""]
            self.say(f"{prefix} › {lines[0]}")
            for line in lines[1:]:
                self.say(" " * (len(prefix) + 3) + line)
            if choices:
                self._number(message)
            link = _INVITE_LINK.search(body)
            if link:
                self.last_link = link[1]
                self.say("      (demo: /as guest, then /open, opens this link as a new person)")

    def _number(self, message: SentMessage) -> None:
        inline = [label for row in message.buttons for label in row]
        keyboard = [label for row in message.reply_keyboard for label in row]
        if inline or keyboard:
            self.choices = [(label, message) for label in inline] + [
                (label, None) for label in keyboard
            ]
            listed = "   ".join(f"[{n}] {label}" for n, (label, _) in enumerate(self.choices, 1))
            self.say(f"      {listed}")


async def run_demo(stdin: TextIO, out: TextIO, *, keep_dir: Path | None = None) -> int:
    interactive = stdin.isatty()
    configure_logging("WARNING")
    workdir = keep_dir or Path(tempfile.mkdtemp(prefix="waypoint-demo-"))
    server = SandboxServer()
    url = await server.start()
    database_url = f"sqlite+aiosqlite:///{workdir / 'demo.db'}"
    settings = load_settings(
        database_url=database_url, telegram_api_base_url=url, telegram_bot_token=DEMO_TOKEN
    )
    engine = make_engine(settings.database_url)
    await upgrade(engine)
    svc = Services(
        settings=settings,
        content=load_content(DEFAULT_CONTENT_DIR),
        engine=engine,
        sessions=make_sessionmaker(engine),
    )
    await seed(svc)
    handled = HandledUpdates()
    processor = PerChatUpdateProcessor()
    processor.done_hooks.append(handled.mark)
    application = build_application(svc, DEMO_TOKEN, processor=processor)
    term = Terminal(out)
    try:
        async with (
            polling(application, poll_timeout=5),
            Sandbox(url, settle=handled.wait) as sandbox,
        ):
            await _converse(sandbox, term, stdin, interactive)
    finally:
        await engine.dispose()
        await server.stop()
        if keep_dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


async def _converse(sandbox: Sandbox, term: Terminal, stdin: TextIO, interactive: bool) -> None:
    seat = SEATS["client"]
    seen = {s.user_id: 0 for s in SEATS.values()} | {CARE_TEAM_CHAT_ID: 0}
    term.say("Waypoint demo, on a local Telegram sandbox (nothing leaves this machine).")
    term.say(f"You are {seat.describe}. Type a message, or a number to press a button.")
    term.say("Seats: /as client, /as clinician, /as guest. /open opens the last invite link.")
    term.say("/quit to leave.")
    term.say()
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            line = await loop.run_in_executor(None, input, f"{seat.first_name} › ")
        else:
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            term.say(f"{seat.first_name} › {line}")
        line = line.strip()
        if line in ("/quit", "/exit"):
            break
        if line.startswith("/as "):
            name = line.removeprefix("/as ").strip()
            if name not in SEATS:
                term.say(f"(no seat called {name!r}; try client, clinician or guest)")
                continue
            seat = SEATS[name]
            term.choices = []
            term.say(f"(you are now {seat.describe})")
            continue
        person = sandbox.person(seat.user_id, seat.first_name)
        if line == "/open":
            if term.last_link is None:
                term.say("(no invite link yet: /as clinician, then /invite)")
                continue
            line = f"/start {term.last_link}"
            term.say(f"(opening the link: {line})")
        if line.isdigit() and 1 <= int(line) <= len(term.choices):
            label, message = term.choices[int(line) - 1]
            await person.press(label, message)
        else:
            await person.send(line)
        # Show what the bot sent, to this seat first, then to the others and the group.
        for chat_id in [seat.user_id, *[c for c in seen if c != seat.user_id]]:
            events = await sandbox.messages(chat_id)
            new = events[seen[chat_id] :]
            seen[chat_id] = len(events)
            if not new:
                continue
            if chat_id == seat.user_id:
                term.show("bot", new, choices=True)
            else:
                target = next((s for s in SEATS.values() if s.user_id == chat_id), None)
                where = f"to {target.first_name}" if target else "to the care-team group"
                term.show(f"bot {where}", new, choices=False)
        term.say()
