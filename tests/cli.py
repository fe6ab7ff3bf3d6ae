"""Running `python -m bot …` as an admin would, in a clean environment.

`run_cli` runs the short commands (admin, migrate, health, deliveries, keygen, --help)
in this process: the same `bot.cli.main`, with the same environment, `.env` folder,
standard input and output a subprocess would get, but without paying ~2.5 s of Python
start-up and imports each time. Commands that start a server, the demo or anything
else, and any call with `subprocess=True`, run the real `python -m bot` subprocess, so
the command line as a user runs it stays tested end to end.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from unittest import mock

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

# Commands that only read settings, talk to the database (and getMe) and print: they
# leave no process-wide state behind (no logging set-up, signal handlers or servers).
_IN_PROCESS = frozenset({"admin", "migrate", "health", "deliveries", "keygen"})

# sys.stdout/stderr/stdin, os.environ and the settings' .env path are process-wide:
# one in-process command at a time.
_LOCK = threading.Lock()


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
    real_process: bool = False,
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in _OURS}
    full_env = {**clean, **(env or {})}
    folder = cwd or REPO / "tests"
    if not real_process and runs_in_process(args):
        return run_in_process(
            list(args), env=full_env, stdin=stdin or "", cwd=folder, timeout=timeout
        )
    return run_subprocess(list(args), env=full_env, stdin=stdin, cwd=folder, timeout=timeout)


def runs_in_process(args: tuple[str, ...] | list[str]) -> bool:
    """Whether `python -m bot ARGS` can run in this process (see the module's doc)."""
    if "--help" in args or "-h" in args:
        return True
    return bool(args) and args[0] in _IN_PROCESS


def run_subprocess(
    args: list[str],
    *,
    env: Mapping[str, str],
    stdin: str | None,
    cwd: Path,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """The real `python -m bot ARGS`, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=dict(env),
        # A folder without a .env file, so only what the test sets is read.
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def run_in_process(
    args: list[str], *, env: Mapping[str, str], stdin: str, cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`bot.cli.main(ARGS)` here, seen as a subprocess would be: its exit code and what it
    printed (a traceback and exit code 1 for an exception it let through).

    In a thread of its own, as `main` runs its own event loop (`asyncio.run`), which
    cannot start in a thread whose loop is running (an async test's)."""
    result: list[subprocess.CompletedProcess[str]] = []
    worker = threading.Thread(
        target=lambda: result.append(_main(args, env, stdin, cwd, timeout)),
        name="python -m bot " + " ".join(args[:2]),
        daemon=True,
    )
    worker.start()
    worker.join(timeout)
    if not result:
        raise subprocess.TimeoutExpired([sys.executable, "-m", "bot", *args], timeout)
    return result[0]


def _main(
    args: list[str], env: Mapping[str, str], stdin: str, cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    from bot.cli import main

    out, err = io.StringIO(), io.StringIO()
    if not _LOCK.acquire(timeout=timeout):  # another one still hangs
        raise subprocess.TimeoutExpired([sys.executable, "-m", "bot", *args], timeout)
    try:
        with (
            _as_process(env, cwd),
            _kept_encryption(),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            mock.patch.object(sys, "stdin", io.StringIO(stdin)),
        ):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
                code = _exit_code(exc.code, err)
            except BaseException:
                traceback.print_exc(file=err)
                code = 1
    finally:
        _LOCK.release()
    return subprocess.CompletedProcess(
        [sys.executable, "-m", "bot", *args], code, out.getvalue(), err.getvalue()
    )


def _exit_code(value: object, err: io.StringIO) -> int:
    """As the interpreter turns `SystemExit(value)` into an exit status."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=err)
    return 1


@contextlib.contextmanager
def _as_process(env: Mapping[str, str], cwd: Path) -> Iterator[None]:
    """The environment a subprocess would get, and its `.env` read from its folder."""
    from bot.settings import Settings

    # A subprocess's output is a pipe, so argparse wraps its help at 80 columns, whatever
    # the terminal pytest runs in.
    env = {"COLUMNS": "80", **env}
    # Only the variables that differ change: another thread (the bot under test) may
    # read the others meanwhile.
    before = dict(os.environ)
    with mock.patch.dict(Settings.model_config, {"env_file": str(cwd / ".env")}):
        try:
            for name in before.keys() - env.keys():
                del os.environ[name]
            os.environ.update({k: v for k, v in env.items() if before.get(k) != v})
            yield
        finally:
            for name in os.environ.keys() - before.keys():
                del os.environ[name]
            os.environ.update({k: v for k, v in before.items() if os.environ.get(k) != v})


@contextlib.contextmanager
def _kept_encryption() -> Iterator[None]:
    """The admin commands set this process's ENCRYPTION_KEY (bot.sealed) from their own
    settings; a subprocess would leave the bot under test with its own."""
    from bot import sealed

    kept = sealed._fernet
    try:
        yield
    finally:
        sealed._fernet = kept
