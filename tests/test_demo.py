"""The demo, fed a script on standard input, shows the conversation."""

from __future__ import annotations

import html
import re
from pathlib import Path

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


# A line in the log format (bot/runner.py): "2026-12-04 22:50:25,451 WARNING bot.delivery: …"
_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: ", re.MULTILINE)


def _said_to(out: str, who: str) -> list[str]:
    """Each message the demo showed as sent to `who` (its lines, prefix removed)."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in out.splitlines():
        if line.startswith(f"{who} › "):
            current = [line.removeprefix(f"{who} › ")]
            blocks.append("")
        elif current is not None and line.startswith(" "):
            current.append(line.strip())
        else:
            current = None
        if current is not None:
            blocks[-1] = "\n".join(current)
    return blocks


def test_a_crisis_in_the_demo_shows_the_group_and_clinician_alerts_and_no_log_lines(
    content: Content,
) -> None:
    staff = content.language("en").alerts.staff
    urgent = staff.tiers["urgent"]
    script = ["/as client", "/checkin", "i want to kill myself tonight", "/quit"]
    result = run_cli("demo", stdin="\n".join(script) + "\n", timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The group gets the pseudonym, tier and category only, never the client's words.
    group = [
        b for b in _said_to(out, "bot to the care-team group") if "alert for client K7Q-2" in b
    ]
    assert len(group) == 1, out
    assert f"{urgent} alert for client K7Q-2" in group[0]
    assert "kill" not in group[0]
    assert f"[{staff.open_button}]" in group[0]
    # The primary clinician gets the detail, with the buttons to act on it.
    # (In the program's digest hour the digest and its chart, which name K7Q-2, come too.)
    detail = [
        b for b in _said_to(out, "bot to Dr. Rivera") if f"{urgent} alert for client K7Q-2" in b
    ]
    assert len(detail) == 1, out
    assert f"{urgent} alert for client K7Q-2" in detail[0]
    assert f"[{staff.acknowledge_button}]" in detail[0]
    # Log lines are in a file named once, not in the conversation.
    assert not _LOG_LINE.search(out) and not _LOG_LINE.search(result.stderr), result.stderr
    assert result.stderr == ""
    named = re.findall(r"Log lines go to (\S+), not here\.", out)
    assert len(named) == 1, out
    log = Path(named[0])
    try:
        logged = log.read_text(encoding="utf-8")
        assert re.search(r"delivery\.sent id=\d+ kind=alert chat=-1000000000042", logged)
        assert "kill myself" not in logged  # never a client's words
    finally:
        log.unlink(missing_ok=True)


def test_the_demo_has_an_admin_seat() -> None:
    script = ["/as admin", "/clients", "/quit"]
    result = run_cli("demo", stdin="\n".join(script) + "\n", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "(you are now Ana, the demo program's admin)" in result.stdout
    assert "K7Q-2" in result.stdout.split("Ana › /clients", 1)[1]
