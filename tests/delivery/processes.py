"""Real worker processes for the crash tests: started with the environment an admin
would set, killed with SIGKILL, never asked to stop politely."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.cli import REPO
from tests.harness import TEST_TOKEN


def worker_env(database_url: str, sandbox_url: str, worker_id: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "WORKER_ID", "DYNO")
    }
    env.update(
        DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=TEST_TOKEN,
        TELEGRAM_API_BASE_URL=sandbox_url,
        WORKER_ID=worker_id,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Worker:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, *args], env=env, cwd=REPO, stdout=self._out, stderr=self._out
        )

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, exactly like a crash or an OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._out.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    what: str,
    worker: Worker | None = None,
    limit: float = 60,
) -> None:
    """Poll until `condition` holds (an event in another process), or fail saying what."""
    deadline = time.monotonic() + limit
    while not await condition():
        if worker is not None and worker.process.poll() is not None:
            raise AssertionError(f"worker exited before {what}:\n{worker.output()}")
        if time.monotonic() > deadline:
            detail = f"\n{worker.output()}" if worker else ""
            raise AssertionError(f"timed out waiting for {what}{detail}")
        await asyncio.sleep(0.05)
