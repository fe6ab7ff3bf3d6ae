"""The program admin's command line: programs and clinicians, and one clear sentence for
every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/w.db", "BOT_USERNAME": "waypoint_test_bot"}
    assert run_cli("migrate", env=env).returncode == 0
    return env


def _ok(env: dict[str, str], *args: str) -> str:
    result = run_cli("admin", *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _refused(env: dict[str, str], *args: str) -> str:
    result = run_cli("admin", *args, env=env)
    assert result.returncode == 2, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_programs_are_added_listed_and_changed(env: dict[str, str]) -> None:
    out = _ok(
        env,
        "program",
        "add",
        "--name",
        "Riverside IOP",
        "--timezone",
        "America/Chicago",
        "--region",
        "us",
        "--care-team-chat",
        "-1001234",
        "--digest-times",
        "16:00,08:00",
        "--no-on-call-24-7",
        "--hours",
        "Mon-Fri 9am-5pm",
    )
    assert "Riverside IOP  [US, America/Chicago]" in out
    assert "digests 08:00,16:00" in out and "no 24/7 on call" in out
    _ok(
        env,
        "program",
        "set",
        "Riverside IOP",
        "--on-call-24-7",
        "--region",
        "CA",
        "--escalate-after",
        "10",
    )
    listing = _ok(env, "program", "list")
    assert "escalate after 10 min" in listing
    assert "[CA, America/Chicago]" in listing and "24/7 on call" in listing
    assert "hours: Mon-Fri 9am-5pm" in listing


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--timezone", "Mars/Base"], "--timezone 'Mars/Base' is not an IANA time zone"),
        (["--region", "XX"], "--region 'XX' must be one of US, UK, IE, CA, AU, EU."),
        (["--digest-times", "8am"], "--digest-times '8am' is not a time like 08:00"),
        (["--care-team-chat", "12345"], "is not a group: group chat ids are negative"),
        (["--care-team-chat", "abc"], "is not a Telegram chat id"),
        (["--escalate-after", "0"], "--escalate-after must be between 1 and 240 minutes."),
    ],
)
def test_each_program_mistake_gets_one_sentence(
    env: dict[str, str], args: list[str], expected: str
) -> None:
    base = {"--name": "P", "--timezone": "UTC", "--region": "US"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    line = _refused(env, "program", "add", *[x for pair in base.items() for x in pair])
    assert expected in line


def test_a_duplicate_program_and_an_unknown_one_are_refused(env: dict[str, str]) -> None:
    _ok(env, "program", "add", "--name", "P", "--timezone", "UTC", "--region", "US")
    assert "already exists" in _refused(
        env, "program", "add", "--name", "P", "--timezone", "UTC", "--region", "US"
    )
    assert "There is no program 'Q'" in _refused(env, "program", "set", "Q", "--region", "UK")
    assert "There is no program 'Q'" in _refused(
        env, "clinician", "invite", "--program", "Q", "--role", "clinician"
    )


def test_clinicians_are_invited_listed_and_deactivated(env: dict[str, str]) -> None:
    _ok(env, "program", "add", "--name", "P", "--timezone", "UTC", "--region", "US")
    out = _ok(env, "clinician", "invite", "--program", "P", "--role", "admin", "--name", "Dr. Chen")
    assert "https://t.me/waypoint_test_bot?start=" in out
    assert "Dr. Chen  admin  program 1  invited  active" in _ok(env, "clinician", "list")
    _ok(env, "clinician", "deactivate", "1")
    assert "deactivated" in _ok(env, "clinician", "list", "--program", "P")
    assert "There is no clinician 9" in _refused(env, "clinician", "deactivate", "9")


def test_an_invite_needs_to_know_the_bots_name(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
    run_cli("migrate", env=env)
    _ok(env, "program", "add", "--name", "P", "--timezone", "UTC", "--region", "US")
    assert "Set TELEGRAM_BOT_TOKEN (or BOT_USERNAME)" in _refused(
        env, "clinician", "invite", "--program", "P", "--role", "clinician"
    )


def test_admin_commands_refuse_an_unmigrated_database(tmp_path: Path) -> None:
    # The real `python -m bot admin` process, as an admin runs it (tests/cli.py runs the
    # others in this process).
    result = run_cli(
        "admin",
        "program",
        "list",
        env={"DATABASE_URL": f"sqlite:///{tmp_path}/none.db"},
        real_process=True,
    )
    assert result.returncode == 2
    assert "run `python -m bot migrate` first" in result.stderr
