"""The "Why:" lines of a clinician's alert, from the screen's result (pure: no Telegram)."""

from __future__ import annotations

import pytest

from bot.alert_why import why_text
from bot.content import Content
from bot.safety import Evidence, ScreenResult
from bot.safety.model import ModelScore
from bot.safety.nearest import load_nearest

RULE = Evidence("si.test", "suicidal_ideation", "urgent", "end it tonight", 10, 24)


def test_a_rule_says_its_id_and_its_words(content: Content) -> None:
    weaker = Evidence("use.test", "relapse_or_use", "same_day", "used", 0, 4)
    result = ScreenResult("urgent", "suicidal_ideation", "si.test", (weaker, RULE), "rules")
    assert why_text(content, result, "used and end it tonight") == (
        'Why: rule <i>si.test</i> matched "end it tonight"'
    )


def test_a_rule_says_its_words_escaped(content: Content) -> None:
    ev = Evidence("si.test", "suicidal_ideation", "urgent", "<b>die</b>", 0, 10)
    result = ScreenResult("urgent", "suicidal_ideation", "si.test", (ev,), "rules")
    assert "&lt;b&gt;die&lt;/b&gt;" in why_text(content, result, "<b>die</b>")


def test_context_says_the_earlier_messages_were_read_too(content: Content) -> None:
    # The rule matched only in the earlier messages: no words of this one to show.
    result = ScreenResult("urgent", "suicidal_ideation", "si.test", (), "context", context=(0, 1))
    assert why_text(content, result, "ok").splitlines() == [
        "Why: rule <i>si.test</i> matched the earlier messages",
        "Read together with the client's 2 earlier message(s) of the last 30 minutes.",
    ]


def test_the_model_says_its_scores_and_the_nearest_categories(content: Content) -> None:
    load_nearest()  # built at start-up, beside the bot (bot/runner.py)
    score = ModelScore("same_day", "relapse_or_use", 0.12, 0.61, False)
    result = ScreenResult("same_day", "relapse_or_use", "model", (), "model", score)
    first, second = why_text(content, result, "i used again last night").splitlines()
    assert first == "Why: the trained model, score 0.12 for urgent (0.61 for any concern)."
    assert second.startswith("Nearest examples in its training set: ")
    assert "use or relapse" in second


def test_an_index_still_being_built_is_not_waited_for(
    content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.safety.nearest as nearest

    monkeypatch.setattr(nearest, "_built", {})  # as just after start-up
    score = ModelScore("urgent", "self_harm", 0.9, 0.95, True)
    result = ScreenResult("urgent", "self_harm", "model", (), "model", score)
    assert (
        why_text(content, result, "x")
        .splitlines()[1]
        .endswith("not ready yet (Waypoint has just started)")
    )


def test_nothing_flagged_says_nothing(content: Content) -> None:
    assert why_text(content, ScreenResult("none", "none", None), "hi") == ""


def test_a_failure_never_stops_the_alert(content: Content, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.alert_why as module

    def broken(*_: object) -> object:
        raise ValueError("index broken")

    monkeypatch.setattr(module, "nearest_if_built", broken)
    score = ModelScore("urgent", "self_harm", 0.9, 0.95, True)
    result = ScreenResult("urgent", "self_harm", "model", (), "model", score)
    assert why_text(content, result, "x") == ""
    monkeypatch.setattr(module, "_why", broken)
    rule = ScreenResult("urgent", "suicidal_ideation", "si.test", (RULE,), "rules")
    assert why_text(content, rule, "x") == ""
