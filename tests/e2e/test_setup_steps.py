"""Set-up as a client meets it: the medicine reminder's time, and typed places."""

from __future__ import annotations

from bot.content import Content
from tests.e2e.enrollment_steps import client_row, consent, invite, program_with_clinician
from tests.harness import BotHarness

CLINICIAN, CLIENT = 9401, 7401


async def test_yes_to_the_medicine_reminder_asks_its_time_and_keeps_it(
    bot: BotHarness, content: Content
) -> None:
    pack = content.language("en")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    code, token = await invite(rivera)
    alex = bot.person(CLIENT, "Alex")
    await consent(alex, token)
    await alex.press("English")
    await alex.press("New York")
    await alex.press("8:00 pm")
    await alex.press("No")
    (_, when) = await alex.press("Yes")
    assert when.text == pack.setup.ask_medication_time
    assert ["9:00 am"] in when.buttons and [pack.setup.other_button] in when.buttons
    (_, typing) = await alex.press(pack.setup.other_button)
    assert typing.text == pack.setup.type_checkin_time
    (retry,) = await alex.send("soon")
    assert retry.text == pack.setup.time_not_understood
    assert ["9:00 am"] in retry.buttons  # the times again, one tap away
    (done,) = await alex.send("7:30 am")
    assert "You're all set" in (done.text or "")
    row = await client_row(bot.services, code)
    assert row.medication_reminders and row.medication_times == ["07:30"]

    # From /settings: "Yes" asks the time again, and a tap keeps it.
    await alex.send("/settings")
    await alex.press(pack.account.medicine_button)
    (_, when) = await alex.press("Yes")
    assert when.text == pack.setup.ask_medication_time
    (_, saved) = await alex.press("9:00 am")
    assert saved.text == pack.setup.saved
    assert (await client_row(bot.services, code)).medication_times == ["09:00"]


async def test_a_place_not_found_offers_the_zone_list_again_and_us_zone_words_work(
    bot: BotHarness, content: Content
) -> None:
    pack = content.language("en")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    code, token = await invite(rivera)
    alex = bot.person(CLIENT, "Alex")
    await consent(alex, token)
    await alex.press("English")
    await alex.press(pack.setup.other_button)
    (retry,) = await alex.send("the moon")
    assert retry.text == pack.setup.timezone_not_found
    assert ["Denver"] in retry.buttons and [pack.setup.other_button] in retry.buttons
    (_, when) = await alex.press("Denver", retry)
    assert when.text == pack.setup.ask_checkin_time
    assert (await client_row(bot.services, code)).timezone == "America/Denver"
    await alex.press("8:00 pm")
    await alex.press("No")
    await alex.press("No")

    for typed, zone in (
        ("pacific time", "America/Los_Angeles"),
        ("Milwaukee, WI", "America/Chicago"),
    ):
        await alex.send("/settings")
        await alex.press(pack.account.timezone_button)
        await alex.press(pack.setup.other_button)
        (saved,) = await alex.send(typed)
        assert saved.text == pack.setup.saved
        assert (await client_row(bot.services, code)).timezone == zone
