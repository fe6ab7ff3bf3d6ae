"""Result types of the safety screen: frozen, JSON-friendly."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from bot.safety.model import ModelScore

Urgency = Literal["urgent", "same_day", "none"]
Category = Literal[
    "suicidal_ideation",
    "self_harm",
    "harm_to_others",
    "overdose_or_medical",
    "relapse_or_use",
    "high_craving",
    "unsafe_or_abuse",
    "none",
]
RiskCategory = Literal[
    "suicidal_ideation",
    "self_harm",
    "harm_to_others",
    "overdose_or_medical",
    "relapse_or_use",
    "high_craving",
    "unsafe_or_abuse",
]

URGENCIES: tuple[Urgency, ...] = get_args(Urgency)
CATEGORIES: tuple[Category, ...] = get_args(Category)
URGENCY_RANK: dict[str, int] = {"none": 0, "same_day": 1, "urgent": 2}

# Among matches of equal urgency, the category that decides: the one whose miss costs most.
CATEGORY_PRIORITY: tuple[RiskCategory, ...] = (
    "suicidal_ideation",
    "overdose_or_medical",
    "self_harm",
    "harm_to_others",
    "unsafe_or_abuse",
    "relapse_or_use",
    "high_craving",
)
CATEGORY_RANK: dict[str, int] = {
    name: len(CATEGORY_PRIORITY) - i for i, name in enumerate(CATEGORY_PRIORITY)
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One rule match. `start`/`end` index the ORIGINAL text (Python str indices)."""

    rule: str
    category: RiskCategory
    urgency: Urgency  # after negation / history / idiom adjustments
    text: str  # original[start:end]
    start: int
    end: int
    # Why the urgency differs from the rule's own, e.g. "negated", "history", "idiom:<id>".
    adjusted: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ScreenResult:
    urgency: Urgency
    category: Category
    rule: str | None  # id of the rule that decided; None when nothing fired
    evidence: tuple[Evidence, ...] = ()
    # Which layer decided: "rules", "model" (the trained layer; rule is "model") or "context"
    # (this message read with the client's recent ones); None when nothing was flagged.
    layer: str | None = None
    model: ModelScore | None = None  # what the trained layer saw, whether or not it decided
    # The recent messages (by position in the history given) read together with this one.
    context: tuple[int, ...] = ()

    @property
    def flagged(self) -> bool:
        return self.urgency != "none"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "urgency": self.urgency,
            "category": self.category,
            "rule": self.rule,
            "evidence": [e.to_dict() for e in self.evidence],
        }
        if self.layer is not None:
            out["layer"] = self.layer
        if self.model is not None:
            out["model"] = self.model.to_dict()
        if self.context:
            out["context"] = list(self.context)
        return out


NONE_RESULT = ScreenResult(urgency="none", category="none", rule=None)
