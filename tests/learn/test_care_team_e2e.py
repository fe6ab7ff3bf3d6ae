"""The care team's side of Learn and Breathe, end to end: /assign (assign, unlock, hide,
reset), /lessons and the mental-health-only setting, /client and the digest showing
lessons and practice, the client's /progress, the weekly reminder through the delivery
engine, and urge surfing one tap away after a strong craving."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.content import Content, LanguagePack, render
from bot.db import session_scope
from bot.digest import digest_text
from bot.features.delivery import build_engine
from bot.models import (
    AuditEvent,
    Client,
    Clinician,
    ClinicianRole,
    Delivery,
    DeliveryStatus,
    LessonOverride,
    Program,
)
from bot.scheduling import program_cron
from bot.scheduling.clock import ManualClock
from bot.telegram_sandbox import Person
from tests.delivery.conftest import open_chat
from tests.factories import add_clinician
from tests.harness import BotHarness
from tests.learn.conftest import CLIENT, CLINICIAN, CODE, OTHER_CLINICIAN, sent

NEW_YORK = ZoneInfo("America/New_York")


async def finish_lesson_one(alex: Person, pack: LanguagePack, *, first_try: bool) -> None:
    learn = pack.learning.learn
    module = pack.module(1)
    assert module is not None
    await alex.send(pack.menu.learn)
    await alex.press(learn.start_button)
    for _ in module.cards:
        await alex.press(learn.next_button)
    for question in module.questions:
        if not first_try:
            await alex.press(question.options[1 - question.answer])
        await alex.press(question.options[question.answer])


async def one_practice(alex: Person, pack: LanguagePack, before: str, after: str) -> None:
    breathe = pack.learning.breathe
    stop = pack.exercise("stop")
    assert stop is not None
    await alex.send(pack.menu.breathe)
    await alex.press(breathe.needs["angry"].label)
    await alex.press(stop.title)
    await alex.press(before)
    await alex.press(breathe.stop_button)
    await alex.press(after)


async def test_assign_puts_a_lesson_first_and_hide_takes_one_off_the_list(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    staff = pack.learning.staff
    learn = pack.learning.learn
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    lesson9 = pack.module(9)
    lesson2 = pack.module(2)
    assert lesson9 is not None and lesson2 is not None
    (reply,) = await rivera.send(f"/assign {CODE} 9")
    assert reply.text == render(
        staff.assign_done, code=CODE, number=9, title=lesson9.title, action=staff.actions["assign"]
    )
    (offer,) = await alex.send(pack.menu.learn)
    assert offer.text == render(learn.assigned_intro, title=lesson9.title, minutes=lesson9.minutes)
    (card,) = sent(await alex.press(learn.start_button))
    assert lesson9.cards[0] in (card.text or "")
    # Hide lesson 2: gone from the list, and a forged press on it is refused kindly.
    await rivera.send(f"/assign {CODE} 2 hide")
    (listing,) = sent(await alex.press(learn.list_button, offer))
    assert lesson2.title not in (listing.text or "")
    (refused,) = sent(await alex.press_data("ln:o:2", listing.message_id))
    assert refused.text == learn.not_on_list
    # Reset: back on the usual schedule (lesson 2 opens in week 1).
    await rivera.send(f"/assign {CODE} 2 reset")
    (listing,) = sent(await alex.press(learn.list_button, offer))
    assert lesson2.title in (listing.text or "")
    async with bot.services.sessions() as session:
        overrides = (await session.exec(select(LessonOverride))).all()
        actions = (await session.exec(select(AuditEvent.action))).all()
    assert [(o.module, o.access.value) for o in overrides] == [(9, "assigned")]
    assert {"lesson_assign", "lesson_hide", "lesson_reset"} <= set(actions)


async def test_unlock_opens_a_later_lesson(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    learn = pack.learning.learn
    lesson16 = pack.module(16)
    assert lesson16 is not None
    await alex.send(pack.menu.learn)
    (listing,) = sent(await alex.press(learn.list_button))
    (refused,) = sent(await alex.press(f"🔒 16. {lesson16.title}", listing))
    assert refused.text == render(learn.locked, week=lesson16.week)
    await bot.person(CLINICIAN, "Dr. Rivera").send(f"/assign {CODE} 16 unlock")
    (card,) = sent(await alex.press_data("ln:o:16", listing.message_id))
    assert lesson16.cards[0] in (card.text or "")


async def test_assign_is_refused_for_others_clients_wrong_input_and_non_clinicians(
    bot: BotHarness, alex: Person, pack: LanguagePack, program: Program
) -> None:
    staff = pack.learning.staff
    await add_clinician(bot.services, program, telegram_user_id=OTHER_CLINICIAN, name="Dr. Chen")
    chen = bot.person(OTHER_CLINICIAN, "Dr. Chen")
    (reply,) = await chen.send(f"/assign {CODE} 9")
    assert reply.text == render(pack.staff.client_not_found, code=CODE)
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    assert (await rivera.send("/assign"))[0].text == staff.assign_usage
    assert (await rivera.send(f"/assign {CODE} 9 banish"))[0].text == staff.assign_usage
    (unknown,) = await rivera.send(f"/assign {CODE} 42")
    assert unknown.text == render(staff.unknown_lesson, lesson="42")
    # A client typing /assign gets what anyone unknown to the command gets.
    (answer,) = await alex.send(f"/assign {CODE} 9")
    assert answer.text != reply.text and "lesson" not in (answer.text or "").lower()
    async with bot.services.sessions() as session:
        assert (await session.exec(select(LessonOverride))).all() == []


async def test_a_mental_health_only_program_hides_the_substance_specific_lessons(
    bot: BotHarness, alex: Person, pack: LanguagePack, program: Program
) -> None:
    staff = pack.learning.staff
    admin = await add_clinician(bot.services, program, telegram_user_id=9409, name="Ana")
    async with session_scope(bot.services.sessions) as session:
        row = await session.get(Clinician, admin.id)
        assert row is not None
        row.role = ClinicianRole.admin
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    (refused,) = await rivera.send("/lessons mh-only on")
    assert refused.text == staff.admin_only
    (done,) = await bot.person(9409, "Ana").send("/lessons mh-only on")
    assert done.text == render(staff.program_set, state=staff.state_hidden_all)
    (listing,) = await rivera.send("/lessons")
    assert staff.lessons_hidden in (listing.text or "")
    # Lesson 3 (triggers, substance-specific) would open in week 2: unlock it for Alex.
    await rivera.send(f"/assign {CODE} 1 unlock")
    await alex.send(pack.menu.learn)
    (client_list,) = sent(await alex.press(pack.learning.learn.list_button))
    hidden = [m for m in pack.modules if m.substance_specific]
    assert [m.number for m in hidden] == [3, 5, 6, 11]
    for module in hidden:
        assert module.title not in (client_list.text or "")
    (refused,) = sent(await alex.press_data("ln:o:3", client_list.message_id))
    assert refused.text == pack.learning.learn.not_on_list
    # A clinician can still open one for a client who needs it.
    await rivera.send(f"/assign {CODE} 3")
    (offer,) = await alex.send(pack.menu.learn)
    lesson3 = pack.module(3)
    assert lesson3 is not None and lesson3.title in (offer.text or "")


async def test_client_view_and_digest_show_lessons_and_practice(
    bot: BotHarness, alex: Person, pack: LanguagePack, content: Content
) -> None:
    staff = pack.learning.staff
    start = datetime.now(UTC)
    await finish_lesson_one(alex, pack, first_try=False)
    await one_practice(alex, pack, "2", "6")  # up 4: the distress rule fires
    await bot.person(CLINICIAN, "Dr. Rivera").send(f"/assign {CODE} 7 hide")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    replies = await rivera.send(f"/client {CODE}")
    view = "\n".join(r.text or "" for r in replies)
    lesson1 = pack.module(1)
    lesson7 = pack.module(7)
    assert lesson1 is not None and lesson7 is not None
    assert render(staff.client_lessons, done=1, total=15, week=1) in view
    assert (
        render(staff.client_module_line, number=1, title=lesson1.title, state=staff.state_done)
        + render(staff.client_checks, right=0, asked=2)
        in view
    )
    assert (
        render(staff.client_module_line, number=7, title=lesson7.title, state=staff.state_hidden)
        in view
    )
    assert render(staff.client_practice, count=1) in view
    assert "2 → 6" in view and staff.flag_rose in view and staff.stopped_early in view
    async with bot.services.sessions() as session:
        clinician = (
            await session.exec(select(Clinician).where(Clinician.telegram_user_id == CLINICIAN))
        ).one()
        program = await session.get(Program, clinician.program_id)
        assert program is not None
        digest = await digest_text(
            session,
            content,
            clinician=clinician,
            program=program,
            since=start - timedelta(minutes=1),
            now=datetime.now(UTC) + timedelta(seconds=1),
        )
    assert staff.digest_header in digest
    stop = pack.exercise("stop")
    assert stop is not None
    line = render(
        staff.digest_line,
        code=CODE,
        items="; ".join(
            [
                render(staff.digest_lesson, number=1, right=0, asked=2),
                render(
                    staff.digest_practice, title=stop.title, before=2, after=6, flag=staff.flag_rose
                ),
            ]
        ),
    )
    assert line in digest


async def test_progress_shows_the_client_their_lessons_and_practice(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    texts = pack.learning.progress
    await finish_lesson_one(alex, pack, first_try=True)
    await one_practice(alex, pack, "6", "3")
    (reply,) = await alex.send("/progress")
    stop = pack.exercise("stop")
    assert stop is not None
    assert reply.text == "\n\n".join(
        [
            texts.header,
            pack.checkin.progress_empty,  # the check-in's part: no check-in yet
            "\n".join(
                [
                    render(texts.lessons, done=1, total=16),
                    render(texts.practice, count=1),
                    render(texts.last_practice, title=stop.title, before=6, after=3),
                ]
            ),
        ]
    )


async def test_the_weekly_reminder_comes_once_a_week_while_a_lesson_waits(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    learn = pack.learning.learn
    open_chat(bot.server, CLIENT)
    day = datetime.now(NEW_YORK).date()
    clock = ManualClock(datetime.combine(day, time(17, 1), NEW_YORK))
    engine = build_engine(bot.services, bot.application.bot, clock=clock)

    async def run() -> None:
        await program_cron.catch_up(engine.engine, engine.sessions, clock.now())
        await engine.run_once()

    await run()
    nudge = await alex.last_message()
    assert nudge.text == learn.nudge
    await run()  # a second fire of the same slot: nothing more
    clock.advance(timedelta(days=1))
    await run()  # the next day: still this week
    assert [m.text for m in await alex.messages()].count(learn.nudge) == 1
    # The button opens the lesson waiting.
    (offer,) = sent(await alex.press(learn.nudge_button, nudge))
    lesson1 = pack.module(1)
    assert lesson1 is not None and lesson1.title in (offer.text or "")
    # A week later, with lessons still waiting, one more.
    clock.advance(timedelta(days=6))
    await run()
    assert [m.text for m in await alex.messages()].count(learn.nudge) == 2
    async with bot.services.sessions() as session:
        rows = (await session.exec(select(Delivery).where(Delivery.kind == "lesson_nudge"))).all()
    assert [r.status for r in rows] == [DeliveryStatus.sent, DeliveryStatus.sent]


async def test_no_reminder_when_nothing_waits(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    # Every open lesson hidden: nothing waits, so nothing is sent.
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    for module in pack.modules:
        if module.week == 1:
            await rivera.send(f"/assign {CODE} {module.number} hide")
    open_chat(bot.server, CLIENT)
    day = datetime.now(NEW_YORK).date()
    clock = ManualClock(datetime.combine(day, time(17, 1), NEW_YORK))
    engine = build_engine(bot.services, bot.application.bot, clock=clock)
    await program_cron.catch_up(engine.engine, engine.sessions, clock.now())
    await engine.run_once()
    assert pack.learning.learn.nudge not in [m.text for m in await alex.messages()]
    async with bot.services.sessions() as session:
        assert (
            await session.exec(select(Delivery).where(Delivery.kind == "lesson_nudge"))
        ).all() == []


async def test_a_strong_craving_gets_urge_surfing_one_tap_away(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    surfing = pack.exercise("urge_surfing")
    assert surfing is not None
    (reply,) = await alex.send("my cravings are out of control")
    assert pack.alerts.reply.same_day_craving in (reply.text or "")
    opening, question = sent(await alex.press(surfing.title, reply))
    assert pack.learning.breathe.in_charge in (opening.text or "")
    assert question.text == pack.learning.breathe.before_craving
    async with bot.services.sessions() as session:
        client = (await session.exec(select(Client).where(Client.telegram_user_id == CLIENT))).one()
    assert client.code == CODE
