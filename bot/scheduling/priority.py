"""Priority classes: which outgoing message goes first when Telegram's cap is reached (pure).

Every message has a class. Under the cap a higher class is always sent first; a lower
class still gets a minimum share, so a steady stream of alerts cannot stop check-in
prompts forever. The class of a scheduled message is stored on its outbox row (the
claim orders by it); a message sent straight from a handler takes the class of the
context it is sent in (`sending_as`), interactive unless the handler says otherwise.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class Priority(IntEnum):
    """Lower value, sent first (the outbox's `priority` column holds the value)."""

    crisis = 0  # the crisis reply and its follow-ups, urgent alerts, escalations
    interactive = 1  # answers to what a person just did
    care_team = 2  # same-day alerts, digests, notices to clinicians
    timed = 3  # session and medication reminders: a near deadline
    bulk = 4  # check-in prompts, nudges, lesson reminders


# The class of each scheduled kind. A kind missing here: at-least-once kinds are messages
# to the care team, at-most-once kinds bulk (kinds.Rule decides, see class_of_kind).
KIND_CLASSES: dict[str, Priority] = {
    # The generic alert kind: an urgent alert's copies. A same-day alert's copies are
    # tagged care_team where they are queued (bot/alerts.py).
    "alert": Priority.crisis,
    "alert_escalation": Priority.crisis,
    "alert_unreached": Priority.crisis,
    "alert_followup": Priority.crisis,
    "alert_more": Priority.crisis,
    "careteam_notice": Priority.care_team,
    "session_notice": Priority.care_team,
    "digest": Priority.care_team,
    "digest_chart": Priority.care_team,
    "session_reminder": Priority.timed,
    "med_reminder": Priority.timed,
    "checkin": Priority.bulk,
    "checkin_nudge": Priority.bulk,
    "lesson_nudge": Priority.bulk,
}


def of_rank(value: int | None) -> Priority:
    """A stored rank as a class (a value out of range: care team, never lost)."""
    try:
        return Priority(value if value is not None else Priority.care_team)
    except ValueError:
        return Priority.care_team


def class_of_kind(kind: str, *, at_least_once: bool | None = None) -> Priority:
    known = KIND_CLASSES.get(kind)
    if known is not None:
        return known
    if at_least_once is None:
        # Unknown rule (a kind from a newer version): sooner rather than later.
        return Priority.care_team
    return Priority.care_team if at_least_once else Priority.bulk


# --- the class of a request being sent now ---------------------------------------------


@dataclass(frozen=True, slots=True)
class SendContext:
    priority: Priority
    # The outbox retries a 429 itself (that row only, other chats go on); a handler's
    # own send waits out retry_after once and tries again.
    retries: int = 1


_DEFAULT = SendContext(Priority.interactive)
_CURRENT: contextvars.ContextVar[SendContext | None] = contextvars.ContextVar(
    "waypoint_send_context", default=None
)


def current() -> SendContext:
    return _CURRENT.get() or _DEFAULT


@contextmanager
def sending_as(priority: Priority, *, retries: int = 1) -> Iterator[None]:
    """Requests made inside the block (in this task) go out as `priority`."""
    token = _CURRENT.set(SendContext(priority, retries))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def in_class(priority: Priority) -> Callable[[F], F]:
    """A handler whose every send goes out as `priority` (the crisis reply's follow-ups)."""

    def wrap(handler: F) -> F:
        @functools.wraps(handler)
        async def sends_as(*args: Any, **kwargs: Any) -> Any:
            with sending_as(priority):
                return await handler(*args, **kwargs)

        return cast(F, sends_as)

    return wrap


# --- who goes next --------------------------------------------------------------------


@dataclass
class ShareKeeper:
    """Picks the class to serve next: the highest waiting one, except that every class
    passed over earns `share` of a turn and takes a turn once it holds a whole one. So
    a waiting class gets at least about `share` of the sends (1 in 10 by default)."""

    share: float = 0.1
    credit: dict[Priority, float] = field(default_factory=dict)

    def pick(self, waiting: Iterable[Priority]) -> Priority | None:
        classes = sorted(set(waiting))
        if not classes:
            return None
        top = classes[0]
        owed = [c for c in classes[1:] if self.credit.get(c, 0.0) >= 1.0]
        chosen = owed[0] if owed else top
        for c in classes[1:]:
            self.credit[c] = self.credit.get(c, 0.0) + (-1.0 if c == chosen else self.share)
        # A share is owed only while waiting, and never to the class served first.
        for c in list(self.credit):
            if c not in classes or c == top:
                del self.credit[c]
        return chosen


def split_claim(limit: int, share: float = 0.1) -> tuple[int, int]:
    """A claim of `limit` rows: (by class then due time, by due time alone). The second
    part is the lower classes' minimum share: the oldest due rows whatever their class."""
    if limit <= 1 or share <= 0:
        return limit, 0
    fair = max(1, int(limit * share))
    return limit - fair, fair
