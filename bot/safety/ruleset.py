"""A validated rules file compiled for fast matching."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.safety.context import Context
from bot.safety.models import RiskCategory, Urgency
from bot.safety.normalize import Canonical, Lexicon, Normalizer, fold, words_of
from bot.safety.phrases import Compiled, PhraseCompiler, PhraseError, bounded
from bot.safety.rules import Policy, RulesError, RulesFile, describe, line_of, load_rules_file


@dataclass(frozen=True)
class Rule:
    id: str
    category: RiskCategory
    urgency: Urgency
    parts: tuple[re.Pattern[str], ...]  # one per phrase / pattern / emoji set
    negation: Policy
    history: Policy
    resolved: Policy
    with_words: frozenset[str]  # empty: no co-occurrence needed


PartRef = tuple[int, int]  # (item index, part index)


@dataclass(frozen=True)
class _Matcher:
    """Finds which compiled parts (phrases, patterns) of rules or exclusions may match.

    A part with anchors is tried only when one of its anchor words is in the message; the
    unanchored ones are tried only when one combined regex of all of them matches.
    """

    anchor_index: dict[str, tuple[PartRef, ...]]
    anchor_keys: frozenset[str]
    scan_parts: tuple[PartRef, ...]
    scan_re: re.Pattern[str] | None

    @classmethod
    def build(cls, parts_per_item: list[list[Compiled]]) -> _Matcher:
        index: dict[str, set[PartRef]] = {}
        scan_parts: list[PartRef] = []
        scan_regexes: list[str] = []
        for i, parts in enumerate(parts_per_item):
            for j, part in enumerate(parts):
                if part.anchors is None:
                    scan_parts.append((i, j))
                    scan_regexes.append(part.regex)
                else:
                    for word in part.anchors:
                        index.setdefault(word, set()).add((i, j))
        scan_re = re.compile(bounded("|".join(scan_regexes))) if scan_regexes else None
        return cls(
            anchor_index={w: tuple(sorted(refs)) for w, refs in index.items()},
            anchor_keys=frozenset(index),
            scan_parts=tuple(scan_parts),
            scan_re=scan_re,
        )

    def candidates(self, canon: Canonical) -> set[PartRef]:
        found: set[PartRef] = set()
        for word in canon.tokens & self.anchor_keys:
            found.update(self.anchor_index[word])
        if self.scan_re is not None and self.scan_re.search(canon.text):
            found.update(self.scan_parts)
        return found


@dataclass(frozen=True)
class RuleSet:
    lang: str
    source: Path
    rules: tuple[Rule, ...]
    exclusions: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]
    normalizer: Normalizer
    context: Context
    rule_matcher: _Matcher
    exclusion_matcher: _Matcher

    def matches(self, canon: Canonical) -> list[tuple[Rule, int, int]]:
        found = []
        for i, j in sorted(self.rule_matcher.candidates(canon)):
            rule = self.rules[i]
            if rule.with_words and not (canon.tokens & rule.with_words):
                continue
            found.extend((rule, m.start(), m.end()) for m in rule.parts[j].finditer(canon.text))
        return found

    def exclusion_spans(self, canon: Canonical) -> list[tuple[int, int, str]]:
        spans = []
        for i, j in sorted(self.exclusion_matcher.candidates(canon)):
            ex_id, parts = self.exclusions[i]
            spans.extend((m.start(), m.end(), ex_id) for m in parts[j].finditer(canon.text))
        return spans


def load_ruleset(path: Path) -> RuleSet:
    spec, text = load_rules_file(path)
    return compile_ruleset(spec, path, text)


def compile_ruleset(spec: RulesFile, source: Path, text: str = "") -> RuleSet:
    def fail(loc: tuple[Any, ...], message: str) -> RulesError:
        return RulesError(describe(source, loc, line_of(text, loc) if text else None, message))

    lists = {name: [str(e) for e in entries] for name, entries in spec.lists.items()}
    compiler = PhraseCompiler(lists, spec.fillers)
    vocab: set[str] = set(words_of(spec.fillers))

    def compile_all(
        items: Iterable[str], loc: tuple[Any, ...], fn: Callable[[str], Compiled]
    ) -> list[Compiled]:
        out = []
        for k, item in enumerate(items):
            try:
                compiled = fn(item)
            except PhraseError as exc:
                raise fail((*loc, k), f"{exc} in {item!r}") from None
            vocab.update(compiled.words)
            out.append(compiled)
        return out

    def expand_words(words: list[str], loc: tuple[Any, ...]) -> frozenset[str]:
        out: set[str] = set()
        for k, word in enumerate(words):
            if word.startswith("{") and word.endswith("}"):
                if word[1:-1] not in lists:
                    raise fail((*loc, k), f"unknown list {word}")
                out |= words_of(lists[word[1:-1]])
            else:
                out |= words_of([word])
        return frozenset(out)

    rules: list[Rule] = []
    rule_parts: list[list[Compiled]] = []
    seen: dict[str, tuple[Any, ...]] = {}
    for category, cat in spec.categories.items():
        for r, rule in enumerate(cat.rules):
            loc = ("categories", category, "rules", r)
            if rule.id in seen:
                raise fail((*loc, "id"), f"duplicate rule id {rule.id!r}")
            seen[rule.id] = loc
            parts = compile_all(rule.phrases, (*loc, "phrases"), compiler.phrase)
            parts += compile_all(rule.patterns, (*loc, "patterns"), compiler.pattern)
            emoji = sorted({fold(e) for e in rule.emoji if fold(e).strip()}, key=len, reverse=True)
            if emoji:
                parts.append(Compiled("|".join(map(re.escape, emoji)), None, frozenset()))
            rules.append(
                Rule(
                    id=rule.id,
                    category=category,
                    urgency=rule.urgency,
                    parts=tuple(re.compile(bounded(p.regex)) for p in parts),
                    negation=rule.negation or cat.negation,
                    history=rule.history or cat.history,
                    resolved=rule.resolved or cat.resolved,
                    with_words=expand_words(rule.with_words, (*loc, "with_words")),
                )
            )
            rule_parts.append(parts)

    exclusions: list[tuple[str, tuple[re.Pattern[str], ...]]] = []
    exclusion_parts: list[list[Compiled]] = []
    for e, ex in enumerate(spec.exclusions):
        loc = ("exclusions", e)
        parts = compile_all(ex.phrases, (*loc, "phrases"), compiler.phrase)
        parts += compile_all(ex.patterns, (*loc, "patterns"), compiler.pattern)
        exclusions.append((ex.id, tuple(re.compile(bounded(p.regex)) for p in parts)))
        exclusion_parts.append(parts)

    ctx = spec.context
    try:
        context = Context.build(
            clause_breaks=ctx.clause_breaks,
            negation_cues=sorted(words_of(ctx.negation.cues)),
            bridge_words=sorted(words_of([*ctx.negation.bridge_words, *spec.fillers])),
            max_bridge=ctx.negation.max_bridge,
            not_negation=ctx.negation.not_negation,
            history_before=ctx.history.before,
            history_around=ctx.history.around,
            recent=ctx.history.recent,
            recent_anywhere=ctx.history.recent_anywhere,
            resolution=ctx.resolution,
            compiler=compiler,
        )
    except PhraseError as exc:
        raise fail(("context",), str(exc)) from None

    vocab |= words_of(
        [
            *ctx.clause_breaks,
            *ctx.negation.cues,
            *ctx.negation.bridge_words,
            *ctx.negation.not_negation,
            *ctx.history.before,
            *ctx.history.around,
            *ctx.history.recent,
            *ctx.history.recent_anywhere,
            *ctx.resolution,
        ]
    )
    fz = spec.fuzzy
    misspellings: dict[str, str] = {}
    for right, wrongs in fz.misspellings.items():
        for wrong in wrongs:
            misspellings[fold(wrong).strip()] = fold(right).strip()
    keywords = sorted(words_of(fz.keywords))
    vocab |= set(keywords) | {w for v in misspellings.values() for w in v.split()}
    allow = frozenset(words_of(fz.never_match)) - set(keywords)
    lexicon = Lexicon(
        vocab=frozenset(vocab),
        allow=allow,
        misspellings=misspellings,
        fuzzy_keywords=tuple(keywords),
        compound_heads=frozenset(words_of(fz.compound_heads)),
        fuzzy_min_length=fz.min_length,
        fuzzy_max_distance=fz.max_distance,
    )
    return RuleSet(
        lang=spec.lang,
        source=source,
        rules=tuple(rules),
        exclusions=tuple(exclusions),
        normalizer=Normalizer(lexicon),
        context=context,
        rule_matcher=_Matcher.build(rule_parts),
        exclusion_matcher=_Matcher.build(exclusion_parts),
    )
