"""The real bot, polling, in its own process, for the inbox crash test.

`python -m tests.delivery.bot_process [--hang-on TEXT]`, configured by the environment.
With --hang-on, a handler that runs before all others never finishes for that text,
so the test can SIGKILL the process while the update is received but not handled.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bot.app import build_application, configure_logging, polling
from bot.runner import open_services
from bot.settings import load_settings


async def _hang(_update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    await asyncio.Event().wait()


async def main(hang_on: str | None) -> None:
    settings = load_settings(read_env_file=False)
    configure_logging(settings.log_level)
    svc = await open_services(settings)
    application = build_application(svc, settings.require_token())
    if hang_on:
        application.add_handler(MessageHandler(filters.Text([hang_on]), _hang), group=-100)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        async with polling(application, poll_timeout=1):
            await stop.wait()
    finally:
        await svc.engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--hang-on")
    asyncio.run(main(parser.parse_args().hang_on))
