"""The bot does not start with the screen's model file missing: it says so and how to
build it, instead of screening on its rules alone. Run on a copy of the code and content
without the model file (the real file is never touched)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODEL = Path("content") / "safety" / "model.json.gz"


@pytest.mark.parametrize("command", ["run", "webhook"])
def test_start_up_without_the_model_file_stops_with_a_clear_error(
    tmp_path: Path, command: str
) -> None:
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "bot", tmp_path / "bot", ignore=ignore)
    shutil.copytree(REPO / "content", tmp_path / "content", ignore=ignore)
    (tmp_path / MODEL).unlink()
    assert (REPO / MODEL).is_file()
    database = tmp_path / "waypoint.db"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)},
        "TELEGRAM_BOT_TOKEN": "123456:test-sandbox-token-abcdefghij",
        "WEBHOOK_URL": "https://example.org/telegram",
        "WEBHOOK_SECRET": "s" * 32,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bot", command],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # `-m bot` imports the copy, whose content has no model file
        env=env,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("Waypoint cannot start: ")
    assert str(tmp_path / MODEL) in proc.stderr
    assert "model file is missing" in proc.stderr
    assert "python -m bot screen train" in proc.stderr
    assert "does not run on its rules alone" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not database.exists()  # stopped before connecting, let alone polling
