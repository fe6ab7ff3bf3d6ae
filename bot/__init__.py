"""Waypoint."""

import os

# python-telegram-bot 22 gives time periods (RetryAfter.retry_after, durations) as
# `datetime.timedelta` when PTB_TIMEDELTA is set, the only form in its next major
# version; without it every RetryAfter, even one PTB builds from a 429, warns about the
# change. Waypoint reads them as timedelta (bot/scheduling/telegram_sender.py).
os.environ.setdefault("PTB_TIMEDELTA", "true")
