"""The check-in's flag rules (SPEC §5.1), the suicide-risk screen and the BAM scores (pure).

Every rule returns findings with a key unique to what they are about ("craving:2026-06-10"),
so the same evidence raises one alert however often it is evaluated. Thresholds have
defaults here, a program may change them and a clinician may override them per client
(SPEC: "configurable per client").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta

from bot.checkin.items import OVERDOSE_RISK, split_keys


@dataclass(frozen=True)
class Thresholds:
    craving: int = 8  # craving at or above: same day
    craving_pair: int = 7  # at or above with low confidence, or on two check-ins in a row
    low_confidence: int = 3  # confidence at or below, with craving_pair
    low_mood: int = 2  # mood at or below on two days running
    mood_drop: int = 4  # mood this many points below the previous check-in
    missed_in_row: int = 3  # prompted check-ins missed in a row
    missed_medicine_days: int = 2  # medicine missed this many days running
    abstinent_days: int = 7  # use after this many days without: higher priority
    after_alert_hours: int = 72  # a missed check-in this soon after an alert


THRESHOLD_KEYS = tuple(f.name for f in fields(Thresholds))
THRESHOLD_RANGES = {
    "craving": (1, 10),
    "craving_pair": (1, 10),
    "low_confidence": (0, 9),
    "low_mood": (0, 9),
    "mood_drop": (1, 10),
    "missed_in_row": (1, 14),
    "missed_medicine_days": (1, 14),
    "abstinent_days": (1, 90),
    "after_alert_hours": (1, 336),
}


def thresholds(*layers: Mapping[str, int] | None) -> Thresholds:
    """Defaults, overlaid by each layer in turn (program, then client); unknown keys and
    values out of range are ignored, so a bad stored value cannot silence a rule."""
    result = Thresholds()
    for layer in layers:
        for key, value in (layer or {}).items():
            low, high = THRESHOLD_RANGES.get(key, (1, 0))
            if isinstance(value, int) and low <= value <= high:
                result = replace(result, **{key: value})
    return result


def parse_overrides(words: Sequence[str]) -> dict[str, int]:
    """ "craving=7 low_mood=3" -> {"craving": 7, "low_mood": 3}; ValueError names the bad one."""
    out: dict[str, int] = {}
    for word in words:
        key, _, value = word.partition("=")
        key = key.strip().lower()
        if key not in THRESHOLD_RANGES:
            raise ValueError(f"unknown setting {key!r}; known: {', '.join(THRESHOLD_KEYS)}")
        low, high = THRESHOLD_RANGES[key]
        if not value.strip().isdigit() or not low <= int(value) <= high:
            raise ValueError(f"{key} takes a whole number from {low} to {high}")
        out[key] = int(value)
    return out


@dataclass(frozen=True)
class Day:
    """One day's check-in, as the rules see it."""

    local_date: date
    craving: int | None = None
    mood: int | None = None
    confidence: int | None = None
    use: str | None = None
    substances: str | None = None
    safe_now: str | None = None
    medicine: str | None = None


@dataclass(frozen=True)
class Flag:
    key: str  # unique per client: the rule and the day (or the missed prompt)
    tier: str  # "urgent" or "same_day"
    category: str
    rule: str
    evidence: str  # the answers that fired it (never free text)
    high_priority: bool = False


def answer_flags(
    today: Day,
    earlier: Sequence[Day],
    th: Thresholds,
    *,
    previous_craving: int | None = None,
) -> list[Flag]:
    """The rules that fire on today's answers so far.

    `earlier`: the client's earlier days, newest first. `previous_craving`: the craving
    answer before this one (an earlier check-in, or an earlier one today).
    """
    flags: list[Flag] = []
    d = today.local_date.isoformat()
    if today.safe_now == "no":
        flags.append(
            Flag(
                f"unsafe:{d}",
                "urgent",
                "overdose_or_medical",
                "checkin_not_safe",
                "said they are not safe right now, after use",
                high_priority=True,
            )
        )
    if today.use == "yes":
        used = split_keys(today.substances)
        risky = sorted(OVERDOSE_RISK.intersection(used))
        after_break = _abstinent_before(today.local_date, earlier, th.abstinent_days)
        why = []
        if risky:
            why.append("overdose-risk " + "/".join(risky))
        if after_break:
            why.append(f"after {th.abstinent_days}+ days without use")
        flags.append(
            Flag(
                f"use:{d}",
                "same_day",
                "relapse_or_use",
                "checkin_use",
                "use since last check-in"
                + (f": {', '.join(used)}" if used else "")
                + (f" ({'; '.join(why)})" if why else ""),
                high_priority=bool(why),
            )
        )
    c = today.craving
    if c is not None:
        if c >= th.craving:
            flags.append(_craving(d, f"craving {c}/10 (threshold {th.craving})"))
        elif (
            c >= th.craving_pair
            and today.confidence is not None
            and today.confidence <= th.low_confidence
        ):
            flags.append(_craving(d, f"craving {c}/10 with confidence {today.confidence}/10"))
        elif (
            c >= th.craving_pair
            and previous_craving is not None
            and (previous_craving >= th.craving_pair)
        ):
            flags.append(
                _craving(d, f"craving {c}/10, and {previous_craving}/10 at the check-in before")
            )
    m = today.mood
    if m is not None:
        yesterday = _day(earlier, today.local_date - timedelta(days=1))
        before = next((e for e in earlier if e.mood is not None), None)
        if (
            m <= th.low_mood
            and yesterday
            and yesterday.mood is not None
            and (yesterday.mood <= th.low_mood)
        ):
            flags.append(
                Flag(
                    f"mood:{d}",
                    "same_day",
                    "low_mood",
                    "checkin_low_mood",
                    f"mood {m}/10 today and {yesterday.mood}/10 yesterday",
                )
            )
        elif before is not None and before.mood is not None and before.mood - m >= th.mood_drop:
            flags.append(
                Flag(
                    f"mood:{d}",
                    "same_day",
                    "low_mood",
                    "checkin_mood_drop",
                    f"mood {m}/10, down from {before.mood}/10",
                )
            )
    if today.medicine == "missed":
        run = 1
        for back in range(1, th.missed_medicine_days):
            earlier_day = _day(earlier, today.local_date - timedelta(days=back))
            if earlier_day is None or earlier_day.medicine != "missed":
                break
            run += 1
        if run >= th.missed_medicine_days:
            flags.append(
                Flag(
                    f"medicine:{d}",
                    "same_day",
                    "medication_missed",
                    "checkin_medicine",
                    f"medicine missed {run} days running",
                )
            )
    return flags


def runs_screen(flags: Sequence[Flag]) -> bool:
    """Low mood runs the suicide-risk questions at once (SPEC §3.2)."""
    return any(f.category == "low_mood" for f in flags)


def _craving(d: str, evidence: str) -> Flag:
    return Flag(f"craving:{d}", "same_day", "high_craving", "checkin_craving", evidence)


def _day(days: Sequence[Day], on: date) -> Day | None:
    return next((x for x in days if x.local_date == on), None)


def _abstinent_before(today: date, earlier: Sequence[Day], days: int) -> bool:
    """No use reported in the `days` before today, and a "no" at least that long ago (so
    the break is known, not just unreported)."""
    window_start = today - timedelta(days=days)
    if any(e.use == "yes" and e.local_date >= window_start for e in earlier):
        return False
    return any(e.use == "no" and e.local_date <= window_start for e in earlier)


# --- missed check-ins ---------------------------------------------------------------


@dataclass(frozen=True)
class Prompted:
    """A day the client was sent the check-in prompt, and whether they checked in."""

    local_date: date
    sent_at: datetime
    answered: bool


def missed_flags(
    prompted: Sequence[Prompted], alert_times: Sequence[datetime], th: Thresholds
) -> list[Flag]:
    """`prompted`: ended days, newest first. Three missed in a row, or a missed one within
    72 hours after an urgent or same-day alert (SPEC §5.1)."""
    flags: list[Flag] = []
    if not prompted or prompted[0].answered:
        return flags
    latest = prompted[0]
    d = latest.local_date.isoformat()
    run = 0
    for p in prompted:
        if p.answered:
            break
        run += 1
    if run >= th.missed_in_row:
        flags.append(
            Flag(
                f"missed:{d}",
                "same_day",
                "missed_checkins",
                "checkin_missed_in_row",
                f"{run} check-ins missed in a row",
            )
        )
        return flags
    window = timedelta(hours=th.after_alert_hours)
    recent = [t for t in alert_times if t <= latest.sent_at <= t + window]
    if recent:
        flags.append(
            Flag(
                f"missed:{d}",
                "same_day",
                "missed_checkins",
                "checkin_missed_after_alert",
                f"check-in missed {int((latest.sent_at - max(recent)).total_seconds() // 3600)}"
                " hours after an alert",
            )
        )
    return flags


# --- the suicide-risk questions (adapted from the NIMH ASQ) --------------------------


def asq_result(answers: Mapping[str, object]) -> str:
    """ "urgent" (acute positive), "same_day" (non-acute positive) or "negative".

    As in the ASQ: a yes to any of questions 1-4, or declining to answer, is a positive
    screen; then a yes (or no answer) to "right now" makes it acute.
    """
    if not asq_positive(answers):
        return "negative"
    return "urgent" if answers.get("asq_now") in ("yes", "skip") else "same_day"


def asq_positive(answers: Mapping[str, object]) -> bool:
    """A yes (or declining to answer) to any of questions 1-4 so far: a positive screen,
    whatever comes after."""
    return any(answers.get(k) in ("yes", "skip") for k in ASQ_QUESTIONS)


ASQ_QUESTIONS = ("asq_wished", "asq_better", "asq_thoughts", "asq_tried")


def asq_evidence(
    answers: Mapping[str, object],
    *,
    since_last: bool = False,
    how_when: str | None = None,
    finished: bool = True,
) -> str:
    """The clinician's summary: each answer, which wording was asked (the first screen's
    "past few weeks … ever", or "since the last time I asked"), and the client's own
    "how and when" after a yes to "tried". Unfinished (raised at the first yes): the
    answers so far, said to be so."""
    names = {
        "asq_wished": "wished dead",
        "asq_better": "better off dead",
        "asq_thoughts": "thoughts of suicide",
        "asq_tried": "tried",
        "asq_now": "thoughts right now",
    }
    shown = "; ".join(f"{names[k]}: {answers[k]}" for k in names if answers.get(k) is not None)
    asked = (
        'asked "since the last time I asked"'
        if since_last
        else 'asked "in the past few weeks" and "ever tried" (first screen)'
    )
    out = f"{shown} ({asked})"
    if not finished:
        return out + "; not finished yet"
    if answers.get("asq_tried") == "yes":
        out += f"; how and when: {how_when}" if how_when else "; how and when: skipped"
    return out


# --- the longer weekly check-in (adapted from the BAM-IOP, 7-day recall) ---------------


@dataclass(frozen=True)
class BamItem:
    key: str
    number: int  # the BAM item number
    scale: str  # days (0-7), amount (0-4), health (0-4), yes_no


BAM_ITEMS = (
    BamItem("health", 1, "health"),
    BamItem("sleep", 2, "days"),
    BamItem("upset", 3, "days"),
    BamItem("any_alcohol", 4, "days"),
    BamItem("heavy_drinking", 5, "days"),
    BamItem("any_drug", 6, "days"),
    BamItem("urges", 8, "amount"),
    BamItem("confidence", 9, "amount"),
    BamItem("meetings", 10, "days"),
    BamItem("risky", 11, "days"),
    BamItem("spirit", 12, "amount"),
    BamItem("work", 13, "days"),
    BamItem("income", 14, "yes_no"),
    BamItem("conflict", 15, "amount"),
    BamItem("support", 16, "days"),
    BamItem("satisfied", 17, "amount"),
)
BAM_KEYS = tuple(i.key for i in BAM_ITEMS)
BAM_SCALE_VALUES = {
    "days": tuple(f"d{n}" for n in range(8)),
    "amount": tuple(f"a{n}" for n in range(5)),
    "health": tuple(f"h{n}" for n in range(5)),
    "yes_no": ("yes", "no"),
}
USE_ITEMS = ("any_alcohol", "heavy_drinking", "any_drug")  # BAM 4, 5, 6
RISK_ITEMS = ("health", "sleep", "upset", "urges", "risky", "conflict")  # 1, 2, 3, 8, 11, 15
PROTECTIVE_ITEMS = ("confidence", "meetings", "spirit", "work", "income", "support")


def bam_item_score(item: BamItem, answer: str) -> int:
    """Every item on 0-4, as the BAM's subscales are summed. Days in the past 7 map
    0 -> 0, 1 -> 1, 2-3 -> 2, 4-5 -> 3, 6-7 -> 4 (our 7-day adaptation of the 30-day
    bands); income: yes -> 4, no -> 0."""
    if item.scale == "days":
        days = int(answer[1:])
        return 0 if days == 0 else 1 if days == 1 else 2 if days <= 3 else 3 if days <= 5 else 4
    if item.scale == "yes_no":
        return 4 if answer == "yes" else 0
    return int(answer[1:])


def bam_scores(answers: Mapping[str, str]) -> dict[str, int]:
    """Use (4+5+6, 0-12), Risk (1+2+3+8+11+15, 0-24), Protective (9+10+12+13+14+16, 0-24).
    Item 17 (satisfaction) is not scored, as in the BAM."""
    by_key = {i.key: i for i in BAM_ITEMS}

    def total(keys: tuple[str, ...]) -> int:
        return sum(bam_item_score(by_key[k], answers[k]) for k in keys if k in answers)

    return {
        "use": total(USE_ITEMS),
        "risk": total(RISK_ITEMS),
        "protective": total(PROTECTIVE_ITEMS),
    }


def bam_flags(answers: Mapping[str, str], on: date) -> list[Flag]:
    """BAM item 4, 5 or 6 above 0 -> the same rule as a yes to use (SPEC §3.3)."""
    used = [k for k in USE_ITEMS if k in answers and answers[k] != "d0"]
    if not used:
        return []
    heavy = "heavy_drinking" in used
    return [
        Flag(
            f"bam_use:{on.isoformat()}",
            "same_day",
            "relapse_or_use",
            "bam_use",
            "weekly check-in: " + ", ".join(f"{k} {answers[k][1:]} days" for k in used),
            high_priority=heavy,
        )
    ]
