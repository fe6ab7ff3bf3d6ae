"""The daily check-in end to end: a client taps through it in the sandbox, and every
answer is in the database the moment it is given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.content import render
from bot.db import session_scope
from bot.features.delivery import build_engine
from bot.inbox import inbox_of
from bot.models import CheckIn, CravingMoment, Delivery, DeliveryStatus
from bot.scheduling.clock import ManualClock
from tests.checkin.conftest import Care, tap_through


async def test_a_full_check_in_saves_every_answer_and_thanks_the_client(care: Care) -> None:
    out = await tap_through(
        care,
        craving="3",
        mood="6",
        sleep_hours="4 to 6 hours",
        sleep_quality="OK",
        triggers=["Boredom", "Stress or conflict"],
        confidence="7",
        support="No",
    )
    row = await care.checkin()
    assert (row.craving, row.mood, row.sleep_hours, row.sleep_quality) == (
        3,
        6,
        "from_4_to_6",
        "ok",
    )
    assert (row.triggers, row.use, row.confidence, row.support) == ("stress,boredom", "no", 7, "no")
    assert row.step is None and row.completed_at is not None
    texts = care.texts
    thanks = out[1] if out[0].event == "edited" else out[0]
    assert thanks.text.startswith(texts.done) and texts.first_time in thanks.text
    # A coping idea for each trigger ticked, and nothing else (no slip plan, no card).
    sent = [m.text for m in out if m.event == "sent"]
    assert any(texts.coping.boredom in t and texts.coping.stress in t for t in sent)
    assert not any(texts.slip_plan in t for t in sent)
    assert await care.alerts() == []


async def test_each_question_is_edited_to_show_the_answer(care: Care) -> None:
    await care.alex.send(care.content.language("en").menu.checkin)
    question = await care.alex.last_message()
    assert question.text == care.texts.craving.text
    assert question.buttons == [["0", "1", "2", "3", "4", "5"], ["6", "7", "8", "9", "10"]]
    edited, following = await care.alex.press("4")
    assert edited.event == "edited" and edited.message_id == question.message_id
    assert render(care.texts.answer_shown, answer="4/10") in edited.text
    assert edited.buttons == []
    assert following.text == care.texts.mood.text


async def test_a_typed_number_answers_a_scale_and_other_text_gets_a_pointer(care: Care) -> None:
    await care.alex.send(care.content.language("en").menu.checkin)
    out = await care.alex.send("5")
    assert out[-1].text == care.texts.mood.text
    assert (await care.checkin()).craving == 5
    pointer, again = await care.alex.send("pizza")
    assert pointer.text == care.texts.use_buttons and again.text == care.texts.mood.text
    assert (await care.checkin()).mood is None


async def test_a_double_tap_saves_once_and_says_so_calmly(care: Care) -> None:
    await care.alex.send(care.content.language("en").menu.checkin)
    question = await care.alex.last_message()
    data = question.data_for("9")
    await care.alex.press_data(data, question.message_id)
    again = await care.alex.press_data(question.data_for("2"), question.message_id)
    assert again == []  # no second question, no edit
    answers = await care.bot.sandbox.callback_answers(care.alex.chat_id)
    assert answers[-1]["text"] == care.texts.already_answered
    row = await care.checkin()
    assert (row.craving, row.step) == (9, "mood")
    async with care.bot.services.sessions() as session:
        moments = (await session.exec(select(CravingMoment))).all()
    assert [m.craving for m in moments] == [9]


async def test_forged_values_change_nothing(care: Care) -> None:
    await care.alex.send(care.content.language("en").menu.checkin)
    question = await care.alex.last_message()
    row = await care.checkin()
    forged = [
        f"ck:{row.id}:craving:11",  # not on the scale
        f"ck:{row.id}:craving:-1",
        f"ck:{row.id}:triggers:casino",  # not offered
        f"ck:{row.id}:mood:5",  # not the question waiting
        f"ck:{(row.id or 0) + 1000}:craving:3",  # no such check-in
        "ck:abc:craving:3",
        "ck:",
    ]
    for data in forged:
        assert await care.alex.press_data(data, question.message_id) == []
    answers = await care.bot.sandbox.callback_answers(care.alex.chat_id)
    assert {a.get("text") for a in answers} <= {care.texts.not_valid, care.texts.already_answered}
    row = await care.checkin()
    assert (row.craving, row.mood, row.step) == (None, None, "craving")


async def test_another_clients_check_in_cannot_be_answered(care: Care) -> None:
    await care.alex.send(care.content.language("en").menu.checkin)
    theirs = await care.checkin()
    kim = care.bot.person(7499, "Kim")
    from tests.delivery.conftest import enrolled_client

    await enrolled_client(care.bot.services, care.bot.server, care.program, 7499)
    await kim.send(care.content.language("en").menu.checkin)
    mine = await kim.last_message()
    assert await kim.press_data(f"ck:{theirs.id}:craving:10", mine.message_id) == []
    assert (await care.checkin()).craving is None


async def test_urgent_free_text_mid_check_in_interrupts_and_the_check_in_resumes(
    care: Care,
) -> None:
    await care.alex.send(care.content.language("en").menu.checkin)
    await care.alex.press("6")
    out = await care.alex.send("i want to kill myself")
    reply = care.content.language("en").alerts.reply
    assert out[0].text == reply.urgent_opening
    assert (await care.checkin()).step == "mood"  # nothing was lost or skipped
    await care.drain()
    assert [a.tier.value for a in await care.alerts()] == ["urgent"]
    lead, question = await care.alex.send(care.content.language("en").menu.checkin)
    assert lead.text == care.texts.resume and question.text == care.texts.mood.text
    assert (await care.checkin()).craving == 6


async def test_help_now_mid_check_in_shows_the_card_and_keeps_the_place(care: Care) -> None:
    await care.alex.send(care.content.language("en").menu.checkin)
    await care.alex.press("1")
    (card,) = await care.alex.send(care.content.language("en").ui.help_button)
    assert "988" in card.text
    assert (await care.checkin()).step == "mood"


async def test_the_note_is_saved_sealed_for_the_care_team(care: Care) -> None:
    await care.alex.send(care.content.language("en").menu.checkin)
    for label in ("2", "7", "6 to 8 hours", "Well", care.texts.triggers.none_button, "No", "8"):
        await care.alex.press(label)
    await care.alex.press("Yes")  # support
    assert (await care.checkin()).step == "note"
    out = await care.alex.send("My sister is visiting this weekend")
    assert out[0].text == care.texts.note.saved
    row = await care.checkin()
    assert row.note == "My sister is visiting this weekend" and row.step is None
    code = care.client.code
    await care.rivera.send(f"/client {code}")
    shown = [m.text or "" for m in await care.rivera.messages()]
    assert any("My sister is visiting" in t for t in shown)


async def test_a_second_check_in_the_same_day_updates_the_record(care: Care) -> None:
    await tap_through(care, craving="3")
    lead, _ = await care.alex.send(care.content.language("en").menu.checkin)
    assert lead.text == care.texts.start_again
    await care.alex.press("6")
    row = await care.checkin()
    assert (row.craving, row.rounds, row.mood) == (6, 2, 7)  # mood kept until re-answered
    async with care.bot.services.sessions() as session:
        rows = (await session.exec(select(CheckIn))).all()
        moments = (await session.exec(select(CravingMoment))).all()
    assert len(rows) == 1 and sorted(m.craving for m in moments) == [3, 6]


async def test_the_nudge_and_no_prompt_after_the_day_ended(care: Care) -> None:
    bot, client = care.bot, care.client
    # 20:00 in New York on 10 June is 00:00 UTC on the 11th.
    clock = ManualClock(datetime(2026, 6, 11, 0, 0, tzinfo=UTC))
    engine = build_engine(bot.services, bot.application.bot, clock=clock)
    inbox = inbox_of(bot.application)
    assert inbox is not None
    inbox.clock = clock
    await engine.run_once()
    ui = care.content.language("en").ui
    assert (await care.alex.last_message()).text == ui.checkin_prompt
    clock.advance(timedelta(hours=2, minutes=1))
    await engine.run_once()
    assert (await care.alex.last_message()).text == ui.checkin_nudge  # one nudge, not started
    # The next day the client's time zone moved west, so 20:00 is already past its day end
    # when the engine comes back: nothing is sent late.
    clock.advance(timedelta(days=1, hours=5))
    await engine.run_once()
    async with bot.services.sessions() as session:
        prompt = (
            await session.exec(
                select(Delivery).where(Delivery.dedupe_key == f"checkin:{client.id}:2026-06-11")
            )
        ).one()
    assert prompt.status is DeliveryStatus.skipped and "late" in (prompt.reason or "")
    assert (await care.alex.last_message()).text == ui.checkin_nudge


async def test_a_started_check_in_cancels_the_nudge(care: Care) -> None:
    bot, client = care.bot, care.client
    clock = ManualClock(datetime(2026, 6, 11, 0, 0, tzinfo=UTC))
    engine = build_engine(bot.services, bot.application.bot, clock=clock)
    await engine.run_once()
    (await care.alex.last_message())
    await care.alex.press(care.content.language("en").ui.checkin_button)
    clock.advance(timedelta(hours=2, minutes=1))
    await engine.run_once()
    async with bot.services.sessions() as session:
        nudge = (
            await session.exec(
                select(Delivery).where(
                    Delivery.dedupe_key == f"checkin_nudge:{client.id}:2026-06-10"
                )
            )
        ).one()
    assert nudge.status is DeliveryStatus.skipped


async def test_a_full_check_in_from_the_prompt_on_time(care: Care) -> None:
    bot = care.bot
    clock = ManualClock(datetime(2026, 6, 11, 0, 0, tzinfo=UTC))  # 20:00 in New York
    engine = build_engine(bot.services, bot.application.bot, clock=clock)
    await engine.run_once()
    prompt = await care.alex.last_message()
    ui = care.content.language("en").ui
    assert prompt.text == ui.checkin_prompt
    async with bot.services.sessions() as session:
        row = (await session.exec(select(Delivery).where(Delivery.kind == "checkin"))).one()
    assert row.sent_at is not None and (row.sent_at - row.due_at) < timedelta(minutes=1)
    lead, question = await care.alex.press(ui.checkin_button, prompt)
    assert (lead.text, question.text) == (care.texts.start, care.texts.craving.text)
    await tap_through(care)  # goes on with the check-in the prompt started
    finished = await care.checkin()
    assert finished.step is None and finished.rounds == 1


async def test_a_check_in_left_unfinished_yesterday_resumes_today(care: Care) -> None:
    today = await care.today()
    async with session_scope(care.bot.services.sessions) as session:
        session.add(
            CheckIn(
                client_id=care.client.id or 0,
                local_date=today - timedelta(days=1),
                step="sleep_hours",
                craving=5,
                mood=4,
            )
        )
    lead, question = await care.alex.send(care.content.language("en").menu.checkin)
    assert lead.text == care.texts.resume and question.text == care.texts.sleep_hours.text
    await care.alex.press("Over 8 hours")
    async with care.bot.services.sessions() as session:
        rows = (await session.exec(select(CheckIn))).all()
    assert len(rows) == 1 and (rows[0].craving, rows[0].sleep_hours) == (5, "over_8")


async def test_a_mental_health_only_program_never_asks_about_urges_or_use(care: Care) -> None:
    from bot.db import session_scope
    from bot.models import ProgramLessons

    async with session_scope(care.bot.services.sessions) as session:
        session.add(ProgramLessons(program_id=care.program.id, mental_health_only=True))
    asked: list[str] = []
    await tap_through(care, asked)
    # The check-in opens on mood, and D1 (urge) and D5 (use) never come.
    assert "craving" not in asked and "use" not in asked and "substances" not in asked
    assert asked[0] == "mood"
    row = await care.checkin()
    assert row.craving is None and row.use is None
    assert row.step is None and row.completed_at is not None


async def test_a_program_that_treats_substance_use_asks_both(care: Care) -> None:
    asked: list[str] = []
    await tap_through(care, asked)
    assert asked[0] == "craving" and "use" in asked
