"""tests/cli.py runs the short commands in the test's own process: it must answer exactly as
the real `python -m bot` process does, or the tests that use it would test something else."""

from __future__ import annotations

from pathlib import Path

from tests.cli import run_cli


def _seen(*args: str, env: dict[str, str], real_process: bool) -> tuple[int, str, str]:
    result = run_cli(*args, env=env, real_process=real_process)
    return result.returncode, result.stdout, result.stderr


def test_in_process_commands_answer_as_the_real_process(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/w.db", "BOT_USERNAME": "waypoint_test_bot"}
    # A mistake an admin makes (one sentence, exit 2) and a usage error from argparse.
    for args in (("admin", "program", "list"), ("admin", "program", "add", "--name", "P")):
        in_process = _seen(*args, env=env, real_process=False)
        assert in_process == _seen(*args, env=env, real_process=True)
        assert in_process[0] == 2 and in_process[2] and "Traceback" not in in_process[2]
    # And a command that works, reading what another one wrote.
    assert run_cli("migrate", env=env).returncode == 0
    added = _seen(
        "admin", "program", "add", "--name", "P", "--timezone", "UTC", "--region", "US",
        env=env, real_process=False,
    )  # fmt: skip
    assert added[0] == 0, added
    listed = _seen("admin", "program", "list", env=env, real_process=False)
    assert listed == _seen("admin", "program", "list", env=env, real_process=True)
    assert listed[0] == 0 and "P  [US, UTC]" in listed[1]
