"""The crisis reply gives the help that fits what was said, and says truthfully when the
care team will see it (issues 17 and 18): the rest of the region's help is one tap from
every card, and abuse or an overdose gets its own lines with the card."""

from __future__ import annotations

import re

from bot.content import Content
from tests.e2e.conftest import CLIENT, STRANGER
from tests.e2e.promises import told_now
from tests.harness import BotHarness

DV_LINE = "1-800-799-7233"
POISON_HELP = "1-800-222-1222"


def _texts(replies: list) -> str:  # type: ignore[type-arg]
    return "\n".join(r.text or "" for r in replies)


async def test_the_reply_says_when_the_team_will_see_it_and_promises_no_call(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, _ = team
    pack = content.language("en")
    replies = await bot.person(CLIENT, "Alex").send("i am going to kill myself tonight")
    told = told_now(pack)
    assert told in [r.text for r in replies]
    # The machine-like "Mon-Fri 9am-5pm" is gone, and no placeholder or call is promised.
    assert "9am-5pm" not in told and "{" not in told
    assert not re.search(r"\b(will|going to) call you\b", _texts(replies), re.I)


async def test_more_help_is_one_tap_from_the_card(bot: BotHarness, content: Content) -> None:
    pack = content.language("en")
    sam = bot.person(STRANGER, "Sam")
    (card,) = await sam.send("/help")
    assert card.buttons == [[pack.ui.more_help_button], [pack.ui.other_regions_button]]
    assert DV_LINE not in (card.text or "")
    (more,) = await sam.press(pack.ui.more_help_button)
    assert DV_LINE in more.text and POISON_HELP in more.text
    assert "naloxone" in more.text.lower()


async def test_abuse_gets_the_domestic_violence_line_with_the_card(
    team: tuple[BotHarness, str],
) -> None:
    bot, _ = team
    replies = await bot.person(CLIENT, "Alex").send(
        "my boyfriend is hitting me right now and im scared"
    )
    assert DV_LINE in _texts(replies)


async def test_an_overdose_gets_naloxone_and_poison_help_with_the_card(
    team: tuple[BotHarness, str],
) -> None:
    bot, _ = team
    replies = await bot.person(CLIENT, "Alex").send(
        "my friend took a bunch of pills and i cant wake him up"
    )
    text = _texts(replies)
    assert POISON_HELP in text and "naloxone" in text.lower() and "911" in text


async def test_suicidal_words_get_the_crisis_line_not_the_abuse_list(
    team: tuple[BotHarness, str],
) -> None:
    bot, _ = team
    replies = await bot.person(CLIENT, "Alex").send("i am going to kill myself tonight")
    text = _texts(replies)
    assert "988" in text and DV_LINE not in text
