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
    required: dict[PartRef, tuple[frozenset[str], ...]]
    scan_parts: tuple[PartRef, ...]
    scan_re: re.Pattern[str] | None
    # Parts anchored by their rule's `with_words` (which need not be inside the match): they
    # are searched in the whole text, not only near the word.
    whole_text: frozenset[PartRef] = frozenset()

    @classmethod
    def build(
        cls,
        parts_per_item: list[list[Compiled]],
        with_words: list[frozenset[str]] | None = None,
    ) -> _Matcher:
        index: dict[str, set[PartRef]] = {}
        required: dict[PartRef, tuple[frozenset[str], ...]] = {}
        scan_parts: list[PartRef] = []
        scan_regexes: list[str] = []
        whole_text: set[PartRef] = set()
        for i, parts in enumerate(parts_per_item):
            for j, part in enumerate(parts):
                if len(part.required) > 1:
                    required[(i, j)] = part.required
                words = with_words[i] if with_words else frozenset()
                if part.anchors is None and words:
                    # A pattern with no visible anchor, in a rule that needs one of these
                    # words anyway: tried only when one is present, instead of on every message.
                    whole_text.add((i, j))
                    for word in words:
                        index.setdefault(word, set()).add((i, j))
                elif part.anchors is None:
                    scan_parts.append((i, j))
                    scan_regexes.append(part.regex)
                else:
                    for word in part.anchors:
                        index.setdefault(word, set()).add((i, j))
        scan_re = re.compile(bounded("|".join(scan_regexes))) if scan_regexes else None
        return cls(
            anchor_index={w: tuple(sorted(refs)) for w, refs in index.items()},
            anchor_keys=frozenset(index),
            required=required,
            scan_parts=tuple(scan_parts),
            scan_re=scan_re,
            whole_text=frozenset(whole_text),
        )

    def candidates(self, canon: Canonical) -> dict[PartRef, list[tuple[int, int]] | None]:
        """Parts to try, each with the stretches of text to search (None: all of it).

        In a long message a part is searched only around the anchor words that made it a
        candidate: its match contains one of them, and phrases are far shorter than the window.
        """
        text, tokens = canon.text, canon.tokens
        present = tokens & self.anchor_keys
        refs: dict[PartRef, list[str]] = {}
        for word in present:
            for ref in self.anchor_index[word]:
                needs = self.required.get(ref)
                if needs is None or all(tokens & need for need in needs):
                    refs.setdefault(ref, []).append(word)
        found: dict[PartRef, list[tuple[int, int]] | None] = {}
        if len(text) <= _WINDOWED_FROM:
            found = dict.fromkeys(refs)
        elif refs:
            wanted = {w for ref, words in refs.items() if ref not in self.whole_text for w in words}
            spans = {word: _windows_of(text, word) for word in wanted}
            for ref, words in refs.items():
                if ref in self.whole_text:
                    found[ref] = None
                else:
                    found[ref] = [span for word in words for span in spans[word]]
        if self.scan_re is not None and self.scan_re.search(text):
            found.update(dict.fromkeys(self.scan_parts))
        return found


_WINDOWED_FROM = 400  # characters
_REACH = 160  # characters a phrase may reach on either side of its anchor


def _windows_of(text: str, word: str) -> list[tuple[int, int]]:
    """Windows around each whole-word occurrence of `word` (str.find: C speed)."""
    out: list[tuple[int, int]] = []
    n = len(word)
    if text.count(word) * 2 * _REACH >= len(text):  # the windows would cover the text anyway
        return [(0, len(text))]
    pos = text.find(word)
    while pos != -1:
        end = pos + n
        before_ok = pos == 0 or not text[pos - 1].isalnum()
        if before_ok and (end == len(text) or not text[end].isalnum()):
            out.append(_window(text, pos, end))
        pos = text.find(word, end)
    return out


def _window(text: str, start: int, end: int) -> tuple[int, int]:
    lo, hi = max(0, start - _REACH), min(len(text), end + _REACH)
    while lo > 0 and text[lo - 1].isalnum():  # whole words only
        lo -= 1
    while hi < len(text) and text[hi].isalnum():
        hi += 1
    return lo, hi


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
        found: dict[tuple[int, int, int], Rule] = {}
        for (i, j), windows in sorted(self.rule_matcher.candidates(canon).items()):
            rule = self.rules[i]
            if rule.with_words and not (canon.tokens & rule.with_words):
                continue
            for start, end in _search(rule.parts[j], canon.text, windows):
                found[(i, start, end)] = rule
        return [(rule, start, end) for (_, start, end), rule in found.items()]

    def exclusion_spans(self, canon: Canonical) -> list[tuple[int, int, str]]:
        spans = []
        for (i, j), windows in sorted(self.exclusion_matcher.candidates(canon).items()):
            ex_id, parts = self.exclusions[i]
            spans.extend((s, e, ex_id) for s, e in _search(parts[j], canon.text, windows))
        return spans


def _search(
    regex: re.Pattern[str], text: str, windows: list[tuple[int, int]] | None
) -> set[tuple[int, int]]:
    if windows is None:
        return {m.span() for m in regex.finditer(text)}
    merged: list[list[int]] = []
    for lo, hi in sorted(windows):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return {m.span() for lo, hi in merged for m in regex.finditer(text, lo, hi)}


def load_ruleset(path: Path) -> RuleSet:
    spec, text = load_rules_file(path)
    return compile_ruleset(spec, path, text)


def compile_ruleset(spec: RulesFile, source: Path, text: str = "") -> RuleSet:
    def fail(loc: tuple[Any, ...], message: str) -> RulesError:
        return RulesError(describe(source, loc, line_of(text, loc) if text else None, message))

    lists = {name: [str(e) for e in entries] for name, entries in spec.lists.items()}
    fillers = frozenset(fold(f).strip() for f in spec.fillers)
    for k, filler in enumerate(sorted(fillers)):
        if not filler.isalpha():
            raise fail(("fillers", k), f"a filler must be one word: {filler!r}")
    compiler = PhraseCompiler(lists, fillers)
    vocab: set[str] = set()

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
            bridge_words=sorted(words_of(ctx.negation.bridge_words)),
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
        vocab=frozenset(vocab - fillers),
        allow=allow,
        misspellings=misspellings,
        fuzzy_keywords=tuple(keywords),
        compound_heads=frozenset(words_of(fz.compound_heads)),
        fuzzy_min_length=fz.min_length,
        fuzzy_max_distance=fz.max_distance,
        fillers=fillers,
    )
    return RuleSet(
        lang=spec.lang,
        source=source,
        rules=tuple(rules),
        exclusions=tuple(exclusions),
        normalizer=Normalizer(lexicon),
        context=context,
        rule_matcher=_Matcher.build(rule_parts, [rule.with_words for rule in rules]),
        exclusion_matcher=_Matcher.build(exclusion_parts),
    )
