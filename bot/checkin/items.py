"""The check-in's questions, their answers and their order (pure: no Telegram, no database).

A step is one message with buttons. The order is fixed (the same wording and order every
day, SPEC §3.1); some steps are asked only when they apply (what was used and "are you
safe" after a yes to use; the medicine question for clients whose clinician turned it
on; the suicide-risk questions weekly or after low mood). The answer texts live in
content; here are only the keys, so a forged or outdated button is simply not a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Shape(StrEnum):
    scale = "scale"  # 0-10, two rows of buttons; a typed number works too
    choice = "choice"  # one tap
    multi = "multi"  # tap several, then Done
    text = "text"  # typed, or Skip


@dataclass(frozen=True)
class Step:
    key: str
    shape: Shape
    options: tuple[str, ...] = ()


SCALE = tuple(str(n) for n in range(11))
TRIGGERS = ("people", "places", "things", "stress", "feelings", "boredom", "halt")
SUBSTANCES = ("alcohol", "opioids", "stimulants", "cannabis", "sedatives", "other")
# Use of these carries overdose risk: higher priority, and the overdose-safety card.
OVERDOSE_RISK = frozenset({"opioids", "sedatives"})
NONE = "none"  # the triggers' "none of these"
DONE = "done"  # ends a multi-select
SKIP = "skip"  # the note's Skip

STEPS: dict[str, Step] = {
    s.key: s
    for s in (
        Step("craving", Shape.scale, SCALE),
        Step("mood", Shape.scale, SCALE),
        Step("sleep_hours", Shape.choice, ("under_4", "from_4_to_6", "from_6_to_8", "over_8")),
        Step("sleep_quality", Shape.choice, ("poor", "ok", "good")),
        Step("triggers", Shape.multi, TRIGGERS),
        Step("use", Shape.choice, ("no", "yes", "skip")),
        Step("substances", Shape.multi, SUBSTANCES),
        Step("safe_now", Shape.choice, ("yes", "no")),
        Step("medicine", Shape.choice, ("taken", "missed", "not_due")),
        Step("confidence", Shape.scale, SCALE),
        Step("support", Shape.choice, ("yes", "no")),
        # Adapted from the NIMH ASQ: yes / no / rather not say (a refusal counts as yes).
        Step("asq_wished", Shape.choice, ("yes", "no", "skip")),
        Step("asq_better", Shape.choice, ("yes", "no", "skip")),
        Step("asq_thoughts", Shape.choice, ("yes", "no", "skip")),
        Step("asq_tried", Shape.choice, ("yes", "no", "skip")),
        # After a yes to "tried": how and when, typed for the clinician, or Skip.
        Step("asq_how", Shape.text),
        Step("asq_now", Shape.choice, ("yes", "no", "skip")),
        Step("note", Shape.text),
    )
}
ORDER = tuple(STEPS)
ASQ_STEPS = ("asq_wished", "asq_better", "asq_thoughts", "asq_tried")
# The steps after the four questions; the screen ends when none of them is waiting.
ASQ_FOLLOW_UPS = ("asq_how", "asq_now")
FIRST = ORDER[0]
# The answers every complete check-in has (the optional and conditional ones aside).
CORE = ("craving", "mood", "sleep_hours", "sleep_quality", "triggers", "use", "confidence")

# Sleep bands -> hours, for charts and "nights under 6 hours".
SLEEP_HOURS = {"under_4": 3.0, "from_4_to_6": 5.0, "from_6_to_8": 7.0, "over_8": 9.0}
SHORT_SLEEP = frozenset({"under_4", "from_4_to_6"})


@dataclass(frozen=True)
class Plan:
    """What this client's check-in includes today."""

    medicine: bool  # D6: turned on by the clinician, not answered by a reminder already
    asq: bool  # the suicide-risk questions are due
    # False for a mental-health-only program: D1 (urge to drink or use) and D5 (use),
    # with the use follow-ups, are never asked there (SPEC §1.2).
    substance: bool = True


# D1 and D5 and what follows a yes to D5: asked only where the program treats substance use.
SUBSTANCE_STEPS = frozenset({"craving", "use", "substances", "safe_now"})


def applies(step: str, answers: Mapping[str, object], plan: Plan) -> bool:
    if step in SUBSTANCE_STEPS and not plan.substance:
        return False
    if step in ("substances", "safe_now"):
        return answers.get("use") == "yes"
    if step == "medicine":
        return plan.medicine
    if step in ASQ_STEPS:
        return plan.asq
    if step == "asq_how":
        return plan.asq and answers.get("asq_tried") == "yes"
    if step == "asq_now":
        return plan.asq and any(answers.get(s) in ("yes", "skip") for s in ASQ_STEPS)
    return True


def next_step(after: str | None, answers: Mapping[str, object], plan: Plan) -> str | None:
    """The step that follows `after` (None: the first); None when the check-in is done."""
    start = 0 if after is None else ORDER.index(after) + 1
    for step in ORDER[start:]:
        if applies(step, answers, plan):
            return step
    return None


def first_step(plan: Plan) -> str:
    """The first question of a check-in under `plan`."""
    step = next_step(None, {}, plan)
    assert step is not None  # mood and the rest are always asked
    return step


def valid_value(step: str, value: str) -> bool:
    """Is `value` something this step offers (multi-selects: a key, none, or done)?"""
    spec = STEPS.get(step)
    if spec is None:
        return False
    if spec.shape is Shape.multi:
        return value in spec.options or value == DONE or (step == "triggers" and value == NONE)
    if spec.shape is Shape.text:
        return value == SKIP
    return value in spec.options


def parse_typed_scale(text: str) -> int | None:
    """A typed answer to a 0-10 question ("7", " 7 ", "7/10"); None if it is not one."""
    cleaned = text.strip().removesuffix("/10").strip()
    if cleaned.isdigit() and len(cleaned) <= 2 and 0 <= int(cleaned) <= 10:
        return int(cleaned)
    return None


def split_keys(stored: str | None) -> list[str]:
    return [k for k in (stored or "").split(",") if k]


def join_keys(keys: list[str], allowed: tuple[str, ...]) -> str:
    """Keys in their offered order, each once (the column's format)."""
    return ",".join(k for k in allowed if k in set(keys))


def toggle(stored: str | None, key: str, allowed: tuple[str, ...]) -> str:
    keys = split_keys(stored)
    keys = [k for k in keys if k != key] if key in keys else [*keys, key]
    return join_keys(keys, allowed)
