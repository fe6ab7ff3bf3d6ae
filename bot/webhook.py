"""Webhook mode: a small aiohttp server that Telegram posts updates to.

python-telegram-bot's own webhook server answers 200 before the update is stored, so
Waypoint runs its own (the `.updater(None)` pattern): a request without the right
`X-Telegram-Bot-Api-Secret-Token` gets 401 and is not read further; an update is
written to the inbox BEFORE the answer (a 500 if it cannot be, so Telegram retries),
then handled. The answer waits for the handling, up to a limit: Telegram sends a chat's
next update only after the answer, so one chat's updates stay in order even when a
load balancer spreads them over several workers. An update still running at the limit
is answered anyway; it is in the inbox and will be finished.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update

from bot.inbox import InboxQueue, inbox_of, resume_unfinished
from bot.services import AnyApplication
from bot.updates import update_shape_error

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookReceiver:
    def __init__(
        self,
        application: AnyApplication,
        *,
        secret: str,
        path: str = "/telegram",
        answer_within: float = 10.0,
    ) -> None:
        self.application = application
        self._secret = secret.encode()
        self.path = path if path.startswith("/") else f"/{path}"
        self.answer_within = answer_within
        self.app = web.Application(client_max_size=1024 * 1024)
        self.app.add_routes([web.post(self.path, self.receive), web.get("/healthz", self.healthz)])
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, host: str = "0.0.0.0", port: int = 8080) -> str:
        """Serve on host:port (0: a free port); returns the local base URL."""
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        bound = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.url = f"http://{shown}:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    def _authorized(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER)
        # Constant-time: the secret is what keeps strangers from posting fake updates.
        return given is not None and hmac.compare_digest(given.encode(), self._secret)

    async def receive(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            log.warning("webhook request without the right secret refused")
            return web.Response(status=401, text="unauthorized")
        try:
            data = await request.json()
        except ValueError:
            return web.Response(status=400, text="not JSON")
        # Anything Telegram would never send is refused before it is stored.
        problem = update_shape_error(data)
        if problem is not None:
            log.warning("webhook request refused: %s", problem)
            return web.Response(status=400, text=f"not an update: {problem}")
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception as exc:
            log.warning("webhook request refused: not an update (%s)", type(exc).__name__)
            return web.Response(status=400, text="not an update")
        if update is None:
            return web.Response(status=400, text="not an update")
        inbox = inbox_of(self.application)
        queue = self.application.update_queue
        if inbox is None or not isinstance(queue, InboxQueue):
            raise RuntimeError("the webhook needs the application built by build_application")
        try:
            new = await inbox.record(update, data)
        except (SQLAlchemyError, OSError):
            log.exception(
                "cannot store update %s: answering 500 so Telegram retries", update.update_id
            )
            # Help does not wait for the database: a flagged message gets its crisis card
            # now; the redelivery, once stored, is handled without sending it again.
            await inbox.card_while_down(update)
            return web.Response(status=500, text="try again")
        if new:
            inbox.no_second_card(update)
            handled = inbox.expect(update.update_id)
            await queue.put_recorded(update)
            try:
                await asyncio.wait_for(handled.wait(), self.answer_within)
            except TimeoutError:
                log.info(
                    "update %s still running; answered, it stays in the inbox", update.update_id
                )
            finally:
                inbox.forget(update.update_id)
        return web.json_response({"ok": True}, dumps=json.dumps)


def webhook_path(url: str) -> str:
    return urlsplit(url).path or "/"


@asynccontextmanager
async def serving_webhook(
    application: AnyApplication,
    *,
    url: str | None,
    secret: str,
    host: str = "0.0.0.0",
    port: int = 8080,
    path: str | None = None,
) -> AsyncIterator[WebhookReceiver]:
    """Start the application and the receiver, tell Telegram where to post; stop in order.

    `url` is the public URL Telegram posts to (None: the receiver's own address, for
    tests on a free port); `path` (default: the URL's, else /telegram) is served.
    """
    from bot.app import publish_commands
    from bot.features import delivery

    async with application:
        await publish_commands(application)
        await application.start()
        # Other workers may be handling their updates right now: take over only what
        # a dead worker left (and this worker's own rows, if it kept its WORKER_ID).
        await resume_unfinished(application, everything=False)
        path = path or (webhook_path(url) if url else "/telegram")
        receiver = WebhookReceiver(application, secret=secret, path=path)
        await receiver.start(host, port)
        try:
            await application.bot.set_webhook(
                url=url or f"{receiver.url}{receiver.path}",
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
            )
            yield receiver
        finally:
            await receiver.stop()
            await delivery.stop(application)
            await application.stop()
