"""What an admin reads before anything runs: --help names every setting and describes
the commands they start with; a wrong token is told the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from tests.cli import run_cli


def test_help_lists_every_environment_setting() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for field in Settings.model_fields:
        assert field.upper() in result.stdout, f"{field.upper()} is not in --help"
    assert "python -m bot migrate" in result.stdout


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("run", ("long polling", "TELEGRAM_BOT_TOKEN", "python -m bot migrate")),
        ("demo", ("without a Telegram token", "/as clinician", "Log lines go to a file")),
        ("migrate", ("newest schema", "DATABASE_URL")),
    ],
)
def test_the_first_commands_describe_themselves(command: str, words: tuple[str, ...]) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    described = " ".join(result.stdout.split("options:", 1)[0].split()[4:])
    for word in words:
        assert word in described, f"{command} --help does not say {word!r}: {result.stdout}"


def test_a_malformed_token_is_told_the_rule(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        env={"TELEGRAM_BOT_TOKEN": "123456789:short", "DATABASE_URL": f"sqlite:///{tmp_path}/w.db"},
    )
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "TELEGRAM_BOT_TOKEN does not look like a bot token" in line
    assert "digits, a colon, then at least 20 letters, digits, - or _" in line
    assert "short" not in line  # the token itself is never echoed
