"""`python -m bot deliveries` tells "sent" from "sent, uncertain" (may not have arrived)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.scheduling.planner import insert_new
from bot.services import Services
from tests.cli import run_cli


async def test_sent_uncertain_prompts_are_not_shown_as_plain_sent(services: Services) -> None:
    now = datetime.now(UTC)
    common: dict[str, Any] = {
        "recipient_chat_id": 1,
        "payload": {},
        "attempts": 1,
        "created_at": now,
        "due_at": now,
        "available_at": now,
        "kind": "checkin",
        "status": "sent",
        "last_error": None,
        "reason": None,
    }
    rows = [
        {**common, "dedupe_key": "a"},
        {**common, "dedupe_key": "b", "reason": "uncertain: timed_out; not sent again"},
        {
            **common,
            "dedupe_key": "c",
            "reason": "uncertain: the worker stopped while sending; not sent again",
        },
    ]
    async with services.engine.begin() as connection:
        await insert_new(connection, rows)
    result = run_cli("deliveries", env={"DATABASE_URL": services.settings.database_url})
    assert result.returncode == 0, result.stderr
    header, checkin_line = result.stdout.splitlines()[:2]
    columns = dict(zip(header.split()[1:], checkin_line.split()[1:], strict=True))
    assert columns["sent"] == "1"
    assert "sent, uncertain (may not have arrived" in result.stdout
    assert "checkin 2" in result.stdout


async def test_the_report_shows_each_classs_backlog_its_time_to_clear_and_the_stars_cost(
    services: Services,
) -> None:
    now = datetime.now(UTC)
    common: dict[str, Any] = {
        "recipient_chat_id": 1,
        "payload": {},
        "attempts": 0,
        "created_at": now,
        "due_at": now - timedelta(minutes=1),
        "available_at": now - timedelta(minutes=1),
        "status": "pending",
    }
    rows = [{**common, "kind": "checkin", "dedupe_key": f"p{n}"} for n in range(300)]
    rows += [{**common, "kind": "alert", "dedupe_key": f"a{n}"} for n in range(30)]
    async with services.engine.begin() as connection:
        await insert_new(connection, rows)
    result = run_cli(
        "deliveries",
        env={"DATABASE_URL": services.settings.database_url, "TELEGRAM_RATE_LIMIT": "30"},
    )
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    # Nothing sent lately: at the cap, 30 a second. The alerts go first (1 s), the
    # prompts after them (330 / 30 = 11 s).
    assert "30 due, clears in 1s" in lines["crisis"]
    assert "300 due, clears in 11s" in lines["bulk"]
    assert "about 300 messages, would cost about 30 Stars" in result.stdout
