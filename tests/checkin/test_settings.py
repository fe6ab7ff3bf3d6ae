"""Per-client settings of the check-in: the clinician's medicine question and flag
thresholds, the program's thresholds from the admin command line, the client's weekly
day, and the optional longer weekly check-in."""

from __future__ import annotations

from sqlmodel import select

from bot.models import AuditEvent, Program, Screening
from tests.checkin.conftest import Care, tap_through
from tests.e2e.enrollment_steps import admin


async def test_the_medicine_question_is_asked_only_when_turned_on(care: Care) -> None:
    await tap_through(care)
    assert care.texts.medicine.text not in [m.text for m in await care.alex.messages()]
    (reply,) = await care.rivera.send(f"/meds {care.client.code} on")
    assert care.client.code in (reply.text or "") and "asks" in (reply.text or "")
    await tap_through(care, medicine="I missed it")  # today's again: one miss, no alert
    assert care.texts.medicine.text in [m.text for m in await care.alex.messages()]
    assert (await care.checkin()).medicine == "missed"
    assert await care.alerts() == []
    async with care.bot.services.sessions() as session:
        audited = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "checkin_medicine_on"))
        ).all()
    assert len(audited) == 1


async def test_medicine_missed_two_days_running_alerts(care: Care) -> None:
    await care.rivera.send(f"/meds {care.client.code} on")
    await care.seed(1, medicine="missed", craving=1)
    await tap_through(care, medicine="I missed it")
    (alert,) = await care.alerts()
    assert alert.category == "medication_missed" and "2 days" in (alert.evidence or "")


async def test_only_the_clients_own_clinician_can_change_their_settings(care: Care) -> None:
    other = care.bot.person(9477, "Dr. Who")
    (reply,) = await other.send(f"/meds {care.client.code} on")
    assert care.client.code not in (reply.text or "") or "no client" in (reply.text or "")
    (bad,) = await care.rivera.send(f"/meds {care.client.code} maybe")
    assert "/meds CODE on" in (bad.text or "")
    await tap_through(care)
    assert (await care.checkin()).medicine is None


async def test_a_clinician_lowers_one_clients_craving_threshold(care: Care) -> None:
    (bad,) = await care.rivera.send(f"/flags {care.client.code} craving=12")
    assert "from 1 to 10" in (bad.text or "")
    (shown,) = await care.rivera.send(f"/flags {care.client.code} craving=6")
    assert "craving=6" in (shown.text or "")
    await tap_through(care, craving="5")
    assert await care.alerts() == []
    await tap_through(care, craving="6")
    (alert,) = await care.alerts()
    assert "threshold 6" in (alert.evidence or "")
    (back,) = await care.rivera.send(f"/flags {care.client.code} default")
    assert "craving=8" in (back.text or "")


async def test_program_thresholds_from_the_admin_command_line(care: Care) -> None:
    async with care.bot.services.sessions() as session:
        program = (await session.exec(select(Program))).one()
    status, out, err = await admin(
        care.bot, "program", "set", program.name, "--checkin-flags", "craving=9,low_mood=3"
    )
    assert status == 0, err
    assert "craving=9" in out and "low_mood=3" in out
    status, _, err = await admin(
        care.bot, "program", "set", program.name, "--checkin-flags", "craving=99"
    )
    assert status != 0 and "craving" in err
    await tap_through(care, craving="8")
    assert await care.alerts() == []


async def test_the_client_chooses_the_weekly_day(care: Care) -> None:
    today = await care.today()
    (question,) = await care.alex.send("/weekly")
    day = care.texts.weekdays[today.weekday()]
    out = await care.alex.press(day, question)
    assert any(day in (m.text or "") for m in out)
    await tap_through(care)
    sent = [m.text for m in await care.alex.messages()]
    assert care.texts.asq.ever_tried in sent  # the weekly questions came today


async def test_the_longer_weekly_check_in_is_offered_scored_and_flags_use(care: Care) -> None:
    today = await care.today()
    await care.set_client(weekly_day=today.weekday())
    await tap_through(care)
    offer = await care.alex.last_message()
    assert offer.text == care.texts.bam.offer
    await care.alex.press(care.texts.bam.start_button, offer)
    answers = {
        "health": "Good", "sleep": "2", "upset": "1", "any_alcohol": "1", "heavy_drinking": "0",
        "any_drug": "0", "urges": "Some", "confidence": "A lot", "meetings": "3", "risky": "0",
        "spirit": "A little", "work": "5", "income": "Yes", "conflict": "Not at all",
        "support": "7", "satisfied": "Some",
    }  # fmt: skip
    for label in answers.values():
        await care.alex.press(label)
    assert (await care.alex.last_message()).text == care.texts.bam.done
    async with care.bot.services.sessions() as session:
        bam = (await session.exec(select(Screening).where(Screening.kind == "bam"))).one()
    # Use 1+0+0; risk good(2)+2 nights(2)+1 day(1)+some(2)+0+0; protective 3+2+1+3+4+4.
    assert bam.result == {"use": 1, "risk": 7, "protective": 17}
    (alert,) = await care.alerts()
    assert alert.category == "relapse_or_use" and "any_alcohol 1 days" in (alert.evidence or "")
    # The last question again (a double tap): nothing changes, no second alert.
    last = next(m for m in await care.alex.messages() if m.text == care.texts.bam.items.satisfied)
    assert await care.alex.press_data(last.data_for("A lot"), last.message_id) == []
    assert len(await care.alerts()) == 1


async def test_the_longer_check_in_can_be_declined(care: Care) -> None:
    today = await care.today()
    await care.set_client(weekly_day=today.weekday())
    await tap_through(care)
    (later,) = [m for m in await care.alex.press(care.texts.bam.later_button) if m.event == "sent"]
    assert later.text == care.texts.bam.later
    async with care.bot.services.sessions() as session:
        declined = (await session.exec(select(Screening).where(Screening.kind == "bam"))).one()
    assert declined.result == {"declined": True} and declined.answers == {}
