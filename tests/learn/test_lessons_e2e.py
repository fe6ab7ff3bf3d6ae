"""Learn end to end through the sandbox: a lesson read card by card with a wrong and a
right answer, resuming after a restart, a locked lesson refused kindly, old and forged
buttons, and free text mid-lesson still screened first."""

from __future__ import annotations

from sqlmodel import select

from bot.content import Content, LanguagePack, render
from bot.models import Alert, LessonProgress
from bot.services import Services
from bot.telegram_sandbox import Person, SandboxServer
from tests.factories import add_client, add_program
from tests.harness import BotHarness, running_bot
from tests.learn.conftest import CLIENT, sent


async def progress_rows(svc: Services) -> list[LessonProgress]:
    async with svc.sessions() as session:
        return list((await session.exec(select(LessonProgress))).all())


async def test_a_lesson_read_start_to_finish_with_a_wrong_then_a_right_answer(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    learn = pack.learning.learn
    module = pack.module(1)
    assert module is not None
    (intro,) = await alex.send(pack.menu.learn)
    assert intro.text == render(learn.next_intro, title=module.title, minutes=module.minutes)
    (card,) = sent(await alex.press(learn.start_button))
    for i, text in enumerate(module.cards):
        assert render(
            learn.card_header, title=module.title, step=i + 1, total=len(module.cards)
        ) in (card.text or "")
        assert text in (card.text or "")
        (card,) = sent(await alex.press(learn.next_button))
    # The first check question: a wrong answer gets the kind correction and the question again.
    first = module.questions[0]
    assert first.ask in (card.text or "")
    wrong = first.options[1 - first.answer]
    (again,) = sent(await alex.press(wrong))
    assert first.wrong in (again.text or "") and first.ask in (again.text or "")
    assert "Wrong" not in (again.text or "")
    replies = sent(await alex.press(first.options[first.answer]))
    assert replies[0].text == first.right
    second = module.questions[1]
    assert second.ask in (replies[1].text or "")
    replies = sent(await alex.press(second.options[second.answer]))
    assert replies[0].text == second.right
    assert render(learn.finished, title=module.title) in (replies[1].text or "")
    (row,) = await progress_rows(bot.services)
    # Only completion and right/wrong the first time: the wrong first answer stays wrong.
    assert row.completed_at is not None and row.results == {"0": False, "1": True}
    # The list now shows it done, and the next lesson is offered.
    (listing,) = sent(await alex.press(learn.list_button))
    assert render(learn.list_line, number=1, title=module.title, state=learn.state_done) in (
        listing.text or ""
    )


async def test_a_card_button_pressed_twice_moves_on_once(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    learn = pack.learning.learn
    await alex.send(pack.menu.learn)
    (first,) = sent(await alex.press(learn.start_button))
    data = first.data_for(learn.next_button)
    assert len(sent(await alex.press_data(data, first.message_id))) == 1
    assert sent(await alex.press_data(data, first.message_id)) == []  # stale: nothing new
    # The pressed card's button is gone: the client sees only the newest card's Next.
    edits = [e for e in await alex.messages() if e.message_id == first.message_id]
    assert edits[-1].event == "edited" and edits[-1].buttons == []
    (row,) = await progress_rows(bot.services)
    assert row.position == 1


async def test_a_locked_lesson_is_refused_kindly_and_a_forged_one_changes_nothing(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    learn = pack.learning.learn
    await alex.send(pack.menu.learn)
    (listing,) = sent(await alex.press(learn.list_button))
    later = pack.module(9)
    assert later is not None and later.week > 1
    assert render(learn.state_locked, week=later.week) in (listing.text or "")
    (reply,) = sent(await alex.press(f"🔒 9. {later.title}"))
    assert reply.text == render(learn.locked, week=later.week)
    # Forged presses: a lesson that does not exist, a question far ahead, junk.
    for data in ("ln:o:99", "ln:q:9:5:0", "ln:c:1:3", "ln:zz", "ln:o:x"):
        for event in sent(await alex.press_data(data, listing.message_id)):
            assert event.text in (learn.not_on_list, render(learn.locked, week=later.week))
    assert await progress_rows(bot.services) == []


async def test_someone_not_enrolled_pressing_learn_gets_the_welcome(
    bot: BotHarness, pack: LanguagePack
) -> None:
    stranger = bot.person(5550499, "Sam")
    (reply,) = await stranger.send(pack.menu.learn)
    assert reply.text == pack.ui.welcome
    assert await stranger.press_data("ln:o:1", reply.message_id) == []


async def test_free_text_during_a_lesson_goes_through_the_safety_screen_first(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    await alex.send(pack.menu.learn)
    await alex.press(pack.learning.learn.start_button)
    replies = await alex.send("I want to kill myself")
    assert replies[0].text == pack.alerts.reply.urgent_opening
    async with bot.services.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    assert alert.category == "suicidal_ideation"
    # The lesson is where it was.
    (row,) = await progress_rows(bot.services)
    assert row.position == 0


async def test_after_a_restart_the_lesson_resumes_at_the_same_card(
    services: Services, sandbox_server: SandboxServer, content: Content
) -> None:
    pack = content.language("en")
    learn = pack.learning.learn
    module = pack.module(1)
    assert module is not None
    program = await add_program(services)
    await add_client(services, program, telegram_user_id=CLIENT)
    async with running_bot(services, sandbox_server) as first:
        alex = first.person(CLIENT, "Alex")
        await alex.send(pack.menu.learn)
        await alex.press(learn.start_button)
        (third,) = sent(await alex.press(learn.next_button))
        (third,) = sent(await alex.press(learn.next_button))
        assert module.cards[2] in (third.text or "")
    async with running_bot(services, sandbox_server) as second:
        alex = second.person(CLIENT, "Alex")
        (offer,) = await alex.send(pack.menu.learn)
        assert offer.text == render(learn.continue_intro, title=module.title)
        (card,) = sent(await alex.press(learn.continue_button))
        assert module.cards[2] in (card.text or "")
        # The first process's Next on card 3 still works: it is checked on the row.
        (fourth,) = sent(await alex.press_data(third.data_for(learn.next_button), third.message_id))
        assert module.cards[3] in (fourth.text or "")
