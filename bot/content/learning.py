"""Schemas of the lesson and practice content: content/<lang>/learn.yaml, the lessons in
content/<lang>/modules/NN_slug.yaml and the exercises in content/<lang>/exercises/slug.yaml.

Lesson texts are graded like every client text (grade 8 or lower) and may name a
substance or a diagnosis (they are read on request, never pushed to a locked screen).
Exercise texts are sent one by one on a timer, so they are lock-screen texts too
(`ClientText` carries the Discreet marker). A lesson card is at most 60 words (SPEC §1.2).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from bot.content.markup import check_plain
from bot.content.schema import (
    ButtonText,
    ChipText,
    ClientText,
    GradeLimit,
    Name,
    _allows,
    _Message,
    _no_numbers,
    _Strict,
    _text,
    client_text,
    staff_text,
)
from bot.readability import clean, words_of

CARD_MAX_WORDS = 60
TITLE_MAX = 36  # "16. " + a title still fits a button (40)
CARDS_MIN, CARDS_MAX = 4, 6
QUESTIONS_MIN, QUESTIONS_MAX = 1, 2
STEP_SECONDS_MIN, STEP_SECONDS_MAX = 3, 300


def _at_most_60_words(value: str) -> str:
    count = len(words_of(clean(value)))
    if count > CARD_MAX_WORDS:
        raise ValueError(
            f"has {count} words; a card has at most {CARD_MAX_WORDS} (split it in two)"
        )
    return value


# A lesson text: graded, no phone numbers, no placeholders; it may name a substance.
LessonText = Annotated[_Message, AfterValidator(_no_numbers), GradeLimit(8), _allows()]
CardText = Annotated[LessonText, AfterValidator(_at_most_60_words)]
LessonTitle = Annotated[
    str,
    StringConstraints(max_length=TITLE_MAX),
    AfterValidator(_text),
    AfterValidator(check_plain),
    GradeLimit(8),
    _allows(),
]
# An answer button in a lesson: plain, short, graded; it may name a substance (the same
# type as the check-in's answer chips).
AnswerText = ChipText
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,23}$")]


class CheckQuestion(_Strict):
    """A teach-back question: the right answer gets `right`, a wrong one the kind,
    corrective `wrong` (never "Wrong!") and the question again."""

    ask: LessonText
    options: list[AnswerText]
    answer: int  # index into options, from 0
    right: LessonText
    wrong: LessonText

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> CheckQuestion:
        if not 2 <= len(self.options) <= 4:
            raise ValueError(f"has {len(self.options)} options; give 2 to 4")
        if not 0 <= self.answer < len(self.options):
            raise ValueError(
                f"answer {self.answer} is not an option (options count from 0 to "
                f"{len(self.options) - 1})"
            )
        return self


class ModuleFile(_Strict):
    """One lesson (SPEC §1): 4-6 cards and 1-2 check questions."""

    number: int
    title: LessonTitle
    week: int  # the program week it opens in, counted from the client's start
    minutes: int
    substance_specific: bool = False  # hidden in a mental-health-only program
    practice: Slug | None = None  # an exercise offered at the end
    cards: list[CardText]
    questions: list[CheckQuestion]

    @model_validator(mode="after")
    def _shape(self) -> ModuleFile:
        if not CARDS_MIN <= len(self.cards) <= CARDS_MAX:
            raise ValueError(
                f"has {len(self.cards)} cards; a lesson has {CARDS_MIN} to {CARDS_MAX}"
            )
        if not QUESTIONS_MIN <= len(self.questions) <= QUESTIONS_MAX:
            raise ValueError(
                f"has {len(self.questions)} questions; a lesson has "
                f"{QUESTIONS_MIN} to {QUESTIONS_MAX}"
            )
        if not 1 <= self.week <= 52:
            raise ValueError(f"week {self.week} should be between 1 and 52")
        if not 1 <= self.minutes <= 15:
            raise ValueError(f"minutes {self.minutes} should be between 1 and 15")
        return self


Phase = Literal["in", "hold", "out"]


class ExerciseStep(_Strict):
    """Either a text shown for `seconds`, or a breathing pattern counted in one message
    that is edited at each phase (`breath`: [phase, seconds] pairs, `rounds` times)."""

    text: ClientText | None = None
    seconds: int | None = None
    breath: list[tuple[Phase, int]] | None = None
    rounds: int | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ExerciseStep:
        if (self.text is None) == (self.breath is None):
            raise ValueError("a step has either text (with seconds) or breath (with rounds)")
        if self.text is not None:
            if self.seconds is None or not STEP_SECONDS_MIN <= self.seconds <= STEP_SECONDS_MAX:
                raise ValueError(
                    f"a text step needs seconds between {STEP_SECONDS_MIN} and {STEP_SECONDS_MAX}"
                )
            if self.rounds is not None:
                raise ValueError("rounds belongs to a breath step")
        else:
            assert self.breath is not None
            if not self.breath or self.rounds is None or not 1 <= self.rounds <= 12:
                raise ValueError("a breath step needs phases and rounds between 1 and 12")
            if self.seconds is not None:
                raise ValueError("a breath step takes its time from its phases, not seconds")
            if any(not 2 <= count <= 10 for _, count in self.breath):
                raise ValueError("each breath phase lasts 2 to 10 seconds")
        return self

    @property
    def has_hold(self) -> bool:
        return any(phase == "hold" for phase, _ in self.breath or ())


class ExerciseVariant(_Strict):
    key: Slug
    label: ButtonText
    minutes: int
    # SPEC §2.1 rules 3-4: what a clinician's per-client settings filter out.
    holds: bool = False  # guides breath-holds
    long: bool = False  # long eyes-closed or body-focused practice
    strain: bool = False  # cold water / hard exercise (TIPP's T and I)
    steps: list[ExerciseStep]

    @model_validator(mode="after")
    def _holds_declared(self) -> ExerciseVariant:
        if not self.steps:
            raise ValueError("has no steps")
        held = any(step.has_hold for step in self.steps)
        if held and not self.holds:
            raise ValueError(
                "guides a breath-hold but does not say `holds: true`; clients who must not "
                "hold their breath would be offered it"
            )
        return self


class ExerciseFile(_Strict):
    """One practice (SPEC §2.2)."""

    slug: Slug
    order: int
    title: ButtonText
    about: ClientText
    rating: Literal["distress", "craving"]
    # Shown before the steps, every time, right after the client's own tap (so, like
    # lessons, they may name a condition: TIPP's medical cautions must).
    cautions: list[LessonText] = Field(default_factory=list)
    variants: list[ExerciseVariant]

    @model_validator(mode="after")
    def _variants(self) -> ExerciseFile:
        keys = [v.key for v in self.variants]
        if not keys:
            raise ValueError("has no variants")
        if len(set(keys)) != len(keys):
            raise ValueError("two variants have the same key")
        return self

    def variant(self, key: str) -> ExerciseVariant | None:
        return next((v for v in self.variants if v.key == key), None)


# --- learn.yaml ------------------------------------------------------------------------


class LearnTexts(_Strict):
    next_intro: client_text("title", "minutes")  # type: ignore[valid-type]
    assigned_intro: client_text("title", "minutes")  # type: ignore[valid-type]
    continue_intro: client_text("title")  # type: ignore[valid-type]
    all_open_done: ClientText
    all_done: ClientText
    start_button: ButtonText
    continue_button: ButtonText
    list_button: ButtonText
    list_header: ClientText
    list_line: client_text("number", "title", "state")  # type: ignore[valid-type]
    state_done: ButtonText
    state_in_progress: ButtonText
    state_new: ButtonText
    state_locked: client_text("week")  # type: ignore[valid-type]
    card_header: client_text("title", "step", "total")  # type: ignore[valid-type]
    next_button: ButtonText
    question_header: ClientText
    try_again: ClientText
    finished: client_text("title")  # type: ignore[valid-type]
    practice_offer: ClientText
    next_lesson_button: ButtonText
    locked: client_text("week")  # type: ignore[valid-type]
    not_on_list: ClientText
    nudge: ClientText
    nudge_button: ButtonText


NEEDS = ("craving", "anxious", "sleep", "angry", "low")


class Need(_Strict):
    label: ButtonText
    exercises: list[Slug]


class BreatheTexts(_Strict):
    menu_intro: ClientText
    needs: dict[str, Need]
    all_button: ButtonText
    need_intro: ClientText
    all_intro: ClientText
    choose_version: ClientText
    in_charge: ClientText
    before_craving: ClientText
    before_distress: ClientText
    after_craving: ClientText
    after_distress: ClientText
    skip_button: ButtonText
    step_header: client_text("title")  # type: ignore[valid-type]
    breath_in: ButtonText
    breath_hold: ButtonText
    breath_out: ButtonText
    breath_line: client_text("round", "rounds", "phase", "count")  # type: ignore[valid-type]
    next_button: ButtonText
    done_button: ButtonText
    stop_button: ButtonText
    stopped: ClientText
    away: ClientText
    thanks: ClientText
    went_down: ClientText
    urge_passed: ClientText
    again_button: ButtonText
    distress_stop: ClientText
    grounding: ClientText
    team_told: ClientText
    not_offered: ClientText
    ended: ClientText

    @model_validator(mode="after")
    def _every_need(self) -> BreatheTexts:
        if set(self.needs) != set(NEEDS):
            raise ValueError(f"needs should be exactly: {', '.join(NEEDS)}")
        return self


class ProgressTexts(_Strict):
    header: ClientText
    lessons: client_text("done", "total")  # type: ignore[valid-type]
    practice: client_text("count")  # type: ignore[valid-type]
    last_practice: client_text("title", "before", "after")  # type: ignore[valid-type]
    last_practice_no_rating: client_text("title")  # type: ignore[valid-type]


class LearnStaffTexts(_Strict):
    client_lessons: staff_text("done", "total", "week")  # type: ignore[valid-type]
    client_module_line: staff_text("number", "title", "state")  # type: ignore[valid-type]
    client_checks: staff_text("right", "asked")  # type: ignore[valid-type]
    state_done: Name
    state_in_progress: Name
    state_assigned: Name
    state_hidden: Name
    client_practice: staff_text("count")  # type: ignore[valid-type]
    client_practice_line: staff_text(  # type: ignore[valid-type]
        "when", "title", "version", "before", "after", "flag"
    )
    client_practice_none: staff_text()  # type: ignore[valid-type]
    client_settings: staff_text("holds", "inward")  # type: ignore[valid-type]
    flag_rose: Name
    stopped_early: Name
    on_word: Name
    off_word: Name
    digest_header: staff_text()  # type: ignore[valid-type]
    digest_line: staff_text("code", "items")  # type: ignore[valid-type]
    digest_lesson: staff_text("number", "right", "asked")  # type: ignore[valid-type]
    digest_practice: staff_text("title", "before", "after", "flag")  # type: ignore[valid-type]
    assign_usage: staff_text()  # type: ignore[valid-type]
    unknown_lesson: staff_text("lesson")  # type: ignore[valid-type]
    assign_done: staff_text("code", "number", "title", "action")  # type: ignore[valid-type]
    actions: dict[str, Name]
    lessons_header: staff_text()  # type: ignore[valid-type]
    lessons_line: staff_text("number", "week", "title", "mark")  # type: ignore[valid-type]
    substance_mark: Name
    lessons_hidden: staff_text()  # type: ignore[valid-type]
    lessons_shown: staff_text()  # type: ignore[valid-type]
    program_set: staff_text("state")  # type: ignore[valid-type]
    state_hidden_all: Name
    state_shown_all: Name
    admin_only: staff_text()  # type: ignore[valid-type]
    practice_usage: staff_text()  # type: ignore[valid-type]
    practice_header: staff_text("code")  # type: ignore[valid-type]
    holds_button: staff_text("state")  # type: ignore[valid-type]
    inward_button: staff_text("state")  # type: ignore[valid-type]
    practice_saved: staff_text("code", "holds", "inward")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _every_action(self) -> LearnStaffTexts:
        missing = {"assign", "unlock", "hide", "reset"} - set(self.actions)
        if missing:
            raise ValueError(f"actions: missing {', '.join(sorted(missing))}")
        return self


class LearnFile(_Strict):
    learn: LearnTexts
    breathe: BreatheTexts
    progress: ProgressTexts
    staff: LearnStaffTexts


MODULE_FILE = re.compile(r"(\d{2})_[a-z0-9_]+\.yaml")
