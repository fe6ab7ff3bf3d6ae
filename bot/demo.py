"""`python -m bot demo`: Waypoint in a terminal, without a Telegram token.

Starts the local Telegram sandbox and the real bot on a fresh SQLite file, seeds a demo
program with a care-team group, a clinician, an admin and a client (their chats with the
bot exist, as they would once each had opened it), and lets a person play a seat in the
chat. Buttons are shown as numbered choices; type the number to press one. `/as client`,
`/as clinician`, `/as admin` and `/as guest` (someone with no invitation) switch seats;
what the bot sends to the other seats and to the care-team group (alerts, escalations,
digests) is shown too, once the messages due now have been sent. Log lines go to a file
whose path is printed once: the terminal is the conversation.

When standard input is not a terminal it reads a script of lines and prints the whole
conversation, so CI can run it.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlmodel import col, func, select

from bot.app import build_application, polling
from bot.content import DEFAULT_CONTENT_DIR, load_content
from bot.db import make_engine, make_sessionmaker, session_scope, upgrade
from bot.models import (
    Client,
    ClientStatus,
    Clinician,
    ClinicianRole,
    Delivery,
    DeliveryStatus,
    Program,
)
from bot.runner import configure_logging
from bot.safety import load_screener
from bot.services import Services
from bot.settings import load_settings
from bot.telegram_sandbox import Sandbox, SandboxServer, SentMessage
from bot.telegram_sandbox.state import SandboxState
from bot.updates import HandledUpdates, PerChatUpdateProcessor

DEMO_TOKEN = "424242:demo-sandbox-token-not-a-real-one"
_INVITE_LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")
CARE_TEAM_CHAT_ID = -1000000000042
CARE_TEAM_TITLE = "Demo care team"
# How long to wait, after each line, for the messages due now (an alert, a digest) to be
# sent before showing them; the dispatcher ticks every 2 s.
DELIVERY_WAIT = 10.0
# Messages paced behind others to the same chat (one a second per chat) are "due now" too:
# in the digest hour the clinician's alert comes a second after the digest's chart.
PACED = timedelta(seconds=5)
# Interactive mode: how often messages that arrive on their own (an escalation, a
# check-in prompt, a digest) are looked for while the person is typing.
WATCH_EVERY = 2.0
# How long a typed line may take to be handled before the demo moves on (a busy machine
# can take seconds); what arrives later is shown with the next line.
ANSWER_WAIT = 30.0
_UNSENT = (DeliveryStatus.pending, DeliveryStatus.claimed, DeliveryStatus.sending)


@dataclass(frozen=True)
class Seat:
    name: str
    user_id: int
    first_name: str
    describe: str


SEATS = {
    "client": Seat("client", 2001, "Alex", "the client K7Q-2, enrolled in the demo program"),
    "clinician": Seat("clinician", 1001, "Dr. Rivera", "Dr. Rivera, the client's clinician"),
    "admin": Seat("admin", 1002, "Ana", "Ana, the demo program's admin"),
    "guest": Seat("guest", 3001, "Sam", "someone who has no invitation yet"),
}
# Seats whose chat with the bot exists from the start (the guest has never written).
_ENROLLED = ("client", "clinician", "admin")


async def seed(svc: Services) -> None:
    async with session_scope(svc.sessions) as session:
        program = Program(
            name="Demo Program",
            timezone="America/New_York",
            region="US",
            care_team_chat_id=CARE_TEAM_CHAT_ID,
            digest_times=["08:00", "16:00"],
            care_team_hours="Mon-Fri 9am-5pm",  # the promise names when they will see it
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
        session.add(
            Clinician(
                program_id=program.id,
                telegram_user_id=SEATS["admin"].user_id,
                display_name="Ana",
                role=ClinicianRole.admin,
            )
        )
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
                enrolled_at=datetime.now(UTC),
                primary_clinician_id=clinician.id,
            )
        )


def open_chats(state: SandboxState) -> None:
    """The seeded people's chats with the bot, and the care-team group with the bot in
    it: on Telegram they exist once each person has opened the bot and the group has
    added it, and without them every alert would fail with "chat not found"."""
    for name in _ENROLLED:
        seat = SEATS[name]
        user = state.upsert_user(
            {"id": seat.user_id, "first_name": seat.first_name, "language_code": "en"}
        )
        state.private_chat(user)
    state.group_chat(CARE_TEAM_CHAT_ID, CARE_TEAM_TITLE)


async def deliveries_sent(svc: Services, within: float = DELIVERY_WAIT) -> None:
    """Wait (at most `within` seconds) until nothing due now is left unsent in the outbox."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        async with svc.sessions() as session:
            unsent = (
                await session.exec(
                    select(func.count())
                    .select_from(Delivery)
                    .where(
                        col(Delivery.status).in_(_UNSENT),
                        col(Delivery.available_at) <= datetime.now(UTC) + PACED,
                    )
                )
            ).one()
        if not unsent:
            return
        await asyncio.sleep(0.1)


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
        self.by_label = False  # the choices are a number scale, pressed by their label

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
                self.number(message)
            elif message.buttons:
                # Another seat's buttons: shown, pressed after `/as` that seat.
                labels = "   ".join(f"[{label}]" for row in message.buttons for label in row)
                self.say(f"      {labels}")
            link = _INVITE_LINK.search(body)
            if link:
                self.last_link = link[1]
                self.say("      (demo: /as guest, then /open, opens this link as a new person)")

    def number(self, message: SentMessage) -> bool:
        inline = [label for row in message.buttons for label in row]
        keyboard = [label for row in message.reply_keyboard for label in row]
        if not (inline or keyboard):
            return False
        if inline and all(label.isdigit() for label in inline):
            # A 0-10 scale: typing 6 presses "6", not the sixth button ("5").
            self.choices = [(label, message) for label in inline]
            self.by_label = True
            self.say("      " + "   ".join(f"[{label}]" for label in inline))
            return True
        self.by_label = False
        self.choices = [(label, message) for label in inline] + [
            (label, None) for label in keyboard
        ]
        listed = "   ".join(f"[{n}] {label}" for n, (label, _) in enumerate(self.choices, 1))
        self.say(f"      {listed}")
        return True

    def choice(self, line: str) -> tuple[str, SentMessage | None] | None:
        """The button a typed line presses: its label on a scale, else its number."""
        if self.by_label:
            return next((c for c in self.choices if c[0] == line), None)
        if line.isdigit() and 1 <= int(line) <= len(self.choices):
            return self.choices[int(line) - 1]
        return None


@dataclass
class Conversation:
    """The demo's state: who is typing, and how much of each chat has been shown."""

    sandbox: Sandbox
    svc: Services
    term: Terminal
    seat: Seat = SEATS["client"]
    seen: dict[int, int] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.seen = {s.user_id: 0 for s in SEATS.values()} | {CARE_TEAM_CHAT_ID: 0}

    async def show_new(self) -> bool:
        """Show what the bot sent since last time: to this seat first, then to the others
        and the group. True when anything was shown."""
        shown = False
        for chat_id in [self.seat.user_id, *[c for c in self.seen if c != self.seat.user_id]]:
            events = await self.sandbox.messages(chat_id)
            new = events[self.seen[chat_id] :]
            self.seen[chat_id] = len(events)
            if not new:
                continue
            shown = True
            if chat_id == self.seat.user_id:
                self.term.show("bot", new, choices=True)
            else:
                target = next((s for s in SEATS.values() if s.user_id == chat_id), None)
                where = f"to {target.first_name}" if target else "to the care-team group"
                self.term.show(f"bot {where}", new, choices=False)
        return shown

    async def offer_last_buttons(self) -> None:
        """After a seat switch: number the buttons of that seat's latest message that has
        any (an alert's Acknowledge, the client's menu), as they are now."""
        latest: dict[int, SentMessage] = {}
        for event in await self.sandbox.messages(self.seat.user_id):
            if event.event == "deleted":
                latest.pop(event.message_id, None)
            else:
                latest[event.message_id] = event
        for message_id in sorted(latest, reverse=True):
            message = latest[message_id]
            if message.buttons or message.reply_keyboard:
                self.term.say("      (the buttons of this seat's last message with buttons:)")
                self.term.number(message)
                return


async def run_demo(stdin: TextIO, out: TextIO, *, keep_dir: Path | None = None) -> int:
    interactive = stdin.isatty()
    log_fd, log_name = tempfile.mkstemp(prefix="waypoint-demo-", suffix=".log")
    os.close(log_fd)
    log_path = Path(log_name)
    configure_logging("INFO", path=log_path)
    logging.captureWarnings(True)
    workdir = keep_dir or Path(tempfile.mkdtemp(prefix="waypoint-demo-"))
    server = SandboxServer()
    open_chats(server.state)
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
    # As `run` does: the rules load now, not on the first message someone types.
    load_screener()
    handled = HandledUpdates(limit_seconds=ANSWER_WAIT)
    processor = PerChatUpdateProcessor()
    processor.done_hooks.append(handled.mark)
    application = build_application(svc, DEMO_TOKEN, processor=processor)
    term = Terminal(out)
    try:
        async with (
            polling(application, poll_timeout=5),
            Sandbox(url, settle=handled.wait) as sandbox,
        ):
            talk = Conversation(sandbox, svc, term)
            await _converse(talk, stdin, interactive, log_path)
    finally:
        await engine.dispose()
        await server.stop()
        if keep_dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


async def _watch(talk: Conversation) -> None:
    """Interactive mode: show messages that arrive while the person is typing."""
    while True:
        await asyncio.sleep(WATCH_EVERY)
        async with talk.lock:
            await deliveries_sent(talk.svc, within=0)
            if await talk.show_new():
                talk.term.out.write(f"{talk.seat.first_name} › ")
                talk.term.out.flush()


async def _converse(talk: Conversation, stdin: TextIO, interactive: bool, log_path: Path) -> None:
    term = talk.term
    term.say("Waypoint demo, on a local Telegram sandbox (nothing leaves this machine).")
    term.say(f"You are {talk.seat.describe}. Type a message, or a number to press a button.")
    term.say("Seats: /as client, /as clinician, /as admin, /as guest.")
    term.say("/open opens the last invite link. /quit to leave.")
    term.say(f"Log lines go to {log_path}, not here.")
    term.say()
    # What the start-up sent (a digest whose time has passed today), once it has gone out:
    # the first tick and the program jobs' sync run within the first second.
    await asyncio.sleep(1.0)
    await deliveries_sent(talk.svc)
    if await talk.show_new():
        term.say()
    watcher = asyncio.create_task(_watch(talk)) if interactive else None
    try:
        await _read_lines(talk, stdin, interactive)
    finally:
        if watcher is not None:
            watcher.cancel()


async def _read_lines(talk: Conversation, stdin: TextIO, interactive: bool) -> None:
    term, sandbox = talk.term, talk.sandbox
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            line = await loop.run_in_executor(None, input, f"{talk.seat.first_name} › ")
        else:
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            term.say(f"{talk.seat.first_name} › {line}")
        line = line.strip()
        if line in ("/quit", "/exit"):
            break
        async with talk.lock:
            if line.startswith("/as "):
                name = line.removeprefix("/as ").strip()
                if name not in SEATS:
                    term.say(f"(no seat called {name!r}; try client, clinician, admin or guest)")
                    continue
                talk.seat = SEATS[name]
                term.choices, term.by_label = [], False
                term.say(f"(you are now {talk.seat.describe})")
                await talk.offer_last_buttons()
                continue
            seat = talk.seat
            person = sandbox.person(seat.user_id, seat.first_name)
            if line == "/open":
                if term.last_link is None:
                    term.say("(no invite link yet: /as clinician, then /invite)")
                    continue
                line = f"/start {term.last_link}"
                term.say(f"(opening the link: {line})")
            try:
                chosen = term.choice(line)
                if chosen is not None:
                    await person.press(*chosen)
                else:
                    await person.send(line)
            except TimeoutError:
                term.say(f"(no answer within {ANSWER_WAIT:.0f} s; it is shown when it comes)")
            # An alert or an escalation the message raised goes out through the outbox.
            await deliveries_sent(talk.svc)
            await talk.show_new()
            term.say()
