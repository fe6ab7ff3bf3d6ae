"""Running `python -m bot …` as an admin would, in a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Variables that would leak the developer's own configuration into a test.
_OURS = (
    "TELEGRAM_BOT_TOKEN",
    "DATABASE_URL",
    "TELEGRAM_API_BASE_URL",
    "DEFAULT_TIMEZONE",
    "DEFAULT_REGION",
    "LOG_LEVEL",
    "ENCRYPTION_KEY",
)


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in _OURS}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        # A folder without a .env file, so only what the test sets is read.
        cwd=cwd or REPO / "tests",
        timeout=timeout,
        check=False,
    )
