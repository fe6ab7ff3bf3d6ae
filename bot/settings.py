"""Every setting Waypoint reads, from the environment (and an optional `.env` file).

A missing or malformed setting stops start-up with one sentence naming the variable
(`SettingsError`), never a traceback: the person reading it is an admin at a terminal.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT / "data"
REGIONS = ("US", "UK", "IE", "CA", "AU", "EU")

# BotFather tokens are "<bot id>:<35 url-safe characters>"; accept any length >= 20 so a
# sandbox token works too, but catch the usual paste mistakes (quotes, spaces, only the id).
_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")

# The variable each field is read from, for error messages.
_ENV_NAMES = {
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "database_url": "DATABASE_URL",
    "telegram_api_base_url": "TELEGRAM_API_BASE_URL",
    "default_timezone": "DEFAULT_TIMEZONE",
    "default_region": "DEFAULT_REGION",
    "log_level": "LOG_LEVEL",
    "encryption_key": "ENCRYPTION_KEY",
    "attempt_hash_secret": "ATTEMPT_HASH_SECRET",
    "invite_ttl_days": "INVITE_TTL_DAYS",
    "bot_username": "BOT_USERNAME",
    "webhook_url": "WEBHOOK_URL",
    "webhook_secret": "WEBHOOK_SECRET",
    "port": "PORT",
    "worker_id": "WORKER_ID",
    "telegram_rate_limit": "TELEGRAM_RATE_LIMIT",
    "dispatch_interval": "DISPATCH_INTERVAL",
    "delivery_lease": "DELIVERY_LEASE",
    "delivery_in_flight": "DELIVERY_IN_FLIGHT",
    "delivery_retention_days": "DELIVERY_RETENTION_DAYS",
    "priority_classes": "PRIORITY_CLASSES",
    "paid_broadcast": "TELEGRAM_PAID_BROADCAST",
    "waypoint_allow_unencrypted": "WAYPOINT_ALLOW_UNENCRYPTED",
}
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _default_worker_id() -> str:
    """Unique per running process; a platform's stable name (Heroku's DYNO) when there
    is one, so a restarted worker takes back its own unfinished work at once."""
    return os.environ.get("DYNO") or f"{socket.gethostname()[:40]}-{os.getpid()}"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one sentence for an admin."""


def normalize_database_url(raw: str) -> str:
    """Return an async SQLAlchemy URL for SQLite or PostgreSQL, or raise ValueError.

    Admins paste URLs in the forms their hosting gives them (`postgres://…`,
    `postgresql://…`, `sqlite:///…`); Waypoint needs the async drivers.
    """
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise ValueError(
            "is not a database URL; use sqlite:///path/to/file.db or "
            "postgresql://user@host:5432/dbname"
        ) from None
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        if not url.host and not url.query.get("host"):
            raise ValueError("names no PostgreSQL host, e.g. postgresql://user@host:5432/dbname")
        if not url.database:
            raise ValueError(
                "names no PostgreSQL database, e.g. postgresql://user@host:5432/dbname"
            )
        url = url.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("must name a SQLite file, e.g. sqlite:///data/waypoint.db")
        url = url.set(drivername="sqlite+aiosqlite")
    else:
        raise ValueError(
            f"uses '{backend}', but Waypoint runs on SQLite (sqlite:///file.db) "
            "or PostgreSQL (postgresql://…)"
        )
    return url.render_as_string(hide_password=False)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    telegram_bot_token: SecretStr | None = Field(default=None)
    database_url: str = Field(
        default_factory=lambda: f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'waypoint.db'}"
    )
    # The Bot API server; the sandbox's URL in the demo and the tests.
    telegram_api_base_url: str = "https://api.telegram.org"
    default_timezone: str = "America/New_York"
    # Crisis lines shown to someone whose program is not known yet.
    default_region: str = "US"
    log_level: str = "INFO"
    # Fernet key (32 url-safe base64 bytes) for free text at rest; unset = stored as is.
    encryption_key: SecretStr | None = None
    # The key of the wrong-invite limiter's hashes of Telegram ids; unset: derived from
    # ENCRYPTION_KEY, else a random one made once and kept in the database.
    attempt_hash_secret: SecretStr | None = None
    # The bot's @username for invite links printed by the admin command line; when unset
    # it is asked from Telegram with the token.
    bot_username: str | None = None
    # How long a client's or clinician's invite link works.
    invite_ttl_days: int = Field(default=7, ge=1, le=90)
    # Webhook mode (`python -m bot webhook`): the public https URL Telegram posts to,
    # the secret it sends back in X-Telegram-Bot-Api-Secret-Token, the port to listen on.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    port: int = 8080
    # This process in the outbox's claims and heartbeats; unique per running process.
    worker_id: str = Field(default_factory=_default_worker_id)
    # Messages a second the whole bot sends at most (Telegram: about 30): on PostgreSQL
    # every sending process shares it through the database (bot/scheduling/send_budget);
    # 0 turns the limiter off (sandbox only).
    telegram_rate_limit: float = 30.0
    # Seconds between dispatcher ticks; 0: no ticks (tests drive the engine themselves).
    dispatch_interval: float = 2.0
    # Seconds after which another worker takes over an unfinished claim.
    delivery_lease: int = 60
    # At-most-once messages (prompts, reminders) this process has on the way at once;
    # also how many may be in doubt (neither surely sent nor resent) if it is killed.
    # 4: one at a time cannot reach Telegram's 30 a second when a request takes 50 ms
    # (19 msg/s measured), 4 can (72); see benchmarks/README.md.
    delivery_in_flight: int = 4
    # Days a finished delivery (sent, failed, skipped) is kept before it is erased: its
    # payload may hold what the message said.
    delivery_retention_days: int = Field(default=30, ge=1, le=3650)
    # Send the most urgent first (bot/scheduling/priority.py); off only to compare.
    priority_classes: bool = True
    # Send the bulk class (prompts, nudges) with Telegram's allow_paid_broadcast: up to
    # 1,000 a second, charged in Stars for each message over the free rate.
    paid_broadcast: bool = False
    # With a real bot token, start-up is refused without ENCRYPTION_KEY unless this is
    # set: clients' words would then sit in plain text in the database.
    waypoint_allow_unencrypted: bool = False

    @field_validator("telegram_bot_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not _TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError(
                "does not look like a bot token from @BotFather: a token is the bot's id in "
                "digits, a colon, then at least 20 letters, digits, - or _ "
                "(like 123456789:AAH4x…), with no quotes or spaces"
            )
        return SecretStr(value.get_secret_value().strip())

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("telegram_api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone name such as America/New_York") from None
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in REGIONS:
            raise ValueError(f"must be one of {', '.join(REGIONS)}")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in logging.getLevelNamesMapping():
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    @field_validator("encryption_key")
    @classmethod
    def _encryption_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        raw = value.get_secret_value().strip()
        try:
            ok = len(base64.urlsafe_b64decode(raw.encode())) == 32
        except (binascii.Error, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                "must be a Fernet key (32 url-safe base64 bytes); make one with "
                "`python -m bot keygen`"
            )
        return SecretStr(raw)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError("must be the public https URL Telegram posts updates to")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not _SECRET_RE.match(value.get_secret_value().strip()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise ValueError("must be a port number from 1 to 65535")
        return value

    @field_validator("worker_id")
    @classmethod
    def _worker_id(cls, value: str) -> str:
        value = value.strip()
        if not 1 <= len(value) <= 64:
            raise ValueError("must be 1-64 characters")
        return value

    @field_validator("telegram_rate_limit", "dispatch_interval")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value

    @field_validator("delivery_in_flight")
    @classmethod
    def _in_flight(cls, value: int) -> int:
        if not 1 <= value <= 32:
            raise ValueError("must be from 1 to 32")
        return value

    @field_validator("delivery_lease")
    @classmethod
    def _lease(cls, value: int) -> int:
        if value < 5:
            raise ValueError("must be at least 5 seconds")
        return value

    # Derived endpoints: python-telegram-bot appends "<token>/<method>" to base_url.
    @property
    def bot_api_url(self) -> str:
        return f"{self.telegram_api_base_url}/bot"

    @property
    def file_api_url(self) -> str:
        return f"{self.telegram_api_base_url}/file/bot"

    def require_token(self) -> str:
        if self.telegram_bot_token is None:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set its token, "
                "or run `python -m bot demo` to try Waypoint without one."
            )
        return self.telegram_bot_token.get_secret_value()

    @property
    def talks_to_telegram(self) -> bool:
        """A token for the real Telegram (not the sandbox of the demo and the tests)."""
        host = make_url_host(self.telegram_api_base_url)
        return self.telegram_bot_token is not None and host == "api.telegram.org"

    def require_encryption(self) -> None:
        """Real clients' words are not stored in plain text unless the admin says so."""
        if self.encryption_key is None and self.talks_to_telegram:
            if self.waypoint_allow_unencrypted:
                logging.getLogger(__name__).warning(
                    "ENCRYPTION_KEY is not set: clients' words are stored in plain text "
                    "(WAYPOINT_ALLOW_UNENCRYPTED is set)."
                )
                return
            raise SettingsError(
                "ENCRYPTION_KEY is not set: with a real bot token, clients' words must be "
                "encrypted at rest. Create a key with `python -m bot keygen` and set "
                "ENCRYPTION_KEY (keep it safe: without it the data cannot be read), or set "
                "WAYPOINT_ALLOW_UNENCRYPTED=1 to run without encryption on purpose."
            )

    def require_webhook(self) -> tuple[str, str]:
        """The webhook URL and secret, or one sentence saying which is missing."""
        if self.webhook_url is None:
            raise SettingsError(
                "WEBHOOK_URL is not set: set it to the public https URL of this server "
                "(for example https://example.org/telegram), or use `python -m bot run`."
            )
        if self.webhook_secret is None:
            raise SettingsError(
                "WEBHOOK_SECRET is not set: choose 1-256 characters of A-Z, a-z, 0-9, _ "
                "and -; Telegram sends it with every update so strangers cannot post to you."
            )
        return self.webhook_url, self.webhook_secret.get_secret_value()


def make_url_host(url: str) -> str | None:
    return urlsplit(url).hostname


def load_settings(*, read_env_file: bool = True, **overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one clear SettingsError.

    `overrides` win over the environment (the demo and the tests use them).
    """
    try:
        if read_env_file:
            return Settings(**overrides)  # type: ignore[arg-type]
        return Settings(_env_file=None, **overrides)  # type: ignore[arg-type,call-arg]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        name = _ENV_NAMES.get(field, field.upper())
        reason = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name} {reason}.") from None
