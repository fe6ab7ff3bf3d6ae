"""Safety screen: pure Python, no Telegram. See content/safety/README.md for the rules."""

from bot.safety.models import Evidence, ScreenResult
from bot.safety.rules import RulesError
from bot.safety.screener import Screener, load_screener, screen

__all__ = ["Evidence", "RulesError", "ScreenResult", "Screener", "load_screener", "screen"]
