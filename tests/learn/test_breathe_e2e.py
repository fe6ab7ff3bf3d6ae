"""Breathe end to end through the sandbox: a practice paced step by step on time the test
drives (no sleeping), Next and Stop, a restart mid-practice (no burst of stale steps),
the distress rule, TIPP's caution, and the clinician's "no breath-holds"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.content import Content, LanguagePack, render
from bot.features.breathe import advance_due
from bot.features.delivery import delivery_engine
from bot.models import Alert, AlertTier, ExerciseRun, PracticeSettings, RunStatus
from bot.services import Services
from bot.telegram_sandbox import Person, SandboxServer
from tests.factories import add_client, add_program
from tests.harness import BotHarness, running_bot
from tests.learn.conftest import CLIENT, CLINICIAN, CODE, sent


def now() -> datetime:
    return datetime.now(UTC)


async def the_run(svc: Services) -> ExerciseRun:
    async with svc.sessions() as session:
        return (await session.exec(select(ExerciseRun))).one()


async def alerts(svc: Services) -> list[Alert]:
    async with svc.sessions() as session:
        return list((await session.exec(select(Alert))).all())


async def tick(bot: BotHarness, at: datetime) -> int:
    return await advance_due(bot.services, bot.application.bot, at)


async def start(alex: Person, pack: LanguagePack, need: str, title: str) -> None:
    await alex.send(pack.menu.breathe)
    await alex.press(pack.learning.breathe.needs[need].label)
    await alex.press(title)


async def test_a_practice_is_paced_step_by_step_on_the_tests_clock(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    breathe = pack.learning.breathe
    stop = pack.exercise("stop")
    assert stop is not None
    steps = [s.text for s in stop.variants[0].steps]
    (menu,) = await alex.send(pack.menu.breathe)
    assert menu.text == breathe.menu_intro
    await alex.press(breathe.needs["angry"].label)
    opening, question = await alex.press(stop.title)
    # Every practice opens with the rule-1 line before anything else.
    assert breathe.in_charge in (opening.text or "")
    assert question.text == breathe.before_distress
    (first,) = sent(await alex.press("6"))
    assert steps[0] in (first.text or "")
    t = now()
    # Nothing is due yet: nothing is sent.
    assert await tick(bot, t) == 0
    # The first step lasts 10 seconds: at +11 s the second comes, and only it.
    t += timedelta(seconds=11)
    assert await tick(bot, t) == 1
    assert steps[1] in ((await alex.last_message()).text or "")
    # Only the step shown has buttons: the first step's were taken off.
    first_now = [e for e in await alex.messages() if e.message_id == first.message_id][-1]
    assert first_now.buttons == [] and steps[0] in (first_now.text or "")
    assert await tick(bot, t + timedelta(seconds=1)) == 0
    # Next goes faster than the timer.
    (third,) = sent(await alex.press(breathe.next_button))
    assert steps[2] in (third.text or "")
    t = now() + timedelta(seconds=21)  # the third step lasts 20 seconds
    assert await tick(bot, t) == 1
    last = await alex.last_message()
    assert steps[3] in (last.text or "") and breathe.done_button in last.buttons[0]
    # The last step's time (15 s) passes: the after-rating is asked.
    assert await tick(bot, t + timedelta(seconds=14)) == 0
    assert await tick(bot, t + timedelta(seconds=16)) == 1
    assert (await alex.last_message()).text == breathe.after_distress
    (closing,) = sent(await alex.press("3"))
    assert closing.text == breathe.went_down
    run = await the_run(bot.services)
    assert (run.status, run.before, run.after, run.distress_rose) == (
        RunStatus.finished,
        6,
        3,
        False,
    )
    assert await alerts(bot.services) == []
    # Nothing more is sent for a finished practice.
    assert await tick(bot, now() + timedelta(minutes=5)) == 0


async def test_stop_mid_practice_asks_the_rating_and_nothing_more_comes(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    breathe = pack.learning.breathe
    surfing = pack.exercise("urge_surfing")
    assert surfing is not None
    await start(alex, pack, "craving", surfing.title)
    # Urge surfing shows its cautions first, and asks about the urge, not distress.
    opening, question = (await alex.messages())[-2:]
    assert all(c in (opening.text or "") for c in surfing.cautions)
    assert question.text == breathe.before_craving
    await alex.press("7")
    before = len(sent(await alex.messages()))
    (stopped,) = sent(await alex.press(breathe.stop_button))
    assert stopped.text == f"{breathe.stopped}\n\n{breathe.after_craving}"
    assert await tick(bot, now() + timedelta(minutes=2)) == 0
    assert len(sent(await alex.messages())) == before + 1
    (closing,) = sent(await alex.press("4"))
    assert closing.text == breathe.urge_passed
    run = await the_run(bot.services)
    assert run.stopped_early and run.after == 4


async def test_a_restart_mid_practice_sends_no_burst_of_stale_steps(
    services: Services, sandbox_server: SandboxServer, content: Content
) -> None:
    pack = content.language("en")
    breathe = pack.learning.breathe
    scan = pack.exercise("body_scan")
    assert scan is not None
    program = await add_program(services)
    await add_client(services, program, telegram_user_id=CLIENT)
    async with running_bot(services, sandbox_server) as first:
        alex = first.person(CLIENT, "Alex")
        await start(alex, pack, "sleep", scan.title)
        await alex.press(scan.variants[1].label)  # 5 minutes, 7 steps
        await alex.press("5")
        count = len(sent(await alex.messages()))
    # Down for 10 minutes: every step's time has passed.
    async with running_bot(services, sandbox_server) as second:
        alex = second.person(CLIENT, "Alex")
        assert (
            await advance_due(services, second.application.bot, now() + timedelta(minutes=10)) == 1
        )
        messages = sent(await alex.messages())
        assert len(messages) == count + 1  # one message, not six stale steps
        assert messages[-1].text == f"{breathe.away}\n\n{breathe.after_distress}"
        assert (
            await advance_due(services, second.application.bot, now() + timedelta(minutes=11)) == 0
        )
        (closing,) = sent(await alex.press("4"))
        assert closing.text == breathe.went_down
    run = await the_run(services)
    assert run.interrupted and run.status is RunStatus.finished


async def test_a_short_stall_resumes_with_the_next_step_only(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    grounding = pack.exercise("grounding")
    assert grounding is not None
    steps = [s.text for s in grounding.variants[0].steps]
    await start(alex, pack, "anxious", grounding.title)
    await alex.press("5")
    count = len(sent(await alex.messages()))
    # 60 s late for step 2 (step 1 lasts 40 s): the next step comes, once, and no more.
    assert await tick(bot, now() + timedelta(seconds=100)) == 1
    messages = sent(await alex.messages())
    assert len(messages) == count + 1 and steps[1] in (messages[-1].text or "")


async def test_distress_rising_stops_practice_offers_grounding_and_help_and_flags_once(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    breathe = pack.learning.breathe
    scan = pack.exercise("body_scan")
    assert scan is not None
    await start(alex, pack, "sleep", scan.title)
    await alex.press(scan.variants[0].label)
    await alex.press("4")
    (question,) = sent(await alex.press(breathe.stop_button))
    replies = sent(await alex.press("8", question))
    assert [r.text for r in replies] == [
        f"{breathe.distress_stop}\n\n{breathe.grounding}",
        pack.crisis_card("US"),
        breathe.team_told,
    ]
    (alert,) = await alerts(bot.services)
    assert (alert.tier, alert.category, alert.source) == (
        AlertTier.same_day,
        "exercise_distress",
        "exercise",
    )
    assert "before 4, after 8" in (alert.evidence or "")
    # The alert's sending is over (Dr. Rivera's chat does not exist in the sandbox, so
    # the client is told nobody could be reached: issue 16); then:
    await delivery_engine(bot.application).wait_idle()
    # A second tap on the same rating (or another one) raises nothing more.
    assert sent(await alex.press_data(question.data_for("9"), question.message_id)) == []
    assert len(await alerts(bot.services)) == 1
    run = await the_run(bot.services)
    assert run.distress_rose and run.after == 8


async def test_a_rise_of_three_flags_but_a_small_rise_does_not(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    breathe = pack.learning.breathe
    stop = pack.exercise("stop")
    assert stop is not None
    await start(alex, pack, "angry", stop.title)
    await alex.press("5")
    await alex.press(breathe.stop_button)
    (closing,) = sent(await alex.press("7"))  # up 2, below 8
    assert closing.text == breathe.thanks
    assert await alerts(bot.services) == []
    await start(alex, pack, "angry", stop.title)
    await alex.press("2")
    await alex.press(breathe.stop_button)
    replies = sent(await alex.press("5"))  # up 3
    assert replies[0].text == f"{breathe.distress_stop}\n\n{breathe.grounding}"
    assert len(await alerts(bot.services)) == 1


async def test_tipp_shows_its_caution_before_its_steps_every_time(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    tipp = pack.exercise("tipp")
    assert tipp is not None and tipp.cautions
    for _ in range(2):
        await start(alex, pack, "angry", tipp.title)
        first, _ = sent(await alex.press(tipp.variants[0].label))
        assert tipp.cautions[0] in (first.text or "")
        await alex.press("9")
        messages = await alex.messages()
        caution_at = max(i for i, m in enumerate(messages) if tipp.cautions[0] in (m.text or ""))
        step_at = max(i for i, m in enumerate(messages) if "temperature" in (m.text or ""))
        assert caution_at < step_at


async def test_a_client_with_no_breath_holds_is_never_offered_the_holds(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    breathe = pack.learning.breathe
    box = pack.exercise("box_breathing")
    tipp = pack.exercise("tipp")
    assert box is not None and tipp is not None
    # The clinician turns "no breath-holds" on with /practice.
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    staff = pack.learning.staff
    (settings,) = await rivera.send(f"/practice {CODE}")
    assert settings.text == render(staff.practice_header, code=CODE)
    (saved,) = sent(await rivera.press(render(staff.holds_button, state=staff.off_word)))
    assert render(staff.holds_button, state=staff.on_word) in saved.buttons[0]
    async with bot.services.sessions() as session:
        row = (await session.exec(select(PracticeSettings))).one()
    assert row.no_breath_holds and not row.no_long_inward
    # Box breathing starts straight away with the long out-breath: no choice of holds.
    await start(alex, pack, "anxious", box.title)
    await alex.press("5")
    run = await the_run(bot.services)
    assert run.variant == "exhale"
    t = now()
    for _ in range(30):
        if (await the_run(bot.services)).status is not RunStatus.running:
            break
        t += timedelta(seconds=20)
        await tick(bot, t)
    assert (await the_run(bot.services)).status is RunStatus.rating_after
    shown = [m.text or "" for m in await alex.messages()]
    assert not any(breathe.breath_hold in text for text in shown)
    assert any(breathe.breath_out in text for text in shown)
    # A forged press for the holds version is refused kindly; nothing starts.
    last = await alex.last_message()
    (refused,) = sent(await alex.press_data("br:v:box_breathing:box", last.message_id))
    assert breathe.not_offered in (refused.text or "")
    # TIPP offers only breathing and muscles (no cold water or hard exercise).
    await alex.send(pack.menu.breathe)
    await alex.press(breathe.needs["angry"].label)
    opening, _ = sent(await alex.press(tipp.title))
    assert tipp.cautions[0] in (opening.text or "")
    async with bot.services.sessions() as session:
        runs = (await session.exec(select(ExerciseRun).order_by(ExerciseRun.id))).all()  # type: ignore[arg-type]
    assert runs[-1].variant == "gentle"


async def test_a_breathing_count_edits_one_message(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    breathe = pack.learning.breathe
    box = pack.exercise("box_breathing")
    assert box is not None
    await start(alex, pack, "anxious", box.title)
    await alex.press(box.variants[0].label)
    await alex.press("4")
    await alex.press(breathe.next_button)  # to the count
    count = await alex.last_message()
    assert breathe.breath_in in (count.text or "")
    t = now() + timedelta(seconds=5)
    await tick(bot, t)
    await tick(bot, t + timedelta(seconds=5))
    events = await alex.messages()
    edits = [e for e in events if e.event == "edited" and e.message_id == count.message_id]
    assert [breathe.breath_hold in (e.text or "") for e in edits][:1] == [True]
    assert breathe.breath_out in (edits[-1].text or "")
    # Next on the count skips the rest of it.
    (after_count,) = sent(await alex.press(breathe.next_button))
    assert (box.variants[0].steps[2].text or "") in (after_count.text or "")


async def test_free_text_during_a_practice_goes_through_the_safety_screen_first(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    grounding = pack.exercise("grounding")
    assert grounding is not None
    await start(alex, pack, "anxious", grounding.title)
    await alex.press("5")
    replies = await alex.send("I took too many pills and can't breathe")
    assert replies[0].text == pack.alerts.reply.urgent_opening
    (alert,) = await alerts(bot.services)
    assert alert.tier is AlertTier.urgent


async def test_old_and_forged_practice_buttons_change_nothing(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    grounding = pack.exercise("grounding")
    assert grounding is not None
    await start(alex, pack, "anxious", grounding.title)
    (step,) = sent(await alex.press("5"))
    run = await the_run(bot.services)
    for data in (
        f"br:nx:{run.id}:3",  # not the step shown
        f"br:a:{run.id}:9",  # not asked yet
        f"br:b:{run.id}:2",  # asked already
        f"br:s:{(run.id or 0) + 1}",  # no such run
        "br:x:no_such",
    ):
        for event in sent(await alex.press_data(data, step.message_id)):
            assert pack.learning.breathe.not_offered in (event.text or "")
    same = await the_run(bot.services)
    assert (same.step, same.status, same.before, same.after) == (0, RunStatus.running, 5, None)
    assert await alerts(bot.services) == []
