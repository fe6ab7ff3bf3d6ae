"""Settings: a missing or malformed setting stops start-up with one clear sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings, normalize_database_url
from tests.cli import REPO, run_cli


def _one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]


def test_run_without_token_says_which_variable_and_exits_nonzero(tmp_path: Path) -> None:
    result = run_cli("run", env={"DATABASE_URL": f"sqlite:///{tmp_path}/w.db"})
    assert result.returncode != 0
    line = _one_sentence(result.stderr)
    assert "TELEGRAM_BOT_TOKEN is not set" in line
    assert "python -m bot demo" in line


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://root@localhost/waypoint", "uses 'mysql'"),
        ("not a url at all", "is not a database URL"),
        ("postgresql:///nohost", "names no PostgreSQL host"),
        ("sqlite://", "must name a SQLite file"),
    ],
)
def test_bad_database_url_is_one_clear_sentence(url: str, expected: str) -> None:
    result = run_cli("run", env={"DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": "1234:" + "a" * 35})
    assert result.returncode != 0
    line = _one_sentence(result.stderr)
    assert line.startswith("Waypoint cannot start: DATABASE_URL ")
    assert expected in line


def test_malformed_token_is_refused_before_anything_runs(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        env={"TELEGRAM_BOT_TOKEN": "'my token'", "DATABASE_URL": f"sqlite:///{tmp_path}/w.db"},
    )
    assert result.returncode != 0
    assert "TELEGRAM_BOT_TOKEN does not look like a bot token" in _one_sentence(result.stderr)
    assert not (tmp_path / "w.db").exists()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DEFAULT_TIMEZONE", "Mars/Olympus", "DEFAULT_TIMEZONE is not an IANA time zone"),
        ("DEFAULT_REGION", "XX", "DEFAULT_REGION must be one of US, UK, IE, CA, AU, EU"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR"),
        ("ENCRYPTION_KEY", "short", "ENCRYPTION_KEY must be a Fernet key"),
        ("TELEGRAM_API_BASE_URL", "ftp://x", "TELEGRAM_API_BASE_URL must be an http(s) URL"),
    ],
)
def test_each_setting_is_validated(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(read_env_file=False)
    assert str(caught.value).startswith(expected)


def test_database_urls_in_common_forms_get_async_drivers() -> None:
    assert (
        normalize_database_url("postgres://u:p@db:5432/w") == "postgresql+asyncpg://u:p@db:5432/w"
    )
    assert normalize_database_url("postgresql://u@db/w") == "postgresql+asyncpg://u@db/w"
    assert normalize_database_url("sqlite:///data/w.db") == "sqlite+aiosqlite:///data/w.db"


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "TELEGRAM_API_BASE_URL", "ENCRYPTION_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(read_env_file=False)
    assert settings.telegram_bot_token is None
    assert settings.database_url == f"sqlite+aiosqlite:///{REPO / 'data' / 'waypoint.db'}"
    assert settings.bot_api_url == "https://api.telegram.org/bot"
    assert settings.encryption_key is None


def test_keygen_prints_a_key_the_settings_accept(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli("keygen")
    assert result.returncode == 0
    monkeypatch.setenv("ENCRYPTION_KEY", result.stdout.strip())
    assert load_settings(read_env_file=False).encryption_key is not None
