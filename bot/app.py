"""Builds the python-telegram-bot Application from settings and composes the features.

This module only wires; what the bot decides lives in the features and the pure core.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    ContextTypes,
    Defaults,
)

from bot.features import (
    account,
    aftercare,
    ask_when_unsure,
    breathe,
    careteam,
    careteam_alerts,
    checkin,
    crisis,
    delivery,
    enrollment,
    learn,
    medication,
    privacy,
    program_reminder,
    progress,
    safetyplan,
    screen_marks,
    sessions,
    welcome,
)
from bot.inbox import Inbox, InboxQueue, inbox_of, resume_unfinished
from bot.sealed import configure_encryption
from bot.services import AnyApplication, Services, services
from bot.telegram_http import AiohttpRequest, PollingRequest
from bot.updates import PerChatUpdateProcessor

log = logging.getLogger(__name__)

# Order matters within a group: the first matching handler wins. `careteam` comes before
# `account` (a clinician's "/pause CODE" before a client's "/pause"), and `welcome`
# answers whatever no other feature claimed, so it comes last. `aftercare` comes before
# `careteam` ("/discharge CODE aftercare" is a step-down); `sessions`, `checkin`, `learn`
# and `breathe` before `account` (the menu's buttons).
FEATURES = (
    program_reminder,
    crisis,
    ask_when_unsure,
    enrollment,
    aftercare,
    sessions,
    medication,
    careteam,
    careteam_alerts,
    screen_marks,
    checkin,
    learn,
    breathe,
    progress,
    account,
    privacy,
    delivery,
    safetyplan,
    welcome,
)


def build_application(
    svc: Services, token: str, *, processor: PerChatUpdateProcessor | None = None
) -> AnyApplication:
    processor = processor or PerChatUpdateProcessor()
    # The inbox: every update is stored as it enters the update queue, before polling
    # confirms it to Telegram, and marked done once handled (bot/inbox.py).
    inbox = Inbox(svc.engine, worker_id=svc.settings.worker_id)
    processor.done_hooks.insert(0, inbox.mark_done)
    polling = PollingRequest()
    builder = (
        Application.builder()
        .token(token)
        .base_url(svc.settings.bot_api_url)
        .base_file_url(svc.settings.file_api_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .update_queue(InboxQueue(inbox, as_sent=polling.as_sent))
        .concurrent_updates(processor)
        # Bot API calls over aiohttp instead of httpx, for a fraction of the CPU a call
        # costs (bot/telegram_http.py). Polling keeps a connection of its own.
        .request(AiohttpRequest())
        .get_updates_request(polling)
    )
    # Telegram's overall and per-group limits; sends beyond them wait instead of failing.
    limiter = delivery.rate_limiter(svc.settings)
    if limiter is not None:
        builder = builder.rate_limiter(limiter)
    application = builder.build()
    svc.install(application.bot_data)
    inbox.install(application)
    key = svc.settings.encryption_key
    configure_encryption(key.get_secret_value() if key else None)
    for feature in FEATURES:
        feature.register(application)
    application.add_error_handler(on_error)
    return application


@asynccontextmanager
async def polling(
    application: AnyApplication, *, poll_interval: float = 0.0, poll_timeout: int = 10
) -> AsyncIterator[AnyApplication]:
    """Initialize, publish the command menu, poll until the block ends, then stop cleanly.

    The one lifecycle for the real bot, the demo and the tests.
    """
    async with application:
        await publish_commands(application)
        await application.start()
        # The only update consumer (one poller per token): whatever a previous run
        # stored but did not finish is handled first, in order.
        await resume_unfinished(application, everything=True)
        inbox = inbox_of(application)
        if inbox is not None:
            await inbox.load_newest()
            inbox.looks_ahead = True
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=poll_interval, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES
        )
        try:
            yield application
        finally:
            await application.updater.stop()
            await delivery.stop(application)
            await application.stop()


async def publish_commands(application: AnyApplication) -> None:
    """Publish the command menu in every language the content has."""
    content = services(application).content
    for code in content.languages:
        pack = content.language(code)
        commands = [BotCommand(name, text) for name, text in pack.ui.commands.items()]
        await application.bot.set_my_commands(
            commands, language_code=None if code == "en" else code
        )


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every error and tell the person something went wrong; never crash the process.

    Ends with ApplicationHandlerStop: after a failure no later handler group should answer
    the same update too (a fallback's "welcome" after a failed crisis card, say).
    """
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    # The exception, never the message text: logs are no place for health information.
    log.error("error while handling update %s", update_id, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        raise ApplicationHandlerStop
    if isinstance(error, Forbidden):
        raise ApplicationHandlerStop  # the person blocked the bot; nobody to tell
    user = update.effective_user
    pack = services(context).content.language(user.language_code if user else None)
    try:
        await update.effective_chat.send_message(pack.ui.error)
    except TelegramError as exc:
        log.warning("could not send the error message: %s", exc)
    raise ApplicationHandlerStop


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and those URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
