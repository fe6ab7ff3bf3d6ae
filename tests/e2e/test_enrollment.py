"""Enrollment end to end: the admin sets up a program and a clinician, the clinician
invites, clients join (or decline), consent comes before anything is stored, set-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.content import Content
from bot.invites import new_token, token_hash
from bot.models import ClientStatus, Delivery, EnrollmentAttempt, Invitation, InvitePurpose
from tests.e2e.enrollment_steps import (
    admin,
    client_row,
    clinician_row,
    consent,
    invite,
    join_and_set_up,
    only_program,
    program_with_clinician,
)
from tests.factories import anywhere, row_counts
from tests.harness import BotHarness

CLINICIAN, CLIENT, OTHER = 9101, 7101, 7102


async def test_admin_clinician_and_client_go_from_nothing_to_a_set_up_client(
    bot: BotHarness, content: Content
) -> None:
    pack = content.language("en")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    code, token = await invite(rivera, "Maria, Tuesday group")

    alex = bot.person(CLIENT, "Alex")
    async with bot.services.sessions() as session:
        before = await row_counts(session)
    shown = await alex.send(f"/start {token}")
    # The disclosures, the help card, then the question; nothing stored yet.
    texts = [m.text for m in shown]
    assert texts == [*pack.join.disclosures, pack.crisis_card("US"), pack.join.consent_question]
    async with bot.services.sessions() as session:
        assert await row_counts(session) == before
    assert (await client_row(bot.services, code)).telegram_user_id is None

    (closed, language) = await alex.press("I'm 18+ and I agree")
    assert closed.event == "edited" and closed.text.endswith("✓ ✅ I'm 18+ and I agree")
    assert language.text == pack.setup.ask_language
    (_, zone) = await alex.press("English")
    assert zone.text == pack.setup.ask_timezone
    # The program's own zone is offered first.
    assert zone.buttons[0] == ["New York"]
    (_, when) = await alex.press("Chicago")
    assert when.text == pack.setup.ask_checkin_time
    (_, sessions) = await alex.press("Something else")
    assert sessions.text == pack.setup.type_checkin_time
    (reminders,) = await alex.send("8:30 pm")
    assert reminders.text == pack.setup.ask_session_reminders
    (_, meds) = await alex.press("Yes")
    assert meds.text == pack.setup.ask_medication_reminders
    (_, done) = await alex.press("No")
    assert "8:30 pm" in done.text and "Chicago" in done.text
    assert done.reply_keyboard == [
        [pack.menu.checkin, pack.menu.learn],
        [pack.menu.breathe, pack.menu.sessions],
        [pack.menu.settings, pack.ui.help_button],
    ]

    row = await client_row(bot.services, code)
    assert row.status is ClientStatus.active
    assert row.telegram_user_id == CLIENT and row.chat_id == CLIENT
    assert (row.timezone, row.checkin_time) == ("America/Chicago", "20:30")
    assert (row.session_reminders, row.medication_reminders) == (True, False)
    assert row.enrolled_at is not None and row.setup_step is None
    assert row.label == "Maria, Tuesday group"
    # The care team is told, through the outbox.
    async with bot.services.sessions() as session:
        notices = (await session.exec(select(Delivery).where(Delivery.client_id == row.id))).all()
    assert [(n.kind, n.payload["event"], n.recipient_chat_id) for n in notices] == [
        ("careteam_notice", "joined", CLINICIAN)
    ]


async def test_the_invite_link_works_once(bot: BotHarness, content: Content) -> None:
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    _, token = await invite(rivera)
    await join_and_set_up(bot.person(CLIENT, "Alex"), token)
    (refusal,) = await bot.person(OTHER, "Sam").send(f"/start {token}")
    assert refusal.text == content.language("en").join.invalid_link


async def test_a_client_who_declines_leaves_nothing_but_the_declined_link(
    bot: BotHarness, content: Content
) -> None:
    pack = content.language("en")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    code, token = await invite(rivera)
    sam = bot.person(OTHER, "Sam")
    await sam.send(f"/start {token}")
    (_, declined) = await sam.press("No, thanks")
    assert declined.text == pack.join.declined
    row = await client_row(bot.services, code)
    assert row.telegram_user_id is None and row.status is ClientStatus.invited
    async with bot.services.sessions() as session:
        invitation = (
            await session.exec(select(Invitation).where(Invitation.client_id == row.id))
        ).one()
    assert invitation.declined_at is not None and invitation.used_at is None
    assert not await anywhere(bot.services, OTHER)
    # The link is spent; Sam is still someone Waypoint does not know.
    (again,) = await sam.send(f"/start {token}")
    assert again.text == pack.join.invalid_link
    (hello,) = await sam.send("/start")
    assert hello.text == pack.ui.welcome


async def test_wrong_expired_and_used_tokens_are_refused_kindly_and_store_nothing(
    bot: BotHarness, content: Content
) -> None:
    pack = content.language("en")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    program = await only_program(bot.services)
    expired = new_token()
    async with bot.services.sessions() as session:
        session.add(
            Invitation(
                program_id=program.id,
                purpose=InvitePurpose.client,
                token_hash=token_hash(expired),
                created_by="test",
                created_at=datetime.now(UTC) - timedelta(days=8),
                expires_at=datetime.now(UTC) - timedelta(days=1),
            )
        )
        await session.commit()
    sam = bot.person(OTHER, "Sam")
    for payload in ("not-a-real-token-at-all", expired, "x", "🙂"):
        (reply,) = await sam.send(f"/start {payload}")
        assert reply.text == pack.join.invalid_link
    # What is kept: a hash of the sender per wrong try, for the limit; never their id.
    assert not await anywhere(bot.services, OTHER)
    async with bot.services.sessions() as session:
        tries = (await session.exec(select(EnrollmentAttempt))).all()
    assert len(tries) == 4


async def test_five_wrong_tokens_an_hour_then_try_again_later(
    bot: BotHarness, content: Content
) -> None:
    pack = content.language("en")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    _, good = await invite(rivera)
    sam = bot.person(OTHER, "Sam")
    for n in range(5):
        (reply,) = await sam.send(f"/start wrong-token-number-{n}")
        assert reply.text == pack.join.invalid_link
    # Locked for the hour, even with a good link: guessing gets nowhere.
    (locked,) = await sam.send(f"/start {good}")
    assert locked.text == pack.join.too_many_tries
    # Someone else is not affected.
    shown = await bot.person(CLIENT, "Alex").send(f"/start {good}")
    assert shown[-1].text == pack.join.consent_question
    # An hour later the limit has passed.
    async with bot.services.sessions() as session:
        for attempt in (await session.exec(select(EnrollmentAttempt))).all():
            attempt.at -= timedelta(hours=1, minutes=1)
            session.add(attempt)
        await session.commit()
    shown = await sam.send(f"/start {good}")
    assert shown[-1].text == pack.join.consent_question


async def test_a_double_tap_on_agree_enrolls_once(bot: BotHarness, content: Content) -> None:
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    code, token = await invite(rivera)
    alex = bot.person(CLIENT, "Alex")
    shown = await alex.send(f"/start {token}")
    question = shown[-1]
    await alex.press("I'm 18+ and I agree", question)
    assert (
        await alex.press_data(question.data_for("I'm 18+ and I agree"), question.message_id) == []
    )
    answers = await bot.sandbox.callback_answers(CLIENT)
    assert answers[-1]["text"] == content.language("en").join.already_joined
    async with bot.services.sessions() as session:
        notices = (await session.exec(select(Delivery))).all()
    assert len(notices) == 1  # one "joined" notice, not two
    assert (await client_row(bot.services, code)).setup_step == "language"


async def test_old_double_and_forged_set_up_buttons_change_nothing(
    bot: BotHarness, content: Content
) -> None:
    pack = content.language("en")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    code, token = await invite(rivera)
    alex = bot.person(CLIENT, "Alex")
    await consent(alex, token)
    (_, zone_question) = await alex.press("English")
    language_question = (await alex.messages())[-2]
    # The language question again (old message), a zone that was never offered, a step
    # that is not current, a value that is not offered: all refused calmly.
    for data, message_id in [
        ("setup:lang:en", language_question.message_id),
        ("setup:tz:99", zone_question.message_id),
        ("setup:time:0", zone_question.message_id),
        ("setup:lang:xx", zone_question.message_id),
        ("setup:nope:1", zone_question.message_id),
        ("garbage", zone_question.message_id),
    ]:
        assert await alex.press_data(data, message_id) == []
    row = await client_row(bot.services, code)
    assert (row.setup_step, row.timezone, row.checkin_time) == ("timezone", None, None)
    answers = [a["text"] for a in await bot.sandbox.callback_answers(CLIENT)]
    # Set-up presses say why nothing happened; data no feature knows just stops the spinner.
    assert answers[-6:] == [pack.setup.stale_button] * 5 + [None]
    # Two quick taps on one zone: the second is stale, one answer is stored.
    await alex.press("Denver", zone_question)
    assert await alex.press_data(zone_question.data_for("Denver"), zone_question.message_id) == []
    assert (await client_row(bot.services, code)).timezone == "America/Denver"


async def test_typed_answers_are_checked_with_a_clear_retry(
    bot: BotHarness, content: Content
) -> None:
    pack = content.language("en")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    code, token = await invite(rivera)
    alex = bot.person(CLIENT, "Alex")
    await consent(alex, token)
    await alex.press("English")
    await alex.press("Something else")
    for nonsense in ("qwzx", "the moon", "x" * 4000):
        (retry,) = await alex.send(nonsense)
        assert retry.text == pack.setup.timezone_not_found
    (time_question,) = await alex.send("berlin")
    assert time_question.text == pack.setup.ask_checkin_time
    await alex.press("Something else")
    for nonsense in ("soon", "25:00", "8", "13pm"):
        (retry,) = await alex.send(nonsense)
        assert retry.text == pack.setup.time_not_understood
    (next_question,) = await alex.send("7:45am")
    assert next_question.text == pack.setup.ask_session_reminders
    row = await client_row(bot.services, code)
    assert (row.timezone, row.checkin_time) == ("Europe/Berlin", "07:45")


async def test_a_non_clinician_gets_only_the_unknown_person_answer(
    bot: BotHarness, content: Content
) -> None:
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    _, token = await invite(rivera)
    alex = bot.person(CLIENT, "Alex")
    await join_and_set_up(alex, token)
    async with bot.services.sessions() as session:
        before = await row_counts(session)
    stranger = bot.person(OTHER, "Sam")
    for command in ("/invite", "/clients", "/discharge K7Q-2", "/pause K7Q-2"):
        (reply,) = await stranger.send(command)
        assert reply.text == content.language("en").ui.welcome
    # A client cannot use them either, and learns nothing from trying: the answer is the
    # one any text they cannot use gets.
    (reply,) = await alex.send("/invite")
    assert reply.text == content.language("en").ui.not_understood
    async with bot.services.sessions() as session:
        assert await row_counts(session) == before


async def test_a_deactivated_clinician_loses_access(bot: BotHarness, content: Content) -> None:
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    clinician = await clinician_row(bot.services, CLINICIAN)
    code, _, err = await admin(bot, "clinician", "deactivate", str(clinician.id))
    assert code == 0, err
    (reply,) = await rivera.send("/invite")
    assert reply.text == content.language("en").ui.welcome


async def test_sensitive_values_never_leave_their_columns(bot: BotHarness) -> None:
    """The invite token is stored only as its hash (no table holds the token itself)."""
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    _, token = await invite(rivera)
    assert not await anywhere(bot.services, token)
