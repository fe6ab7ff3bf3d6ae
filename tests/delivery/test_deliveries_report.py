"""`python -m bot deliveries` tells "sent" from "sent, uncertain" (may not have arrived)."""

from __future__ import annotations

from datetime import UTC, datetime
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
