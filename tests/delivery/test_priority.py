"""Priority classes (issue 21): the most urgent message goes first under Telegram's cap,
lower classes still get their share, and the claim orders by class then due time."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select
from telegram.ext import ExtBot

from bot.features.delivery import build_engine
from bot.models import Delivery
from bot.scheduling import outbox
from bot.scheduling.clock import ManualClock
from bot.scheduling.planner import insert_new
from bot.scheduling.priority import Priority, ShareKeeper, sending_as, split_claim
from bot.scheduling.rate_limiter import PriorityRateLimiter
from bot.scheduling.send_budget import LocalBudget
from bot.services import Services
from bot.telegram_sandbox import SandboxServer
from tests.delivery.conftest import START, a_program, enrolled_client, open_chat

KINDS = ["alert", "checkin", "med_reminder", "digest"]


def _row(kind: str, key: str, due_seconds: float) -> dict[str, Any]:
    due = START + timedelta(seconds=due_seconds)
    return {
        "kind": kind,
        "recipient_chat_id": 1000 + abs(hash(key)) % 100000,
        "due_at": due,
        "available_at": due,
        "payload": {"text": "x"},
        "status": "pending",
        "attempts": 0,
        "dedupe_key": key,
        "created_at": due,
    }


async def _claim(services: Services, limit: int, now_seconds: float) -> list[str]:
    async with services.engine.begin() as connection:
        items = await outbox.claim(
            connection,
            worker="w",
            now=START + timedelta(seconds=now_seconds),
            kinds=KINDS,
            limit=limit,
        )
    return [i.dedupe_key for i in items]


async def test_the_claim_takes_the_most_urgent_class_first_then_the_earliest_due(
    services: Services,
) -> None:
    # A backlog of 30 prompts due first, then 3 medication reminders, then 2 alerts:
    # the alerts are claimed first, the reminders next, then the prompts due earliest.
    rows = [_row("checkin", f"p{n:02d}", n) for n in range(30)]
    rows += [_row("med_reminder", f"m{n}", 40 + n) for n in range(3)]
    rows += [_row("alert", f"a{n}", 50 - n) for n in range(2)]
    async with services.engine.begin() as connection:
        await insert_new(connection, rows)
    claimed = await _claim(services, limit=10, now_seconds=60)
    # The class was set from the kind when the row was queued (the column's default).
    assert claimed == ["a1", "a0", "m0", "m1", "m2", "p00", "p01", "p02", "p03", "p04"]
    assert await _claim(services, limit=3, now_seconds=60) == ["p05", "p06", "p07"]


async def test_a_steady_stream_of_alerts_never_starves_the_prompts(services: Services) -> None:
    async with services.engine.begin() as connection:
        await insert_new(connection, [_row("checkin", f"p{n:02d}", n) for n in range(5)])
    prompts: list[str] = []
    for minute in range(5):
        # Every round more alerts come than a whole claim can take.
        now = 100 + minute * 60
        fresh = [_row("alert", f"a{minute}:{n}", now) for n in range(20)]
        async with services.engine.begin() as connection:
            await insert_new(connection, fresh)
        claimed = await _claim(services, limit=10, now_seconds=now)
        assert sum(k.startswith("a") for k in claimed) == 9
        prompts += [k for k in claimed if k.startswith("p")]
    assert prompts == ["p00", "p01", "p02", "p03", "p04"]  # one a claim, earliest due first


async def test_a_same_day_alert_is_tagged_care_team_and_a_row_keeps_a_given_class(
    services: Services,
) -> None:
    async with services.sessions() as session:
        session.add(Delivery(kind="alert", recipient_chat_id=5, due_at=START, dedupe_key="u"))
        session.add(
            Delivery(
                kind="alert",
                recipient_chat_id=5,
                due_at=START,
                dedupe_key="s",
                priority=int(Priority.care_team),
            )
        )
        await session.commit()
        rows = {d.dedupe_key: d.priority for d in (await session.exec(select(Delivery))).all()}
    assert rows == {"u": Priority.crisis, "s": Priority.care_team}


def test_the_highest_waiting_class_goes_first_and_lower_ones_get_a_tenth() -> None:
    keeper = ShareKeeper(share=0.1)
    picks = [keeper.pick([Priority.crisis, Priority.bulk]) for _ in range(100)]
    assert picks[:10] == [Priority.crisis] * 10  # a share is earned, not given up front
    assert 9 <= picks.count(Priority.bulk) <= 10
    assert keeper.pick([Priority.timed, Priority.bulk]) == Priority.timed
    assert split_claim(100) == (90, 10) and split_claim(1) == (1, 0)


class _Recorder:
    """Stands in for the HTTP call: records which request went out, in order."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.draining = asyncio.Event()

    def call(self, name: str) -> Any:
        async def send() -> bool:
            self.sent.append(name)
            if len(self.sent) >= 5:
                self.draining.set()
            return True

        return send


async def _request(
    limiter: PriorityRateLimiter, recorder: _Recorder, name: str, cls: Priority
) -> None:
    with sending_as(cls, retries=0):
        await limiter.process_request(
            recorder.call(name), (), {}, "sendMessage", {"chat_id": 1}, None
        )


async def test_the_limiter_sends_a_crisis_request_at_the_next_slot_behind_a_bulk_backlog() -> None:
    limiter = PriorityRateLimiter(LocalBudget(rate=500))
    recorder = _Recorder()
    bulk = [
        asyncio.create_task(_request(limiter, recorder, f"bulk{n}", Priority.bulk))
        for n in range(100)
    ]
    await recorder.draining.wait()  # the backlog is going out
    before = len(recorder.sent)
    await _request(limiter, recorder, "crisis", Priority.crisis)
    # Sent at the next slot, ahead of the 95 bulk requests still waiting.
    assert recorder.sent.index("crisis") in (before, before + 1)
    await asyncio.gather(*bulk)
    assert len(recorder.sent) == 101
    await limiter.shutdown()


async def test_without_classes_the_crisis_request_waits_behind_the_backlog() -> None:
    limiter = PriorityRateLimiter(LocalBudget(rate=500), by_class=False)
    recorder = _Recorder()
    bulk = [
        asyncio.create_task(_request(limiter, recorder, f"bulk{n}", Priority.bulk))
        for n in range(50)
    ]
    await asyncio.sleep(0)
    await _request(limiter, recorder, "crisis", Priority.crisis)
    assert recorder.sent.index("crisis") == 50
    await asyncio.gather(*bulk)
    await limiter.shutdown()


@pytest.mark.parametrize("rate", [1000.0])
async def test_the_limiter_keeps_to_its_rate(rate: float) -> None:
    limiter = PriorityRateLimiter(LocalBudget(rate=rate))
    recorder = _Recorder()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(*(_request(limiter, recorder, f"b{n}", Priority.bulk) for n in range(200)))
    # 200 slots one millisecond apart: at least 199 ms, whatever else the machine does.
    assert loop.time() - started >= 0.199 - 0.005
    await limiter.shutdown()


async def test_paid_broadcast_mode_sets_the_parameter_only_on_the_bulk_class(
    services: Services, sandbox_server: SandboxServer, sandbox_bot: ExtBot[None]
) -> None:
    paid = Services(
        settings=services.settings.model_copy(update={"paid_broadcast": True}),
        content=services.content,
        engine=services.engine,
        sessions=services.sessions,
    )
    clock = ManualClock(START)
    engine = build_engine(paid, sandbox_bot, clock=clock)
    program = await a_program(services)
    await enrolled_client(services, sandbox_server, program, 1201, checkin_time="08:00")
    open_chat(sandbox_server, 1301)
    due = START.replace(hour=12, minute=0)  # 08:00 in New York
    async with services.engine.begin() as connection:
        alert = {**_row("alert", "alert:paid", 0), "recipient_chat_id": 1301}
        await insert_new(connection, [alert])
    clock.set(due)
    tally = await engine.run_once()
    assert tally.sent == 2
    paid_by_chat = {
        int(e["params"]["chat_id"]): e["params"].get("allow_paid_broadcast")
        for e in sandbox_server.state.requests
        if e["method"] == "sendMessage"
    }
    assert paid_by_chat == {1201: True, 1301: None}


async def test_an_alert_raised_during_a_batch_of_prompts_goes_before_the_rest_of_the_batch(
    services: Services, sandbox_server: SandboxServer, engine: Any
) -> None:
    program = await a_program(services)
    for user in range(1401, 1407):
        await enrolled_client(services, sandbox_server, program, user, checkin_time="08:00")
    open_chat(sandbox_server, 1501)
    # One prompt in flight, so "the next send" is well defined (with several lanes the
    # others' requests are already out when the alert is queued).
    engine.dispatcher.config = replace(engine.dispatcher.config, in_flight=1)
    real = engine.dispatcher.sender
    order: list[int] = []

    class RaisesAnAlertMidBatch:
        async def send(self, chat_id: int, message: Any) -> int:
            order.append(chat_id)
            if len(order) == 2:  # a client wrote in crisis while the prompts go out
                async with services.engine.begin() as connection:
                    alert = {**_row("alert", "alert:mid", 0), "recipient_chat_id": 1501}
                    await insert_new(connection, [alert])
                engine.kick()
            return int(await real.send(chat_id, message))

    engine.dispatcher.sender = RaisesAnAlertMidBatch()
    await engine.tick()  # plans the six prompts due now and starts a drain
    await engine.wait_idle()
    assert len(order) == 7
    assert order[2] == 1501  # the next send after the alert was queued
