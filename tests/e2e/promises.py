"""What the crisis reply says about when the care team will see an alert, for a program
set up as the end-to-end tests set theirs up (bot/careteam_promise.py picks it)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.careteam_promise import promise_sentence
from bot.content import LanguagePack, render

HOURS = "Mon-Fri 9am-5pm"
ZONE = "America/New_York"


def promise_now(pack: LanguagePack, *, hours: str | None = HOURS, on_call: bool = False) -> str:
    return promise_sentence(
        pack.alerts.promise, datetime.now(UTC), ZONE, hours, on_call, pack.checkin.weekdays
    )


def told_now(pack: LanguagePack, *, hours: str | None = HOURS) -> str:
    """The urgent reply's "who was told" message, for a program without on-call."""
    return render(pack.alerts.reply.told_no_on_call, promise=promise_now(pack, hours=hours))


def same_day_now(pack: LanguagePack, *, hours: str | None = HOURS) -> str:
    return render(pack.alerts.reply.same_day, promise=promise_now(pack, hours=hours))
