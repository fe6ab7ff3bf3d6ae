"""Fixtures for the check-in: a program, a clinician and an enrolled client, and a helper
that taps through a whole check-in the way a client does."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.checkin import store
from bot.content import Content
from bot.db import session_scope
from bot.features.delivery import delivery_engine
from bot.models import Alert, CheckIn, Client, Delivery, DeliveryStatus, Program
from bot.services import Services
from bot.telegram_sandbox import Person, SentMessage
from tests.delivery.conftest import enrolled_client, open_chat
from tests.factories import add_clinician, add_program
from tests.harness import BotHarness

CLIENT, CLINICIAN = 7401, 9401


@dataclass
class Care:
    bot: BotHarness
    program: Program
    client: Client
    alex: Person
    rivera: Person
    content: Content

    @property
    def texts(self):  # type: ignore[no-untyped-def]
        return self.content.language("en").checkin

    async def today(self) -> date:
        return store.local_today(self.client, self.program, datetime.now(UTC))

    async def checkin(self) -> CheckIn:
        async with self.bot.services.sessions() as session:
            rows = (
                await session.exec(
                    select(CheckIn)
                    .where(CheckIn.client_id == self.client.id)
                    .order_by(col(CheckIn.local_date).desc())
                )
            ).all()
        assert rows, "no check-in was saved"
        return rows[0]

    async def alerts(self) -> list[Alert]:
        async with self.bot.services.sessions() as session:
            return list(
                (
                    await session.exec(
                        select(Alert)
                        .where(Alert.client_id == self.client.id)
                        .order_by(col(Alert.id))
                    )
                ).all()
            )

    async def set_client(self, **values: object) -> None:
        async with session_scope(self.bot.services.sessions) as session:
            row = await session.get(Client, self.client.id)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)
            session.add(row)
        async with self.bot.services.sessions() as session:
            fresh = await session.get(Client, self.client.id)
            assert fresh is not None
            self.client = fresh

    async def seed(self, days_ago: int, **answers: object) -> None:
        """A finished check-in `days_ago` days before today, with these answers."""
        today = await self.today()
        async with session_scope(self.bot.services.sessions) as session:
            session.add(
                CheckIn(
                    client_id=self.client.id or 0,
                    local_date=today - timedelta(days=days_ago),
                    step=None,
                    completed_at=datetime.now(UTC) - timedelta(days=days_ago),
                    started_at=datetime.now(UTC) - timedelta(days=days_ago),
                    **answers,
                )
            )

    async def drain(self) -> None:
        """Let the bot's delivery engine send the alerts the answers queued. Two messages
        to one chat are a second apart (Telegram's limit), so this may take a second."""
        engine = delivery_engine(self.bot.application)
        for _ in range(40):
            engine.kick()
            await engine.wait_idle()
            async with self.bot.services.sessions() as session:
                waiting = (
                    await session.exec(
                        select(Delivery).where(
                            col(Delivery.kind).in_(("alert", "alert_more")),
                            Delivery.status == DeliveryStatus.pending,
                        )
                    )
                ).all()
            if not waiting:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("alerts are still waiting to be sent")


DEFAULTS: dict[str, str | list[str]] = {
    "craving": "2",
    "mood": "7",
    "sleep_hours": "6 to 8 hours",
    "sleep_quality": "Well",
    "triggers": [],
    "use": "No",
    "confidence": "8",
    "support": "Yes",
}


async def tap_through(
    care: Care, asked: list[str] | None = None, **answers: str | list[str]
) -> list[SentMessage]:
    """Start a check-in from the menu and answer every question; returns what the bot sent
    after the last answer. Triggers and substances take lists of labels. `asked`, when
    given, collects the steps in the order they were asked."""
    values = {**DEFAULTS, **answers}
    await care.alex.send(care.content.language("en").menu.checkin)
    out: list[SentMessage] = []
    for _ in range(30):
        checkin = await care.checkin()
        step = checkin.step
        if step is None:
            return out
        if asked is not None:
            asked.append(step)
        if step == "note":
            out = await care.alex.press(care.texts.note.skip_button)
            continue
        if step == "safe_now":
            out = await care.alex.press(str(values.get("safe_now", "Yes, I'm safe")))
            continue
        if step == "medicine":
            out = await care.alex.press(str(values.get("medicine", "Yes")))
            continue
        if step == "asq_how":
            # Typed for the clinician, or skipped.
            typed = values.get("asq_how")
            if typed:
                out = await care.alex.send(str(typed))
            else:
                out = await care.alex.press(care.texts.note.skip_button)
            continue
        if step.startswith("asq_"):
            out = await care.alex.press(str(values.get(step, "No")))
            continue
        value = values[step]
        if isinstance(value, list):
            for label in value:
                await care.alex.press(label)
            out = await care.alex.press(
                care.texts.triggers.none_button
                if step == "triggers" and not value
                else care.texts.triggers.done_button
            )
            continue
        out = await care.alex.press(value)
    raise AssertionError("the check-in did not end")


@pytest.fixture
async def care(bot: BotHarness, content: Content) -> Care:
    program = await add_program(bot.services)
    clinician = await add_clinician(bot.services, program, telegram_user_id=CLINICIAN)
    open_chat(bot.server, CLINICIAN, "Dr. Rivera")
    client = await enrolled_client(bot.services, bot.server, program, CLIENT)
    care = Care(bot, program, client, bot.person(CLIENT, "Alex"), bot.person(CLINICIAN), content)
    today = await care.today()
    # The weekly questions on another day, unless a test asks for them.
    await care.set_client(
        code="K7Q-2",
        primary_clinician_id=clinician.id,
        enrolled_at=datetime.now(UTC) - timedelta(days=30),
        weekly_day=(today.weekday() + 3) % 7,
    )
    return care


def services_of(care: Care) -> Services:
    return care.bot.services
