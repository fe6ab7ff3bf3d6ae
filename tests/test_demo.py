"""The demo, fed a script on standard input, shows the conversation."""

from __future__ import annotations

import html
import re

from bot.content import Content
from tests.cli import run_cli


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def test_the_demo_script_shows_the_welcome_and_the_help_card(content: Content) -> None:
    script = "\n".join(["/as guest", "/start", "1", "/as client", "/start", "/help", "/quit"])
    result = run_cli("demo", stdin=script + "\n", timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    pack = content.language("en")
    assert "Sam › /start" in out
    assert _plain(pack.ui.welcome).splitlines()[0] in out
    # "1" pressed the guest's only button, 🆘 Help now, and the card came.
    assert "[1] 🆘 Help now" in out
    card_lines = [line for line in _plain(pack.crisis_card("US")).splitlines() if line.strip()]
    assert out.count(card_lines[0]) == 2
    assert _plain(pack.ui.welcome_back).splitlines()[0] in out
    assert "Traceback" not in result.stderr


def test_the_demo_walks_through_an_invitation(content: Content) -> None:
    pack = content.language("en")
    script = ["/as clinician", "/invite", "/as guest", "/open", "1", "1", "1", "4", "1", "2"]
    result = run_cli("demo", stdin="\n".join(script) + "\n", timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "New client" in out and "(opening the link: /start " in out
    assert _plain(pack.join.consent_question).splitlines()[0] in out
    assert "You're all set" in out and "8:00 pm (New York time)" in out


def test_start_without_a_token_runs_the_demo() -> None:
    result = run_cli(stdin="/as guest\n/help\n", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Waypoint demo" in result.stdout
    assert "988" in result.stdout
