"""Steps shared by the enrollment tests: the admin at the terminal, the clinician and the
client in Telegram, all through the real command line and the sandbox."""

from __future__ import annotations

import asyncio
import os
import re
import sys

from sqlmodel import select

from bot.models import Client, Clinician, Program
from bot.services import Services
from bot.telegram_sandbox import Person, SentMessage
from tests.cli import REPO, run_in_process
from tests.harness import TEST_TOKEN, BotHarness

LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)")


async def admin(
    harness: BotHarness, *args: str, real_process: bool = False
) -> tuple[int, str, str]:
    """`python -m bot admin …` against this test's database and sandbox: (exit code,
    stdout, stderr).

    In this process by default (tests/cli.py: the same entry point, environment and
    output, without a new interpreter's start-up); `real_process=True` runs the real
    subprocess. Either way without blocking the event loop: the sandbox in this process
    must answer the command's getMe while it runs.
    """
    env = {
        **os.environ,
        "DATABASE_URL": harness.services.settings.database_url,
        "TELEGRAM_API_BASE_URL": harness.server.url,
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
    }
    if not real_process:
        result = await asyncio.to_thread(
            run_in_process, ["admin", *args], env=env, stdin="", cwd=REPO / "tests", timeout=60
        )
        return result.returncode, result.stdout, result.stderr
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "admin",
        *args,
        cwd=REPO / "tests",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def token_in(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no invite link in {text!r}"
    return match.group(2)


async def program_with_clinician(
    harness: BotHarness,
    clinician: Person,
    *,
    region: str = "US",
    timezone: str = "America/New_York",
    name: str = "Riverside IOP",
) -> None:
    code, out, err = await admin(
        harness, "program", "add", "--name", name, "--timezone", timezone, "--region", region
    )
    assert code == 0, err
    code, out, err = await admin(
        harness,
        "clinician",
        "invite",
        "--program",
        name,
        "--role",
        "clinician",
        "--name",
        clinician.first_name,
    )
    assert code == 0, err
    (registered,) = await clinician.send(f"/start {token_in(out)}")
    assert "registered as a clinician" in registered.text


async def invite(clinician: Person, label: str = "") -> tuple[str, str]:
    """The clinician's /invite; returns (pseudonym code, token)."""
    (reply,) = await clinician.send(f"/invite {label}".strip())
    assert reply.protect_content
    code = re.search(r"<b>([A-Z0-9]{3}-\d)</b>", reply.text or "")
    assert code, reply.text
    return code.group(1), token_in(reply.text or "")


async def consent(client: Person, token: str) -> list[SentMessage]:
    shown = await client.send(f"/start {token}")
    return shown + await client.press("I'm 18+ and I agree")


async def join_and_set_up(client: Person, token: str) -> SentMessage:
    """Join with defaults a client would pick; returns the final 'all set' message."""
    await consent(client, token)
    await client.press("English")
    await client.press("New York")
    await client.press("8:00 pm")
    await client.press("Yes")
    # Pressing closes the question (an edit) and the next message comes.
    (_closed, done) = await client.press("No")
    return done


async def client_row(svc: Services, code: str) -> Client:
    async with svc.sessions() as session:
        row = (await session.exec(select(Client).where(Client.code == code))).one()
    return row


async def only_program(svc: Services) -> Program:
    async with svc.sessions() as session:
        return (await session.exec(select(Program))).one()


async def clinician_row(svc: Services, telegram_user_id: int) -> Clinician:
    async with svc.sessions() as session:
        return (
            await session.exec(
                select(Clinician).where(Clinician.telegram_user_id == telegram_user_id)
            )
        ).one()
