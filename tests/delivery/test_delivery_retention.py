"""Finished deliveries are erased after DELIVERY_RETENTION_DAYS (their payload may hold
what the message said); unsent ones are kept whatever their age."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.models import Delivery
from bot.scheduling.clock import ManualClock
from bot.scheduling.engine import DeliveryEngine
from bot.scheduling.planner import insert_new
from bot.services import Services


async def test_old_finished_deliveries_are_pruned(
    services: Services, engine: DeliveryEngine, clock: ManualClock
) -> None:
    now = clock.now()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    common: dict[str, Any] = {
        "recipient_chat_id": 1,
        "payload": {"text": "words"},
        "attempts": 1,
        "created_at": old,
        "kind": "no_such_kind",  # never claimed by this dispatcher
        "last_error": None,
        "sent_at": None,
        "expires_at": now + timedelta(days=1),
    }
    rows = [
        {"dedupe_key": "old-sent", "status": "sent", "due_at": old, "sent_at": old},
        {"dedupe_key": "old-failed", "status": "failed", "due_at": old},
        {"dedupe_key": "old-skipped", "status": "skipped", "due_at": old},
        {"dedupe_key": "recent-sent", "status": "sent", "due_at": old, "sent_at": recent},
        {"dedupe_key": "old-pending", "status": "pending", "due_at": old},
    ]
    async with services.engine.begin() as connection:
        await insert_new(
            connection, [{**common, **row, "available_at": row["due_at"]} for row in rows]
        )
    await engine.run_once()
    async with services.sessions() as session:
        kept = sorted(d.dedupe_key for d in (await session.exec(select(Delivery))).all())
    assert kept == ["old-pending", "recent-sent"]
