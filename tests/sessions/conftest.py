"""Fixtures for the sessions tests: the e2e care team, and sessions and clocks."""

from __future__ import annotations

from datetime import date, datetime

from bot.db import session_scope
from bot.features.delivery import build_engine
from bot.inbox import inbox_of
from bot.models import Client, Program, SessionAudience, SessionSeries
from bot.scheduling.clock import ManualClock
from bot.scheduling.engine import DeliveryEngine
from bot.services import Services
from tests.e2e.conftest import team  # noqa: F401  (the fixture, shared)
from tests.harness import BotHarness


async def add_series(
    svc: Services,
    program: Program,
    *,
    start: datetime,
    rrule: str | None = "FREQ=WEEKLY;BYDAY=TU",
    minutes: int = 180,
    title: str = "Evening group",
    client: Client | None = None,
    exdates: list[str] | None = None,
    audience: SessionAudience | None = None,
) -> SessionSeries:
    """A session in the program's zone starting at the local wall time `start`."""
    assert program.id is not None
    async with session_scope(svc.sessions) as session:
        series = SessionSeries(
            program_id=program.id,
            title=title,
            kind="individual" if client else "group",
            audience=audience or (SessionAudience.client if client else SessionAudience.program),
            client_id=client.id if client else None,
            timezone=program.timezone,
            starts_on=date(start.year, start.month, start.day),
            start_time=f"{start:%H:%M}",
            duration_minutes=minutes,
            rrule=rrule,
            exdates=exdates or [],
            created_by="test",
        )
        session.add(series)
    return series


def engine_on(bot: BotHarness, clock: ManualClock) -> DeliveryEngine:
    """The engine on the running bot's Bot object, on a clock the test drives."""
    inbox = inbox_of(bot.application)
    if inbox is not None:
        inbox.clock = clock
    return build_engine(bot.services, bot.application.bot, clock=clock)
