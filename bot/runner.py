"""Starting and stopping Waypoint: checks that fail with one clear sentence, then polling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import InvalidToken, NetworkError

from bot.app import build_application, polling
from bot.content import DEFAULT_CONTENT_DIR, load_content
from bot.db import SchemaError, ensure_schema_current, make_engine, make_sessionmaker, upgrade
from bot.safety import RulesError, load_screener
from bot.safety.nearest import load_nearest
from bot.services import Services
from bot.settings import Settings

log = logging.getLogger(__name__)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str, *, path: Path | None = None) -> None:
    """Log at `level` to standard error, or to the file at `path` (the demo's terminal
    is a conversation, not a log).

    Below DEBUG, APScheduler's two lines per job run ("Running job …", "… executed
    successfully", about 3 a second from the delivery tick) are left out: they drowned
    Waypoint's own one line per send. Its warnings and errors (a missed or failed run)
    still show.
    """
    handler: logging.Handler = (
        logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler()
    )
    logging.basicConfig(level=level, format=LOG_FORMAT, handlers=[handler], force=True)
    # httpx logs every request URL at INFO, and those URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    quiet = logging.getLevelName(level.upper()) != logging.DEBUG
    logging.getLogger("apscheduler").setLevel(logging.WARNING if quiet else logging.NOTSET)


class StartupError(Exception):
    """Waypoint cannot start; the message is one sentence for the admin."""


def _describe_database(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"the SQLite file {parsed.database}"
    return f"PostgreSQL at {parsed.host}:{parsed.port or 5432}/{parsed.database}"


async def migrate(settings: Settings) -> str:
    """Upgrade the database to the newest schema; returns what was done, for the admin."""
    if settings.database_url.startswith("sqlite"):
        # A fresh machine has no data folder yet.
        Path(make_url(settings.database_url).database or "").parent.mkdir(
            parents=True, exist_ok=True
        )
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
    except (OSError, OperationalError, DBAPIError) as exc:
        raise StartupError(
            f"Could not open {_describe_database(settings.database_url)}: {_first_line(exc)}."
        ) from None
    finally:
        await engine.dispose()
    return f"{_describe_database(settings.database_url)} is at the newest schema."


async def open_services(settings: Settings) -> Services:
    """Load and validate content and safety rules, connect, and refuse a schema that does
    not match. The rules load here, not on the first message, so a broken rules file
    stops start-up and nobody's first message waits for them."""
    content = load_content(DEFAULT_CONTENT_DIR)
    load_screener()
    # The alert's "nearest examples" index: built beside start-up, so the first alert
    # that needs it does not wait (and start-up does not either).
    threading.Thread(target=_warm_nearest, name="nearest-index", daemon=True).start()
    engine = make_engine(settings.database_url)
    try:
        await ensure_schema_current(engine)
    except (OSError, OperationalError, DBAPIError) as exc:
        await engine.dispose()
        raise StartupError(
            f"Could not open {_describe_database(settings.database_url)}: {_first_line(exc)}."
        ) from None
    except BaseException:
        await engine.dispose()
        raise
    return Services(
        settings=settings, content=content, engine=engine, sessions=make_sessionmaker(engine)
    )


async def _require_encryption(svc: Services) -> None:
    """After the database checks (their sentence says more when both fail)."""
    try:
        svc.settings.require_encryption()
    except BaseException:
        await svc.engine.dispose()
        raise


def _warm_nearest() -> None:
    try:
        load_nearest()
    except RulesError as exc:  # the alert says "none close"; the screen itself is unaffected
        log.error("nearest corpus examples unavailable: %s", exc)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def run_polling(settings: Settings) -> None:
    """Run the bot by long polling until SIGINT or SIGTERM."""
    configure_logging(settings.log_level)
    token = settings.require_token()
    svc = await open_services(settings)
    await _require_encryption(svc)
    application = build_application(svc, token)
    stop = _stop_on_signals()
    try:
        with _telegram_start_errors(settings):
            async with polling(application):
                log.info("Waypoint is running as @%s (polling)", application.bot.username)
                await stop.wait()
    finally:
        await svc.engine.dispose()


@contextlib.contextmanager
def _telegram_start_errors(settings: Settings) -> Iterator[None]:
    """Telegram refusing the token, or not answering, is one sentence for the admin."""
    try:
        yield
    except InvalidToken:
        raise StartupError(
            "TELEGRAM_BOT_TOKEN was refused by Telegram: check the token from @BotFather."
        ) from None
    except NetworkError as exc:
        raise StartupError(
            f"Could not reach the Telegram Bot API at {settings.telegram_api_base_url}: {exc}."
        ) from None


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def run_webhook(settings: Settings) -> None:
    """Receive updates by webhook (several of these may run behind a load balancer)."""
    from bot.features.delivery import delivery_engine
    from bot.webhook import serving_webhook

    configure_logging(settings.log_level)
    token = settings.require_token()
    url, secret = settings.require_webhook()
    svc = await open_services(settings)
    await _require_encryption(svc)
    application = build_application(svc, token)
    delivery_engine(application).role = "webhook"
    stop = _stop_on_signals()
    try:
        with _telegram_start_errors(settings):
            async with serving_webhook(
                application, url=url, secret=secret, port=settings.port
            ) as receiver:
                log.info(
                    "Waypoint is running as @%s (webhook %s, listening on port %s)",
                    application.bot.username,
                    url,
                    receiver.url.rsplit(":", 1)[-1],
                )
                await stop.wait()
    except OSError as exc:
        raise StartupError(f"Could not listen on port {settings.port}: {exc.strerror}.") from None
    finally:
        await svc.engine.dispose()


async def run_dispatch(settings: Settings) -> None:
    """Only plan and send scheduled messages: no updates (any number of these may run)."""
    from telegram.constants import ParseMode
    from telegram.ext import Application, Defaults

    from bot.features import delivery
    from bot.sealed import configure_encryption

    configure_logging(settings.log_level)
    token = settings.require_token()
    if settings.dispatch_interval <= 0:
        raise StartupError("DISPATCH_INTERVAL is 0, so a dispatch worker would never send.")
    svc = await open_services(settings)
    await _require_encryption(svc)
    builder = (
        Application.builder()
        .token(token)
        .base_url(settings.bot_api_url)
        .base_file_url(settings.file_api_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .updater(None)
    )
    limiter = delivery.rate_limiter(settings)
    if limiter is not None:
        builder = builder.rate_limiter(limiter)
    application = builder.build()
    svc.install(application.bot_data)
    key = settings.encryption_key
    configure_encryption(key.get_secret_value() if key else None)
    delivery.register(application)
    delivery.delivery_engine(application).role = "dispatch"
    stop = _stop_on_signals()
    try:
        with _telegram_start_errors(settings):
            async with application:
                await application.start()
                log.info("Waypoint dispatcher %s is running", settings.worker_id)
                await stop.wait()
                await delivery.stop(application)
                await application.stop()
    finally:
        await svc.engine.dispose()


async def deliveries_report(settings: Settings) -> str:
    """`python -m bot deliveries`: counts by kind and status, oldest due, failures."""
    from bot.scheduling.clock import SystemClock
    from bot.scheduling.stats import format_overview, overview

    svc = await open_services(settings)
    try:
        view = await overview(
            svc.engine,
            SystemClock().now(),
            cap=settings.telegram_rate_limit,
            paid_broadcast=settings.paid_broadcast,
        )
        return format_overview(view)
    finally:
        await svc.engine.dispose()


class Unhealthy(Exception):
    """The database, the dispatcher or the update loop is not working; one sentence."""


# An update not handled this long after it arrived means the update loop is stuck (a
# handled one takes well under a second; a database outage is retried within seconds).
STALLED_UPDATE_SECONDS = 300.0


async def _oldest_unfinished_update(engine: AsyncEngine) -> datetime | None:
    import sqlalchemy as sa

    from bot.models import InboundStatus, InboundUpdate

    inbound = InboundUpdate.__table__  # type: ignore[attr-defined]
    async with engine.connect() as connection:
        oldest = await connection.scalar(
            sa.select(sa.func.min(inbound.c.received_at)).where(
                inbound.c.status == InboundStatus.received.value
            )
        )
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return oldest  # type: ignore[no-any-return]


async def health(
    settings: Settings,
    *,
    max_age: float | None,
    worker: str | None,
    max_update_age: float = STALLED_UPDATE_SECONDS,
) -> str:
    """`python -m bot health`: one sentence; raises Unhealthy when it is not (the
    database unreachable, an update waiting too long, or no recent dispatcher tick)."""
    from bot.scheduling.clock import SystemClock
    from bot.scheduling.heartbeat import beats

    limit = max_age if max_age is not None else max(30.0, 5 * settings.dispatch_interval)
    try:
        svc = await open_services(settings)
    except (StartupError, SchemaError) as exc:
        raise Unhealthy(str(exc)) from None
    try:
        workers = await beats(svc.engine)
        oldest_update = await _oldest_unfinished_update(svc.engine)
    except (OSError, SQLAlchemyError) as exc:
        raise Unhealthy(
            f"could not read {_describe_database(settings.database_url)}: {_first_line(exc)}."
        ) from None
    finally:
        await svc.engine.dispose()
    now = SystemClock().now()
    if oldest_update is not None:
        waiting = (now - oldest_update).total_seconds()
        if waiting > max_update_age:
            raise Unhealthy(
                f"an update received {waiting:.0f}s ago is not handled yet "
                f"(more than {max_update_age:.0f}s): the update loop is stalled."
            )
    if worker is not None:
        workers = [w for w in workers if w.worker_id == worker]
    if not workers:
        who = f"worker {worker} never" if worker else "no dispatcher"
        raise Unhealthy(f"{who} has ever ticked.")
    newest = max(workers, key=lambda w: w.beat_at)
    age = (now - newest.beat_at).total_seconds()
    if age > limit:
        raise Unhealthy(
            f"the dispatcher ({newest.worker_id}) last ticked {age:.0f}s ago "
            f"(more than {limit:.0f}s)."
        )
    return f"healthy: {newest.worker_id} ({newest.role}) ticked {age:.0f}s ago."
