"""Schemas of the content files (pydantic v2) and the markers the check reads.

A text's rules live in its type: `ClientText` carries `GradeLimit(8)`, `CrisisText`
carries `GradeLimit(6, crisis=True)`, staff texts carry none. The check walks the models
and reads these markers, so a new field is graded the moment it is declared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import partial
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from bot.content.markup import check_placeholders, check_plain, check_telegram_html, placeholders

# Telegram's limits: a message is at most 4096 characters, a command description 1-256.
MESSAGE_MAX = 4096
COMMAND_DESCRIPTION_MAX = 256
BUTTON_MAX = 40  # ours: longer labels wrap badly on phones


@dataclass(frozen=True)
class GradeLimit:
    """Highest Flesch–Kincaid grade allowed for a client-facing text (SPEC §6.2)."""

    limit: float
    crisis: bool = False


@dataclass(frozen=True)
class Discreet:
    """The text can show on a locked phone screen: it must not name a diagnosis,
    substance, medicine or the kind of program (SPEC §4, §7.3)."""


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("is empty; write the text")
    return value


_PHONE_LIKE = re.compile(r"(?<![\w{])\d(?:[ -]?\d){2,}(?![\w}])")


def _no_numbers(value: str) -> str:
    # Numbers live only in crisis_resources.yaml, checked per region; a number typed into
    # a text (or a translation) could be the wrong one for where the client is.
    found = _PHONE_LIKE.search(value)
    if found:
        raise ValueError(
            f"{found.group(0)!r} looks like a phone number; numbers are written only in "
            "crisis_resources.yaml (help cards use placeholders like {lifeline.call})"
        )
    return value


def _template_syntax(value: str) -> str:
    placeholders(value)
    return value


def _allows(*names: str) -> AfterValidator:
    return AfterValidator(partial(check_placeholders, allowed=names))


_Message = Annotated[
    str,
    StringConstraints(max_length=MESSAGE_MAX),
    AfterValidator(_text),
    AfterValidator(check_telegram_html),
]


def client_text(*allowed: str) -> Any:
    """A client-facing chat message (grade ≤ 8) that may use the given {placeholders}."""
    return Annotated[
        _Message, AfterValidator(_no_numbers), GradeLimit(8), Discreet(), _allows(*allowed)
    ]


def staff_text(*allowed: str) -> Any:
    """A message for clinicians and admins: HTML-checked, not graded."""
    return Annotated[_Message, _allows(*allowed)]


ClientText = client_text()
StaffText = staff_text()
# Crisis placeholders name crisis resources; they are checked against
# crisis_resources.yaml when the cards are rendered (loader), so only syntax here.
CrisisText = Annotated[
    _Message,
    AfterValidator(_no_numbers),
    GradeLimit(6, crisis=True),
    AfterValidator(_template_syntax),
]
ButtonText = Annotated[
    str,
    StringConstraints(max_length=BUTTON_MAX),
    AfterValidator(_text),
    AfterValidator(check_plain),
    GradeLimit(8),
    Discreet(),
    _allows(),
]
CommandDescription = Annotated[
    str,
    StringConstraints(max_length=COMMAND_DESCRIPTION_MAX),
    AfterValidator(_text),
    AfterValidator(check_plain),
    GradeLimit(8),
    Discreet(),
    _allows(),
]
# A proper name (a country, a service): plain, not graded.
Name = Annotated[str, AfterValidator(_text), AfterValidator(check_plain)]


def _region_code(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError(f"region {value!r} should be two capital letters, like US or UK")
    return value


def _resource_id(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
        raise ValueError(
            f"resource name {value!r} should use only small letters, digits and _, "
            "like crisis_text_line"
        )
    return value


def _phone(value: str) -> str:
    if not re.fullmatch(r"[0-9](?:[0-9 -]*[0-9])?", value):
        raise ValueError(f"{value!r} should be digits, with spaces or dashes between them")
    return value


RegionCode = Annotated[str, AfterValidator(_region_code)]
ResourceId = Annotated[str, AfterValidator(_resource_id)]
Phone = Annotated[str, AfterValidator(_phone)]
# Facts in crisis_resources.yaml: HTML-escaped when a card is rendered.
Fact = Annotated[str, AfterValidator(_text)]


class _Strict(BaseModel):
    # extra="forbid": a misspelt key is an error, not a silently unused text.
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- content/crisis_resources.yaml -------------------------------------------------


class ResourceKind(StrEnum):
    EMERGENCY = "emergency"
    CRISIS_LINE = "crisis_line"
    TEXT_LINE = "text_line"
    MENTAL_HEALTH_LINE = "mental_health_line"
    VETERANS_LINE = "veterans_line"
    YOUTH_LINE = "youth_line"
    POISON = "poison"
    DOMESTIC_VIOLENCE = "domestic_violence"
    DRUG_HELPLINE = "drug_helpline"
    MEDICAL_ADVICE = "medical_advice"


# Fields a help card may show through {resource.field}; `note` and `source` are internal.
CARD_FIELDS = ("name", "call", "text", "text_keyword", "press", "web", "hours")


class Resource(_Strict):
    name: Fact
    kind: ResourceKind
    call: Phone | None = None
    text: Phone | None = None
    text_keyword: Fact | None = None
    press: Phone | None = None
    web: Fact | None = None
    hours: Fact | None = None
    note: str | None = None
    source: Fact  # the public page the number came from
    source_checked: date  # when it was last compared with that page (not a test call)

    @model_validator(mode="after")
    def _reachable(self) -> Resource:
        if not (self.call or self.text or self.web):
            raise ValueError("needs a way to reach it: call, text or web")
        if self.text_keyword and not self.text:
            raise ValueError("has text_keyword but no text number")
        if self.press and not self.call:
            raise ValueError("has press but no call number")
        return self


class ResourcesFile(_Strict):
    regions: dict[RegionCode, dict[ResourceId, Resource]]

    @model_validator(mode="after")
    def _every_region_has_emergency(self) -> ResourcesFile:
        if not self.regions:
            raise ValueError("lists no region")
        for code, resources in self.regions.items():
            if not any(r.kind is ResourceKind.EMERGENCY for r in resources.values()):
                raise ValueError(f"region {code} has no resource of kind emergency")
        return self


# --- content/<lang>/crisis.yaml ----------------------------------------------------


class RegionCard(_Strict):
    name: Name
    # At most 60 words with the closing line: the two actions that matter come first.
    card: list[CrisisText]
    # One tap away ("More help"): every other service of the region.
    more_help: list[CrisisText] = []

    @model_validator(mode="after")
    def _has_parts(self) -> RegionCard:
        if not self.card:
            raise ValueError("card is empty; write at least one part")
        return self


class CrisisTexts(_Strict):
    not_a_crisis_service: CrisisText
    regions: dict[RegionCode, RegionCard]


# --- content/<lang>/ui.yaml ----------------------------------------------------------


class CommandDescriptions(_Strict):
    start: CommandDescription
    help: CommandDescription
    safetyplan: CommandDescription
    checkin: CommandDescription
    progress: CommandDescription
    weekly: CommandDescription

    def items(self) -> list[tuple[str, str]]:
        """(command, description) pairs in menu order, for setMyCommands."""
        return [(name, getattr(self, name)) for name in type(self).model_fields]


class UiTexts(_Strict):
    @model_validator(mode="after")
    def _every_feeling_has_words(self) -> UiTexts:
        if missing := set(self.feelings) ^ set(self.feeling_words):
            raise ValueError(
                f"feelings and feeling_words must name the same feelings: {sorted(missing)}"
            )
        return self

    welcome: ClientText
    welcome_back: ClientText
    help_button: ButtonText
    other_regions_button: ButtonText
    more_help_button: ButtonText  # under the help card: the region's other services
    choose_region: ClientText
    unsupported_message: ClientText
    not_understood: ClientText
    # Typed text no feature handles: a kind reply that names a feeling when there is one.
    feeling_reply: client_text("feeling")  # type: ignore[valid-type]
    feelings: dict[str, ClientText]  # feeling -> "That sounds really lonely."
    feeling_words: dict[str, list[Fact]]  # feeling -> words that show it (matching only)
    # "Are you a real person?": always answered, truthfully.
    real_person: ClientText
    # After 7 days or more without using Waypoint: it is a program, no one reads live.
    program_reminder: ClientText
    real_person_questions: list[Fact]  # phrases that ask it (matching only)
    error: ClientText
    coming_soon: ClientText
    commands: CommandDescriptions
    # The daily check-in prompt, its one nudge, and the prompt's button (the delivery
    # engine sends them; they can show on a locked screen).
    checkin_prompt: ClientText
    checkin_nudge: ClientText
    checkin_button: ButtonText


# --- content/<lang>/staff.yaml -------------------------------------------------------


class StaffTexts(_Strict):
    # Sent as it is (no placeholders), so a {name} here would show literally.
    clinician_welcome: StaffText
    clinician_registered: staff_text("role", "program")  # type: ignore[valid-type]
    # {role} in clinician_registered, by role, with its article ("an admin").
    roles: dict[str, Name]
    # /help in a clinician's or an admin's private chat; admins get both parts.
    help: StaffText
    help_admin: StaffText
    # A clinician's typed text, or a sticker or photo, that no command or step took.
    not_understood: StaffText
    unsupported_message: StaffText
    invite_created: staff_text("code", "link", "days")  # type: ignore[valid-type]
    clients_header: StaffText
    clients_line: staff_text("code", "status", "label")  # type: ignore[valid-type]
    clients_empty: StaffText
    client_not_found: staff_text("code")  # type: ignore[valid-type]
    client_already_left: staff_text("code")  # type: ignore[valid-type]
    usage_code: staff_text("command")  # type: ignore[valid-type]
    code_not_recognised: staff_text("code", "command")  # type: ignore[valid-type]
    discharged: staff_text("code")  # type: ignore[valid-type]
    paused: staff_text("code")  # type: ignore[valid-type]
    resumed: staff_text("code")  # type: ignore[valid-type]
    # Notices about a client, to their primary clinician's private chat.
    notices: dict[str, staff_text("code")]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _every_notice(self) -> StaffTexts:
        missing = {"joined", "paused", "resumed", "left", "deleted", "reachable"} - set(
            self.notices
        )
        if missing:
            raise ValueError(f"notices: missing {', '.join(sorted(missing))}")
        roles = {"clinician", "admin"} - set(self.roles)
        if roles:
            raise ValueError(f"roles: missing {', '.join(sorted(roles))}")
        return self


# --- content/<lang>/account.yaml -----------------------------------------------------


class JoinTexts(_Strict):
    invalid_link: ClientText
    too_many_tries: ClientText
    # Read before anything is stored; the help card follows the last part.
    disclosures: list[ClientText]
    consent_question: ClientText
    agree_button: ButtonText
    decline_button: ButtonText
    declined: ClientText
    already_joined: ClientText


class SetupTexts(_Strict):
    ask_language: ClientText
    ask_timezone: ClientText
    other_button: ButtonText
    type_timezone: ClientText
    timezone_not_found: ClientText
    ask_checkin_time: ClientText
    type_checkin_time: ClientText
    time_not_understood: ClientText
    ask_session_reminders: ClientText
    ask_medication_reminders: ClientText
    ask_medication_time: ClientText
    yes_button: ButtonText
    no_button: ButtonText
    done: client_text("time", "zone")  # type: ignore[valid-type]
    saved: ClientText
    stale_button: ClientText


class MenuTexts(_Strict):
    checkin: ButtonText
    learn: ButtonText
    breathe: ButtonText
    sessions: ButtonText
    settings: ButtonText


class AccountTexts(_Strict):
    settings_summary: client_text("language", "zone", "time", "sessions", "medicine")  # type: ignore[valid-type]
    on: ButtonText
    off: ButtonText
    language_button: ButtonText
    timezone_button: ButtonText
    checkin_button: ButtonText
    sessions_button: ButtonText
    medicine_button: ButtonText
    pause_button: ButtonText
    resume_button: ButtonText
    leave_button: ButtonText
    mydata_button: ButtonText
    delete_button: ButtonText
    paused: ClientText
    resumed: ClientText
    already_paused: ClientText
    not_paused: ClientText
    stop_confirm: ClientText
    stop_yes: ButtonText
    stop_no: ButtonText
    stopped: ClientText
    stop_cancelled: ClientText
    mydata_caption: ClientText
    delete_confirm: ClientText
    delete_yes: ButtonText
    delete_no: ButtonText
    deleted: ClientText
    delete_cancelled: ClientText
    # /delete while an alert is open: what the team keeps until it is resolved.
    delete_confirm_open_alert: ClientText
    deleted_open_alert: ClientText
    delete_stale: ClientText  # an old, used or forged confirmation button
    discharged_by_team: ClientText
    paused_by_team: ClientText
    resumed_by_team: ClientText


class AccountFile(_Strict):
    language_name: Name  # the language's own name, e.g. "English", "Español"
    join: JoinTexts
    setup: SetupTexts
    menu: MenuTexts
    account: AccountTexts


# --- content/<lang>/style.yaml -------------------------------------------------------


class StyleRules(_Strict):
    stigmatizing_words: list[Fact]
    discreet_words: list[Fact]


# --- content/<lang>/alerts.yaml ------------------------------------------------------


class CrisisReplyTexts(_Strict):
    """What a client reads when the screen finds a crisis: crisis texts (grade ≤ 6)."""

    urgent_opening: CrisisText
    safe_button: ButtonText
    not_safe_button: ButtonText
    call_button: ButtonText
    not_safe: CrisisText
    safe_now: CrisisText
    told_on_call: CrisisText
    told_no_on_call: Annotated[CrisisText, _allows("promise")]
    safety_plan_intro: CrisisText
    same_day: Annotated[CrisisText, _allows("promise")]
    same_day_craving: CrisisText
    same_day_use: CrisisText
    followup: ClientText
    better_button: ButtonText
    same_button: ButtonText
    worse_button: ButtonText
    reached_button: ButtonText
    not_reached_button: ButtonText
    followup_thanks: ClientText
    followup_worse: CrisisText
    followup_not_reached: CrisisText
    # Alert integrity (issue 16): a team nobody could reach, a grouped message, old buttons.
    team_unreached: CrisisText
    repeat_ack: CrisisText
    out_of_date: ClientText


class AlertStaffTexts(_Strict):
    tiers: dict[str, Name]
    categories: dict[str, Name]
    group: staff_text("tier", "code", "category", "time")  # type: ignore[valid-type]
    group_same_day: staff_text("code", "category", "time")  # type: ignore[valid-type]
    open_button: Name
    detail: staff_text("tier", "code", "time", "category", "evidence", "status")  # type: ignore[valid-type]
    escalated: staff_text("minutes")  # type: ignore[valid-type]
    acknowledge_button: Name
    contacted_button: Name
    resolved_button: Name
    status_open: StaffText
    status_line: staff_text("action", "who", "time")  # type: ignore[valid-type]
    actions: dict[str, Name]
    ask_resolution_note: StaffText
    resolved_note: staff_text("note")  # type: ignore[valid-type]
    not_allowed: StaffText
    sent_to_private: StaffText
    already_done: StaffText
    alerts_header: StaffText
    alerts_none: StaffText
    alert_line: staff_text("flag", "code", "tier", "category", "age", "state")  # type: ignore[valid-type]
    state_open: Name
    state_escalated: Name
    state_acknowledged: Name
    client_header: staff_text("code", "status", "joined", "checkin", "zone")  # type: ignore[valid-type]
    client_alerts_header: StaffText
    client_no_alerts: StaffText
    client_alert_line: staff_text("time", "tier", "category", "state")  # type: ignore[valid-type]
    state_resolved: Name
    usage_client: StaffText
    digest_header: staff_text("time")  # type: ignore[valid-type]
    digest_call_header: StaffText
    digest_call_line: staff_text("flag", "code", "reason")  # type: ignore[valid-type]
    digest_call_none: StaffText
    digest_reason_alert: staff_text("tier", "category", "state", "age")  # type: ignore[valid-type]
    digest_reason_quiet: staff_text("days")  # type: ignore[valid-type]
    digest_reason_more: staff_text("count", "categories")  # type: ignore[valid-type]
    digest_since_header: StaffText
    digest_since_line: staff_text("tier", "category", "count")  # type: ignore[valid-type]
    digest_since_none: StaffText
    digest_changes_header: StaffText
    digest_change_line: staff_text("code", "change")  # type: ignore[valid-type]
    changes: dict[str, Name]
    digest_group: staff_text("time", "urgent", "same_day", "open")  # type: ignore[valid-type]
    # Alert integrity (issue 16): old buttons, rerouted copies, grouped messages.
    out_of_date: StaffText
    rerouted: StaffText
    more_note: staff_text("code", "category", "time", "evidence")  # type: ignore[valid-type]
    more_line: staff_text("count", "time", "evidence")  # type: ignore[valid-type]
    group_status: staff_text("state")  # type: ignore[valid-type]
    # Which layer of the screen fired (issue 17), and clinicians' marks on the screen.
    why_rule: staff_text("rule", "span")  # type: ignore[valid-type]
    why_rule_earlier: staff_text("rule")  # type: ignore[valid-type]
    why_model: staff_text("urgent", "flag", "nearest")  # type: ignore[valid-type]
    why_context: staff_text("count")  # type: ignore[valid-type]
    why_ordinary: Name
    why_nearest_none: Name
    why_nearest_loading: Name
    false_alarm_button: Name
    false_alarm_recorded: StaffText
    missed_usage: StaffText
    missed_ask: staff_text("code")  # type: ignore[valid-type]
    missed_recorded: staff_text("code", "category")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _complete(self) -> AlertStaffTexts:
        for name, have, need in (
            ("tiers", self.tiers, {"urgent", "same_day"}),
            (
                "categories",
                self.categories,
                {
                    "suicidal_ideation",
                    "self_harm",
                    "harm_to_others",
                    "overdose_or_medical",
                    "relapse_or_use",
                    "high_craving",
                    "unsafe_or_abuse",
                    "low_mood",
                    "missed_checkins",
                    "medication_missed",
                    "suicide_screen",
                    "exercise_distress",
                    "missed_session",
                    "none",
                },
            ),
            (
                "actions",
                self.actions,
                {
                    "acknowledged",
                    "contacted",
                    "resolved",
                    "not_safe",
                    "safe",
                    "followup_better",
                    "followup_same",
                    "followup_worse",
                    "followup_reached",
                    "followup_not_reached",
                },
            ),
        ):
            if missing := need - set(have):
                raise ValueError(f"{name}: missing {', '.join(sorted(missing))}")
        return self


class PromiseTexts(_Strict):
    """When the care team will see an alert (bot/careteam_promise.py picks one)."""

    on_call: CrisisText
    today: CrisisText
    later_today: Annotated[CrisisText, _allows("time")]
    tomorrow: Annotated[CrisisText, _allows("time")]
    on_day: Annotated[CrisisText, _allows("day", "time")]
    unknown: CrisisText
    office_hours: Annotated[CrisisText, _allows("first_day", "last_day", "opens", "closes")]


class CheckTexts(_Strict):
    """Replies added to the screen's: drunk or high now, and stopping all at once."""

    are_you_alone: CrisisText
    withdrawal: CrisisText
    # Matching only (bot/free_text.py): words that say "drunk or high right now".
    drunk_or_high: list[Fact]
    now_before: list[Fact]
    now_after: list[Fact]
    sedating: list[Fact]  # opioids and sedatives: the overdose-safety card too


class AskTexts(_Strict):
    """When the screen is unsure about a message (issue 17): one direct question, as the
    ASQ asks it, where "yes" always means the urgent path. Client texts are crisis texts."""

    intro: CrisisText  # before the question
    questions: dict[str, CrisisText]  # suicide, self_harm, others, danger
    wait_note: CrisisText  # after the question: what happens with no answer
    yes_button: ButtonText
    no_button: ButtonText
    rather_not_say_button: ButtonText
    no_reply: CrisisText  # after "no"
    already_answered: ClientText
    # For the care team (private chats only): the question and the answer.
    answers: dict[str, Name]  # yes, no, declined, none
    alert_line: staff_text("question", "answer", "time")  # type: ignore[valid-type]
    digest_header: StaffText
    digest_line: staff_text("code", "time", "question", "answer", "evidence")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _complete(self) -> AskTexts:
        for name, have, need in (
            ("questions", self.questions, {"suicide", "self_harm", "others", "danger"}),
            ("answers", self.answers, {"yes", "no", "declined", "none"}),
        ):
            if missing := need - set(have):
                raise ValueError(f"{name}: missing {', '.join(sorted(missing))}")
        return self


class AlertsFile(_Strict):
    reply: CrisisReplyTexts
    promise: PromiseTexts
    checks: CheckTexts
    staff: AlertStaffTexts
    ask: AskTexts


# --- content/<lang>/safetyplan.yaml --------------------------------------------------


class PlanSectionTexts(_Strict):
    """One of the six Stanley–Brown steps (SPEC §5.1 step 4)."""

    # The heading: in the plan, and in the crisis reply that shows the plan (grade ≤ 6).
    title: CrisisText
    button: ButtonText  # in the "which part?" list
    question: ClientText  # asked when the client adds to this part
    example: ClientText  # a short, plain example under the question


class PlanSections(_Strict):
    # In the order of the plan; the code reads them in this order.
    warning_signs: PlanSectionTexts
    coping_alone: PlanSectionTexts
    distractions: PlanSectionTexts
    help_people: PlanSectionTexts
    professionals: PlanSectionTexts
    safer_space: PlanSectionTexts


class SafetyPlanFile(_Strict):
    sections: PlanSections
    heading: ClientText
    intro: ClientText
    view_hint: ClientText
    nothing_yet: ClientText
    area_lines: ClientText
    start_button: ButtonText
    continue_button: ButtonText
    edit_button: ButtonText
    choose_section: ClientText
    step_label: client_text("step", "total")  # type: ignore[valid-type]
    so_far: ClientText
    how_to_add: ClientText
    done_button: ButtonText
    skip_button: ButtonText
    clear_button: ButtonText
    saved: client_text("count", "max")  # type: ignore[valid-type]
    too_long: client_text("max")  # type: ignore[valid-type]
    section_full: client_text("max")  # type: ignore[valid-type]
    too_many: client_text("room")  # type: ignore[valid-type]
    nothing_found: ClientText
    clear_confirm: ClientText
    clear_yes: ButtonText
    clear_no: ButtonText
    cleared: ClientText
    kept: ClientText
    section_saved: ClientText
    finished: ClientText
    # Closes a shortened plan in the crisis reply (grade ≤ 6).
    more_in_plan: CrisisText


# --- content/<lang>/checkin.yaml -----------------------------------------------------

# Texts a client opens on purpose or that only show inside the chat (answer chips, the
# slip plan, the longer weekly check-in): graded, but they may name a substance.
CardText = Annotated[_Message, AfterValidator(_no_numbers), GradeLimit(8), _allows()]
ChipText = Annotated[
    str,
    StringConstraints(max_length=BUTTON_MAX),
    AfterValidator(_text),
    AfterValidator(check_plain),
    GradeLimit(8),
    _allows(),
]


class ScaleQuestion(_Strict):
    text: ClientText


class SleepHoursOptions(_Strict):
    under_4: ButtonText
    from_4_to_6: ButtonText
    from_6_to_8: ButtonText
    over_8: ButtonText


class SleepQualityOptions(_Strict):
    poor: ButtonText
    ok: ButtonText
    good: ButtonText


class TriggerOptions(_Strict):
    people: ButtonText
    places: ButtonText
    things: ButtonText
    stress: ButtonText
    feelings: ButtonText
    boredom: ButtonText
    halt: ButtonText


class UseOptions(_Strict):
    no: ButtonText
    yes: ButtonText
    skip: ButtonText


class SubstanceOptions(_Strict):
    alcohol: ChipText
    opioids: ChipText
    stimulants: ChipText
    cannabis: ChipText
    sedatives: ChipText
    other: ChipText


class SafeOptions(_Strict):
    yes: ButtonText
    no: ButtonText


class MedicineOptions(_Strict):
    taken: ButtonText
    missed: ButtonText
    not_due: ButtonText


class YesNoOptions(_Strict):
    yes: ButtonText
    no: ButtonText


class SleepHoursQuestion(_Strict):
    text: ClientText
    options: SleepHoursOptions


class SleepQualityQuestion(_Strict):
    text: ClientText
    options: SleepQualityOptions


class TriggersQuestion(_Strict):
    text: ClientText
    options: TriggerOptions
    none_button: ButtonText
    done_button: ButtonText


class UseQuestion(_Strict):
    text: ClientText
    options: UseOptions


class SubstancesQuestion(_Strict):
    text: ClientText
    options: SubstanceOptions
    done_button: ButtonText


class SafeQuestion(_Strict):
    text: CrisisText
    options: SafeOptions


class MedicineQuestion(_Strict):
    text: ClientText
    options: MedicineOptions


class SupportQuestion(_Strict):
    text: ClientText
    options: YesNoOptions


class NoteQuestion(_Strict):
    text: ClientText
    skip_button: ButtonText
    saved: ClientText


class CopingIdeas(_Strict):
    people: ClientText
    places: ClientText
    things: ClientText
    stress: ClientText
    feelings: ClientText
    boredom: ClientText
    halt: ClientText


class AsqTexts(_Strict):
    """Adapted from the NIMH Ask Suicide-Screening Questions (public domain)."""

    intro: CrisisText
    wished_dead: CrisisText
    better_off_dead: CrisisText
    thoughts: CrisisText
    ever_tried: CrisisText
    tried_since: CrisisText
    # After the client's first screen: the same questions, "since the last time I asked".
    wished_dead_since: CrisisText
    better_off_dead_since: CrisisText
    thoughts_since: CrisisText
    # After a yes to "tried": how and when, for the clinician (the client may skip).
    how_when: CrisisText
    how_when_saved: CrisisText
    right_now: CrisisText
    options: UseOptions
    negative: CrisisText
    # {promise}: when the team will see it (bot/careteam_promise.py), never a call.
    positive: Annotated[CrisisText, _allows("promise")]


class DaysScale(_Strict):
    d0: ButtonText
    d1: ButtonText
    d2: ButtonText
    d3: ButtonText
    d4: ButtonText
    d5: ButtonText
    d6: ButtonText
    d7: ButtonText


class AmountScale(_Strict):
    a0: ButtonText
    a1: ButtonText
    a2: ButtonText
    a3: ButtonText
    a4: ButtonText


class HealthScale(_Strict):
    h0: ButtonText
    h1: ButtonText
    h2: ButtonText
    h3: ButtonText
    h4: ButtonText


class BamScales(_Strict):
    days: DaysScale
    amount: AmountScale
    health: HealthScale
    yes_no: YesNoOptions


class BamItems(_Strict):
    """BAM-IOP items, adapted (the client opened the longer check-in on purpose)."""

    health: CardText
    sleep: CardText
    upset: CardText
    any_alcohol: CardText
    heavy_drinking: CardText
    any_drug: CardText
    urges: CardText
    confidence: CardText
    meetings: CardText
    risky: CardText
    spirit: CardText
    work: CardText
    income: CardText
    conflict: CardText
    support: CardText
    satisfied: CardText


class BamTexts(_Strict):
    offer: ClientText
    start_button: ButtonText
    later_button: ButtonText
    later: ClientText
    done: ClientText
    scales: BamScales
    items: BamItems


class CheckinStaffTexts(_Strict):
    digest_header: StaffText
    digest_line: staff_text(  # type: ignore[valid-type]
        "code", "completed", "unfinished", "craving", "mood", "short", "use", "support", "extra"
    )
    digest_unfinished: staff_text("count")  # type: ignore[valid-type]
    digest_none: StaffText
    digest_triggers: staff_text("triggers")  # type: ignore[valid-type]
    digest_medicine: staff_text("days")  # type: ignore[valid-type]
    digest_bam: staff_text("use", "risk", "protective")  # type: ignore[valid-type]
    stat: staff_text("mean", "max", "trend")  # type: ignore[valid-type]
    stat_low: staff_text("mean", "min", "trend")  # type: ignore[valid-type]
    no_answers: StaffText
    chart_title: StaffText
    client_header: StaffText
    client_line: staff_text(  # type: ignore[valid-type]
        "date", "craving", "mood", "sleep", "confidence", "use"
    )
    client_note: staff_text("note")  # type: ignore[valid-type]
    client_none: StaffText
    usage_meds: StaffText
    meds_on: staff_text("code")  # type: ignore[valid-type]
    meds_off: staff_text("code")  # type: ignore[valid-type]
    usage_flags: staff_text("keys")  # type: ignore[valid-type]
    flags_shown: staff_text("code", "flags")  # type: ignore[valid-type]
    flags_bad: staff_text("error")  # type: ignore[valid-type]
    trends: dict[str, StaffText]


class CheckinFile(_Strict):
    credits: StaffText
    start: ClientText
    start_again: ClientText
    resume: ClientText
    use_buttons: ClientText
    already_answered: ClientText
    not_valid: ClientText
    answer_shown: client_text("answer")  # type: ignore[valid-type]
    not_enrolled: ClientText
    paused: ClientText
    scale_low: ButtonText
    scale_high: ButtonText
    craving: ScaleQuestion
    mood: ScaleQuestion
    sleep_hours: SleepHoursQuestion
    sleep_quality: SleepQualityQuestion
    triggers: TriggersQuestion
    use: UseQuestion
    substances: SubstancesQuestion
    safe_now: SafeQuestion
    medicine: MedicineQuestion
    confidence: ScaleQuestion
    support: SupportQuestion
    note: NoteQuestion
    done: ClientText
    done_hard: ClientText
    streak: client_text("days")  # type: ignore[valid-type]
    completion: client_text("days")  # type: ignore[valid-type]
    first_time: ClientText
    coping_intro: ClientText
    coping: CopingIdeas
    high_craving: ClientText
    slip_plan: CardText
    overdose_card: CrisisText  # at most 60 words (tests/checkin/test_check_in_end.py)
    low_mood: CrisisText
    not_safe_reply: CrisisText
    resumed_after_help: ClientText
    asq: AsqTexts
    bam: BamTexts
    progress_empty: ClientText
    progress_summary: client_text("days", "craving_trend", "mood_trend")  # type: ignore[valid-type]
    trend_up: ButtonText
    trend_down: ButtonText
    trend_steady: ButtonText
    trend_unknown: ClientText
    chart_title: ButtonText
    chart_craving: ButtonText
    chart_mood: ButtonText
    chart_confidence: ButtonText
    chart_sleep: ButtonText
    old_prompt: ClientText
    weekly_day_question: ClientText
    weekly_day_set: client_text("day")  # type: ignore[valid-type]
    weekdays: Annotated[list[ButtonText], Field(min_length=7, max_length=7)]  # Monday first
    staff: CheckinStaffTexts


# --- content/<lang>/sessions.yaml ----------------------------------------------------

# A staff template: any {placeholders} (the code fills them), HTML-checked, not graded.
StaffTemplate = Annotated[_Message, AfterValidator(_template_syntax)]


class SessionClientTexts(_Strict):
    """What clients read about sessions, daily reminders and their next-step plan.
    Reminders can show on a locked screen: they are Discreet like every client text."""

    reminder_tomorrow: client_text("time")  # type: ignore[valid-type]
    reminder_today: client_text("time")  # type: ignore[valid-type]
    going_button: ButtonText
    late_button: ButtonText
    cant_button: ButtonText
    going_thanks: ClientText
    late_thanks: ClientText
    cant_thanks: ClientText
    reason_sick: ButtonText
    reason_work: ButtonText
    reason_transport: ButtonText
    reason_childcare: ButtonText
    reason_other: ButtonText
    reason_none: ButtonText
    reason_thanks: ClientText
    reschedule_offer: ClientText
    reschedule_button: ButtonText
    reschedule_sent: ClientText
    already_started: ClientText
    not_found: ClientText
    list_header: ClientText
    list_line: client_text("day", "time", "kind")  # type: ignore[valid-type]
    list_line_answered: client_text("day", "time", "kind", "answer")  # type: ignore[valid-type]
    list_empty: ClientText
    list_hint: ClientText
    choose_answer: client_text("day", "time", "kind")  # type: ignore[valid-type]
    kind_group: ButtonText
    kind_individual: ButtonText
    kind_family: ButtonText
    answer_going: ButtonText
    answer_late: ButtonText
    answer_cant: ButtonText
    daily_reminder: ClientText
    taken_button: ButtonText
    later_button: ButtonText
    skip_button: ButtonText
    taken_thanks: ClientText
    later_ok: ClientText
    skipped_ok: ClientText
    daily_set: client_text("times")  # type: ignore[valid-type]
    daily_off: ClientText
    daily_usage: ClientText
    stepped_down: client_text("days")  # type: ignore[valid-type]
    every_day: ButtonText
    plan_button: ButtonText
    plan_heading: ClientText
    plan_empty: ClientText
    plan_hint: ClientText
    part_therapy: ButtonText
    part_groups: ButtonText
    part_people: ButtonText
    part_warning_signs: ButtonText
    ask_therapy: ClientText
    ask_groups: ClientText
    ask_people: ClientText
    ask_warning_signs: ClientText
    plan_saved: ClientText
    plan_too_long: ClientText
    cancel_button: ButtonText
    plan_cancelled: ClientText
    crisis_intro: CrisisText


SESSION_STAFF_KEYS = frozenset(
    {
        "not_allowed",
        "sessions_header",
        "sessions_line",
        "sessions_empty",
        "add_kind",
        "add_client",
        "add_title",
        "add_repeat",
        "add_days",
        "add_date",
        "add_time",
        "add_duration",
        "added",
        "cancelled",
        "attendance_none",
        "attendance_header",
        "marked",
        "notice_cant",
        "notice_reason",
        "notice_reschedule",
        "digest_header",
        "digest_rate",
        "digest_cant_often",
        "stepdown_cadence",
        "stepped_down",
    }
)


class SessionsFile(_Strict):
    client: SessionClientTexts
    weekdays: list[Name]  # Monday first
    months: list[Name]
    staff: dict[str, StaffTemplate]

    @model_validator(mode="after")
    def _complete(self) -> SessionsFile:
        if len(self.weekdays) != 7 or len(self.months) != 12:
            raise ValueError("weekdays needs 7 names (Monday first) and months 12")
        if missing := SESSION_STAFF_KEYS - set(self.staff):
            raise ValueError(f"staff: missing {', '.join(sorted(missing))}")
        return self
