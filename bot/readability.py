"""Flesch–Kincaid grade level for chat text (pure; no Telegram imports).

    grade = 0.39 * (words / sentences) + 11.8 * (syllables / words) - 15.59

Choices, so that a grade here means the same as the SPEC's §11 table (textstat 0.7.3):

* Syllables come from pyphen's hyphenation dictionary: a word has (number of hyphenation
  points + 1) syllables, as textstat 0.7.3 counted them. "en" uses the en_US dictionary,
  as textstat did; other languages use pyphen's own fallback ("es-MX" -> "es").
  Hyphenation points undercount a little (pyphen never splits off a single end letter),
  so grades run slightly lower than a dictionary syllable count would give.
* Before scoring we drop what a reader does not read as words: HTML tags (their inner
  text stays), {placeholders} and emoji. HTML entities become their characters.
* Words are whitespace tokens that still hold a letter or digit once punctuation is
  stripped ("check-in" is one word, "—" is none, "911" is one word of one syllable).
* Sentences are counted exactly as textstat 0.7.3 counts them (`sentence_count`): the
  text is cut into pieces that start at a word boundary and run up to and including the
  next . ! or ? (`\\b[^.!?]+[.!?]*`), and a piece of two words or fewer is not counted
  ("Safety first." is no sentence, so it cannot pull a long sentence's grade down). Line
  breaks end nothing; every dot does, even inside a token ("988lifeline.org"). A text
  always has at least one sentence. We only count this way; textstat itself is not a
  dependency (its syllables come from the same pyphen dictionary we use).

The formula was made for English. For other languages it is a rough guide only.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pyphen

_TAG = re.compile(r"<[^>]*>")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# Pictographs, dingbats, symbols, flags, keycaps, variation selectors and joiners.
_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"
    "\U00002300-\U000023ff"
    "\U00002600-\U000027bf"
    "\U00002b00-\U00002bff"
    "\U0000fe00-\U0000fe0f"
    "\U0000200d"
    "\U000020e3"
    "]"
)
# textstat 0.7.3's sentence pieces: from a word boundary up to the next . ! ? run.
_SENTENCE_PIECE = re.compile(r"\b[^.!?]+[.!?]*", re.UNICODE)
# textstat ignores pieces of this many words or fewer when it counts sentences.
_SHORT_PIECE_WORDS = 2


@dataclass(frozen=True)
class TextStats:
    words: int
    sentences: int
    syllables: int

    @property
    def grade(self) -> float:
        if self.words == 0:
            return 0.0
        return 0.39 * (self.words / self.sentences) + 11.8 * (self.syllables / self.words) - 15.59


def clean(text: str) -> str:
    """The text a reader reads: no tags, placeholders or emoji; entities decoded."""
    text = _TAG.sub("", text)
    text = _PLACEHOLDER.sub("", text)
    text = html.unescape(text)
    return _EMOJI.sub("", text)


def _strip_punctuation(token: str) -> str:
    # Unicode punctuation and symbols (’ “ — • …), not just ASCII string.punctuation.
    return "".join(ch for ch in token if unicodedata.category(ch)[0] not in "PS")


def words_of(text: str) -> list[str]:
    """Words of already-cleaned text, lowercased and without punctuation."""
    out = []
    for token in text.split():
        word = _strip_punctuation(token).lower()
        if any(ch.isalnum() for ch in word):
            out.append(word)
    return out


def sentences_of(text: str) -> list[str]:
    """Sentence pieces of already-cleaned text, split as textstat 0.7.3 splits them
    (pieces that hold at least one word; short ones included)."""
    return [p.strip() for p in _SENTENCE_PIECE.findall(text) if words_of(p)]


def sentence_count(text: str) -> int:
    """Sentences of already-cleaned text as textstat 0.7.3 counts them (at least 1)."""
    counted = [p for p in sentences_of(text) if len(words_of(p)) > _SHORT_PIECE_WORDS]
    return max(1, len(counted))


@lru_cache(maxsize=16)
def _dictionary(lang: str) -> pyphen.Pyphen:
    base = lang.replace("-", "_")
    # textstat 0.7.3 scored English with en_US; pyphen's plain "en" is en_GB.
    if base.lower() in ("en", "en_us"):
        return pyphen.Pyphen(lang="en_US")
    found = pyphen.language_fallback(base)
    if found is None:
        raise ValueError(f"no hyphenation dictionary for language {lang!r}")
    return pyphen.Pyphen(lang=found)


def syllables(word: str, lang: str = "en") -> int:
    return len(_dictionary(lang).positions(word)) + 1


def text_stats(text: str, lang: str = "en") -> TextStats:
    cleaned = clean(text)
    words = words_of(cleaned)
    return TextStats(
        words=len(words),
        sentences=sentence_count(cleaned),
        syllables=sum(syllables(w, lang) for w in words),
    )


def fk_grade(text: str, lang: str = "en") -> float:
    """Flesch–Kincaid grade level of `text` (0.0 for a text with no words)."""
    return text_stats(text, lang).grade
