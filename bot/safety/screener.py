"""The screen: is this message a crisis (urgent), a same-day concern, or neither?"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from bot.safety.context import Context
from bot.safety.models import (
    CATEGORY_RANK,
    NONE_RESULT,
    URGENCY_RANK,
    Evidence,
    ScreenResult,
    Urgency,
)
from bot.safety.normalize import Canonical, fold
from bot.safety.rules import RulesError
from bot.safety.ruleset import Rule, RuleSet, load_ruleset

DEFAULT_RULES_DIR = Path(__file__).resolve().parents[2] / "content" / "safety"


def _apply(policy: str, urgency: Urgency) -> Urgency:
    if policy == "drop":
        return "none"
    if policy == "downgrade" and urgency == "urgent":
        return "same_day"
    return urgency


def _rank(e: Evidence) -> tuple[int, int, int]:
    return (URGENCY_RANK[e.urgency], CATEGORY_RANK[e.category], -e.start)


class Screener:
    """Screens text with the rules of one or more languages.

    By default every message is screened with the rules of ALL loaded languages (the
    client's language first): people switch languages, and a profile's language can be
    wrong; a missed crisis costs more than the extra microseconds.
    """

    def __init__(self, rulesets: Mapping[str, RuleSet], cross_language: bool = True) -> None:
        if not rulesets:
            raise RulesError("no rules loaded")
        self.rulesets = dict(rulesets)
        self.cross_language = cross_language
        for code, ruleset in self.rulesets.items():
            for other_code, other in self.rulesets.items():
                if other_code != code:
                    ruleset.normalizer.protect(other.normalizer.lexicon.vocab)

    @classmethod
    def from_dir(cls, path: Path | str | None = None, cross_language: bool = True) -> Screener:
        """Load every `<lang>.yaml` in `path` (default: content/safety/)."""
        directory = Path(path) if path is not None else DEFAULT_RULES_DIR
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise RulesError(f"{directory}: no rules files (*.yaml)")
        rulesets: dict[str, RuleSet] = {}
        for file in files:
            ruleset = load_ruleset(file)
            if ruleset.lang != file.stem:
                raise RulesError(f"{file}: lang is {ruleset.lang!r} but the file is {file.name}")
            rulesets[ruleset.lang] = ruleset
        return cls(rulesets, cross_language=cross_language)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.rulesets)

    def _order(self, lang: str) -> list[RuleSet]:
        # "es-419", "EN_us" -> "es", "en": Telegram gives IETF tags.
        primary = self.rulesets.get((lang or "").replace("_", "-").split("-")[0].lower())
        if primary is None:  # unknown language: every rule set
            return list(self.rulesets.values())
        if not self.cross_language:
            return [primary]
        return [primary, *(rs for rs in self.rulesets.values() if rs is not primary)]

    def screen(self, text: str, lang: str = "en") -> ScreenResult:
        if not isinstance(text, str):
            raise TypeError("text must be a str")
        if not text or text.isspace():
            return NONE_RESULT
        base = fold(text)
        scans = [_Scan(rs, rs.normalizer.canonicalize(text, base)) for rs in self._order(lang)]
        for scan in scans:
            scan.find()
        if not any(scan.found for scan in scans):
            return NONE_RESULT
        # Idioms of every language apply to matches of every language, by original position.
        idioms = [span for scan in scans for span in scan.idioms()]
        evidence: dict[tuple[str, int, int], Evidence] = {}
        for scan in scans:
            for ev in scan.evidence(idioms):
                evidence.setdefault((ev.rule, ev.start, ev.end), ev)
        kept = _outermost(evidence.values())
        ordered = tuple(sorted(kept, key=lambda e: (e.start, e.end, e.rule)))
        best = max(ordered, key=_rank)
        if best.urgency == "none":
            return ScreenResult("none", "none", None, ordered)
        return ScreenResult(best.urgency, best.category, best.rule, ordered)


def _outermost(evidence: Iterable[Evidence]) -> list[Evidence]:
    """Drop a match inside a longer one of the same rule and urgency ("want to die" within
    "i want to die"): the same finding, said once."""
    items = list(evidence)
    return [
        e
        for e in items
        if not any(
            o is not e
            and o.rule == e.rule
            and o.urgency == e.urgency
            and o.start <= e.start
            and e.end <= o.end
            and (o.end - o.start) > (e.end - e.start)
            for o in items
        )
    ]


def _in_context(
    rule: Rule, ctx: Context, text: str, start: int, end: int
) -> tuple[Urgency, str | None]:
    """The rule's urgency after negation, history and resolution around the match."""
    urgency: Urgency = rule.urgency
    adjusted = None
    checks = (
        (rule.negation, "negated", ctx.negated, (text, start)),
        (rule.history, "history", ctx.historical, (text, start, end)),
        (rule.resolved, "resolved", ctx.resolved, (text, end)),
    )
    for policy, reason, check, args in checks:
        if policy != "keep" and urgency != "none" and check(*args):
            new = _apply(policy, urgency)
            if new != urgency:
                urgency, adjusted = new, reason
    return urgency, adjusted


class _Scan:
    """One message screened with one language's rules."""

    def __init__(self, ruleset: RuleSet, canon: Canonical) -> None:
        self.ruleset = ruleset
        self.canon = canon
        self.found: list[tuple[Rule, int, int]] = []

    def find(self) -> None:
        self.found = self.ruleset.matches(self.canon)

    def idioms(self) -> list[tuple[int, int, str]]:
        return [
            (*self.canon.to_original(s, e), ex_id)
            for s, e, ex_id in self.ruleset.exclusion_spans(self.canon)
        ]

    def evidence(self, idioms: list[tuple[int, int, str]]) -> list[Evidence]:
        text, ctx = self.canon.text, self.ruleset.context
        out = []
        for rule, start, end in self.found:
            o_start, o_end = self.canon.to_original(start, end)
            urgency: Urgency = rule.urgency
            adjusted = None
            # An idiom masks a match it overlaps and reaches the end of ("killing it", "dying to
            # see my kids", "could kill for a coffee"); a match that goes on past the idiom
            # ("using it on myself") says more than the idiom and still counts.
            idiom = next((ex for s, e, ex in idioms if s < o_end <= e), None)
            if idiom is not None:
                urgency, adjusted = "none", f"idiom:{idiom}"
            else:
                urgency, adjusted = _in_context(rule, ctx, text, start, end)
            out.append(
                Evidence(
                    rule=rule.id,
                    category=rule.category,
                    urgency=urgency,
                    text=self.canon.original[o_start:o_end],
                    start=o_start,
                    end=o_end,
                    adjusted=adjusted,
                )
            )
        return out


_lock = threading.Lock()


@lru_cache(maxsize=8)
def _cached(path: str, cross_language: bool) -> Screener:
    return Screener.from_dir(Path(path), cross_language=cross_language)


def load_screener(path: Path | str | None = None, cross_language: bool = True) -> Screener:
    """A cached screener for a rules directory (built once per process)."""
    directory = Path(path) if path is not None else DEFAULT_RULES_DIR
    with _lock:
        return _cached(str(directory.resolve()), cross_language)


def screen(text: str, lang: str = "en") -> ScreenResult:
    """Screen one message with the default rules (content/safety/)."""
    return load_screener().screen(text, lang)
