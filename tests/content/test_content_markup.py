"""The Telegram HTML and placeholder checks on their own."""

import pytest

from bot.content import Content
from bot.content.markup import check_placeholders, check_plain, check_telegram_html, placeholders


@pytest.mark.parametrize(
    "text",
    [
        "plain words",
        "<b>bold <i>and italic</i></b> and <u>under</u>",
        '<a href="https://988lifeline.org">chat</a>',
        "x &lt; y &amp;&amp; y &gt; z &quot;q&quot; &#128578; &#x1F642;",
        "<B>upper case tags</B>",
    ],
)
def test_accepts_telegram_html(text: str) -> None:
    assert check_telegram_html(text) == text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<b>open", "<b> is never closed"),
        ("<b><i>x</b></i>", "</b> comes before </i>"),
        ("x</b>", "never opened"),
        ("a<br>b", "<br> is not allowed"),
        ("<span>x</span>", "<span> is not allowed"),
        ("<code>x</code>", "<code> is not allowed"),
        ('<b class="x">y</b>', "cannot have attributes"),
        ("<a>x</a>", "a link must be written"),
        ('<a href="">x</a>', "a link must be written"),
        ("1 < 2", "a bare <"),
        ("2 > 1", "a bare >"),
        ("salt & pepper", "a bare &"),
        ("&nbsp;", "a bare &"),
    ],
)
def test_refuses_what_telegram_would(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_telegram_html(text)


def test_placeholders() -> None:
    assert placeholders("Hi {name}, call {lifeline.call}") == ["name", "lifeline.call"]
    assert check_placeholders("Hi {name}", ("name",)) == "Hi {name}"
    with pytest.raises(ValueError, match=r"placeholder \{nmae\} is not known"):
        check_placeholders("Hi {nmae}", ("name",))
    for bad in ("Hi {", "Hi }", "{{literal}}", "Hi {}", "Hi {0}"):
        with pytest.raises(ValueError):
            placeholders(bad)


def test_plain_text_for_buttons() -> None:
    assert check_plain("🆘 Help now & more") == "🆘 Help now & more"
    for bad in ("<b>Help</b>", "Tips &amp; tricks"):
        with pytest.raises(ValueError, match="plain text"):
            check_plain(bad)


def test_welcome_says_what_waypoint_is_and_is_not(shipped: Content) -> None:
    ui = shipped.language("en").ui
    welcome = ui.welcome.lower()
    for fact in ("companion", "care program", "check-ins", "lessons", "breathing", "reminders"):
        assert fact in welcome
    assert "invite link from your care team" in welcome
    assert "automated" in welcome and "no one watches it around the clock" in welcome
    assert ui.help_button in ui.welcome and "local emergency number" in welcome
    for text in (ui.unsupported_message, ui.not_understood, ui.error, ui.welcome_back):
        assert ui.help_button in text
    assert "text and button taps" in ui.unsupported_message
    # Nothing can promise that no message was lost; say what is known.
    assert "lost" not in ui.error.lower() and "may not have been saved" in ui.error
