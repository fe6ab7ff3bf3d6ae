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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Waypoint: a recovery companion on Telegram. With no command: the real bot "
        "when TELEGRAM_BOT_TOKEN is set (after migrating), else the local demo.",
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("start", help="migrate and run the bot if a token is set, else the demo")
    sub.add_parser("run", help="run the bot by long polling (needs TELEGRAM_BOT_TOKEN)")
    sub.add_parser("webhook", help="run the bot by webhook (needs WEBHOOK_URL and WEBHOOK_SECRET)")
    sub.add_parser("dispatch", help="only plan and send scheduled messages (any number may run)")
    sub.add_parser("deliveries", help="scheduled messages: counts, oldest due, recent failures")
    health = sub.add_parser(
        "health", help="exit 1 when no dispatcher has ticked recently (for process managers)"
    )
    health.add_argument(
        "--max-age", type=float, metavar="SECONDS", help="default: 5 ticks, at least 30 s"
    )
    health.add_argument("--worker", metavar="WORKER_ID", help="check this worker only")
    sub.add_parser("demo", help="try Waypoint in this terminal on a local Telegram sandbox")
    sub.add_parser("migrate", help="upgrade the database to the newest schema")
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
            print(asyncio.run(runner.health(settings, max_age=args.max_age, worker=args.worker)))
        except runner.Unhealthy as exc:
            print(f"Waypoint is unhealthy: {exc}", file=sys.stderr)
            return 1
        return 0
    raise AssertionError(command)
