"""What a failed send means and what to do next (pure: no Telegram types here).

`telegram_sender` turns python-telegram-bot's exceptions into a `SendFailed` with a
`Failure`; `decide` maps it, the kind's rule and the attempt count to an action.
The classification matters because python-telegram-bot's `BadRequest` and `TimedOut`
are both `NetworkError`s: retrying every NetworkError resends bad requests forever and
duplicates messages that did arrive.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from bot.scheduling.kinds import Kind, Rule


class Failure(StrEnum):
    rate_limited = "rate_limited"  # 429: wait retry_after, this chat only
    transient = "transient"  # 5xx, connection refused or reset: it did not arrive
    timed_out = "timed_out"  # no answer in time: it MAY have arrived
    forbidden = "forbidden"  # 403: blocked by the person, or account deleted
    bad_request = "bad_request"  # 400: retrying cannot help
    chat_migrated = "chat_migrated"  # a group became a supergroup: new chat id
    fatal = "fatal"  # the bot itself is refused (token revoked, 409): stop sending


class SendFailed(Exception):
    def __init__(
        self,
        failure: Failure,
        description: str,
        *,
        retry_after: float | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.failure = failure
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id


class Action(StrEnum):
    retry = "retry"  # back to pending, available again after `delay`
    fail = "fail"  # failed, with the error; no retry
    sent_uncertain = "sent_uncertain"  # may have arrived: recorded as sent, never resent
    unreachable = "unreachable"  # failed, and the recipient client is unreachable
    release = "release"  # put back untouched and stop this worker's sending


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    delay: float = 0.0
    # False when the attempt should not count toward the kind's limit (a 429 is
    # Telegram pacing us, not the message failing).
    counts: bool = True


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float = 2.0
    cap: float = 300.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Exponential with jitter: half fixed, half random, so workers spread out."""
        ceiling = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def decide(
    kind: Kind,
    failure: SendFailed,
    attempts: int,
    *,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
) -> Decision:
    """`attempts`: the attempts made so far, this one included."""
    backoff = backoff or Backoff()
    rng = rng or random.Random()
    match failure.failure:
        case Failure.rate_limited:
            return Decision(Action.retry, delay=max(0.0, failure.retry_after or 1.0), counts=False)
        case Failure.chat_migrated:
            return Decision(Action.retry, counts=False)
        case Failure.forbidden:
            return Decision(Action.unreachable)
        case Failure.bad_request:
            return Decision(Action.fail)
        case Failure.fatal:
            return Decision(Action.release, counts=False)
        case Failure.timed_out if kind.rule is Rule.at_most_once:
            return Decision(Action.sent_uncertain)
        case Failure.timed_out | Failure.transient:
            if kind.max_attempts is not None and attempts >= kind.max_attempts:
                return Decision(Action.fail)
            return Decision(Action.retry, delay=backoff.delay(attempts, rng))
    raise AssertionError(failure.failure)  # pragma: no cover
