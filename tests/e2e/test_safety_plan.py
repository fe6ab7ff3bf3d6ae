"""/safetyplan end to end through the sandbox: filling the plan in step by step, changing
one part later, clearing, the limits, old and forged buttons, a restart mid-edit, a
crisis-worded line while editing, encryption at rest, /mydata and /delete."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text
from sqlmodel import select
from telegram import Update

from bot.content import Content, LanguagePack, render
from bot.features import crisis, safetyplan
from bot.models import SafetyPlan
from bot.safety_plan import MAX_ITEM_CHARS, MAX_ITEMS, SECTIONS, items_of
from bot.sealed import configure_encryption
from bot.services import Services
from bot.telegram_sandbox import Person, SandboxServer, SentMessage
from tests.factories import add_client, add_program, anywhere
from tests.harness import BotHarness, running_bot

CLIENT, STRANGER = 7301, 5550301


@pytest.fixture
def pack(content: Content) -> LanguagePack:
    return content.language("en")


@pytest.fixture
async def alex(bot: BotHarness) -> Person:
    """An enrolled client of a US program, with nothing in their plan yet."""
    program = await add_program(bot.services)
    await add_client(bot.services, program, telegram_user_id=CLIENT)
    return bot.person(CLIENT, "Alex")


def sent(events: list[SentMessage]) -> list[SentMessage]:
    """New messages only (pressing a button also edits the pressed message)."""
    return [e for e in events if e.event == "sent"]


async def plan_row(svc: Services) -> SafetyPlan | None:
    async with svc.sessions() as session:
        return (await session.exec(select(SafetyPlan))).first()


async def plan_items(svc: Services) -> dict[str, list[str]]:
    plan = await plan_row(svc)
    return {section: items_of(plan, section) for section in SECTIONS}


def saved(pack: LanguagePack, count: int) -> str:
    return render(pack.safety_plan.saved, count=count, max=MAX_ITEMS)


async def stale_answers(bot: BotHarness, pack: LanguagePack) -> int:
    answers = await bot.sandbox.callback_answers(CLIENT)
    return sum(a["text"] == pack.setup.stale_button for a in answers)


# --- filling it in ----------------------------------------------------------------------


async def test_an_empty_plan_shows_the_intro_with_start_and_edit(
    alex: Person, pack: LanguagePack
) -> None:
    (intro,) = await alex.send("/safetyplan")
    texts = pack.safety_plan
    assert intro.text == texts.intro
    assert intro.buttons == [[texts.start_button], [texts.edit_button]]


async def test_the_plan_is_filled_in_step_by_step_and_shown(
    bot: BotHarness, alex: Person, pack: LanguagePack, content: Content
) -> None:
    texts = pack.safety_plan
    await alex.send("/safetyplan")
    (question,) = sent(await alex.press(texts.start_button))
    warn = texts.sections.warning_signs
    assert question.text is not None
    assert question.text.startswith(f"<b>{render(texts.step_label, step=1, total=6)} · ")
    for part in (warn.title, warn.question, warn.example, texts.how_to_add):
        assert part in question.text
    assert question.buttons == [[texts.done_button, texts.skip_button]]
    assert question.protect_content

    (reply,) = await alex.send("I stop answering my phone")
    assert reply.text == saved(pack, 1)
    assert reply.buttons == [[texts.done_button], [texts.clear_button]]
    # Several lines are several lines; list bullets typed by habit are dropped.
    (reply,) = await alex.send("- I can't sleep\n\n• I skip meals")
    assert reply.text == saved(pack, 3)

    (step2,) = sent(await alex.press(texts.done_button))
    assert render(texts.step_label, step=2, total=6) in (step2.text or "")
    (step3,) = sent(await alex.press(texts.skip_button))
    assert texts.sections.distractions.question in (step3.text or "")
    await alex.send("The park by my home")
    (step4,) = sent(await alex.press(texts.done_button))
    assert texts.sections.help_people.title in (step4.text or "")
    await alex.send("My sister Ana")
    (step5,) = sent(await alex.press(texts.done_button))
    assert texts.sections.professionals.question in (step5.text or "")
    await alex.send("Dr. Lee, my counselor & group leader")
    (step6,) = sent(await alex.press(texts.done_button))
    assert texts.sections.safer_space.question in (step6.text or "")
    await alex.send("Put sharp things away")
    finished, *plan = sent(await alex.press(texts.done_button))
    assert finished.text == texts.finished

    assert await plan_items(bot.services) == {
        "warning_signs": ["I stop answering my phone", "I can't sleep", "I skip meals"],
        "coping_alone": [],
        "distractions": ["The park by my home"],
        "help_people": ["My sister Ana"],
        "professionals": ["Dr. Lee, my counselor & group leader"],
        "safer_space": ["Put sharp things away"],
    }
    shown = "\n\n".join(m.text or "" for m in plan)
    assert all(m.protect_content for m in plan)
    assert shown.startswith(texts.heading)
    titles = [getattr(texts.sections, s).title for s in SECTIONS]
    positions = [shown.index(f"<b>{n}. {title}</b>") for n, title in enumerate(titles, 1)]
    assert positions == sorted(positions)
    assert "• I stop answering my phone\n• I can't sleep\n• I skip meals" in shown
    # Typed text is escaped; the skipped step says it is empty; step 5 has the help lines.
    assert "• Dr. Lee, my counselor &amp; group leader" in shown
    assert f"<b>2. {titles[1]}</b>\n{texts.nothing_yet}" in shown
    for part in pack.crisis_card_parts("US")[:-1]:
        assert part in shown
    assert "988" in shown
    assert plan[-1].buttons == [[texts.edit_button], [texts.continue_button]]

    # Continue goes to the step that was skipped, and then the plan is complete.
    (step2,) = sent(await alex.press(texts.continue_button))
    assert texts.sections.coping_alone.question in (step2.text or "")
    await alex.send("Take a warm shower")
    finished, *plan = sent(await alex.press(texts.done_button))
    assert finished.text == texts.finished
    assert plan[-1].buttons == [[texts.edit_button]]
    row = await plan_row(bot.services)
    assert row is not None and row.editing_section is None and not row.step_by_step


async def test_one_section_is_changed_later(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    texts = pack.safety_plan
    await alex.send("/safetyplan")
    await alex.press(texts.start_button)
    await alex.send("I stop answering my phone")
    await alex.press(texts.done_button)
    # /safetyplan mid-round shows the plan and ends the round (a command: moving on).
    (plan,) = sent(await alex.send("/safetyplan"))
    assert plan.buttons == [[texts.edit_button], [texts.continue_button]]
    row = await plan_row(bot.services)
    assert row is not None and row.editing_section is None
    (choose,) = sent(await alex.press(texts.edit_button))
    assert choose.text == texts.choose_section
    assert [row[0] for row in choose.buttons] == [
        getattr(texts.sections, s).button for s in SECTIONS
    ]
    (question,) = sent(await alex.press(texts.sections.warning_signs.button))
    # One part on its own: no step number, no Skip; what it holds is shown.
    assert question.text is not None and "Step" not in question.text
    assert f"{texts.so_far}\n• I stop answering my phone" in question.text
    assert question.buttons == [[texts.done_button], [texts.clear_button]]
    (reply,) = await alex.send("I sleep all day")
    assert reply.text == saved(pack, 2)
    lead, *shown = sent(await alex.press(texts.done_button))
    assert lead.text == texts.section_saved
    assert "• I stop answering my phone\n• I sleep all day" in (shown[0].text or "")
    assert (await plan_items(bot.services))["warning_signs"] == [
        "I stop answering my phone",
        "I sleep all day",
    ]
    # Editing has ended: typed text is not filed in the plan any more.
    (reply,) = await alex.send("thanks")
    assert reply.text == pack.ui.not_understood
    assert len((await plan_items(bot.services))["warning_signs"]) == 2


async def test_a_section_is_cleared_only_after_a_yes(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    texts = pack.safety_plan
    await alex.send("/safetyplan")
    await alex.press(texts.start_button)
    await alex.send("one\ntwo")
    await alex.press(texts.done_button)
    await alex.send("walk")  # step 2
    (confirm,) = sent(await alex.press(texts.clear_button))
    assert confirm.text == texts.clear_confirm
    (kept,) = sent(await alex.press(texts.clear_no))
    assert kept.text == texts.kept
    assert (await plan_items(bot.services))["coping_alone"] == ["walk"]

    (confirm,) = sent(await alex.press(texts.clear_button))
    (cleared,) = sent(await alex.press(texts.clear_yes))
    assert cleared.text == texts.cleared
    assert cleared.buttons == [[texts.done_button]]
    items = await plan_items(bot.services)
    assert items["coping_alone"] == [] and items["warning_signs"] == ["one", "two"]
    # Still editing the same step: new lines go in it.
    (reply,) = await alex.send("music")
    assert reply.text == saved(pack, 1)
    # The used confirmation cannot clear again (the plan changed since it was asked).
    stale = await stale_answers(bot, pack)
    assert await alex.press_data(confirm.data_for(texts.clear_yes), confirm.message_id) == []
    assert await stale_answers(bot, pack) == stale + 1
    assert (await plan_items(bot.services))["coping_alone"] == ["music"]


async def test_a_line_too_long_and_an_eleventh_line_are_refused_kindly(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    texts = pack.safety_plan
    await alex.send("/safetyplan")
    await alex.press(texts.start_button)
    (reply,) = await alex.send("a" * (MAX_ITEM_CHARS + 1))
    assert reply.text == render(texts.too_long, max=MAX_ITEM_CHARS)
    assert (await plan_items(bot.services))["warning_signs"] == []
    (reply,) = await alex.send("b" * MAX_ITEM_CHARS)
    assert reply.text == saved(pack, 1)
    lines = [f"sign {n}" for n in range(2, MAX_ITEMS + 2)]  # ten more: one too many
    (reply,) = await alex.send("\n".join(lines))
    assert reply.text == render(texts.too_many, room=MAX_ITEMS - 1)
    (reply,) = await alex.send("\n".join(lines[:-1]))
    assert reply.text == saved(pack, MAX_ITEMS)
    (reply,) = await alex.send("one more")
    assert reply.text == render(texts.section_full, max=MAX_ITEMS)
    assert reply.buttons == [[texts.done_button], [texts.clear_button]]
    items = (await plan_items(bot.services))["warning_signs"]
    assert len(items) == MAX_ITEMS and "one more" not in items


async def test_old_and_forged_buttons_change_nothing(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    texts = pack.safety_plan
    await alex.send("/safetyplan")
    (question,) = sent(await alex.press(texts.start_button))
    await alex.send("I stop answering my phone")
    await alex.press(texts.done_button)  # now on step 2
    before = await plan_row(bot.services)
    assert before is not None and before.editing_section == "coping_alone"
    forged = [
        question.data_for(texts.done_button),  # step 1's Done: that step is closed
        "sp:done:zzz",
        "sp:skip:warn",
        "sp:clry:cope:999",
        "sp:clr:cope",  # nothing to clear in step 2
        "sp:start",  # the plan is no longer empty
        "sp:nonsense",
        "sp:" + "x" * 60,
    ]
    stale = await stale_answers(bot, pack)
    for data in forged:
        assert await alex.press_data(data, question.message_id) == [], data
    assert await stale_answers(bot, pack) == stale + len(forged)
    after = await plan_row(bot.services)
    assert after is not None
    assert (after.editing_section, after.revision) == (before.editing_section, before.revision)
    assert items_of(after, "warning_signs") == ["I stop answering my phone"]
    # Someone who is not a client: a calm nothing.
    sam = bot.person(STRANGER, "Sam")
    (welcome,) = await sam.send("/safetyplan")
    assert welcome.text == pack.ui.welcome
    assert await sam.press_data("sp:start", welcome.message_id) == []


async def test_help_and_the_menu_while_editing(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    texts = pack.safety_plan
    await alex.send("/safetyplan")
    await alex.press(texts.start_button)
    # Help mid-edit: the card, nothing filed, and the client can go on after it.
    (card,) = await alex.send("/help")
    assert card.text == pack.crisis_card("US")
    (card,) = await alex.send(pack.ui.help_button)
    assert card.text == pack.crisis_card("US")
    (reply,) = await alex.send("I stop answering my phone")
    assert reply.text == saved(pack, 1)
    # A main-menu button means the client moved on: editing ends, the button works.
    (settings,) = await alex.send(pack.menu.settings)
    assert settings.text is not None and "Your settings" in settings.text
    row = await plan_row(bot.services)
    assert row is not None and row.editing_section is None
    (reply,) = await alex.send("hello")
    assert reply.text == pack.ui.not_understood
    assert (await plan_items(bot.services))["warning_signs"] == ["I stop answering my phone"]


# --- the safety screen while editing ---------------------------------------------------


async def test_a_crisis_worded_line_gets_the_crisis_reply_and_is_saved_too(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    texts = pack.safety_plan
    await alex.send("/safetyplan")
    await alex.press(texts.start_button)
    (reply,) = await alex.send("I stop answering my phone")  # an ordinary line
    assert reply.text == saved(pack, 1)

    line = "when I start thinking I want to die"
    replies = await alex.send(line)
    shown = [r.text or "" for r in replies]
    # The safety screen answered first, with the help lines ...
    assert pack.crisis_card("US") in shown
    # ... and nothing of the plan's own came between the client and them.
    assert not any(text.startswith("Saved") for text in shown)
    # The line is saved: the client does not have to type it again.
    assert (await plan_items(bot.services))["warning_signs"] == [
        "I stop answering my phone",
        line,
    ]
    # The crisis reply shows the plan, the new line included.
    assert any(f"• {line}" in text for text in shown)
    # Editing goes on: the next line is filed and confirmed as usual.
    (reply,) = await alex.send("I skip meals")
    assert reply.text == saved(pack, 3)


def test_lines_are_saved_before_the_safety_screen_and_answered_after_it(
    bot: BotHarness,
) -> None:
    """The contract between the two features is the order of their handler groups."""
    groups = bot.application.handlers

    def groups_of(module: object, name: str) -> set[int]:
        return {
            group
            for group, handlers in groups.items()
            for handler in handlers
            if getattr(handler.callback, "__module__", None) == module.__name__  # type: ignore[attr-defined]
            and handler.callback.__name__ == name
        }

    (save,) = groups_of(safetyplan, "save_typed")
    (answer,) = groups_of(safetyplan, "answer_typed")
    (screen,) = groups_of(crisis, "screen_free_text")
    crisis_groups = {
        group
        for group, handlers in groups.items()
        for handler in handlers
        if getattr(handler.callback, "__module__", None) == crisis.__name__
        and not hasattr(handler, "pattern")  # message handlers, not button presses
    }
    assert save < min(crisis_groups)
    assert screen < answer < 0
    # Nothing else in the answer's group would take a typed line before it.
    assert groups[answer][0].callback is safetyplan.answer_typed


async def test_a_message_handled_twice_after_a_crash_is_saved_once(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    await alex.send("/safetyplan")
    await alex.press(pack.safety_plan.start_button)
    (reply,) = await alex.send("Take a walk")
    assert reply.text == saved(pack, 1)
    row = await plan_row(bot.services)
    assert row is not None and row.last_message_id is not None
    # The inbox re-handles an update whose handling was cut short: the same message again.
    again = Update.de_json(
        {
            "update_id": 990001,
            "message": {
                "message_id": row.last_message_id,
                "date": reply.date,
                "chat": {"id": CLIENT, "type": "private"},
                "from": {"id": CLIENT, "is_bot": False, "first_name": "Alex"},
                "text": "Take a walk",
            },
        },
        bot.application.bot,
    )
    await bot.application.process_update(again)
    assert (await alex.last_message()).text == saved(pack, 1)
    assert (await plan_items(bot.services))["warning_signs"] == ["Take a walk"]


# --- a restart mid-edit ----------------------------------------------------------------


async def test_after_a_restart_the_client_goes_on_with_the_same_step(
    services: Services, sandbox_server: SandboxServer, content: Content
) -> None:
    pack = content.language("en")
    texts = pack.safety_plan
    program = await add_program(services)
    await add_client(services, program, telegram_user_id=CLIENT)
    async with running_bot(services, sandbox_server) as first:
        alex = first.person(CLIENT, "Alex")
        await alex.send("/safetyplan")
        await alex.press(texts.start_button)
        await alex.press(texts.skip_button)  # on to step 2
        (reply,) = await alex.send("Take a walk")
        assert reply.text == saved(pack, 1)
    # A new process on the same database: nothing was kept in memory.
    async with running_bot(services, sandbox_server) as second:
        alex = second.person(CLIENT, "Alex")
        (reply,) = await alex.send("Play a game on my phone")
        assert reply.text == saved(pack, 2)
        # The Done of the first process's message still works: it is checked on the row.
        (step3,) = sent(await alex.press(texts.done_button))
        assert texts.sections.distractions.question in (step3.text or "")
    assert (await plan_items(services))["coping_alone"] == [
        "Take a walk",
        "Play a game on my phone",
    ]


# --- privacy ---------------------------------------------------------------------------


@pytest.fixture
async def keyed_bot(services: Services, sandbox_server: SandboxServer) -> AsyncIterator[BotHarness]:
    """The bot with an ENCRYPTION_KEY set."""
    key = Fernet.generate_key().decode()
    settings = services.settings.model_copy(update={"encryption_key": SecretStr(key)})
    try:
        async with running_bot(
            dataclasses.replace(services, settings=settings), sandbox_server
        ) as harness:
            yield harness
    finally:
        configure_encryption(None)


async def test_the_plan_is_encrypted_at_rest_when_a_key_is_set(
    keyed_bot: BotHarness, pack: LanguagePack
) -> None:
    program = await add_program(keyed_bot.services)
    await add_client(keyed_bot.services, program, telegram_user_id=CLIENT)
    alex = keyed_bot.person(CLIENT, "Alex")
    await alex.send("/safetyplan")
    await alex.press(pack.safety_plan.start_button)
    (reply,) = await alex.send("Call my sister Ana")
    assert reply.text == saved(pack, 1)
    async with keyed_bot.services.engine.connect() as connection:
        raw = (await connection.execute(text("SELECT warning_signs FROM safetyplan"))).scalar_one()
    assert raw.startswith("fernet:") and "Ana" not in raw
    assert await anywhere(keyed_bot.services, "sister Ana") == []
    assert (await plan_items(keyed_bot.services))["warning_signs"] == ["Call my sister Ana"]
    # And the client reads it as they wrote it.
    shown = sent(await alex.send("/safetyplan"))
    assert "• Call my sister Ana" in (shown[0].text or "")


async def test_mydata_holds_the_plan(bot: BotHarness, alex: Person, pack: LanguagePack) -> None:
    await alex.send("/safetyplan")
    await alex.press(pack.safety_plan.start_button)
    await alex.send("I stop answering my phone\nI can't sleep")
    await alex.press(pack.safety_plan.done_button)
    await alex.send("Take a walk")
    (document,) = await alex.send("/mydata")
    assert document.document is not None
    data = json.loads(await bot.sandbox.download(document.document["file_id"]))
    plan = data["safety_plan"]
    assert plan["warning_signs"] == ["I stop answering my phone", "I can't sleep"]
    assert plan["coping_alone"] == ["Take a walk"]
    assert plan["safer_space"] == [] and plan["updated_at"]


async def test_delete_erases_the_plan(bot: BotHarness, alex: Person, pack: LanguagePack) -> None:
    line = "Ask Sam to keep my pills at his place"
    await alex.send("/safetyplan")
    await alex.press(pack.safety_plan.start_button)
    (reply,) = await alex.send(line)
    assert reply.text == saved(pack, 1)
    assert await anywhere(bot.services, "keep my pills") == ["safetyplan.warning_signs"]
    await alex.send("/delete")
    (gone,) = await alex.press(pack.account.delete_yes)
    assert gone.text == pack.account.deleted
    assert await plan_row(bot.services) is None
    assert await anywhere(bot.services, "keep my pills") == []
    # The buttons of the plan are dead, and the client is unknown now.
    (welcome,) = await alex.send("/safetyplan")
    assert welcome.text == pack.ui.welcome
