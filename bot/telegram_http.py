"""How Waypoint talks HTTP to the Bot API: python-telegram-bot's request interface on aiohttp.

python-telegram-bot sends every Bot API call through a `BaseRequest`; its own,
`HTTPXRequest`, spends most of a call's CPU time in httpx and httpcore (building the
request, the anyio stream and pool bookkeeping), more than the bot's own work on a
check-in answer. aiohttp, already here for the webhook server and the local sandbox,
does the same HTTP for a fraction of that. `BaseRequest` is python-telegram-bot's
documented hook for another HTTP library; its `post()` still parses Telegram's answer
and raises the same errors (RetryAfter, Forbidden, BadRequest), so only the transport
changes. Shaped after the PTB team's own aiohttp request in ptbcontrib (not on PyPI).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any
from urllib.parse import urlencode

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _ssl_context() -> ssl.SSLContext:
    """Certifi's CA bundle when present (as httpx uses), so a slim image without the
    system's CA certificates still reaches api.telegram.org."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` on one aiohttp session, with python-telegram-bot's timeouts:
    `connect` to open a connection, `read` between bytes of the answer, `pool` to wait
    for a free connection, and `write` (`media_write` with files) for sending."""

    __slots__ = (
        "_connect",
        "_media_write",
        "_pool",
        "_pool_size",
        "_read",
        "_session",
        "_slots",
        "_write",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._pool_size = connection_pool_size
        self._slots: asyncio.Semaphore  # made with the session, on its loop

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # Made here, on the running loop: an aiohttp session belongs to one loop.
            # Idle connections are dropped after 5 s, as httpx does: a connection the
            # server closed while idle is then rarely the one a call goes out on.
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=5.0, ssl=_ssl_context())
            # The pool's size is kept here rather than by aiohttp, whose one `connect`
            # timeout covers both waiting for a free connection and opening one.
            self._slots = asyncio.Semaphore(self._pool_size)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data is not None and request_data.contains_files
        read = self._read if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        write = write_timeout
        if write is BaseRequest.DEFAULT_NONE:
            write = self._media_write if files else self._write
        connect = self._connect if connect_timeout is BaseRequest.DEFAULT_NONE else connect_timeout
        pool = self._pool if pool_timeout is BaseRequest.DEFAULT_NONE else pool_timeout
        body: Any = None
        headers: dict[str, str] | None = None
        if request_data is not None and files:
            form = aiohttp.FormData(request_data.json_parameters)
            for name, (filename, content, mime) in request_data.multipart_data.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            body = form
        elif request_data is not None and (fields := request_data.json_parameters):
            body = urlencode(fields).encode()
            headers = _FORM
        # aiohttp has no write timeout: sending is bounded by the whole call's limit
        # (connect + write + read), which is also what a stalled peer runs into.
        parts = (connect, write, read)
        total = None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]
        timeout = aiohttp.ClientTimeout(total=total, connect=connect, sock_read=read)
        try:
            async with asyncio.timeout(pool):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise TimedOut(
                "Pool timeout: every connection is busy; the request was not sent."
            ) from exc
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            # The URL holds the bot's token: it never goes into an error (or a log).
            said = str(exc).replace(url, "<Bot API URL>")
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {said}") from exc
        finally:
            self._slots.release()


class PollingRequest(AiohttpRequest):
    """The getUpdates connection (one, as python-telegram-bot's own). It also keeps the
    last batch of updates as Telegram sent them, so the inbox stores that JSON as it is
    instead of turning python-telegram-bot's objects back into JSON, which cost more than
    writing the row. The Updater stores a whole batch before it asks for the next one."""

    __slots__ = ("_batch",)

    def __init__(self, **timeouts: float | None) -> None:
        super().__init__(connection_pool_size=1, **timeouts)
        self._batch: dict[int, dict[str, Any]] = {}

    async def post(self, url: str, request_data: RequestData | None = None, **timeouts: Any) -> Any:
        result = await super().post(url, request_data, **timeouts)
        if url.endswith("/getUpdates") and isinstance(result, list):
            self._batch = {
                raw["update_id"]: raw
                for raw in result
                if isinstance(raw, dict) and isinstance(raw.get("update_id"), int)
            }
        return result

    def as_sent(self, update_id: int) -> dict[str, Any] | None:
        """The update's JSON as Telegram sent it, if it came in the last batch."""
        return self._batch.get(update_id)
