"""Parts of a client's own `/progress` view: the check-in's chart, lessons and practice.
Each feature registers a section (at import); the view sends the charts as photos, then
the texts together. No Telegram here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import LanguagePack
from bot.models import Client, Program

# Text, or a chart as (PNG bytes, caption), or None when the section has nothing to show.
ProgressPart = str | tuple[bytes, str]
ProgressSection = Callable[
    [AsyncSession, LanguagePack, Client, Program, datetime], Awaitable[ProgressPart | None]
]
_SECTIONS: list[ProgressSection] = []


def register_progress_section(section: ProgressSection) -> ProgressSection:
    if section not in _SECTIONS:
        _SECTIONS.append(section)
    return section


def sections() -> list[ProgressSection]:
    return list(_SECTIONS)
