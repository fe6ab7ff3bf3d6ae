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
from collections.abc import Iterable
from dataclasses import dataclass

from bot.safety.normalize import WORD_RE
from bot.safety.phrases import PhraseCompiler, bounded

_PUNCT_BREAK = r"[.,;:!?¿¡\n()\"]+"


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
        clauses = self._clauses(text)
        here = next((i for i, (s, e) in enumerate(clauses) if s <= start < e), None)
        if here is None:
            return False
        cs, ce = clauses[here]
        scope_end = clauses[here + 1][1] if here + 1 < len(clauses) else ce
        found = False
        if self.history_before_re is not None:  # may overlap the match: "[used to use] heroin"
            found = self.history_before_re.search(text, cs, end) is not None
        if not found and self.history_around_re is not None:
            found = self.history_around_re.search(text, cs, scope_end) is not None
        if not found:
            return False
        # Recency counts in the match's own clause ("I used to drink but drank last night"),
        # or anywhere for the strongest cues ("... did it again").
        if self.recent_re is not None and self.recent_re.search(text, cs, ce):
            return False
        return not (self.recent_anywhere_re is not None and self.recent_anywhere_re.search(text))

    def resolved(self, text: str, end: int) -> bool:
        """Does the message go on to say it is over ("... but it passed", "I said no")?"""
        return self.resolution_re is not None and self.resolution_re.search(text, end) is not None
