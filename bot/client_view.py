"""Parts of a clinician's `/client CODE` view that belong to other features.

Check-ins, lessons and sessions each register a section (at import); the view sends
each non-empty one as its own message after the record and alert history, inside the
same audited read. No Telegram here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.models import Client, Program

# Text (a message), PNG bytes (a photo), or None when the section has nothing to show.
ClientSection = Callable[
    [AsyncSession, Content, Client, Program, datetime], Awaitable[str | bytes | None]
]
_SECTIONS: list[ClientSection] = []


def register_client_section(section: ClientSection) -> ClientSection:
    if section not in _SECTIONS:
        _SECTIONS.append(section)
    return section


def sections() -> list[ClientSection]:
    return list(_SECTIONS)
