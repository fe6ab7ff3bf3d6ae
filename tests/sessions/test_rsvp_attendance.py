"""RSVP buttons and their effects, attendance in one tap, the flag for an absence without
notice (exactly once), and the digest's sessions section: end to end through the sandbox."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.digest import DigestScope
from bot.features.delivery import build_engine
from bot.models import (
    Alert,
    AlertTier,
    Client,
    Clinician,
    Delivery,
    DeliveryStatus,
    Program,
    SessionAttendance,
)
from bot.scheduling.clock import SystemClock
from bot.sessions import digest_section
from tests.e2e.conftest import CLIENT, CLINICIAN
from tests.e2e.enrollment_steps import client_row, only_program
from tests.factories import add_client
from tests.harness import BotHarness
from tests.sessions.conftest import add_series

NY = ZoneInfo("America/New_York")


def local(at: datetime) -> datetime:
    return at.astimezone(NY).replace(tzinfo=None, second=0, microsecond=0)


async def notices_to(bot: BotHarness, user_id: int, *, count: int) -> list[str]:
    """Run the outbox until `count` session notices reached the clinician (one message a
    second per chat: Telegram's limit, kept by the dispatcher)."""
    engine = build_engine(bot.services, bot.application.bot, clock=SystemClock())
    for _ in range(40):
        await engine.run_once()
        async with bot.services.sessions() as session:
            pending = (
                await session.exec(
                    select(Delivery).where(
                        Delivery.kind == "session_notice",
                        Delivery.status == DeliveryStatus.pending,
                    )
                )
            ).all()
        if not pending:
            break
        await asyncio.sleep(0.25)
    messages = [m.text or "" for m in await bot.person(user_id, "x").messages()]
    assert len([m for m in messages if "KIM" not in m]) >= count
    return messages


async def cant_three_times(
    session: AsyncSession, series_id: int, client_id: int, now: datetime
) -> None:
    """Three "can't make it" in the last two weeks."""
    for days in (3, 6, 9):
        session.add(
            SessionAttendance(
                series_id=series_id,
                client_id=client_id,
                occurrence=f"X{days}",
                starts_at=now - timedelta(days=days),
                rsvp="cant",
            )
        )


async def clinicians_scope(
    session: AsyncSession, program_id: int | None, client_id: int | None, now: datetime
) -> DigestScope:
    """The digest scope of the team's clinician, with one client."""
    clinician = (
        await session.exec(select(Clinician).where(Clinician.telegram_user_id == CLINICIAN))
    ).one()
    program = await session.get(Program, program_id)
    client = await session.get(Client, client_id)
    assert program is not None and client is not None
    return DigestScope(
        clinician=clinician,
        program=program,
        caseload=[client],
        since=now - timedelta(days=1),
        now=now,
    )


async def test_each_rsvp_button_and_its_effect(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    program = await only_program(bot.services)
    alex_row = await client_row(bot.services, code)
    start = local(datetime.now(UTC) + timedelta(days=1)).replace(minute=0)
    series = await add_series(
        bot.services, program, start=start, rrule=None, client=alex_row, title="Alex 1:1"
    )
    texts = content.language("en").sessions.client
    alex = bot.person(CLIENT, "Alex")
    (listing,) = await alex.send(content.language("en").menu.sessions)
    assert listing.text is not None and listing.text.startswith(texts.list_header)
    assert "One-to-one" in listing.text and "Alex 1:1" not in listing.text  # neutral name
    (ask,) = await alex.press(listing.buttons[0][0])
    assert ask.text is not None and ask.text.endswith("Can you come?")

    async def answer_of() -> SessionAttendance:
        async with bot.services.sessions() as session:
            return (await session.exec(select(SessionAttendance))).one()

    (going,) = await alex.press(texts.going_button, ask)
    assert going.text == texts.going_thanks and (await answer_of()).rsvp == "going"
    (late,) = await alex.press(texts.late_button, ask)
    assert late.text == texts.late_thanks and (await answer_of()).rsvp == "late"
    (cant,) = await alex.press(texts.cant_button, ask)
    assert cant.text == texts.cant_thanks and (await answer_of()).rsvp == "cant"
    assert texts.reason_childcare in [b for row in cant.buttons for b in row]
    pressed = await alex.press(texts.reason_childcare, cant)
    offer = pressed[-1]
    assert offer.text == f"{texts.reason_thanks}\n\n{texts.reschedule_offer}"
    assert (await answer_of()).rsvp_reason == "childcare"
    pressed = await alex.press(texts.reschedule_button, offer)
    assert pressed[-1].text == texts.reschedule_sent
    assert (await answer_of()).reschedule_requested_at is not None
    # The clinician is told, in their private chat, with the code only.
    notices = await notices_to(bot, CLINICIAN, count=3)
    assert any(f"{code} can't make Alex 1:1" in n for n in notices), notices
    assert any("childcare" in n for n in notices)
    assert any(f"{code} asks for another time" in n for n in notices)
    # Forged or foreign presses change nothing.
    assert await alex.press_data(f"rv:{series.id}:20200101T1000:g", ask.message_id) == []
    assert await alex.press_data("rv:999999:20200101T1000:g", ask.message_id) == []
    assert (await answer_of()).rsvp == "cant"


# A mark that changes nothing re-renders the same attendance message: Telegram refuses the
# edit ("message is not modified") and the bot rightly lets it be.
@pytest.mark.sandbox_refusals("message is not modified")
async def test_attendance_marking_and_one_flag_for_an_absence_without_notice(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    program = await only_program(bot.services)
    alex_row = await client_row(bot.services, code)
    kim_row = await add_client(bot.services, program, telegram_user_id=7399, code="KIM-1")
    async with bot.services.sessions() as session:
        rivera = (
            await session.exec(select(Clinician).where(Clinician.telegram_user_id == CLINICIAN))
        ).one()
        kim = await session.get(Client, kim_row.id)
        assert kim is not None
        kim.primary_clinician_id = rivera.id
        session.add(kim)
        await session.commit()
    began = local(datetime.now(UTC) - timedelta(hours=1))
    series = await add_series(bot.services, program, start=began, rrule=None, title="Group A")
    key = f"{began:%Y%m%dT%H%M}"
    async with bot.services.sessions() as session:
        session.add(
            SessionAttendance(
                series_id=series.id or 0,
                client_id=kim_row.id or 0,
                occurrence=key,
                starts_at=began.replace(tzinfo=NY).astimezone(UTC),
                rsvp="cant",
                rsvp_at=datetime.now(UTC),
            )
        )
        await session.commit()
    staff = content.language("en").sessions.staff
    rivera_chat = bot.person(CLINICIAN, "Dr. Rivera")
    (sheet,) = await rivera_chat.send("/attendance")
    assert sheet.text is not None and "Group A" in sheet.text
    assert f"{code}: no answer · not marked" in sheet.text
    assert "KIM-1: can&#x27;t make it · not marked" in sheet.text

    async def mark(client_id: int | None, what: str) -> None:
        await rivera_chat.press_data(f"at:{series.id}:{key}:{client_id}:{what}", sheet.message_id)

    async def missed_alerts(client_id: int | None) -> list[Alert]:
        async with bot.services.sessions() as session:
            return list(
                (
                    await session.exec(
                        select(Alert).where(
                            Alert.client_id == client_id, Alert.category == "missed_session"
                        )
                    )
                ).all()
            )

    await mark(alex_row.id, "a")
    await mark(alex_row.id, "a")  # a double tap
    await mark(alex_row.id, "p")
    await mark(alex_row.id, "a")  # changed back: still the same absence
    (flag,) = await missed_alerts(alex_row.id)
    assert flag.tier is AlertTier.same_day and flag.source == "sessions"
    await mark(kim_row.id, "a")  # she said she can't make it: no flag
    assert await missed_alerts(kim_row.id) == []
    await mark(kim_row.id, "e")
    async with bot.services.sessions() as session:
        marks = {
            a.client_id: a.attendance for a in (await session.exec(select(SessionAttendance))).all()
        }
    assert marks == {alex_row.id: "absent", kim_row.id: "excused"}
    edited = (await rivera_chat.messages())[-1]
    assert f"{code}: no answer · absent" in (edited.text or "")
    # A stranger's press, or a client's, marks nothing.
    alex = bot.person(CLIENT, "Alex")
    assert await alex.press_data(f"at:{series.id}:{key}:{alex_row.id}:p", sheet.message_id) == []
    assert staff["not_allowed"]


async def test_the_digest_shows_this_weeks_sessions_rate_and_repeated_cant(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    program = await only_program(bot.services)
    alex_row = await client_row(bot.services, code)
    now = datetime.now(UTC)
    began = local(now - timedelta(hours=2))
    series = await add_series(bot.services, program, start=began, rrule=None, title="Group B")
    async with bot.services.sessions() as session:
        session.add(
            SessionAttendance(
                series_id=series.id or 0,
                client_id=alex_row.id or 0,
                occurrence=f"{began:%Y%m%dT%H%M}",
                starts_at=began.replace(tzinfo=NY).astimezone(UTC),
                rsvp="going",
                attendance="present",
            )
        )
        await cant_three_times(session, series.id or 0, alex_row.id or 0, now)
        await session.commit()
        scope = await clinicians_scope(session, program.id, alex_row.id, now)
        text = await digest_section(session, content, scope)
    assert text is not None
    if began.date() == local(now).date() or began.weekday() == local(now).weekday():
        assert f"{code}:" in text and "coming/present" in text
        assert "Program attendance this week: 100% (1 of 1)" in text
    assert f"{code}: 3× can't make it in 2 weeks" in text


async def test_repeated_cant_is_reported_even_in_a_week_without_sessions(
    team: tuple[BotHarness, str], content: Content
) -> None:
    """Three "can't make it" in two weeks are worth a line even when the program has no
    session this week (a holiday week, or the first hour of a new week)."""
    bot, code = team
    program = await only_program(bot.services)
    alex_row = await client_row(bot.services, code)
    now = datetime.now(UTC)
    long_ago = local(now - timedelta(days=10))
    series = await add_series(bot.services, program, start=long_ago, rrule=None, title="Old")
    async with bot.services.sessions() as session:
        await cant_three_times(session, series.id or 0, alex_row.id or 0, now)
        await session.commit()
        scope = await clinicians_scope(session, program.id, alex_row.id, now)
        text = await digest_section(session, content, scope)
        assert text is not None
        assert f"{code}: 3× can't make it in 2 weeks" in text
        assert "Program attendance" not in text  # nothing this week to count
        # Without the pattern, a week without sessions adds nothing to the digest.
        later = replace(scope, now=now + timedelta(days=30))
        assert await digest_section(session, content, later) is None
