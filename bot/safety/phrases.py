"""The phrase mini-language of the rules files, compiled to regular expressions.

    kill myself                words in order; punctuation/spaces between them are free
    [want|wanna|going] to die  one of the options; an empty option makes it optional: [so|]
    {pills} would kill me      any entry of the named list
    want ... die               up to three other words in between
    overdos*                   any ending

Each phrase also yields its *anchors*: a set of words one of which every match contains.
A rule is only tried on a message that has one of its anchors, which keeps screening cheap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.safety.normalize import fold

# Between two words: any non-word characters ("kill...myself", "kill-myself"), an ellipsis
# ("i just... want to die"), but not the end of a sentence ("the end. It was fun").
SEP = r"(?:\.{2,}|…|(?![.!?]\s|\n)[\W_])+"
START = r"(?<![^\W_])"
END = r"(?![^\W_])"

_TOKEN_RE = re.compile(r"\.\.\.|\[|\]|\||\{[^{}\s]*\}|[^\s\[\]|{}]+")
_LIST_REF_RE = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_SUBWORD_RE = re.compile(r"[^\W_]+\*?")
_MAX_DEPTH = 4
# A pattern that starts with literal words (one word or a group of alternatives) followed by
# a non-word character: "took\W+...", "(?:took|popped|had a)\W+...".
_WORD_ALTS = r"[a-z]+(?: [a-z]+)*(?:\|[a-z]+(?: [a-z]+)*)*"
_LEADING_WORDS_RE = re.compile(
    rf"^(?:\(\?:({_WORD_ALTS})\)|([a-z]+(?: [a-z]+)*))(?=\\W|\\s| |\\b|\(\?[=!]|$)"
)


class PhraseError(ValueError):
    """A phrase or pattern that cannot be compiled; the message says why."""


@dataclass(frozen=True)
class Compiled:
    regex: str  # without word boundaries
    anchors: frozenset[str] | None  # None: no word is guaranteed in a match
    words: frozenset[str]  # every literal word (the language's vocabulary)
    optional: bool = False
    gap: bool = False
    # Word sets that every match draws a word from, one set per required part: a message
    # missing any of them cannot match, so the regex is not even tried.
    required: tuple[frozenset[str], ...] = ()


def bounded(regex: str) -> str:
    """Whole-word version of a compiled phrase or a pattern."""
    return f"{START}(?:{regex}){END}"


class PhraseCompiler:
    """Compiles phrases and patterns of one rules file.

    Filler words are dropped from phrases, as the normalizer drops them from messages, so
    "i want to die" matches "i just really want to die".
    """

    def __init__(self, lists: Mapping[str, list[str]], fillers: frozenset[str] = frozenset()):
        self.lists = lists
        self.fillers = fillers
        self.sep = SEP
        self.gap = f"(?:{SEP}[^\\W_]+){{0,3}}"

    def phrase(self, phrase: str) -> Compiled:
        tokens = _TOKEN_RE.findall(fold(phrase))
        if not tokens:
            raise PhraseError("empty phrase")
        seq, i = self._sequence(tokens, 0, 0)
        if i != len(tokens):
            raise PhraseError(f"unexpected {tokens[i]!r} (a ']' or '|' outside [...])")
        if seq.optional:
            raise PhraseError("every part is optional, so it would match anything")
        return seq

    def pattern(self, pattern: str) -> Compiled:
        """A raw regex over canonical text; `{list}` expands to the list's entries."""
        if any(ch in pattern for ch in "'’"):
            raise PhraseError("patterns see text without apostrophes: write dont, not don't")
        if re.search(r"(?<!\\)[A-Z]", pattern):
            raise PhraseError("patterns see lowercase text: write letters in lowercase")
        if "(?P<" in pattern:
            raise PhraseError("named groups are not allowed in patterns")
        words: set[str] = set()

        def expand(m: re.Match[str]) -> str:
            choice = self._list(m.group(1), 1)
            words.update(choice.words)
            return f"(?:{choice.regex})"

        regex = _LIST_REF_RE.sub(expand, pattern)
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise PhraseError(f"invalid regular expression: {exc}") from None
        if compiled.fullmatch(""):
            raise PhraseError("the pattern matches empty text")
        words.update(re.findall(r"[a-z]{2,}", re.sub(r"\\.", " ", pattern)))
        return Compiled(regex=regex, anchors=self.pattern_anchors(regex), words=frozenset(words))

    def _sequence(self, tokens: list[str], i: int, depth: int) -> tuple[Compiled, int]:
        elements: list[Compiled] = []
        while i < len(tokens) and tokens[i] not in ("]", "|"):
            tok = tokens[i]
            if tok == "[":
                element, i = self._choice_group(tokens, i + 1, depth)
            elif tok == "...":
                element, i = Compiled(self.gap, None, frozenset(), gap=True), i + 1
            elif tok.startswith("{"):
                element, i = self._list(tok[1:-1], depth + 1), i + 1
            else:
                element, i = self._word(tok), i + 1
            elements.append(element)
        return self._join(elements), i

    def _choice_group(self, tokens: list[str], i: int, depth: int) -> tuple[Compiled, int]:
        options: list[Compiled] = []
        optional = explicit_empty = False
        fillers: list[str] = []
        while True:
            if i >= len(tokens):
                raise PhraseError("'[' without ']'")
            begin = i
            seq, i = self._sequence(tokens, i, depth)
            if i >= len(tokens):
                raise PhraseError("'[' without ']'")
            if seq.optional:
                optional = True
                if i == begin:
                    explicit_empty = True
                else:
                    fillers.append(" ".join(tokens[begin:i]))
            if seq.regex:
                options.append(seq)
            if tokens[i] == "]":
                break
            i += 1  # '|'
        if fillers and not explicit_empty:
            # Fillers are ignored, so [really|so] would quietly become optional.
            raise PhraseError(
                f"{', '.join(map(repr, fillers))} in [...] is a filler word, which is ignored;"
                " remove it, or add an empty option if the choice is meant to be optional"
            )
        if not options:  # e.g. [just|], whose only word is a filler
            return Compiled("", None, frozenset(), optional=True), i + 1
        return _choice(options, optional), i + 1

    def _list(self, name: str, depth: int) -> Compiled:
        if name not in self.lists:
            raise PhraseError(f"unknown list {{{name}}}")
        if depth > _MAX_DEPTH:
            raise PhraseError(f"lists nest too deeply (does {{{name}}} refer to itself?)")
        options = []
        for entry in self.lists[name]:
            tokens = _TOKEN_RE.findall(fold(str(entry)))
            seq, i = self._sequence(tokens, 0, depth)
            if i != len(tokens) or not seq.regex or seq.optional:
                raise PhraseError(f"list {{{name}}} has an entry that is not a phrase: {entry!r}")
            options.append(seq)
        if not options:
            raise PhraseError(f"list {{{name}}} is empty")
        return _choice(options, False)

    def _word(self, token: str) -> Compiled:
        if token in self.fillers:
            return Compiled("", None, frozenset(), optional=True)
        subwords = _SUBWORD_RE.findall(token)
        if not subwords:  # punctuation or an emoji: literal
            return Compiled(re.escape(token), None, frozenset())
        parts = []
        for sub in subwords:
            if sub.endswith("*"):
                parts.append(Compiled(re.escape(sub[:-1]) + r"[^\W_]*", None, frozenset()))
            else:
                parts.append(Compiled(re.escape(sub), frozenset({sub}), frozenset({sub})))
        return self._join(parts)

    def pattern_anchors(self, regex: str) -> frozenset[str] | None:
        """Words one of which every match of a pattern contains, when it visibly starts with
        literal words ("(?:took|popped)\\W+..."); None when that cannot be seen."""
        m = _LEADING_WORDS_RE.match(regex)
        if not m or _has_top_level_bar(regex):
            return None
        words = {alt.split()[0] for alt in (m.group(1) or m.group(2)).split("|")}
        if words & self.fillers:
            return None
        return frozenset(words)

    def _join(self, elements: list[Compiled]) -> Compiled:
        elements = [e for e in elements if e.regex or e.gap]  # dropped fillers
        if len(elements) == 1:
            return elements[0]
        required = [i for i, e in enumerate(elements) if not e.optional and not e.gap]
        if not required:
            return Compiled("", None, frozenset(), optional=True)
        for i, e in enumerate(elements):
            if e.gap and (i < required[0] or i > required[-1]):
                raise PhraseError("'...' needs words on both sides")
        first = required[0]
        sep = self.sep
        out: list[str] = []
        for i, e in enumerate(elements):
            if i < first:  # optional words before the first required one carry their separator
                out.append(f"(?:{e.regex}{sep})?")
            elif i == first:
                out.append(f"(?:{e.regex})")
            elif e.gap:
                out.append(e.regex)
            else:
                out.append(f"(?:{sep}{e.regex})" + ("?" if e.optional else ""))
        candidates = [elements[i].anchors for i in required if elements[i].anchors]
        anchors = max(candidates, key=_anchor_score) if candidates else None
        words = frozenset().union(*(e.words for e in elements))
        needs = [r for i in required for r in (elements[i].required or _own(elements[i]))]
        return Compiled("".join(out), anchors, words, required=tuple(dict.fromkeys(needs)))


def _own(element: Compiled) -> tuple[frozenset[str], ...]:
    return (element.anchors,) if element.anchors else ()


def _has_top_level_bar(regex: str) -> bool:
    depth, i, in_class = 0, 0, False
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
        i += 1
    return False


def _choice(options: list[Compiled], optional: bool) -> Compiled:
    # Longest alternatives first, so "sleeping pills" is preferred to "sleeping".
    ordered = sorted(options, key=lambda c: -len(c.regex))
    anchors: frozenset[str] | None = frozenset()
    for opt in options:
        anchors = None if opt.anchors is None or anchors is None else anchors | opt.anchors
    if optional:
        anchors = None
    words = frozenset().union(*(o.words for o in options))
    regex = "(?:" + "|".join(o.regex for o in ordered) + ")"
    return Compiled(regex, anchors, words, optional=optional)


# Words too common to be good anchors (they would make a phrase be tried on most messages).
_COMMON = frozenset(
    {
        "i",
        "im",
        "me",
        "my",
        "myself",
        "you",
        "your",
        "he",
        "she",
        "they",
        "them",
        "him",
        "her",
        "it",
        "its",
        "we",
        "our",
        "us",
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "so",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "about",
        "as",
        "by",
        "up",
        "out",
        "off",
        "into",
        "over",
        "be",
        "am",
        "is",
        "are",
        "was",
        "were",
        "been",
        "being",
        "do",
        "does",
        "did",
        "dont",
        "didnt",
        "doesnt",
        "not",
        "no",
        "never",
        "have",
        "has",
        "had",
        "ive",
        "cant",
        "cannot",
        "wont",
        "will",
        "ill",
        "would",
        "could",
        "should",
        "can",
        "just",
        "really",
        "want",
        "wanna",
        "gonna",
        "going",
        "get",
        "got",
        "go",
        "like",
        "feel",
        "think",
        "know",
        "need",
        "this",
        "that",
        "these",
        "those",
        "what",
        "how",
        "when",
        "if",
        "all",
        "some",
        "any",
        "more",
        "very",
        "too",
        "now",
        "then",
        "there",
        "here",
        "que",
        "de",
        "la",
        "el",
        "en",
        "y",
        "lo",
        "mi",
        "se",
        "es",
        "por",
        "con",
        "una",
        "un",
        "los",
        "las",
        "ya",
        "muy",
        "mas",
        "pero",
        "quiero",
        "voy",
        "estoy",
        "te",
        "le",
        "su",
        "del",
        "al",
        "como",
        "para",
        "yo",
        "tengo",
        "hoy",
        "esta",
        "este",
        "eso",
    }
)


def _anchor_score(anchors: frozenset[str]) -> tuple[int, int]:
    # Prefer few, rare words: fewer phrases are tried on an ordinary message.
    common = sum(1 for w in anchors if w in _COMMON or len(w) < 3)
    return (-common, -len(anchors))
