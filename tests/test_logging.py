"""Logging at the default level: Waypoint's own lines, not APScheduler's per-run chatter."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.runner import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("apscheduler", "httpx")}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


def _lines(path: Path) -> list[str]:
    logging.getLogger("apscheduler.executors.default").info(
        'Running job "delivery.tick (trigger: interval[0:00:02], next run at: …)"'
    )
    logging.getLogger("apscheduler.executors.default").info(
        'Job "delivery.tick (trigger: interval[0:00:02], …)" executed successfully'
    )
    logging.getLogger("apscheduler.executors.default").warning(
        'Run time of job "delivery.tick" was missed by 0:00:03'
    )
    logging.getLogger("bot.delivery").info("delivery.sent id=1 kind=alert chat=-1 attempt=1")
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8").splitlines()


@pytest.mark.usefixtures("restore_logging")
def test_the_default_level_keeps_one_line_per_send_and_drops_apschedulers_runs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.log"
    configure_logging("INFO", path=path)
    lines = _lines(path)
    assert not any("Running job" in line or "executed successfully" in line for line in lines)
    assert any("was missed by" in line for line in lines)  # a missed run still shows
    assert sum("delivery.sent" in line for line in lines) == 1


@pytest.mark.usefixtures("restore_logging")
def test_debug_shows_apschedulers_runs(tmp_path: Path) -> None:
    path = tmp_path / "bot.log"
    configure_logging("DEBUG", path=path)
    lines = _lines(path)
    assert any("Running job" in line for line in lines)
    assert any("executed successfully" in line for line in lines)
