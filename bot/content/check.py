"""The content check (`python -m bot.content`): reading grade and word rules, for CI.

Loading already refuses broken structure. This check adds the style rules, which should
block a release but must never stop a running bot: a grade above its limit, a
stigmatizing word, a lock-screen word in an everyday text, a crisis paragraph with too
many or too long sentences. Out-of-date crisis numbers are warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TextIO

from bot.content.loader import (
    RESOURCES_FILE,
    Content,
    ContentError,
    GradedText,
    load_content,
)
from bot.content.markup import word_pattern
from bot.readability import clean, sentences_of, text_stats, words_of

# SPEC §5.3: crisis messages are at most 3 short sentences, action first.
CRISIS_MAX_SENTENCES = 3
CRISIS_MAX_SENTENCE_WORDS = 15  # our reading of "short"
# SPEC §1.2: a card is at most 60 words, the closing line included; the rest is one tap away.
CRISIS_CARD_MAX_WORDS = 60
# A number whose source was last checked more than 6 months ago gets a warning.
VERIFY_EVERY_DAYS = 183
# Flesch–Kincaid is a formula over sentences: on a one- or two-word label it measures
# only syllables ("Sessions" scores 8.4, "Settings" too). Shorter texts are not graded
# (shown as "-"); the word rules still apply to them.
MIN_GRADED_WORDS = 3


@dataclass(frozen=True)
class GradeResult:
    text: GradedText
    grade: float  # rounded to one decimal, as printed and as compared
    words: int

    @property
    def graded(self) -> bool:
        return self.words >= MIN_GRADED_WORDS

    @property
    def ok(self) -> bool:
        return not self.graded or self.grade <= self.text.limit


@dataclass(frozen=True)
class Failure:
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass(frozen=True)
class ContentReport:
    results: list[GradeResult]
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _word_rules(content: Content) -> dict[str, tuple[re.Pattern[str] | None, ...]]:
    return {
        code: (
            word_pattern(pack.style.stigmatizing_words),
            word_pattern(pack.style.discreet_words),
        )
        for code, pack in content.packs.items()
    }


def check_content(content: Content, today: date | None = None) -> ContentReport:
    """Grade every client-facing text and apply the word and crisis-sentence rules."""
    results: list[GradeResult] = []
    failures: list[Failure] = []
    rules = _word_rules(content)
    for item in content.graded_texts():
        stats = text_stats(item.text, item.lang)
        result = GradeResult(item, round(stats.grade, 1), stats.words)
        results.append(result)
        if not result.ok:
            kind = "crisis text" if item.crisis else "client text"
            failures.append(
                Failure(
                    item.where,
                    f"grade {result.grade:.1f} is above the {kind} limit {item.limit:g}; "
                    "use shorter sentences and shorter words",
                )
            )
        stigmatizing, discreet = rules[item.lang]
        readable = clean(item.text)
        if stigmatizing and (found := stigmatizing.search(readable)):
            failures.append(
                Failure(
                    item.where,
                    f"uses the stigmatizing word {found.group(0)!r}; describe the "
                    "behaviour or the person instead (list: style.yaml)",
                )
            )
        if item.discreet and discreet and (found := discreet.search(readable)):
            failures.append(
                Failure(
                    item.where,
                    f"names {found.group(0)!r}, which must not show on a locked phone "
                    "screen (list: style.yaml)",
                )
            )
    failures += _crisis_sentence_failures(content)
    return ContentReport(results, failures, _stale_numbers(content, today or date.today()))


def _crisis_sentence_failures(content: Content) -> list[Failure]:
    failures = []
    for code, pack in content.packs.items():
        for region in content.regions:
            parts = pack.crisis_card_parts(region)
            card_words = len(words_of(clean(pack.crisis_card(region))))
            if card_words > CRISIS_CARD_MAX_WORDS:
                failures.append(
                    Failure(
                        f"{content.root.name}/{code}/crisis.yaml: regions.{region}.card",
                        f"has {card_words} words with the closing line; a help card has at "
                        f"most {CRISIS_CARD_MAX_WORDS} (move the rest to more_help)",
                    )
                )
            places = [f"regions.{region}.card[{i}]" for i in range(len(parts) - 1)]
            places.append("not_a_crisis_service")  # the shared closing paragraph
            more = pack.crisis_more_help_parts(region)
            places += [f"regions.{region}.more_help[{i}]" for i in range(len(more))]
            for part, place in zip(parts + more, places, strict=True):
                where = f"{content.root.name}/{code}/crisis.yaml: {place}"
                sentences = sentences_of(clean(part))
                if len(sentences) > CRISIS_MAX_SENTENCES:
                    failures.append(
                        Failure(
                            where,
                            f"has {len(sentences)} sentences; a crisis paragraph has at most "
                            f"{CRISIS_MAX_SENTENCES}",
                        )
                    )
                for sentence in sentences:
                    if len(words_of(sentence)) > CRISIS_MAX_SENTENCE_WORDS:
                        failures.append(
                            Failure(
                                where,
                                f"sentence {sentence!r} has {len(words_of(sentence))} words; "
                                f"crisis sentences have at most {CRISIS_MAX_SENTENCE_WORDS}",
                            )
                        )
    # The shared paragraph is checked once per region; report it once.
    return list(dict.fromkeys(failures))


def _stale_numbers(content: Content, today: date) -> list[str]:
    warnings = []
    for region, resource_id, verified in content.verification_dates():
        age = (today - verified).days
        where = f"{content.root.name}/{RESOURCES_FILE}: regions.{region}.{resource_id}"
        if age > VERIFY_EVERY_DAYS:
            warnings.append(
                f"{where}: source last checked {verified.isoformat()}, {age} days ago "
                f"(more than 6 months); compare the number with its source again"
            )
        elif age < 0:
            warnings.append(f"{where}: source_checked {verified.isoformat()} is in the future")
    return warnings


def content_check_main(root: Path, out: TextIO, today: date | None = None) -> int:
    """Print every client-facing text's grade and limit, then failures; 1 if any fail."""
    try:
        content = load_content(root)
    except ContentError as exc:
        print(f"Content check: the content cannot be loaded.\n{exc}", file=out)
        return 1
    report = check_content(content, today)
    print(
        "Content check: Flesch–Kincaid grade of every client-facing text "
        "(limit 8; crisis texts 6).",
        file=out,
    )
    print(f"{'grade':>5}  {'limit':>5}  {'words':>5}  where", file=out)
    for r in report.results:
        mark = "" if r.ok else "  <- above limit"
        grade = f"{r.grade:5.1f}" if r.graded else f"{'-':>5}"
        print(f"{grade}  {r.text.limit:5g}  {r.words:5d}  {r.text.where}{mark}", file=out)
    for warning in report.warnings:
        print(f"warning: {warning}", file=out)
    if report.failures:
        print(f"\n{len(report.failures)} failure(s):", file=out)
        for failure in report.failures:
            print(f"FAIL {failure}", file=out)
        return 1
    print(f"\nAll {len(report.results)} texts pass.", file=out)
    return 0
