"""/start and 🆘 Help now, driven through the sandbox as people would use them."""

from __future__ import annotations

import pytest

from bot import safety
from bot.content import Content
from bot.models import ClientStatus
from tests.factories import add_client, add_clinician, add_program, row_counts
from tests.harness import BotHarness

STRANGER = 5550001


async def test_start_without_invitation_gets_the_welcome_and_a_help_button(
    bot: BotHarness, content: Content
) -> None:
    sam = bot.person(STRANGER, "Sam")
    replies = await sam.send("/start")
    assert len(replies) == 1
    welcome = replies[0]
    assert welcome.text == content.language("en").ui.welcome
    assert welcome.parse_mode == "HTML"
    assert welcome.reply_keyboard == [["🆘 Help now"]]


async def test_help_shows_the_us_crisis_card_to_anyone(bot: BotHarness, content: Content) -> None:
    sam = bot.person(STRANGER, "Sam")
    (card,) = await sam.send("/help")
    assert card.text == content.language("en").crisis_card("US")
    for number in ("911", "988", "AYUDA"):
        assert number in card.text
    ui = content.language("en").ui
    assert card.buttons == [[ui.more_help_button], [ui.other_regions_button]]


async def test_the_help_now_button_shows_the_card_too(bot: BotHarness, content: Content) -> None:
    sam = bot.person(STRANGER, "Sam")
    await sam.send("/start")
    (card,) = await sam.press("🆘 Help now")
    assert card.text == content.language("en").crisis_card("US")


async def test_another_country_can_be_chosen_from_the_card(
    bot: BotHarness, content: Content
) -> None:
    pack = content.language("en")
    sam = bot.person(STRANGER, "Sam")
    await sam.send("/help")
    (choices,) = await sam.press(pack.ui.other_regions_button)
    assert choices.text == pack.ui.choose_region
    assert [label for row in choices.buttons for label in row] == [
        pack.region_name(region) for region in content.regions
    ]
    (card,) = await sam.press(pack.region_name("AU"))
    assert card.text == pack.crisis_card("AU")
    assert "000" in card.text


async def test_a_forged_region_press_still_shows_help_for_the_own_region(
    bot: BotHarness, content: Content
) -> None:
    sam = bot.person(STRANGER, "Sam")
    (card,) = await sam.send("/help")
    (again,) = await sam.press_data("help:XX", card.message_id)
    assert again.text == content.language("en").crisis_card("US")


async def test_an_enrolled_client_sees_the_card_of_their_programs_region(
    bot: BotHarness, content: Content
) -> None:
    program = await add_program(
        bot.services, name="Thames IOP", region="UK", timezone="Europe/London"
    )
    await add_client(bot.services, program, telegram_user_id=7001)
    (card,) = await bot.person(7001, "Jo").send("/help")
    assert card.text == content.language("en").crisis_card("UK")
    assert "116 123" in card.text


async def test_an_enrolled_client_is_welcomed_back(bot: BotHarness, content: Content) -> None:
    program = await add_program(bot.services)
    await add_client(bot.services, program, telegram_user_id=7002)
    (reply,) = await bot.person(7002, "Alex").send("/start")
    assert reply.text == content.language("en").ui.welcome_back
    assert "🆘 Help now" in [label for row in reply.reply_keyboard for label in row]


async def test_a_clinician_is_greeted_as_staff(bot: BotHarness, content: Content) -> None:
    program = await add_program(bot.services)
    await add_clinician(bot.services, program, telegram_user_id=9001)
    (reply,) = await bot.person(9001, "Dr. Rivera").send("/start")
    assert reply.text == content.language("en").staff.clinician_welcome


async def test_a_discharged_client_is_treated_as_unknown(bot: BotHarness, content: Content) -> None:
    program = await add_program(bot.services)
    await add_client(bot.services, program, telegram_user_id=7003, status=ClientStatus.discharged)
    (reply,) = await bot.person(7003, "Alex").send("/start")
    assert reply.text == content.language("en").ui.welcome


@pytest.mark.parametrize("kind", ["text", "sticker", "photo", "voice"])
async def test_anything_from_an_unknown_person_gets_the_welcome_and_stores_nothing(
    bot: BotHarness, content: Content, kind: str
) -> None:
    async with bot.services.sessions() as session:
        before = await row_counts(session)
    sam = bot.person(STRANGER, "Sam")
    if kind == "text":
        replies = await sam.send("hello, my counselor told me to message you")
    else:
        replies = await getattr(sam, f"send_{kind}")()
    assert [r.text for r in replies] == [content.language("en").ui.welcome]
    async with bot.services.sessions() as session:
        assert await row_counts(session) == before


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice"])
async def test_an_enrolled_client_sending_media_is_told_what_works(
    bot: BotHarness, content: Content, kind: str
) -> None:
    program = await add_program(bot.services)
    await add_client(bot.services, program, telegram_user_id=7004)
    (reply,) = await getattr(bot.person(7004, "Alex"), f"send_{kind}")()
    assert reply.text == content.language("en").ui.unsupported_message
    assert "🆘 Help now" in [label for row in reply.reply_keyboard for label in row]


async def test_ordinary_text_from_a_client_never_implies_a_person_reads_it(
    bot: BotHarness, content: Content
) -> None:
    program = await add_program(bot.services)
    await add_client(bot.services, program, telegram_user_id=7005)
    (reply,) = await bot.person(7005, "Alex").send("had a long day at work")
    assert reply.text == content.language("en").ui.not_understood


async def test_an_unflagged_feeling_gets_a_kind_reply_not_a_refusal(
    bot: BotHarness, content: Content
) -> None:
    program = await add_program(bot.services)
    await add_client(bot.services, program, telegram_user_id=7006)
    alex = bot.person(7006, "Alex")
    text = "i feel lonely since my sister moved away"
    # A feeling the screen does not flag ("I feel so alone tonight" is flagged same-day by
    # the trained layer: that one gets the alert path, not this reply).
    assert safety.screen(text, "en").urgency == "none"
    (reply,) = await alex.send(text)
    assert reply.text is not None
    assert reply.text.startswith("That sounds really lonely. I'm a program")
    assert "sorry" not in reply.text.lower() and "can't answer" not in reply.text
    for offer in ("🌬 Breathe", "/safetyplan", "🆘 Help now"):
        assert offer in reply.text
    assert "🆘 Help now" in [label for row in reply.reply_keyboard for label in row]
    # No feeling named: still thanked and offered the same help, never refused.
    (neutral,) = await alex.send("had a long day at work")
    assert neutral.text is not None and neutral.text.startswith("Thanks for writing to me.")
    assert "🆘 Help now" in neutral.text and "sorry" not in neutral.text.lower()


@pytest.mark.parametrize(
    "question", ["Are you a real person?", "is this a bot", "am I talking to AI", "r u human"]
)
async def test_are_you_a_person_is_answered_truthfully_every_time(
    bot: BotHarness, content: Content, question: str
) -> None:
    ui = content.language("en").ui
    program = await add_program(bot.services)
    await add_client(bot.services, program, telegram_user_id=7007)
    alex = bot.person(7007, "Alex")
    sam = bot.person(STRANGER, "Sam")
    for person in (alex, sam, alex):
        (reply,) = await person.send(question)
        assert reply.text == ui.real_person
        assert reply.text.startswith("No, I'm not a person. Waypoint is a computer program.")


@pytest.mark.parametrize(
    "text",
    ["i want to end my life", "how many pills would it take to not wake up", "kms tonight"],
)
async def test_crisis_words_from_anyone_get_the_crisis_card_first(
    bot: BotHarness, content: Content, text: str
) -> None:
    replies = await bot.person(STRANGER, "Sam").send(text)
    assert [r.text for r in replies] == [content.language("en").crisis_card("US")]


async def test_the_command_menu_is_published_at_start(bot: BotHarness) -> None:
    calls = await bot.sandbox.requests("setMyCommands")
    assert calls and all(call["ok"] for call in calls)
    names = {c["command"] for c in calls[0]["params"]["commands"]}
    assert {"start", "help", "safetyplan"} <= names
