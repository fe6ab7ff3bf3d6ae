"""Kinds of scheduled message and the rules they are delivered by (pure).

Telegram has no idempotency key, so a send that may or may not have arrived (a
timeout, a worker killed mid-request) forces a choice per kind:

- at least once (alerts): resend; a duplicate is acceptable, a loss is not.
- at most once (prompts, reminders, nudges): do not resend; one missing prompt is
  better than a client getting the same prompt twice.

A kind also has a grace period: a message later than that is skipped, not sent late
(a check-in prompt at 3 am helps nobody).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Rule(StrEnum):
    at_least_once = "at_least_once"
    at_most_once = "at_most_once"


class AfterAlert(StrEnum):
    """What a message to a client does after an urgent or same-day alert about them."""

    # Essential (alerts, the next day's follow-up, session and medication reminders).
    send = "send"
    # Part of the safety net but never in the crisis minute: the daily check-in and its
    # one nudge wait CRISIS_GAP after the alert. SPEC §5.1 watches check-ins for 72 h
    # after an alert (a missed one raises a same-day alert), so they are not dropped.
    defer = "defer"
    # Bulk (lesson reminders, nudges, offers): dropped while the program's quiet period
    # runs. A lesson reminder that turns up hours after a crisis reads as if nobody
    # noticed; the lesson stays in Learn, and next week's reminder comes as usual.
    drop = "drop"


# Nothing but the crisis reply and its follow-through in the minutes after an alert.
CRISIS_GAP = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    rule: Rule
    # How late after due_at it may still be sent; None: no limit (alerts).
    grace: timedelta | None
    # Sent only while the client it concerns is active (not paused, discharged,
    # unreachable or deleted).
    needs_active_client: bool = True
    # Transient failures (5xx, network) before giving up; None: never give up.
    max_attempts: int | None = 6
    after_alert: AfterAlert = AfterAlert.send

    def held_after_alert(
        self, alert_at: datetime | None, quiet: timedelta, now: datetime
    ) -> tuple[AfterAlert, datetime] | None:
        """(drop, until) or (defer, until) when the client's latest alert, raised at
        `alert_at`, holds this message now; None when it goes out."""
        if alert_at is None or self.after_alert is AfterAlert.send:
            return None
        gap = max(quiet, CRISIS_GAP) if self.after_alert is AfterAlert.drop else CRISIS_GAP
        until = alert_at + gap
        return (self.after_alert, until) if now < until else None

    def deadline(self, due_at: datetime, expires_at: datetime | None) -> datetime | None:
        """The instant after which it is skipped: the earlier of its row's own
        deadline (e.g. the end of the client's day) and its kind's grace."""
        by_grace = due_at + self.grace if self.grace is not None else None
        candidates = [d for d in (expires_at, by_grace) if d is not None]
        return min(candidates) if candidates else None

    def late_reason(
        self, due_at: datetime, expires_at: datetime | None, now: datetime
    ) -> str | None:
        deadline = self.deadline(due_at, expires_at)
        if deadline is None or now <= deadline:
            return None
        late = int((now - due_at).total_seconds())
        return f"late: {late // 60} min after due, past its grace (until {deadline:%H:%M} UTC)"


CHECKIN = Kind("checkin", Rule.at_most_once, grace=timedelta(hours=3), after_alert=AfterAlert.defer)
CHECKIN_NUDGE = Kind(
    "checkin_nudge", Rule.at_most_once, grace=timedelta(minutes=30), after_alert=AfterAlert.defer
)
# The generic urgent kind: the text is rendered when the alert is raised.
ALERT = Kind("alert", Rule.at_least_once, grace=None, needs_active_client=False, max_attempts=None)

# How long after the check-in prompt its one nudge comes, if the client has not started.
NUDGE_AFTER = timedelta(hours=2)

_KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> Kind:
    """Declare a kind (feature modules call this at import); re-declaring must agree."""
    existing = _KINDS.get(kind.name)
    if existing is not None and existing != kind:
        raise ValueError(f"delivery kind {kind.name!r} is already declared differently")
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> Kind | None:
    return _KINDS.get(name)


def known_kinds() -> list[str]:
    return sorted(_KINDS)


for _kind in (CHECKIN, CHECKIN_NUDGE, ALERT):
    register_kind(_kind)
