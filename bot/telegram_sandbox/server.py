"""The sandbox HTTP server: Bot API side (``/bot<token>/<method>``, ``/file/bot<token>/...``)
and control side (``/sandbox/...``), in-process (``SandboxServer``) or standalone
(``run_sandbox``).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any, Self

from aiohttp import web

from .base import ApiError, Upload
from .control import Control
from .limits import counts
from .methods import BotApi, BotCall
from .spec import load_spec
from .state import SandboxState
from .webhook import WebhookDelivery

TOKEN_RE = re.compile(r"(\d+):[A-Za-z0-9_-]+")
MAX_UPLOAD = 50 * 1024 * 1024  # Telegram's limit for bot uploads


def _respond(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(payload, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Parameters from the query string plus a JSON, form or multipart body."""
    raw: dict[str, Any] = dict(request.query) if request.query_string else {}
    uploads: dict[str, Upload] = {}
    if request.method != "POST" or not request.body_exists:
        return raw, uploads
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON request body must be an object")
        raw.update(body)
        return raw, uploads
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            data = value.file.read()
            uploads[key] = Upload(key, value.filename or "", value.content_type or "", data)
        else:
            raw[key] = value
    return raw, uploads


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    if not any(isinstance(v, Upload) for v in params.values()):
        return params
    return {k: v.summary() if isinstance(v, Upload) else v for k, v in params.items()}


class SandboxServer:
    """A local Telegram Bot API server for python-telegram-bot's ``base_url``."""

    def __init__(
        self, spec_path: Path | None = None, bot_username: str = "waypoint_sandbox_bot"
    ) -> None:
        self.spec = load_spec(spec_path)
        self.state = SandboxState(bot_username)
        self.webhook = WebhookDelivery(self.state)
        self.api = BotApi(self.spec, self.state, self.webhook)
        self.control = Control(self.spec, self.state, on_reset=self.webhook.restart)
        self.app = web.Application(client_max_size=MAX_UPLOAD)
        self.app.add_routes(
            [
                web.route("*", "/bot{token}/{method}", self.bot_endpoint),
                web.get("/file/bot{token}/{file_path:.+}", self.file_endpoint),
                *self.control.routes(),
            ]
        )
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def bot_api_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def file_api_url(self) -> str:
        return f"{self.url}/file/bot"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = a free port); returns the base URL."""
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
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
        self.state.terminate_poller("closing")  # let a pending long poll answer now
        await self.webhook.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        if not self.url:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ bot side

    async def bot_endpoint(self, request: web.Request) -> web.Response:
        state = self.state
        method_name = request.match_info["method"]
        entry: dict[str, Any] = {"method": method_name, "params": {}, "ok": None, "at": time.time()}
        state.requests.append(entry)
        # getUpdates is idle waiting, not bot activity, for settle-by-quiescence.
        active = method_name.lower() != "getupdates"
        if active:
            state.inflight += 1
            state.last_activity = time.monotonic()
        try:
            token = TOKEN_RE.fullmatch(request.match_info["token"])
            if token is None:
                raise ApiError(401, "Unauthorized")
            method = self.spec.method(method_name)
            entry["method"] = method.name
            raw, uploads = await read_params(request)
            entry["params"] = raw
            params = self.spec.validate(method, raw, uploads)
            entry["params"] = _loggable(params)
            if state.faults:
                await self._apply_faults(method.name)
            if state.limits is not None and counts(method.name):
                paid = bool(params.get("allow_paid_broadcast"))
                state.limits.check(params.get("chat_id"), time.monotonic(), paid=paid)
            call = BotCall(int(token.group(1)), lambda: not _gone(request))
            result = await self.api.dispatch(method, params, call)
            entry["ok"] = True
            return _respond({"ok": True, "result": result})
        except ApiError as err:
            entry.update(ok=False, error_code=err.error_code, description=err.description)
            if err.arranged:
                entry["arranged"] = True
            if _gone(request):
                entry["unread"] = True  # the bot had given up on this request (a closed poll)
            return _respond(err.payload(), err.error_code)
        finally:
            if active:
                state.inflight -= 1
                state.last_activity = time.monotonic()

    async def _apply_faults(self, method: str) -> None:
        latency = 0.0
        failure = None
        for fault in self.state.faults:
            if fault.matches(method):
                latency += fault.latency
                if failure is None and fault.fires():
                    failure = fault
        if latency:
            await asyncio.sleep(latency)
        if failure is not None:
            raise failure.error()

    async def file_endpoint(self, request: web.Request) -> web.Response:
        if TOKEN_RE.fullmatch(request.match_info["token"]) is None:
            return _respond(ApiError(401, "Unauthorized").payload(), 401)
        file_id = self.state.file_paths.get(request.match_info["file_path"])
        if file_id is None:
            return _respond(ApiError(404, "Not Found").payload(), 404)
        record = self.state.files[file_id]
        return web.Response(body=record["data"], content_type=record["mime_type"])


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def run_sandbox(
    host: str = "127.0.0.1", port: int = 8081, spec_path: Path | None = None
) -> None:
    """Serve the sandbox until cancelled (e.g. ``asyncio.run(run_sandbox(...))`` + Ctrl-C)."""
    server = SandboxServer(spec_path)
    url = await server.start(host, port)
    print(
        f"Telegram sandbox ({server.spec.version}) listening on {url}\n"
        f"  python-telegram-bot base_url={server.bot_api_url} base_file_url={server.file_api_url}\n"
        f"  control API under {url}/sandbox/ (see bot/telegram_sandbox/README.md)",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
