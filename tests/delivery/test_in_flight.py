"""DELIVERY_IN_FLIGHT is a bound: an urgent batch that preempts the lanes (a kick during
a batch) sends in the preempting lane's place, so the at-most-once rows marked
`sending` (what a kill would leave in doubt) never outnumber DELIVERY_IN_FLIGHT."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.features.delivery import build_engine
from bot.models import Delivery
from bot.scheduling.planner import insert_new
from bot.scheduling.priority import Priority
from bot.services import Services
from bot.telegram_sandbox import SandboxServer
from tests.delivery.conftest import START, a_program, enrolled_client, open_chat

delivery = Delivery.__table__  # type: ignore[attr-defined]
IN_FLIGHT = 2


async def test_urgent_prompts_queued_mid_batch_never_put_more_than_in_flight_in_doubt(
    services: Services, sandbox_server: SandboxServer, sandbox_bot: Any, clock: Any
) -> None:
    svc = Services(
        settings=services.settings.model_copy(update={"delivery_in_flight": IN_FLIGHT}),
        content=services.content,
        engine=services.engine,
        sessions=services.sessions,
    )
    engine = build_engine(svc, sandbox_bot, clock=clock)
    program = await a_program(services)
    for user in range(1601, 1609):
        await enrolled_client(services, sandbox_server, program, user, checkin_time="08:00")
    urgent_chats = range(1701, 1705)
    for chat in urgent_chats:
        open_chat(sandbox_server, chat)
    real = engine.dispatcher.sender
    in_doubt: list[int] = []  # rows marked `sending` as each request goes out

    class QueuesUrgentPromptsMidBatch:
        async def send(self, chat_id: int, message: Any) -> int:
            async with services.engine.connect() as connection:
                sending = await connection.execute(
                    sa.select(sa.func.count()).where(delivery.c.status == "sending")
                )
                in_doubt.append(sending.scalar_one())
                nth = len(in_doubt)  # here: other lanes append while this one awaits
            if nth == 2:  # at-most-once rows of the crisis class arrive
                rows = [
                    {
                        "kind": "checkin",
                        "recipient_chat_id": chat,
                        "due_at": START,
                        "available_at": START,
                        "payload": {},
                        "status": "pending",
                        "attempts": 0,
                        "dedupe_key": f"urgent:{chat}",
                        "created_at": START,
                        "priority": int(Priority.crisis),
                    }
                    for chat in urgent_chats
                ]
                async with services.engine.begin() as connection:
                    await insert_new(connection, rows)
                engine.kick()
            return int(await real.send(chat_id, message))

    engine.dispatcher.sender = QueuesUrgentPromptsMidBatch()
    await engine.tick()  # plans the eight prompts due now and starts a drain
    await engine.wait_idle()
    assert len(in_doubt) == 12  # every prompt and every urgent row went out
    assert max(in_doubt) > 1  # the lanes did run side by side
    assert max(in_doubt) <= IN_FLIGHT, in_doubt
