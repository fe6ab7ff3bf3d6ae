"""The command line: `python -m bot [start|run|webhook|dispatch|deliveries|health|demo|…]`.

Every failure an admin can cause (a setting, the database, the content) ends with one
clear sentence on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot import admin
from bot.content import DEFAULT_CONTENT_DIR, ContentError
from bot.db import SchemaError
from bot.safety import RulesError
from bot.settings import SettingsError, load_settings

EXIT_USAGE = 2


# `python -m bot --help` lists every setting (README: Settings), so an admin needs no
# other page to start.
SETTINGS_HELP = """\
settings (environment variables, or a .env file in the current folder):
  TELEGRAM_BOT_TOKEN     the bot's token from @BotFather; unset: the demo
  DATABASE_URL           sqlite:///data/waypoint.db (default) or postgresql://user@host:5432/db
  TELEGRAM_API_BASE_URL  the Bot API server (default https://api.telegram.org)
  DEFAULT_TIMEZONE       IANA zone for programs and clients without one (America/New_York)
  DEFAULT_REGION         crisis lines for people whose program is not known (US)
  LOG_LEVEL              DEBUG, INFO (default), WARNING or ERROR
  ENCRYPTION_KEY         Fernet key for free text at rest (python -m bot keygen); needed
                         with a real token
  INVITE_TTL_DAYS        how long an invite link works (7)
  BOT_USERNAME           the bot's @username for links the admin commands print
  WEBHOOK_URL            webhook mode: the public https URL Telegram posts updates to
  WEBHOOK_SECRET         webhook mode: 1-256 of A-Za-z0-9_-
  PORT                   webhook mode: the port to listen on (8080)
  WORKER_ID              this process in claims and heartbeats ($DYNO, else host-pid)
  TELEGRAM_RATE_LIMIT    messages a second the bot sends at most, all workers (30; 0 = off)
  PRIORITY_CLASSES       0: send in due order, not the most urgent first (1)
  TELEGRAM_PAID_BROADCAST  1: send prompts and nudges as paid broadcasts (Stars) (0)
  DISPATCH_INTERVAL      seconds between delivery ticks (2)
  DELIVERY_LEASE         seconds before another worker takes over a claim (60)
  DELIVERY_IN_FLIGHT     prompts and reminders on the way at once per process (1)
  DELIVERY_RETENTION_DAYS  days a finished scheduled message is kept (30)
  WAYPOINT_ALLOW_UNENCRYPTED  1: run a real bot without ENCRYPTION_KEY, on purpose
  ATTEMPT_HASH_SECRET    key of the wrong-invite limiter's hashes (default: derived)

first run: python -m bot migrate, then python -m bot admin --help to set up a program.
"""

_RUN = (
    "Run the bot by long polling: receive updates, answer them, and send scheduled "
    "messages (check-in prompts, reminders, alerts, digests), all in this one process. "
    "Telegram allows one polling process per bot token; for several workers use webhook "
    "and dispatch. Needs TELEGRAM_BOT_TOKEN and a database at the newest schema "
    "(python -m bot migrate). Stops cleanly on Ctrl-C or SIGTERM."
)
_DEMO = (
    "Try Waypoint in this terminal, without a Telegram token: a local Telegram sandbox "
    "and the real bot on a fresh temporary SQLite file, with a demo program, its "
    "care-team group, a clinician (Dr. Rivera), an admin (Ana) and a client (K7Q-2). "
    "Type a message, or a number to press a button; /as client, /as clinician, /as admin "
    "and /as guest switch seats, and what the bot sends to the other seats and to the "
    "group is shown too. When standard input is not a terminal, each line is a step of a "
    "script and the whole conversation is printed. Log lines go to a file whose path is "
    "printed once. Nothing leaves this machine."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Waypoint: a recovery companion on Telegram. With no command: the real bot "
        "when TELEGRAM_BOT_TOKEN is set (after migrating), else the local demo.",
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser(
        "start",
        help="migrate and run the bot if a token is set, else the demo",
        description="With TELEGRAM_BOT_TOKEN set: migrate the database, then run (see run "
        "--help). Without it: the demo (see demo --help).",
    )
    sub.add_parser(
        "run",
        help="run the bot by long polling (needs TELEGRAM_BOT_TOKEN)",
        description=_RUN,
    )
    sub.add_parser(
        "webhook",
        help="run the bot by webhook (needs WEBHOOK_URL and WEBHOOK_SECRET)",
        description="Receive updates by webhook at WEBHOOK_URL (Telegram sends "
        "WEBHOOK_SECRET back with each), listening on PORT, and send scheduled messages. "
        "Any number may run behind a load balancer, on PostgreSQL.",
    )
    sub.add_parser(
        "dispatch",
        help="only plan and send scheduled messages (any number may run)",
        description="Only plan and send scheduled messages, no updates. Any number may "
        "run beside the webhook workers; give each its own WORKER_ID and a share of "
        "TELEGRAM_RATE_LIMIT.",
    )
    sub.add_parser("deliveries", help="scheduled messages: counts, oldest due, recent failures")
    health = sub.add_parser(
        "health",
        help="exit 1 when the database cannot be read, an update waits unhandled or no "
        "dispatcher has ticked recently (for process managers)",
    )
    health.add_argument(
        "--max-age", type=float, metavar="SECONDS", help="default: 5 ticks, at least 30 s"
    )
    health.add_argument(
        "--max-update-age",
        type=float,
        metavar="SECONDS",
        default=300.0,
        help="an update not handled this long after it arrived means a stalled update loop "
        "(default: 300)",
    )
    health.add_argument("--worker", metavar="WORKER_ID", help="check this worker only")
    sub.add_parser(
        "demo",
        help="try Waypoint in this terminal on a local Telegram sandbox",
        description=_DEMO,
    )
    sub.add_parser(
        "migrate",
        help="upgrade the database to the newest schema",
        description="Create or upgrade the database at DATABASE_URL to the newest schema "
        "(Alembic). Run it first, and after each update of Waypoint; running it twice is "
        "harmless.",
    )
    sandbox = sub.add_parser("sandbox", help="run the local Telegram Bot API sandbox alone")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8081)
    content = sub.add_parser("content", help="content tools")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    check = content_sub.add_parser("check", help="validate content and grade every client text")
    check.add_argument("--dir", type=Path, default=DEFAULT_CONTENT_DIR)
    sub.add_parser(
        "screen",
        help="the safety screen: JSON lines on stdin, --eval FILE, train (see screen --help)",
    )
    sub.add_parser("keygen", help="print a new ENCRYPTION_KEY")
    admin.add_parser(sub)
    return parser


def main(argv: list[str]) -> int:
    if argv[:1] == ["screen"]:  # the screen has its own options (--eval, --heldout, train)
        from bot.safety.cli import main as screen_main

        return screen_main(argv[1:], sys.stdin, sys.stdout)
    args = _parser().parse_args(argv)
    command = args.command or "start"
    try:
        return _dispatch(command, args, argv)
    except (SettingsError, ContentError, SchemaError, RulesError) as exc:
        print(f"Waypoint cannot start: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except admin.AdminError as exc:
        print(f"Waypoint admin: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from bot.runner import StartupError

        if isinstance(exc, StartupError):
            print(f"Waypoint cannot start: {exc}", file=sys.stderr)
            return EXIT_USAGE
        raise


def _dispatch(command: str, args: argparse.Namespace, argv: list[str]) -> int:
    if command == "content":
        from bot.content import content_check_main

        return content_check_main(args.dir, sys.stdout)
    if command == "keygen":
        from cryptography.fernet import Fernet

        print(Fernet.generate_key().decode())
        return 0
    if command == "sandbox":
        from bot.telegram_sandbox.server import run_sandbox

        asyncio.run(run_sandbox(args.host, args.port))
        return 0
    if command == "demo":
        from bot.demo import run_demo

        return asyncio.run(run_demo(sys.stdin, sys.stdout))

    from bot import runner

    settings = load_settings()
    if command == "start":
        if settings.telegram_bot_token is None:
            from bot.demo import run_demo

            return asyncio.run(run_demo(sys.stdin, sys.stdout))
        print(asyncio.run(runner.migrate(settings)), file=sys.stderr)
        command = "run"
    if command == "admin":
        return asyncio.run(admin.run_admin(args, settings, sys.stdout))
    if command == "migrate":
        print(asyncio.run(runner.migrate(settings)))
        return 0
    if command == "run":
        asyncio.run(runner.run_polling(settings))
        return 0
    if command == "webhook":
        asyncio.run(runner.run_webhook(settings))
        return 0
    if command == "dispatch":
        asyncio.run(runner.run_dispatch(settings))
        return 0
    if command == "deliveries":
        print(asyncio.run(runner.deliveries_report(settings)))
        return 0
    if command == "health":
        try:
            print(
                asyncio.run(
                    runner.health(
                        settings,
                        max_age=args.max_age,
                        worker=args.worker,
                        max_update_age=args.max_update_age,
                    )
                )
            )
        except runner.Unhealthy as exc:
            print(f"Waypoint is unhealthy: {exc}", file=sys.stderr)
            return 1
        return 0
    raise AssertionError(command)
