"""Negation and past-tense context around a match.

Both are deliberately narrow: a negation counts only when it sits right before the match with
nothing but "bridge" words between ("not going to", "would never ever"), so "I'm not okay and
I want to die" stays urgent; a history cue counts only in the match's own clause (or, for
"years ago"-like phrases, the next one) and is cancelled by a recency cue ("again",
"last night"). A resolution ("... but it passed", "I said no") counts only after the match.
What a category does with each (keep / downgrade / drop) is in the rules file.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.safety.normalize import WORD_RE
from bot.safety.phrases import PhraseCompiler, bounded

_PUNCT_BREAK = r"[.,;:!?¿¡\n()\"]+"
_REACH = 300  # characters of a clause read on either side of a match


def phrases_regex(phrases: Iterable[str], compiler: PhraseCompiler) -> re.Pattern[str] | None:
    parts = [compiler.phrase(p).regex for p in phrases]
    if not parts:
        return None
    return re.compile(bounded("|".join(parts)))


@dataclass(frozen=True)
class Context:
    clause_re: re.Pattern[str]
    negation_cues: frozenset[str]
    bridge_words: frozenset[str]
    max_bridge: int
    not_negation_re: re.Pattern[str] | None
    history_before_re: re.Pattern[str] | None
    history_around_re: re.Pattern[str] | None
    recent_re: re.Pattern[str] | None
    recent_anywhere_re: re.Pattern[str] | None
    resolution_re: re.Pattern[str] | None

    @classmethod
    def build(
        cls,
        clause_breaks: list[str],
        negation_cues: list[str],
        bridge_words: list[str],
        max_bridge: int,
        not_negation: list[str],
        history_before: list[str],
        history_around: list[str],
        recent: list[str],
        recent_anywhere: list[str],
        resolution: list[str],
        compiler: PhraseCompiler,
    ) -> Context:
        def rx(phrases: list[str]) -> re.Pattern[str] | None:
            return phrases_regex(phrases, compiler)

        words = rx(clause_breaks)
        clause = _PUNCT_BREAK + (f"|{words.pattern}" if words else "")
        return cls(
            clause_re=re.compile(clause),
            negation_cues=frozenset(negation_cues),
            bridge_words=frozenset(bridge_words),
            max_bridge=max_bridge,
            not_negation_re=rx(not_negation),
            history_before_re=rx(history_before),
            history_around_re=rx(history_around),
            recent_re=rx(recent),
            recent_anywhere_re=rx(recent_anywhere),
            resolution_re=rx(resolution),
        )

    def _clauses(self, text: str) -> list[tuple[int, int]]:
        bounds = []
        pos = 0
        for m in self.clause_re.finditer(text):
            if m.start() > pos:
                bounds.append((pos, m.start()))
            pos = m.end()
        if pos < len(text):
            bounds.append((pos, len(text)))
        return bounds

    def negated(self, text: str, start: int) -> bool:
        """Is the match at `start` directly negated ("not going to <match>")?"""
        left = text[max(0, start - 120) : start]
        cut = 0
        for m in self.clause_re.finditer(left):
            cut = m.end()
        left = left[cut:]
        if self.not_negation_re is not None:
            left = self.not_negation_re.sub(" ", left)
        bridged = 0
        for word in reversed(WORD_RE.findall(left)):
            if word in self.negation_cues:
                return True
            if word in self.bridge_words and bridged < self.max_bridge:
                bridged += 1
                continue
            return False
        return False

    def historical(self, text: str, start: int, end: int) -> bool:
        """Does the match speak of the past ("I used to ...", "... years ago")?"""
        return self.reader(text).historical(start, end)

    def resolved(self, text: str, end: int) -> bool:
        """Does the message go on to say it is over ("... but it passed", "I said no")?"""
        return self.reader(text).resolved(end)

    def reader(self, text: str) -> MessageContext:
        """The per-message work (clauses, recency, resolutions) done once, so that checking
        many matches costs O(log n) each instead of a pass over the whole text each."""
        return MessageContext(self, text)


@dataclass
class MessageContext:
    """History and resolution checks for one message; each part is computed on first use."""

    ctx: Context
    text: str
    _clauses: list[tuple[int, int]] | None = field(default=None, repr=False)
    _clause_starts: list[int] | None = field(default=None, repr=False)
    _recent_anywhere: bool | None = field(default=None, repr=False)
    _resolutions: list[tuple[int, int]] | None = field(default=None, repr=False)
    _found: dict[str, tuple[list[int], list[int]]] | None = field(default=None, repr=False)

    def _clause_of(self, pos: int) -> int | None:
        if self._clauses is None:
            self._clauses = self.ctx._clauses(self.text)
            self._clause_starts = [s for s, _ in self._clauses]
        assert self._clause_starts is not None
        i = bisect_right(self._clause_starts, pos) - 1
        if i < 0 or not (self._clauses[i][0] <= pos < self._clauses[i][1]):
            return None
        return i

    def historical(self, start: int, end: int) -> bool:
        ctx, text = self.ctx, self.text
        here = self._clause_of(start)
        if here is None:
            return False
        assert self._clauses is not None
        clauses = self._clauses
        cs, ce = clauses[here]
        scope_end = clauses[here + 1][1] if here + 1 < len(clauses) else ce
        # A clause with no break (a long run-on) is read only near the match: the work per
        # match stays bounded, so a long message costs time in proportion to its length.
        cs, ce = max(cs, start - _REACH), min(ce, end + _REACH)
        scope_end = min(scope_end, end + 2 * _REACH)
        # may overlap the match: "[used to use] heroin"
        found = self._within(ctx.history_before_re, cs, end)
        if not found:
            found = self._within(ctx.history_around_re, cs, scope_end)
        if not found:
            return False
        # Recency counts in the match's own clause ("I used to drink but drank last night"),
        # or anywhere for the strongest cues ("... did it again").
        if self._within(ctx.recent_re, cs, ce):
            return False
        if self._recent_anywhere is None:
            self._recent_anywhere = bool(
                ctx.recent_anywhere_re is not None and ctx.recent_anywhere_re.search(text)
            )
        return not self._recent_anywhere

    def _within(self, regex: re.Pattern[str] | None, lo: int, hi: int) -> bool:
        """Is there a match of `regex` inside [lo, hi)? Each regex runs once per message."""
        if regex is None:
            return False
        if self._found is None:
            self._found = {}
        spans = self._found.get(regex.pattern)
        if spans is None:
            found = [m.span() for m in regex.finditer(self.text)]
            spans = ([s for s, _ in found], [e for _, e in found])
            self._found[regex.pattern] = spans
        starts, ends = spans
        # finditer's matches do not overlap, so their ends rise with their starts: the first
        # match that starts in the stretch is the one that ends soonest.
        i = bisect_left(starts, lo)
        return i < len(starts) and ends[i] <= hi

    def resolved(self, end: int) -> bool:
        regex = self.ctx.resolution_re
        if regex is None:
            return False
        if self._resolutions is None:
            self._resolutions = [m.span() for m in regex.finditer(self.text)]
        if not self._resolutions:
            return False
        last_start, last_end = self._resolutions[-1]
        if last_start >= end:
            return True
        if end >= last_end:
            # finditer would have found any match that starts at or after the last one's end
            return False
        # A match overlapping the last one found (rare): search only that stretch.
        return regex.search(self.text, end, min(len(self.text), last_end + _REACH)) is not None
