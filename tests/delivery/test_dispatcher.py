"""The dispatcher against the sandbox: Telegram's errors, grace periods and the rules
of each kind, with the clock driven by the test (nothing sleeps to let time pass)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from bot.content import Content
from bot.models import AuditEvent, Client, ClientStatus, Delivery, DeliveryStatus
from bot.scheduling import outbox
from bot.scheduling.builtin_kinds import cancel_nudges_after_activity
from bot.scheduling.clock import ManualClock
from bot.scheduling.engine import DeliveryEngine
from bot.scheduling.planner import insert_new
from bot.services import Services
from bot.telegram_sandbox import SandboxServer
from tests.delivery.conftest import a_program, enrolled_client

EDT = timedelta(hours=-4)  # New York in June


def _local(hour: int, minute: int = 0, day: int = 10) -> datetime:
    """A New York wall time in June 2026, as UTC."""
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC) - EDT


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive UTC, PostgreSQL aware."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _row(svc: Services, key: str) -> Delivery:
    async with svc.sessions() as session:
        row = (await session.exec(select(Delivery).where(Delivery.dedupe_key == key))).one()
    return row


async def _client(svc: Services, client_id: int | None) -> Client:
    async with svc.sessions() as session:
        row = await session.get(Client, client_id)
    assert row is not None
    return row


def _texts(server: SandboxServer, chat_id: int) -> list[str]:
    chat = server.state.chats.get(chat_id)
    if chat is None:
        return []
    return [e.get("text") or "" for e in chat.events if e.get("event") == "sent"]


async def _alert(svc: Services, key: str, chat_id: int, due: datetime, text: str) -> None:
    async with svc.engine.begin() as connection:
        await insert_new(
            connection,
            [
                {
                    "kind": "alert",
                    "recipient_chat_id": chat_id,
                    "due_at": due,
                    "available_at": due,
                    "payload": {"text": text},
                    "status": "pending",
                    "attempts": 0,
                    "dedupe_key": key,
                    "created_at": due,
                }
            ],
        )


async def test_a_due_checkin_prompt_is_sent_once_with_its_button(
    services: Services,
    sandbox_server: SandboxServer,
    engine: DeliveryEngine,
    clock: ManualClock,
    content: Content,
) -> None:
    program = await a_program(services)
    client = await enrolled_client(services, sandbox_server, program, 1001)
    clock.set(_local(19, 58))
    assert (await engine.run_once()).claimed == 0  # planned, not due yet
    clock.set(_local(20, 0))
    tally = await engine.run_once()
    assert (tally.sent, tally.claimed) == (1, 1)
    assert (await engine.run_once()).claimed == 0
    (event,) = sandbox_server.state.chats[1001].events
    ui = content.language("en").ui
    assert event["text"] == ui.checkin_prompt
    row = await _row(services, f"checkin:{client.id}:2026-06-10")
    assert event["reply_markup"] == {
        "inline_keyboard": [[{"text": ui.checkin_button, "callback_data": f"ci:{row.id}"}]]
    }
    assert row.status is DeliveryStatus.sent
    assert row.sent_at == _local(20, 0)
    assert row.telegram_message_id == event["message_id"]
    assert row.attempts == 1


async def test_429_waits_retry_after_for_that_chat_only(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    program = await a_program(services)
    first = await enrolled_client(services, sandbox_server, program, 1101)
    second = await enrolled_client(services, sandbox_server, program, 1102)
    clock.set(_local(19, 59))
    await engine.run_once()
    await _faults(sandbox_server, error_code=429, retry_after=5, count=1, methods=["sendMessage"])
    clock.set(_local(20, 0))
    tally = await engine.run_once()
    assert (tally.sent, tally.retried) == (1, 1)
    limited = [c for c in (first, second) if not _texts(sandbox_server, c.chat_id or 0)]
    (waiting,) = limited  # the other chat was not held up
    row = await _row(services, f"checkin:{waiting.id}:2026-06-10")
    assert row.status is DeliveryStatus.pending
    assert row.available_at == _local(20, 0) + timedelta(seconds=5)
    assert row.attempts == 0  # Telegram pacing us is not a failed attempt
    clock.advance(4.9)
    assert (await engine.run_once()).claimed == 0
    clock.advance(0.1)
    assert (await engine.run_once()).sent == 1
    assert len(_texts(sandbox_server, waiting.chat_id or 0)) == 1


async def test_500_is_retried_with_backoff_then_sent(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    program = await a_program(services)
    client = await enrolled_client(services, sandbox_server, program, 1201)
    key = f"checkin:{client.id}:2026-06-10"
    clock.set(_local(19, 59))
    await engine.run_once()
    await _faults(sandbox_server, error_code=500, count=2)
    clock.set(_local(20, 0))
    waits = []
    for _ in range(2):
        assert (await engine.run_once()).retried == 1
        row = await _row(services, key)
        assert row.status is DeliveryStatus.pending
        assert row.last_error == "Internal Server Error"
        waits.append((row.available_at - clock.now()).total_seconds())
        assert (await engine.run_once()).claimed == 0  # not before its backoff
        clock.set(row.available_at)
    assert 1 <= waits[0] <= 2 and 2 <= waits[1] <= 4  # exponential, with jitter
    assert (await engine.run_once()).sent == 1
    row = await _row(services, key)
    assert (row.status, row.attempts) == (DeliveryStatus.sent, 3)
    assert len(_texts(sandbox_server, 1201)) == 1


async def test_500_without_end_fails_after_the_limit_with_the_error(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    program = await a_program(services)
    client = await enrolled_client(services, sandbox_server, program, 1301)
    clock.set(_local(19, 59))
    await engine.run_once()
    await _faults(sandbox_server, error_code=502)
    clock.set(_local(20, 0))
    for _ in range(10):
        await engine.run_once()
        clock.advance(timedelta(minutes=5))
    row = await _row(services, f"checkin:{client.id}:2026-06-10")
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.failed, 6, "Bad Gateway")


async def test_403_marks_the_client_unreachable_and_stops_their_deliveries(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    program = await a_program(services)
    blocked = await enrolled_client(services, sandbox_server, program, 1401)
    other = await enrolled_client(services, sandbox_server, program, 1402)
    sandbox_server.state.blocked.add(1401)
    clock.set(_local(20, 0))
    await engine.run_once()
    prompt = await _row(services, f"checkin:{blocked.id}:2026-06-10")
    assert prompt.status is DeliveryStatus.failed
    assert prompt.last_error == "Forbidden: bot was blocked by the user"
    assert (await _client(services, blocked.id)).status is ClientStatus.unreachable
    nudge = await _row(services, f"checkin_nudge:{blocked.id}:2026-06-10")
    assert (nudge.status, nudge.reason) == (DeliveryStatus.skipped, "client unreachable")
    assert (await _client(services, other.id)).status is ClientStatus.active
    async with services.sessions() as session:
        (note,) = (await session.exec(select(AuditEvent))).all()
    assert (note.action, note.subject) == ("client_unreachable", f"client:{blocked.id}")
    # No retry, and nothing planned for them the next days.
    clock.set(_local(20, 0, day=12))
    await engine.run_once()
    assert len([r for r in sandbox_server.state.requests if r["method"] == "sendMessage"]) == 3
    assert _texts(sandbox_server, 1401) == []
    # The other client: the prompts of the 10th and the 12th (the 11th's is a day late).
    assert len(_texts(sandbox_server, 1402)) == 2


async def test_late_deliveries_are_skipped_by_their_kinds_grace(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    program = await a_program(services)
    on_time = await enrolled_client(services, sandbox_server, program, 1501, checkin_time="19:00")
    late = await enrolled_client(services, sandbox_server, program, 1502, checkin_time="20:00")
    evening = await enrolled_client(services, sandbox_server, program, 1503, checkin_time="22:30")
    clock.set(_local(18, 0))
    await engine.run_once()  # the planner's cursor starts here
    # Every worker was down from 18:00 to 22:50; the 19:00 prompt is past its 3 hours,
    # the 20:00 one is not, the 22:30 one is fine; nudges (21:00, 22:00) are late.
    clock.set(_local(22, 50))
    await engine.run_once()
    rows = {}
    async with services.sessions() as session:
        for row in (await session.exec(select(Delivery))).all():
            rows[(row.client_id, row.kind)] = row
    skipped = rows[(on_time.id, "checkin")]
    assert skipped.status is DeliveryStatus.skipped
    assert skipped.reason and skipped.reason.startswith("late: 230 min after due")
    assert rows[(late.id, "checkin")].status is DeliveryStatus.sent
    assert rows[(evening.id, "checkin")].status is DeliveryStatus.sent
    assert rows[(on_time.id, "checkin_nudge")].status is DeliveryStatus.skipped
    assert rows[(late.id, "checkin_nudge")].status is DeliveryStatus.skipped
    # The 22:30 prompt's nudge would be at 00:30 the next day: never planned.
    assert (evening.id, "checkin_nudge") not in rows
    assert _texts(sandbox_server, 1501) == []
    # A prompt is never sent after the client's local day ended, whatever its grace.
    clock.set(_local(22, 45, day=11))
    await engine.run_once()
    clock.set(_local(0, 5, day=12))
    await engine.run_once()
    row = await _row(services, f"checkin:{evening.id}:2026-06-11")
    assert row.status is DeliveryStatus.sent


async def test_a_prompt_is_not_sent_after_the_local_day_ended(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    program = await a_program(services)
    client = await enrolled_client(services, sandbox_server, program, 1601, checkin_time="23:00")
    clock.set(_local(22, 0))
    await engine.run_once()
    clock.set(_local(0, 1, day=11))  # 61 minutes late: within 3 hours, but tomorrow
    await engine.run_once()
    row = await _row(services, f"checkin:{client.id}:2026-06-10")
    assert row.status is DeliveryStatus.skipped
    assert row.reason and row.reason.startswith("late")
    assert _texts(sandbox_server, 1601) == []


async def test_an_alert_whose_first_send_fails_is_still_delivered(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    group = -1001234
    sandbox_server.state.group_chat(group, "Care team")
    clock.set(_local(14, 0))
    await _alert(
        services, "alert:1", group, clock.now(), "Urgent: client <b>K7Q-2</b> needs a call"
    )
    await _faults(sandbox_server, error_code=500, count=3)
    for _ in range(6):
        await engine.run_once()
        clock.advance(timedelta(seconds=30))
    assert _texts(sandbox_server, group) == ["Urgent: client <b>K7Q-2</b> needs a call"]
    row = await _row(services, "alert:1")
    assert (row.status, row.attempts) == (DeliveryStatus.sent, 4)


async def test_a_timeout_resends_an_alert_but_never_a_prompt(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    """A timeout may have delivered: the alert goes again (a duplicate is acceptable,
    a loss is not); the prompt is recorded as sent, uncertain, and not sent again."""
    program = await a_program(services)
    client = await enrolled_client(services, sandbox_server, program, 1701)
    group = -1001235
    sandbox_server.state.group_chat(group, "Care team")
    clock.set(_local(19, 59))
    await engine.run_once()
    clock.set(_local(20, 0))
    await _alert(services, "alert:2", group, clock.now(), "Urgent: client K7Q-3")
    # The bot's read timeout is 0.5 s; the sandbox answers after 0.8 s (and records the
    # message: it did arrive).
    await _faults(sandbox_server, latency=0.8)
    await engine.run_once()
    sandbox_server.state.faults.clear()
    prompt = await _row(services, f"checkin:{client.id}:2026-06-10")
    assert prompt.status is DeliveryStatus.sent
    assert prompt.reason == "uncertain: timed_out; not sent again"
    alert = await _row(services, "alert:2")
    assert alert.status is DeliveryStatus.pending
    clock.set(alert.available_at)
    await engine.run_once()
    assert (await _row(services, "alert:2")).status is DeliveryStatus.sent
    await _settle(sandbox_server)
    assert _texts(sandbox_server, 1701) == [_texts(sandbox_server, 1701)[0]]  # once
    assert _texts(sandbox_server, group) == ["Urgent: client K7Q-3"] * 2  # duplicated


async def test_a_client_paused_after_planning_gets_nothing(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    program = await a_program(services)
    client = await enrolled_client(services, sandbox_server, program, 1801)
    clock.set(_local(19, 59))
    await engine.run_once()
    async with services.sessions() as session:
        row = await session.get(Client, client.id)
        assert row is not None
        row.status = ClientStatus.paused
        session.add(row)
        await session.commit()
    clock.set(_local(20, 0))
    await engine.run_once()
    prompt = await _row(services, f"checkin:{client.id}:2026-06-10")
    assert (prompt.status, prompt.reason) == (DeliveryStatus.skipped, "client paused")
    assert _texts(sandbox_server, 1801) == []


async def test_the_nudge_comes_two_hours_later_unless_the_client_started(
    services: Services,
    sandbox_server: SandboxServer,
    engine: DeliveryEngine,
    clock: ManualClock,
    content: Content,
) -> None:
    program = await a_program(services)
    quiet = await enrolled_client(services, sandbox_server, program, 1901)
    active = await enrolled_client(services, sandbox_server, program, 1902)
    clock.set(_local(20, 0))
    await engine.run_once()
    # The active client writes at 20:10 (the inbox calls this as it marks the update done).
    async with services.engine.begin() as connection:
        assert await cancel_nudges_after_activity(connection, 1902, _local(20, 10)) == 1
    clock.set(_local(22, 0))
    await engine.run_once()
    ui = content.language("en").ui
    assert _texts(sandbox_server, 1901) == [ui.checkin_prompt, ui.checkin_nudge]
    assert _texts(sandbox_server, 1902) == [ui.checkin_prompt]
    prompt = await _row(services, f"checkin:{quiet.id}:2026-06-10")
    nudge_event = sandbox_server.state.chats[1901].events[-1]
    assert nudge_event["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == (
        f"ci:{prompt.id}"
    )
    skipped = await _row(services, f"checkin_nudge:{active.id}:2026-06-10")
    assert skipped.reason == "client already started"


async def test_no_nudge_when_the_prompt_was_not_sent(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    program = await a_program(services)
    client = await enrolled_client(services, sandbox_server, program, 2001)
    clock.set(_local(19, 0))
    await engine.run_once()
    await _faults(sandbox_server, error_code=400, count=1)
    clock.set(_local(20, 0))
    await engine.run_once()
    clock.set(_local(22, 0))
    await engine.run_once()
    nudge = await _row(services, f"checkin_nudge:{client.id}:2026-06-10")
    assert (nudge.status, nudge.reason) == (
        DeliveryStatus.skipped,
        "today's check-in prompt was not sent",
    )
    prompt = await _row(services, f"checkin:{client.id}:2026-06-10")
    assert prompt.status is DeliveryStatus.failed  # a 400 is never retried
    assert _texts(sandbox_server, 2001) == []


async def test_an_expired_claim_is_taken_over_and_a_late_ack_is_refused(
    services: Services,
    sandbox_server: SandboxServer,
    make_engine: Callable[..., DeliveryEngine],
    clock: ManualClock,
) -> None:
    program = await a_program(services)
    clients = [await enrolled_client(services, sandbox_server, program, 2100 + i) for i in range(3)]
    dead, alive = make_engine("worker-dead"), make_engine("worker-alive")
    clock.set(_local(20, 0))
    await alive.run_once()  # plans; and let the planner not run again below
    async with services.engine.begin() as connection:
        await connection.execute(
            sa.update(Delivery.__table__).values(status="pending", attempts=0)  # type: ignore[attr-defined]
        )
    sandbox_server.state.chats[2100].events.clear()
    for chat in (2101, 2102):
        sandbox_server.state.chats[chat].events.clear()
    # The dead worker claimed all three prompts and was killed while sending the first.
    async with services.engine.begin() as connection:
        claimed = await outbox.claim(
            connection, worker="worker-dead", now=clock.now(), kinds=["checkin"], limit=10
        )
        assert len(claimed) == 3
        assert await outbox.mark_sending(
            connection, claimed[0], worker="worker-dead", now=clock.now()
        )
    clock.advance(59)
    assert (await alive.run_once()).claimed == 0  # the lease is not over yet
    clock.advance(2)
    tally = await alive.run_once()
    assert tally.sent == 2  # the two never started
    in_doubt = await _row(services, claimed[0].dedupe_key)
    assert in_doubt.status is DeliveryStatus.sent
    assert in_doubt.reason and in_doubt.reason.startswith("uncertain")
    # The dead worker's late acknowledgement changes nothing.
    async with services.engine.begin() as connection:
        assert not await outbox.finish(
            connection,
            claimed[1],
            worker="worker-dead",
            from_status=DeliveryStatus.claimed,
            values={"status": "failed"},
        )
        # Nor does its combined write (one row's result and the next row's mark).
        late = [
            outbox.Outcome(claimed[1], DeliveryStatus.sending, {"status": "sent"}),
            outbox.sending(claimed[2], clock.now()),
        ]
        assert await outbox.finish_many(connection, late, worker="worker-dead") == set()
    statuses = {(await _row(services, c.dedupe_key)).status for c in claimed}
    assert statuses == {DeliveryStatus.sent}
    assert sum(len(_texts(sandbox_server, c.chat_id or 0)) for c in clients) == 2
    del dead


async def test_one_statement_writes_a_result_and_the_next_mark_for_held_rows_only(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    program = await a_program(services)
    for i in range(3):
        await enrolled_client(services, sandbox_server, program, 2150 + i)
    clock.set(_local(19, 59))
    await engine.run_once()  # plans only
    clock.set(_local(20, 0))
    async with services.engine.begin() as connection:
        first, second, third = await outbox.claim(
            connection, worker="w1", now=clock.now(), kinds=["checkin"], limit=10
        )
        assert await outbox.mark_sending(connection, first, worker="w1", now=clock.now())
    sent_at = clock.now()
    async with services.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        written = await outbox.finish_many(
            autocommit,
            [
                outbox.Outcome(
                    first,
                    DeliveryStatus.sending,
                    {"status": "sent", "sent_at": sent_at, "telegram_message_id": 77},
                ),
                outbox.sending(second, clock.now()),
                # Not this row's state (it is claimed, not sending): left alone.
                outbox.Outcome(third, DeliveryStatus.sending, {"status": "failed"}),
            ],
            worker="w1",
        )
    assert written == {first.id, second.id}
    rows = [await _row(services, item.dedupe_key) for item in (first, second, third)]
    assert [r.status for r in rows] == [
        DeliveryStatus.sent,
        DeliveryStatus.sending,
        DeliveryStatus.claimed,
    ]
    assert rows[0].telegram_message_id == 77 and rows[0].sent_at is not None
    assert abs((_utc(rows[0].sent_at) - sent_at).total_seconds()) < 0.001
    assert rows[1].sent_at is None and rows[1].telegram_message_id is None


async def test_one_message_a_second_per_chat(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    program = await a_program(services)
    await enrolled_client(services, sandbox_server, program, 2201)
    clock.set(_local(19, 59))
    await engine.run_once()
    clock.set(_local(20, 0))
    await _alert(services, "alert:3", 2201, clock.now(), "A note for you")
    tally = await engine.run_once()
    assert (tally.sent, tally.retried) == (1, 1)
    clock.advance(1)
    assert (await engine.run_once()).sent == 1
    assert len(_texts(sandbox_server, 2201)) == 2


async def test_kinds_nobody_can_render_wait_and_a_refused_token_stops_sending(
    services: Services, sandbox_server: SandboxServer, engine: DeliveryEngine, clock: ManualClock
) -> None:
    clock.set(_local(12, 0))
    async with services.engine.begin() as connection:
        await insert_new(
            connection,
            [
                {
                    "kind": "from_a_newer_version",
                    "recipient_chat_id": 1,
                    "due_at": clock.now(),
                    "available_at": clock.now(),
                    "payload": {},
                    "status": "pending",
                    "attempts": 0,
                    "dedupe_key": "future:1",
                    "created_at": clock.now(),
                }
            ],
        )
    group = -1001236
    sandbox_server.state.group_chat(group, "Care team")
    await _alert(services, "alert:4", group, clock.now(), "Urgent")
    await _faults(sandbox_server, error_code=401, count=1)
    tally = await engine.run_once()
    assert tally.claimed == 1  # the unknown kind was not claimed
    assert engine.dispatcher.halted == "Unauthorized"
    row = await _row(services, "alert:4")
    assert (row.status, row.attempts) == (DeliveryStatus.pending, 0)
    assert (await _row(services, "future:1")).status is DeliveryStatus.pending


async def _faults(server: SandboxServer, **fault: object) -> None:
    from bot.telegram_sandbox import Sandbox

    async with Sandbox(server.url) as driver:
        await driver.set_faults(**fault)


async def _settle(server: SandboxServer) -> None:
    """Let the sandbox finish a request the bot stopped waiting for."""
    import asyncio

    for _ in range(100):
        if server.state.inflight == 0:
            return
        await asyncio.sleep(0.05)
