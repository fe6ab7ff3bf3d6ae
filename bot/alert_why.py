"""Which layer of the safety screen fired, said for the clinician who reads the alert.

A rule: its id and the words it matched. The trained model: its scores and the categories
of the corpus examples nearest to the message (labels and counts only, never a corpus
text). Read with earlier messages: said too. Shown only in a clinician's private chat
(the words are the client's); the group post never carries it. No Telegram here.
"""

from __future__ import annotations

import logging

from bot.content import Content, render
from bot.safety import RulesError, ScreenResult
from bot.safety.nearest import nearest_if_built

log = logging.getLogger(__name__)

SPAN_MAX = 120


def why_text(content: Content, result: ScreenResult, text: str) -> str:
    """One or two lines: what fired and on what (empty when nothing was flagged).

    Never raises: the alert must go out even when this line cannot be made."""
    if not result.flagged:
        return ""
    try:
        return _why(content, result, text)
    except Exception:
        log.exception("the alert's why line could not be made; the alert goes without it")
        return ""


def _why(content: Content, result: ScreenResult, text: str) -> str:
    staff = content.language(None).alerts.staff
    lines: list[str] = []
    if result.rule == "model" and result.model is not None:
        lines.append(
            render(
                staff.why_model,
                urgent=f"{result.model.p_urgent:.2f}",
                flag=f"{result.model.p_flag:.2f}",
                nearest=_nearest(content, text),
            )
        )
    else:
        span = next(
            (
                e.text
                for e in result.evidence
                if e.rule == result.rule and e.urgency == result.urgency
            ),
            None,
        )
        if span is not None:
            lines.append(render(staff.why_rule, rule=result.rule or "?", span=span[:SPAN_MAX]))
        else:  # the rule matched in the earlier messages read with this one
            lines.append(render(staff.why_rule_earlier, rule=result.rule or "?"))
    if result.layer == "context":
        lines.append(render(staff.why_context, count=len(result.context)))
    return "\n".join(lines)


def _nearest(content: Content, text: str) -> str:
    staff = content.language(None).alerts.staff
    index = nearest_if_built()  # still being built: say so rather than hold up the reply
    if index is None:
        return staff.why_nearest_loading
    try:
        counts = index.categories(text)
    except (RulesError, ImportError, MemoryError) as exc:  # the alert goes out all the same
        log.error("nearest corpus examples unavailable: %s", exc)
        return staff.why_nearest_none
    if not counts:
        return staff.why_nearest_none
    return ", ".join(
        f"{staff.why_ordinary if cat == 'none' else staff.categories.get(cat, cat)} {n}"
        for cat, n in counts
    )
