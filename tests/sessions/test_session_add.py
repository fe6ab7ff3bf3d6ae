"""A clinician adds sessions in their private chat with /session add (a guided flow whose
answers are rows), sees them in /sessions, and skips a date."""

from __future__ import annotations

from sqlmodel import select

from bot.content import Content
from bot.models import SessionAudience, SessionSeries
from tests.e2e.conftest import CLINICIAN
from tests.harness import BotHarness


async def test_a_weekly_group_and_a_one_off_through_the_guided_flow(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    staff = content.language("en").sessions.staff
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    (kind,) = await rivera.send("/session add")
    assert kind.text == staff["add_kind"]
    (title,) = await rivera.press(staff["kind_group"], kind)
    assert title.text == staff["add_title"]
    (repeat,) = await rivera.send("Evening group")
    await rivera.press(staff["repeat_weekly"], repeat)
    days = (await rivera.messages())[-1]
    await rivera.press("Tue", days)
    await rivera.press("Thu", days)
    (ask_date,) = await rivera.press(staff["done_button"], days)
    assert ask_date.text == staff["add_date"]
    (bad,) = await rivera.send("next week")
    assert bad.text == staff["bad_date"]
    (ask_time,) = await rivera.send("2030-03-02")  # a Saturday: the first Tuesday is the 5th
    assert "America/New_York" in (ask_time.text or "")
    (duration,) = await rivera.send("18:00")
    (added,) = await rivera.press("3h", duration)
    assert "Evening group, every Tue/Thu 18:00" in (added.text or "")
    # A one-off for one client.
    (kind,) = await rivera.send("/session add")
    await rivera.press(staff["kind_individual"], kind)
    (wrong,) = await rivera.send("ZZZ-9")
    assert "ZZZ-9" in (wrong.text or "")
    await rivera.send(code)
    (repeat,) = await rivera.send("Check-in with Alex")
    await rivera.press(staff["repeat_once"], repeat)
    await rivera.send("2030-03-06")
    (duration,) = await rivera.send("10:30")
    await rivera.press("1h", duration)
    async with bot.services.sessions() as session:
        group, one_off = (
            await session.exec(select(SessionSeries).order_by(SessionSeries.id))  # type: ignore[arg-type]
        ).all()
    assert (group.rrule, str(group.starts_on), group.start_time, group.duration_minutes) == (
        "FREQ=WEEKLY;BYDAY=TU,TH",
        "2030-03-05",
        "18:00",
        180,
    )
    assert group.audience is SessionAudience.program
    assert (one_off.audience, one_off.rrule, one_off.kind) == (
        SessionAudience.client,
        None,
        "individual",
    )
    (done,) = await rivera.send(f"/session skip {group.id} 2030-03-07")
    assert "2030-03-07" in (done.text or "")
    async with bot.services.sessions() as session:
        row = await session.get(SessionSeries, group.id)
    assert row is not None and row.exdates == ["2030-03-07"]
    # Typed text with no draft waiting goes on as before (the fallback answers).
    (other,) = await rivera.send("hello")
    assert other.text != staff["bad_date"]
