"""The schema of `content/safety/<lang>.yaml` and its loader.

A broken file is refused with an error naming the file, the line and the place in it, so a
clinician editing a phrase sees exactly what to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from bot.safety.models import RiskCategory

Policy = Literal["keep", "downgrade", "drop"]
RuleUrgency = Literal["urgent", "same_day"]
RULE_ID = r"^[a-z][a-z0-9_]*(?:[.-][a-z0-9_]+)*$"


def _scalar_text(value: Any) -> Any:
    # YAML reads 12 as a number and no/on/off/yes as true/false: accept numbers as words,
    # but refuse booleans, whose original spelling is lost.
    if isinstance(value, bool):
        raise ValueError("YAML read this as true/false; put the word in quotes, e.g. 'no'")
    if isinstance(value, int | float):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_scalar_text)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleSpec(_Model):
    id: str = Field(pattern=RULE_ID)
    urgency: RuleUrgency
    phrases: list[Text] = []
    patterns: list[Text] = []
    emoji: list[Text] = []
    # The rule fires only when one of these words is also in the message (e.g. {self}).
    with_words: list[Text] = []
    negation: Policy | None = None  # overrides the category's
    history: Policy | None = None
    resolved: Policy | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> RuleSpec:
        if not (self.phrases or self.patterns or self.emoji):
            raise ValueError("a rule needs phrases, patterns or emoji")
        return self


class CategorySpec(_Model):
    # What a negation just before a match does ("I'm not going to ..."), and what a mention
    # of the past does ("I used to ...", "years ago"): keep the urgency, downgrade an urgent
    # match to same_day, or drop the match.
    negation: Policy = "keep"
    history: Policy = "keep"
    # What a resolution later in the message does ("... but it passed", "I said no").
    resolved: Policy = "keep"
    rules: list[RuleSpec] = Field(min_length=1)


class ExclusionSpec(_Model):
    id: str = Field(pattern=RULE_ID)
    phrases: list[Text] = []
    patterns: list[Text] = []
    note: str | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> ExclusionSpec:
        if not (self.phrases or self.patterns):
            raise ValueError("an exclusion needs phrases or patterns")
        return self


class NegationSpec(_Model):
    cues: list[Text] = Field(min_length=1)  # single words: not, never, dont ...
    bridge_words: list[Text] = []  # may stand between a cue and the match: going, to, ever ...
    max_bridge: int = Field(4, ge=0, le=8)
    not_negation: list[Text] = []  # phrases that look like negation but are not: not gonna lie


class HistorySpec(_Model):
    before: list[Text] = []  # phrases before the match in its clause: used to
    around: list[Text] = []  # phrases in the match's clause or the next one: years ago
    recent: list[Text] = []  # in the same place, these cancel the history: again, last night
    recent_anywhere: list[Text] = []  # anywhere in the message: again


class ContextSpec(_Model):
    clause_breaks: list[Text] = []  # words that start a new clause, besides punctuation
    negation: NegationSpec
    history: HistorySpec
    resolution: list[Text] = []  # phrases after a match that say it is over: "but it passed"


class FuzzySpec(_Model):
    keywords: list[Text] = []  # the only words fuzzy matching may produce
    never_match: list[Text] = []  # ordinary words that must never be corrected
    misspellings: dict[str, list[Text]] = {}  # right form -> wrong forms
    compound_heads: list[Text] = []  # "killmyself" is split only if a part is one of these
    min_length: int = Field(5, ge=4)
    max_distance: int = Field(1, ge=0, le=2)


class RulesFile(_Model):
    lang: str = Field(pattern=r"^[a-z]{2,3}$")
    # Words that may sit between the words of any phrase: "i *just* want to die".
    fillers: list[Text] = []
    lists: dict[str, list[Text]] = {}
    categories: dict[RiskCategory, CategorySpec]
    exclusions: list[ExclusionSpec] = []
    context: ContextSpec
    fuzzy: FuzzySpec = FuzzySpec()


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file and the place."""


def describe(source: Path, loc: tuple[Any, ...], line: int | None, message: str) -> str:
    where = " → ".join(str(p) for p in loc) or "top level"
    at = f", line {line}" if line else ""
    return f"{source}{at} ({where}): {message}"


def line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at `loc`, or of its closest existing parent."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = None
            for key, value in node.value:
                if key.value == str(part):
                    found = value
                    line = key.start_mark.line + 1
                    break
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
            if node is not None:
                line = node.start_mark.line + 1
        else:
            node = None
        if node is None:
            break
    return line


def load_rules_file(path: Path) -> tuple[RulesFile, str]:
    """Parse and validate one rules file; returns the model and the raw text."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read: {exc}") from None
    try:
        data = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RulesError(f"{path}{line}: not valid YAML: {problem}") from None
    try:
        spec = RulesFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if p != "[key]")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise RulesError(describe(path, loc, line_of(text, loc), err["msg"] + more)) from None
    return spec, text
