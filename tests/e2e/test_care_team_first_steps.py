"""What a clinician and an admin meet first: their own /help, their own wording for typed
text, a grammatical welcome, and a clear answer to a mistyped client code."""

from __future__ import annotations

from bot.content import Content, render
from tests.e2e.conftest import ADMIN, CLIENT, CLINICIAN
from tests.e2e.enrollment_steps import admin, token_in
from tests.harness import BotHarness


def _keyboard(message: object) -> list[str]:
    return [label for row in getattr(message, "reply_keyboard", []) for label in row]


async def test_a_clinicians_help_lists_their_commands_and_where_the_crisis_card_is(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _code = team
    pack = content.language("en")
    (reply,) = await bot.person(CLINICIAN, "Dr. Rivera").send("/help")
    assert reply.text == pack.staff.help
    assert "/client CODE" in reply.text and "/invite" in reply.text
    assert pack.ui.help_button in reply.text  # the line on where the crisis card is
    assert _keyboard(reply) == [pack.ui.help_button]
    # The button still brings the crisis card, to a clinician too.
    (card,) = await bot.person(CLINICIAN, "Dr. Rivera").send(pack.ui.help_button)
    assert card.text == pack.crisis_card("US")


async def test_an_admins_help_adds_the_admin_commands(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _code = team
    pack = content.language("en")
    (reply,) = await bot.person(ADMIN, "Ana").send("/help")
    assert reply.text == pack.staff.help + "\n\n" + pack.staff.help_admin


async def test_a_clients_help_is_still_the_crisis_card(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _code = team
    (card,) = await bot.person(CLIENT, "Alex").send("/help")
    assert card.text == content.language("en").crisis_card("US")


async def test_a_clinicians_typed_text_gets_care_team_wording(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _code = team
    staff = content.language("en").staff
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    (reply,) = await rivera.send("how do I see my clients?")
    assert reply.text == staff.not_understood
    (reply,) = await rivera.send_sticker()
    assert reply.text == staff.unsupported_message


async def test_an_admin_is_registered_as_an_admin(bot: BotHarness) -> None:
    # The real `python -m bot admin` processes, as an admin runs them (elsewhere the
    # helper runs the same entry point in this process), getMe and all.
    status, _out, err = await admin(
        bot,
        "program",
        "add",
        "--name",
        "Riverside IOP",
        "--timezone",
        "America/Chicago",
        "--region",
        "US",
        real_process=True,
    )
    assert status == 0, err
    status, out, err = await admin(
        bot,
        "clinician",
        "invite",
        "--program",
        "Riverside IOP",
        "--role",
        "admin",
        real_process=True,
    )
    assert status == 0, err
    (registered,) = await bot.person(ADMIN, "Ana").send(f"/start {token_in(out)}")
    assert "You're registered as an admin of Riverside IOP." in (registered.text or "")


async def test_a_mistyped_client_code_is_named_as_not_a_code(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    staff = content.language("en").staff
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    typed = "K7Q-2'; DROP TABLE"
    (reply,) = await rivera.send(f"/client {typed}")
    assert reply.text == render(staff.code_not_recognised, code=typed, command="client")
    assert "&#x27;" in (reply.text or "") or "'" not in typed  # escaped as HTML
    (reply,) = await rivera.send(f"/pause <b>{code}")
    assert reply.text == render(staff.code_not_recognised, code=f"<b>{code}", command="pause")
    # No code at all still asks for one; a real code still works.
    (reply,) = await rivera.send("/client")
    assert reply.text == render(staff.usage_code, command="client")
    (reply, *_more) = await rivera.send(f"/client {code}")
    assert code in (reply.text or "") and "not a client code" not in (reply.text or "")
