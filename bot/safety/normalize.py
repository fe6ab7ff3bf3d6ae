"""Text normalization for matching, with a way back to the original characters.

Two layers:

* `fold` is per character (C-speed `str.translate` with a lazily filled table): case,
  accents, compatibility forms (fullwidth, ligatures), look-alike Cyrillic/Greek letters,
  apostrophes (dropped, so "don't" == "dont"), zero-width and variation characters.
* `Normalizer.canonicalize` is per word, for one language's lexicon: leetspeak (k1ll, $uicide),
  stretched letters (soooo, killlll), letter-spaced words (s u i c i d e), run-together words
  (killmyself), a misspelling table, and bounded fuzzy matching against a short list of risk
  keywords. Results are cached per word, so a word costs one set lookup after its first use.

Rules are matched on the canonical text; evidence spans are mapped back to the original only
when something matched (the mapping is the slow part).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA

_APOSTROPHES = frozenset("'’‘`´ʼʹ′‛")
# Look-alike letters used to dodge filters (Cyrillic/Greek); NFKD does not fold these.
_CONFUSABLES = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ɩ": "i", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x",
}  # fmt: skip
_MARK_CATEGORIES = frozenset({"Mn", "Me", "Cf"})


def _fold_char(ch: str) -> str:
    if ch in _APOSTROPHES:
        return ""
    category = unicodedata.category(ch)
    if category in _MARK_CATEGORIES:  # combining accents, zero-width joiners, VS16
        return ""
    if category in ("Cs", "Co", "Cn"):  # lone surrogates, private use, unassigned
        return " "
    lowered = ch.casefold()
    if lowered in _CONFUSABLES:
        return _CONFUSABLES[lowered]
    out = []
    for c in unicodedata.normalize("NFKD", lowered):
        if unicodedata.category(c) in _MARK_CATEGORIES:
            continue
        out.append(c)
    folded = "".join(out)
    if folded in _APOSTROPHES:  # e.g. fullwidth apostrophe
        return ""
    return folded


class _FoldTable(dict[int, str]):
    """`str.translate` table that computes (and keeps) each character's folding on first use."""

    def __missing__(self, codepoint: int) -> str:
        value = _fold_char(chr(codepoint))
        self[codepoint] = value
        return value


_TABLE = _FoldTable()
for _cp in range(128):
    _TABLE[_cp]


def fold(text: str) -> str:
    """Case-, accent- and apostrophe-insensitive form of `text` (length may differ)."""
    return text.translate(_TABLE)


_ASCII_DROPPED = frozenset(c for c in map(chr, range(128)) if not _TABLE[ord(c)])


def fold_offsets(text: str) -> tuple[list[int], list[int]]:
    """For each character of `fold(text)`, the [start, end) of the original character(s)."""
    if text.isascii():  # ASCII folds one to one, except the dropped apostrophes
        starts = [i for i, ch in enumerate(text) if ch not in _ASCII_DROPPED]
        return starts, [i + 1 for i in starts]
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        out = _TABLE[ord(ch)]
        if out:
            n = len(out)
            starts.extend([i] * n)
            ends.extend([i + 1] * n)
        elif ends and unicodedata.category(ch) in _MARK_CATEGORIES:
            # A dropped accent or variation selector belongs to the character before it.
            ends[-1] = i + 1
    return starts, ends


# Leetspeak: a word is decoded only when the result is a word the rules know (see _rewrite),
# so "10mg" or "5am" stay as they are.
_LEET: dict[str, str] = {
    "0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "!": "i",
}  # fmt: skip
_LEET_CHARS = frozenset(_LEET)
_WORD_CHAR = r"(?:[^\W_]|[$@])"
# A unit is a letter-spaced word ("s u i c i d e", "k.i.l.l") or a word, where leet symbols
# count as letters and "!" may sit inside a word ("k!ll").
UNIT_RE = re.compile(
    r"(?<![^\W_])(?:[^\W\d_][ .\-*_]){1,}[^\W\d_](?![^\W_])"
    rf"|{_WORD_CHAR}+(?:!+{_WORD_CHAR}+)*"
)
_SPACED_SEPARATORS = re.compile(r"[ .\-*_]")
_RUN3 = re.compile(r"([^\W\d_])\1{2,}")
_HAS_ASCII_LETTER = re.compile(r"[a-z]")
WORD_RE = re.compile(r"[^\W_]+")

_MAX_VARIANTS = 16
_MAX_UNIT = 120  # characters: a longer run-together or letter-spaced unit is left as it is
_MAX_CACHE = 200_000


@dataclass(frozen=True)
class Lexicon:
    """What one language's normalizer knows."""

    vocab: frozenset[str]  # every word the rules use: never rewritten
    allow: frozenset[str]  # ordinary words: never rewritten, never fuzzy-matched
    misspellings: Mapping[str, str]  # wrong form -> right form (may be several words)
    fuzzy_keywords: tuple[str, ...]  # the only targets of fuzzy matching
    compound_heads: frozenset[str]  # a run-together word is split only if it holds one
    fillers: frozenset[str] = frozenset()  # dropped from the text ("i *just* want to die")
    fuzzy_min_length: int = 5
    fuzzy_max_distance: int = 1


@dataclass
class Canonical:
    """A message in canonical form, with the map back to the original."""

    original: str
    base: str  # fold(original)
    text: str  # base with words rewritten
    tokens: frozenset[str]
    # Rewritten units: (canon_start, canon_end, base_start, base_end), in order.
    segments: list[tuple[int, int, int, int]] = field(default_factory=list)
    _offsets: tuple[list[int], list[int]] | None = None
    _seg_index: tuple[list[int], list[int]] | None = None

    def _to_base(self, pos: int, is_end: bool) -> int:
        # Binary search over the rewritten units (in order, not overlapping): a message with
        # thousands of matches and rewrites maps each span in log time.
        if self._seg_index is None:
            shifts, shift = [], 0
            for cs, ce, bs, be in self.segments:
                shifts.append(shift)  # the shift of everything before this unit
                shift += (ce - cs) - (be - bs)
            shifts.append(shift)
            self._seg_index = ([seg[0] for seg in self.segments], shifts)
        starts, shifts = self._seg_index
        # The last unit that starts before pos (or at pos, for an end).
        i = (bisect_left(starts, pos) if is_end else bisect_right(starts, pos)) - 1
        if i >= 0:
            cs, ce, bs, be = self.segments[i]
            if is_end and pos <= ce:
                return be
            if not is_end and pos < ce:
                return bs
        return pos - shifts[i + 1]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of `text` to the original message."""
        if self._offsets is None:
            self._offsets = fold_offsets(self.original)
        starts, ends = self._offsets
        if not starts:
            return 0, 0
        bs = min(self._to_base(start, False), len(starts) - 1)
        be = min(max(self._to_base(end, True), bs + 1), len(ends))
        return starts[bs], ends[be - 1]


class Normalizer:
    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._identity: set[str] = (set(lexicon.vocab) | set(lexicon.allow)) - lexicon.fillers
        self._fillers = {word: "" for word in lexicon.fillers}
        self._rewrites: dict[str, str] = dict(self._fillers)
        by_first: dict[str, list[str]] = {}
        for word in lexicon.fuzzy_keywords:
            by_first.setdefault(word[0], []).append(word)
        self._fuzzy_by_first = by_first

    def protect(self, words: Iterable[str]) -> None:
        """Never rewrite these words (another language's rule words: "suicidal" is not a
        misspelling of Spanish "suicida", and English negation must keep applying to it)."""
        words = set(words) - self.lexicon.fillers
        self._identity.update(words)
        for word in words:
            self._rewrites.pop(word, None)

    # -- per message -------------------------------------------------------------------------

    def canonicalize(self, text: str, base: str | None = None) -> Canonical:
        if base is None:
            base = fold(text)
        units = set(UNIT_RE.findall(base))
        todo = units - self._identity
        changed: dict[str, str] = {}
        for unit in todo:
            new = self._rewrites.get(unit)
            if new is None:
                new = self._rewrite_unit(unit)
                self._remember(unit, new)
            if new != unit:
                changed[unit] = new
        if not changed:
            if any(_SPACED_SEPARATORS.search(u) for u in units):  # "a b c" kept as it was
                units = set(WORD_RE.findall(base))
            return Canonical(text, base, base, frozenset(units))
        pieces: list[str] = []
        segments: list[tuple[int, int, int, int]] = []
        pos = cpos = 0
        for m in UNIT_RE.finditer(base):
            new = changed.get(m.group())
            if new is None:
                continue
            s, e = m.span()
            pieces.append(base[pos:s])
            cpos += s - pos
            segments.append((cpos, cpos + len(new), s, e))
            pieces.append(new)
            cpos += len(new)
            pos = e
        pieces.append(base[pos:])
        canon = "".join(pieces)
        return Canonical(text, base, canon, frozenset(WORD_RE.findall(canon)), segments)

    def _remember(self, unit: str, new: str) -> None:
        if len(self._rewrites) > _MAX_CACHE:  # bound memory in a long-running process
            self._rewrites = dict(self._fillers)
        if new == unit and len(self._identity) < _MAX_CACHE:
            self._identity.add(unit)
        else:
            self._rewrites[unit] = new

    # -- per word (cached) ---------------------------------------------------------------------

    def _rewrite_unit(self, unit: str) -> str:
        if len(unit) > _MAX_UNIT:  # no rule word is this long; splitting it would cost n^2
            return unit
        if _SPACED_SEPARATORS.search(unit):  # letter-spaced: join only when it means something
            joined = _SPACED_SEPARATORS.sub("", unit)
            new = self.rewrite_word(joined)
            if new in self.lexicon.vocab or new != joined:
                return new
            return unit
        return self.rewrite_word(unit)

    def rewrite_word(self, word: str) -> str:
        """Canonical form of one folded word (see module docstring)."""
        new = self._rewrite_word(word)
        return "" if new in self.lexicon.fillers else new

    def _rewrite_word(self, word: str) -> str:
        lex = self.lexicon
        if word in lex.misspellings:  # the explicit table wins ("0dd" is od'd, not odd)
            return lex.misspellings[word]
        if word in lex.vocab or word in lex.allow:
            return word
        candidates = [word]
        if _LEET_CHARS.intersection(word) and _HAS_ASCII_LETTER.search(word):
            candidates.extend(_leet_variants(word))
        stretched = [c for c in candidates if _RUN3.search(c)]
        for c in stretched:
            candidates.extend(_unstretch_variants(c))
        for c in candidates:
            if c in lex.vocab:
                return c
        for c in candidates:
            if c in lex.misspellings:
                return lex.misspellings[c]
        for c in candidates:
            if c in lex.allow:
                return c
        for c in candidates:
            if c.isalpha():
                hit = self._fuzzy(c)
                if hit:
                    return hit
        for c in candidates:
            parts = self._split(c)
            if parts:
                return parts
        if stretched:
            return candidates[-1]  # every stretch collapsed to one letter: "soooo" -> "so"
        return word

    def _fuzzy(self, word: str) -> str | None:
        lex = self.lexicon
        if len(word) < lex.fuzzy_min_length or word in lex.allow:
            return None
        # Same first letter: typos rarely change it, and it keeps "skill" away from "kill".
        choices = self._fuzzy_by_first.get(word[0])
        if not choices:
            return None
        hit = process.extractOne(
            word, choices, scorer=OSA.distance, score_cutoff=lex.fuzzy_max_distance
        )
        return hit[0] if hit else None

    def _split(self, word: str) -> str | None:
        """'killmyself' -> 'kill myself' when every part is a rule word and one is a risk head."""
        if len(word) < 6 or not word.isalpha():
            return None
        parts = _split_into(word, self.lexicon.vocab, 4)
        if parts and len(parts) > 1 and self.lexicon.compound_heads.intersection(parts):
            return " ".join(parts)
        return None


def _split_into(word: str, vocab: frozenset[str], max_parts: int) -> list[str] | None:
    if word in vocab:
        return [word]
    if max_parts == 1:
        return None
    for i in range(len(word) - 1, 0, -1):  # longest first part first
        head = word[:i]
        if head in vocab and (len(head) > 1 or head in ("i", "a", "y", "o")):
            rest = _split_into(word[i:], vocab, max_parts - 1)
            if rest:
                return [head, *rest]
    return None


def _leet_variants(word: str) -> list[str]:
    options = [_LEET.get(ch, ch) for ch in word]
    return ["".join(p) for p in itertools.islice(itertools.product(*options), _MAX_VARIANTS)]


def _unstretch_variants(word: str) -> list[str]:
    """Each run of 3+ equal letters as 2, then as 1 ('killll' -> 'kill', 'kil')."""
    pieces = _RUN3.split(word)  # [text, letter, text, letter, ..., text]
    letters = pieces[1::2][:4]
    out: list[str] = []
    for widths in itertools.product((2, 1), repeat=len(letters)):
        buf = [pieces[0]]
        for k, letter in enumerate(pieces[1::2]):
            width = widths[k] if k < len(widths) else 1
            buf.append(letter * width)
            buf.append(pieces[2 * k + 2])
        out.append("".join(buf))
    return out


def words_of(texts: Iterable[str]) -> set[str]:
    """Folded words of some texts (for building vocabularies)."""
    out: set[str] = set()
    for t in texts:
        out.update(WORD_RE.findall(fold(t)))
    return out
