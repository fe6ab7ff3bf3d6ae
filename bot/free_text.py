"""What to say to typed text that no feature answers (pure: no Telegram, no database).

The safety screen has already passed the message, so it asks for no crisis reply. It
still gets a kind one: a question about whether Waypoint is a person is answered
truthfully every time, and a message that names a feeling is answered by naming it
back. The words to look for are content (ui.yaml), so each language brings its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.content.markup import render, word_pattern
from bot.content.schema import UiTexts


def _normal(text: str) -> str:
    # Curly apostrophes ("can’t") match the straight ones the word lists use.
    return text.replace("’", "'").replace("‘", "'")


def asks_if_human(text: str, questions: Sequence[str]) -> bool:
    """Whether `text` asks if Waypoint is a person, a bot or AI."""
    pattern = word_pattern(questions)
    return bool(pattern and pattern.search(_normal(text)))


def feeling_in(text: str, feeling_words: Mapping[str, Sequence[str]]) -> str | None:
    """The first feeling (in the content's order) that `text` names, or None."""
    normal = _normal(text)
    for feeling, words in feeling_words.items():
        pattern = word_pattern(words)
        if pattern and pattern.search(normal):
            return feeling
    return None


def reply_to(text: str, ui: UiTexts) -> str:
    """The reply to unhandled typed text: the truthful "I'm a program" answer, the kind
    reply naming a feeling, or the kind reply with no feeling named. Never a refusal."""
    if asks_if_human(text, ui.real_person_questions):
        return ui.real_person
    feeling = feeling_in(text, ui.feeling_words)
    if feeling is None:
        return ui.not_understood
    return render(ui.feeling_reply, feeling=ui.feelings[feeling])


def _alternatives(words: Sequence[str]) -> str:
    ordered = sorted({_normal(w).strip() for w in words if w.strip()}, key=len, reverse=True)
    return "|".join(r"\s+".join(map(re.escape, w.split())) for w in ordered)


def drunk_or_high_now(
    text: str, states: Sequence[str], before: Sequence[str], after: Sequence[str]
) -> bool:
    """Whether `text` says the writer is drunk or high right now ("I'm so drunk", "high
    rn"), not that they were ("I was drunk last night"). Read only after the screen
    flagged the message as use: this decides the "are you alone?" reply, not the alert."""
    state = _alternatives(states)
    if not state:
        return False
    patterns = []
    if before:
        # One word may come between: "I'm so drunk", "I am really high".
        patterns.append(rf"\b(?:{_alternatives(before)})\s+(?:\w+\s+)?(?:{state})\b")
    if after:
        patterns.append(rf"\b(?:{state})\s+(?:{_alternatives(after)})\b")
    found = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None
    return bool(found and found.search(_normal(text)))


def names_any(text: str, words: Sequence[str]) -> bool:
    """Whether `text` names any of `words` (whole words or phrases)."""
    pattern = word_pattern(words)
    return bool(pattern and pattern.search(_normal(text)))
