"""What the client reads when a check-in ends (pure: no Telegram, no database).

At most three messages, the hardest news first on a hard day (SPEC §5; issue 18): what
the care team was told and, after low mood, the help lines; then what to do now (after a
use: "are you alone?", the overdose-safety card for opioids or sedatives, the slip plan;
else coping ideas; the urge-surfing offer after a strong urge); then a plain thank-you.
No praise ("Nice work") after a disclosure of use, low mood or a flag: a streak is
cheered only on an easy day. The texts are named by key; the caller renders them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.checkin.items import OVERDOSE_RISK

MAX_MESSAGES = 3
HIGH_CRAVING = 7  # at or above: the urge-surfing offer
LOW_MOOD = 3  # at or below: the help lines


@dataclass(frozen=True)
class Ending:
    categories: frozenset[str]  # same-day alerts this check-in raised
    used: bool
    substances: frozenset[str]
    mood: int | None
    craving: int | None
    triggers: tuple[str, ...]
    first_time: bool
    streak: int
    recent: int  # check-ins done in the last 14 days
    bam_due: bool

    @property
    def low_mood(self) -> bool:
        return (self.mood is not None and self.mood <= LOW_MOOD) or "low_mood" in self.categories

    @property
    def hard(self) -> bool:
        """A day with a disclosure: no praise, and the hardest news goes first."""
        return self.used or self.low_mood or bool(self.categories)


@dataclass(frozen=True)
class Part:
    """One message: texts by key (alerts.yaml reply/checks, checkin.yaml; "coping:<key>",
    "crisis_card"), the buttons under it, and whether it is protected from forwarding."""

    texts: tuple[str, ...]
    buttons: str | None = None  # "card", "urge", "bam", "menu"
    protect: bool = False
    number: int | None = None  # {days} of "streak" or "completion"


def _news(e: Ending) -> Part | None:
    """What the team was told, and the help lines after low mood. The weekly safety
    questions had their own reply at once; a slip's and an urge's own words follow in the
    next message, so they are not said twice."""
    texts: list[str] = []
    if e.categories - {"suicide_screen"}:
        texts.append("same_day")
    if e.low_mood:
        texts += ["low_mood", "crisis_card"]
    if not texts:
        return None
    return Part(tuple(texts), buttons="card" if e.low_mood else None, protect=True)


def _now(e: Ending) -> Part | None:
    texts: list[str] = []
    if e.used:
        texts.append("are_you_alone")
        if OVERDOSE_RISK & e.substances:
            texts.append("overdose_card")
        texts.append("slip_plan")
    elif e.triggers:
        texts += ["coping_intro", *(f"coping:{t}" for t in e.triggers)]
    urge = e.craving is not None and e.craving >= HIGH_CRAVING
    if urge:
        texts.append("high_craving")
    if not texts:
        return None
    return Part(tuple(texts), buttons="urge" if urge else None, protect=e.used)


def _thanks(e: Ending, *, with_bam: bool) -> Part:
    if e.hard:
        texts: tuple[str, ...] = ("done_hard",)
        number = None
    elif e.first_time:
        texts, number = ("done", "first_time"), None
    elif e.streak >= 2:
        texts, number = ("done", "streak"), e.streak
    else:
        texts, number = ("done", "completion"), e.recent
    if with_bam:
        return Part((*texts, "bam_offer"), buttons="bam", number=number)
    return Part(texts, buttons="menu", number=number)


def plan(e: Ending) -> list[Part]:
    """The messages, in order; never more than MAX_MESSAGES."""
    if e.hard:
        parts = [_news(e), _now(e), _thanks(e, with_bam=e.bam_due)]
    else:
        bam = Part(("bam_offer",), buttons="bam") if e.bam_due else None
        parts = [_thanks(e, with_bam=False), _now(e), bam]
    out = [p for p in parts if p is not None]
    assert len(out) <= MAX_MESSAGES
    return out
