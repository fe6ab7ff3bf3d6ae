"""Delivery rules and error classification (pure, plus the one Telegram adapter)."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.scheduling.errors import Action, Backoff, Failure, SendFailed, decide
from bot.scheduling.kinds import ALERT, CHECKIN, CHECKIN_NUDGE
from bot.scheduling.telegram_sender import classify
from tests.cli import REPO

DUE = datetime(2026, 6, 10, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("exc", "failure"),
    [
        (RetryAfter(timedelta(seconds=7)), Failure.rate_limited),
        (Forbidden("Forbidden: bot was blocked by the user"), Failure.forbidden),
        (BadRequest("Bad Request: chat not found"), Failure.bad_request),
        (TimedOut(), Failure.timed_out),
        (NetworkError("Internal Server Error"), Failure.transient),
        (ChatMigrated(-100123), Failure.chat_migrated),
        (InvalidToken("Unauthorized"), Failure.fatal),
    ],
)
def test_telegram_errors_are_classified_before_any_retry(exc: Exception, failure: Failure) -> None:
    # BadRequest and TimedOut are NetworkErrors: the order of the checks matters.
    assert classify(exc).failure is failure  # type: ignore[arg-type]


def test_retry_after_is_read_as_seconds() -> None:
    assert classify(RetryAfter(timedelta(seconds=7))).retry_after == 7.0
    assert classify(ChatMigrated(-100123)).migrate_to_chat_id == -100123


def _failed(failure: Failure, **kw: float) -> SendFailed:
    return SendFailed(failure, failure.value, **kw)  # type: ignore[arg-type]


def test_429_waits_retry_after_and_does_not_count_as_an_attempt() -> None:
    decision = decide(CHECKIN, _failed(Failure.rate_limited, retry_after=5), attempts=3)
    assert (decision.action, decision.delay, decision.counts) == (Action.retry, 5, False)


def test_5xx_backs_off_exponentially_with_jitter_then_gives_up() -> None:
    rng = random.Random(1)
    backoff = Backoff(base=2, cap=300)
    delays = [
        decide(CHECKIN, _failed(Failure.transient), n, backoff=backoff, rng=rng).delay
        for n in range(1, 6)
    ]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(300, 2 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert decide(CHECKIN, _failed(Failure.transient), CHECKIN.max_attempts or 0).action is (
        Action.fail
    )


def test_an_alert_never_gives_up_on_transient_errors() -> None:
    decision = decide(ALERT, _failed(Failure.transient), attempts=1000)
    assert decision.action is Action.retry
    assert decision.delay <= 300


def test_a_timeout_is_sent_uncertain_for_prompts_and_resent_for_alerts() -> None:
    assert decide(CHECKIN, _failed(Failure.timed_out), 1).action is Action.sent_uncertain
    assert decide(ALERT, _failed(Failure.timed_out), 1).action is Action.retry


@pytest.mark.parametrize(
    ("failure", "action"),
    [
        (Failure.forbidden, Action.unreachable),
        (Failure.bad_request, Action.fail),
        (Failure.fatal, Action.release),
        (Failure.chat_migrated, Action.retry),
    ],
)
def test_permanent_errors(failure: Failure, action: Action) -> None:
    assert decide(CHECKIN, _failed(failure), 1).action is action
    assert decide(ALERT, _failed(failure), 1).action is action


def test_grace_per_kind() -> None:
    day_end = DUE + timedelta(hours=4)
    assert CHECKIN.late_reason(DUE, day_end, DUE + timedelta(hours=2, minutes=59)) is None
    assert CHECKIN.late_reason(DUE, day_end, DUE + timedelta(hours=3, minutes=1))
    # The end of the client's day comes first when it is sooner than the grace.
    assert CHECKIN.late_reason(DUE, DUE + timedelta(hours=1), DUE + timedelta(hours=1, seconds=1))
    assert CHECKIN_NUDGE.late_reason(DUE, day_end, DUE + timedelta(minutes=29)) is None
    assert CHECKIN_NUDGE.late_reason(DUE, day_end, DUE + timedelta(minutes=31))
    assert ALERT.late_reason(DUE, None, DUE + timedelta(days=3)) is None


def test_the_engine_imports_nothing_from_telegram_but_its_one_adapter() -> None:
    modules = [
        "bot.scheduling.local_times",
        "bot.scheduling.kinds",
        "bot.scheduling.errors",
        "bot.scheduling.engine",
        "bot.scheduling.planner",
        "bot.scheduling.program_cron",
        "bot.scheduling.builtin_kinds",
        "bot.scheduling.stats",
    ]
    code = (
        f"import sys\nfor m in {modules!r}: __import__(m)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'telegram'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == "[]"
