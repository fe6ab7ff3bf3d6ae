"""The screen: is this message a crisis (urgent), a same-day concern, or neither?"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from bot.safety.context import Context, MessageContext
from bot.safety.model import DEFAULT_MODEL_PATH, Model, ModelScore
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


# Work caps, so that time grows with a message's length and never with the square of its
# matches (issue 16, defect 9). A longer message is screened whole, window by window.
WINDOW = 4096  # characters screened at once: Telegram's longest message
_OVERLAP = 256  # characters shared by neighbouring windows, so no phrase falls in the cut
_ENOUGH = 4  # matches of one rule at its own urgency: more say nothing new
MAX_EVIDENCE = 32  # evidence kept in a result, the most urgent first


def _windows(text: str) -> list[tuple[int, int]]:
    """[start, end) windows of at most WINDOW characters, cut at spaces where possible."""
    out: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while True:
        end = min(n, start + WINDOW)
        if end < n:
            cut = text.rfind(" ", end - _OVERLAP, end)
            end = cut if cut > start else end
        out.append((start, end))
        if end >= n:
            return out
        nxt = text.find(" ", end - _OVERLAP, end)
        start = nxt + 1 if nxt > start else end - _OVERLAP


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

    def __init__(
        self,
        rulesets: Mapping[str, RuleSet],
        cross_language: bool = True,
        model: Model | None = None,
    ) -> None:
        if not rulesets:
            raise RulesError("no rules loaded")
        self.rulesets = dict(rulesets)
        self.cross_language = cross_language
        self.model = model  # None: rules only (tests of the rules; never in production)
        for code, ruleset in self.rulesets.items():
            for other_code, other in self.rulesets.items():
                if other_code != code:
                    ruleset.normalizer.protect(other.normalizer.lexicon.vocab)

    @classmethod
    def from_dir(
        cls,
        path: Path | str | None = None,
        cross_language: bool = True,
        model: Model | None = None,
    ) -> Screener:
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
        return cls(rulesets, cross_language=cross_language, model=model)

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

    def screen(
        self,
        text: str,
        lang: str = "en",
        history: Sequence[str | tuple[str, datetime]] | None = None,
        now: datetime | None = None,
    ) -> ScreenResult:
        """Screen one message: rules, then the trained layer, then (with `history`, the
        client's previous messages, oldest first, as texts or (text, sent at) pairs) the
        message read together with those of the last 30 minutes."""
        if not isinstance(text, str):
            raise TypeError("text must be a str")
        if not text or text.isspace():
            return NONE_RESULT
        alone = self._screen_one(text, lang)
        recent = _recent(history, now)
        if not recent:
            return alone
        return self._with_context(text, lang, alone, recent)

    def _screen_one(self, text: str, lang: str) -> ScreenResult:
        rules = self.screen_rules(text, lang)
        if self.model is None or rules.urgency == "urgent":  # nothing the model says can raise it
            return rules
        return combine(rules, self.model.score(text))

    def _with_context(
        self, text: str, lang: str, alone: ScreenResult, recent: list[tuple[int, str]]
    ) -> ScreenResult:
        # Read together, as a person reading the chat would: "I have the pills ready" after
        # "I can't do this anymore". A line break keeps rule phrases inside one message.
        joint_text = "\n".join([*(t for _, t in recent), text])
        joint = self._screen_one(joint_text, lang)
        if URGENCY_RANK[joint.urgency] <= URGENCY_RANK[alone.urgency]:
            return alone
        # What the earlier messages said alone was already answered when they came; the
        # context raises this message only when reading them together says more, or when
        # this message is itself a worry ("pills ready" after an urgent message).
        earlier = max(URGENCY_RANK[self._screen_one(t, lang).urgency] for _, t in recent)
        if URGENCY_RANK[joint.urgency] <= earlier and not alone.flagged:
            return alone
        offset = len(joint_text) - len(text)
        evidence = tuple(
            replace(e, start=e.start - offset, end=e.end - offset)
            for e in joint.evidence
            if e.start >= offset
        )
        return ScreenResult(
            joint.urgency,
            joint.category,
            joint.rule,
            evidence,
            layer="context",
            model=joint.model,
            context=tuple(i for i, _ in recent),
        )

    def screen_rules(self, text: str, lang: str = "en") -> ScreenResult:
        """The rules layer alone."""
        if not text or text.isspace():
            return NONE_RESULT
        if len(text) <= WINDOW:
            return self._screen_window(text, lang)
        evidence: dict[tuple[str, int, int], Evidence] = {}
        for lo, hi in _windows(text):
            for ev in self._screen_window(text[lo:hi], lang).evidence:
                moved = replace(ev, start=ev.start + lo, end=ev.end + lo)
                evidence.setdefault((moved.rule, moved.start, moved.end), moved)
        return _decide(_outermost(evidence.values()))

    def _screen_window(self, text: str, lang: str) -> ScreenResult:
        base = fold(text)
        scans = [_Scan(rs, rs.normalizer.canonicalize(text, base)) for rs in self._order(lang)]
        for scan in scans:
            scan.find()
        if not any(scan.found for scan in scans):
            return NONE_RESULT
        # Idioms of every language apply to matches of every language, by original position.
        idioms = _Idioms([span for scan in scans for span in scan.idioms()])
        evidence: dict[tuple[str, int, int], Evidence] = {}
        for scan in scans:
            for ev in scan.evidence(idioms):
                evidence.setdefault((ev.rule, ev.start, ev.end), ev)
        return _decide(_outermost(evidence.values()))


HISTORY_MAX = 4  # earlier messages read with a new one
HISTORY_WINDOW = timedelta(minutes=30)


def _recent(
    history: Sequence[str | tuple[str, datetime]] | None, now: datetime | None
) -> list[tuple[int, str]]:
    """The usable earlier messages (index in `history`, text): the last few, of the last
    30 minutes when their times are known."""
    if not history:
        return []
    out: list[tuple[int, str]] = []
    for i, item in enumerate(history):
        if isinstance(item, str):
            text, when = item, None
        else:
            text, when = item
        if when is not None and now is not None and now - when > HISTORY_WINDOW:
            continue
        if isinstance(text, str) and text.strip():
            out.append((i, text[-WINDOW:]))
    return out[-HISTORY_MAX:]


def combine(rules: ScreenResult, model: ModelScore) -> ScreenResult:
    """The higher urgency of the rules and the model. A rule's idiom exclusion ("that
    workout killed me") or a negation right before a rule's words ("I'm not going to use
    tonight") vetoes the model only when the model is not confident: n-grams cannot read a
    negation, the rules can."""
    veto = any(
        (e.adjusted or "").startswith("idiom:") or e.adjusted == "negated" for e in rules.evidence
    )
    raises = URGENCY_RANK[model.urgency] > URGENCY_RANK[rules.urgency]
    if raises and (model.confident or not veto):
        return ScreenResult(
            model.urgency, model.category, "model", rules.evidence, layer="model", model=model
        )
    layer = "rules" if rules.flagged else None
    return ScreenResult(
        rules.urgency, rules.category, rules.rule, rules.evidence, layer=layer, model=model
    )


def _decide(kept: list[Evidence]) -> ScreenResult:
    """The result of a message's evidence: the most urgent match decides."""
    if not kept:
        return NONE_RESULT
    best = max(kept, key=_rank)
    if len(kept) > MAX_EVIDENCE:
        kept = sorted(kept, key=_rank, reverse=True)[:MAX_EVIDENCE]
    ordered = tuple(sorted(kept, key=lambda e: (e.start, e.end, e.rule)))
    if best.urgency == "none":
        return ScreenResult("none", "none", None, ordered)
    return ScreenResult(best.urgency, best.category, best.rule, ordered, layer="rules")


def _outermost(evidence: Iterable[Evidence]) -> list[Evidence]:
    """Drop a match inside a longer one of the same rule and urgency ("want to die" within
    "i want to die"): the same finding, said once.

    One sort and one sweep per rule (spans are unique per rule), so a message with thousands
    of matches costs n log n, not n squared.
    """
    groups: dict[tuple[str, str], list[Evidence]] = {}
    for e in evidence:
        groups.setdefault((e.rule, e.urgency), []).append(e)
    kept: list[Evidence] = []
    for items in groups.values():
        items.sort(key=lambda e: (e.start, -e.end))
        reach = -1
        for e in items:
            if reach < e.end:  # no earlier (so wider or equal-start longer) span covers it
                kept.append(e)
            reach = max(reach, e.end)
    return kept


class _Idioms:
    """Idiom spans, for "does an idiom overlap this match and reach its end?" in log time."""

    def __init__(self, spans: list[tuple[int, int, str]]) -> None:
        spans = sorted(spans)
        self.starts = [s for s, _, _ in spans]
        self.best: list[tuple[int, str]] = []  # running max of ends, with that idiom's id
        top: tuple[int, str] = (-1, "")
        for _, e, ex_id in spans:
            if e > top[0]:
                top = (e, ex_id)
            self.best.append(top)

    def masking(self, end: int) -> str | None:
        i = bisect_left(self.starts, end)  # idioms that start before the match's end
        if i == 0:
            return None
        reach, ex_id = self.best[i - 1]
        return ex_id if reach >= end else None


def _in_context(
    rule: Rule, ctx: Context, reader: MessageContext, start: int, end: int
) -> tuple[Urgency, str | None]:
    """The rule's urgency after negation, history and resolution around the match."""
    urgency: Urgency = rule.urgency
    adjusted = None
    checks = (
        (rule.negation, "negated", ctx.negated, (reader.text, start)),
        (rule.history, "history", reader.historical, (start, end)),
        (rule.resolved, "resolved", reader.resolved, (end,)),
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

    def evidence(self, idioms: _Idioms) -> list[Evidence]:
        ctx = self.ruleset.context
        reader = ctx.reader(self.canon.text)
        out = []
        full: dict[str, int] = {}  # matches per rule that kept the rule's own urgency
        for rule, start, end in self.found:
            if full.get(rule.id, 0) >= _ENOUGH:  # more of the same cannot change the result
                continue
            o_start, o_end = self.canon.to_original(start, end)
            urgency: Urgency = rule.urgency
            adjusted = None
            # An idiom masks a match it overlaps and reaches the end of ("killing it", "dying to
            # see my kids", "could kill for a coffee"); a match that goes on past the idiom
            # ("using it on myself") says more than the idiom and still counts.
            idiom = idioms.masking(o_end)
            if idiom is not None:
                urgency, adjusted = "none", f"idiom:{idiom}"
            else:
                urgency, adjusted = _in_context(rule, ctx, reader, start, end)
            if urgency == rule.urgency:
                full[rule.id] = full.get(rule.id, 0) + 1
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
def _cached(path: str, cross_language: bool, model_path: str) -> Screener:
    model = Model.load(model_path)  # ModelError (a RulesError) when missing: start-up stops
    return Screener.from_dir(Path(path), cross_language=cross_language, model=model)


def load_screener(
    path: Path | str | None = None,
    cross_language: bool = True,
    model_path: Path | str | None = None,
) -> Screener:
    """A cached screener (rules and the trained model), built once per process."""
    directory = Path(path) if path is not None else DEFAULT_RULES_DIR
    model_file = Path(model_path) if model_path is not None else DEFAULT_MODEL_PATH
    with _lock:
        return _cached(str(directory.resolve()), cross_language, str(model_file.resolve()))


def screen(
    text: str,
    lang: str = "en",
    history: Sequence[str | tuple[str, datetime]] | None = None,
    now: datetime | None = None,
) -> ScreenResult:
    """Screen one message with the default rules and model (content/safety/)."""
    return load_screener().screen(text, lang, history=history, now=now)
