"""Fixtures for the Telegram sandbox tests: a fresh server per test, and HTTP helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.telegram_sandbox import SandboxServer

TOKEN = "123456:TEST-token_x"
USER_ID = 4242


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    srv = SandboxServer()
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def http(server: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        yield client


class BotClient:
    """Calls the Bot API side directly, the way a bot library would."""

    def __init__(self, http: httpx.AsyncClient, token: str = TOKEN) -> None:
        self.http = http
        self.token = token

    async def raw(self, method: str, **kwargs: Any) -> httpx.Response:
        return await self.http.post(f"/bot{self.token}/{method}", **kwargs)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Form-encoded like python-telegram-bot: strings as is, everything else as JSON."""
        response = await self.raw(method, data=encode_form(params))
        body = response.json()
        assert response.status_code == body.get("error_code", 200), body
        return body

    async def ok(self, method: str, **params: Any) -> Any:
        body = await self.call(method, **params)
        assert body["ok"] is True, body
        return body["result"]

    async def error(self, method: str, **params: Any) -> tuple[int, str]:
        body = await self.call(method, **params)
        assert body["ok"] is False, body
        return body["error_code"], body["description"]


def encode_form(params: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}


@pytest.fixture
def tg(http: httpx.AsyncClient) -> BotClient:
    return BotClient(http)


@pytest.fixture
async def user_chat(http: httpx.AsyncClient) -> int:
    """A private chat that exists because the user wrote to the bot first."""
    response = await http.post(
        "/sandbox/messages", json={"user": {"id": USER_ID, "first_name": "Ana"}, "text": "hi"}
    )
    assert response.status_code == 200, response.text
    return USER_ID
