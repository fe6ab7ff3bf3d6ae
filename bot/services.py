"""What every handler needs — settings, content, database — in one typed object.

It lives in `application.bot_data` so handlers stay plain functions; `services(context)`
gives it back with its type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import Application, CallbackContext

from bot.content import Content
from bot.settings import Settings

_KEY = "waypoint.services"

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
AnyContext = CallbackContext[Any, Any, Any, Any]


@dataclass(frozen=True)
class Services:
    settings: Settings
    content: Content
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    def install(self, bot_data: dict[Any, Any]) -> None:
        bot_data[_KEY] = self


def services(source: AnyContext | AnyApplication) -> Services:
    """The services of a handler's context or of the application being wired."""
    return source.bot_data[_KEY]  # type: ignore[no-any-return]
