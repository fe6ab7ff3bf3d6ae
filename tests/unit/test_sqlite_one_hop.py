"""The SQLite driver that runs statements on the event loop's thread unless they must
wait for a lock (`bot.sqlite_one_hop`): the same results as SQLAlchemy's own adapter,
transactions kept and undone exactly as before, no hand-off to aiosqlite's thread when
nothing waits, and a wait for another connection's lock that never stalls the loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import make_engine

CREATE = "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT UNIQUE, seen INTEGER)"


async def _engine(path: Path, stock: bool) -> AsyncEngine:
    kwargs: dict[str, Any] = {"module": SQLiteDialect_aiosqlite.import_dbapi()} if stock else {}
    engine = make_engine(f"sqlite+aiosqlite:///{path}", **kwargs)
    async with engine.begin() as connection:
        await connection.execute(sa.text(CREATE))
    return engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await _engine(tmp_path / "one-hop.db", stock=False)
    yield engine
    await engine.dispose()


@pytest.fixture
def hand_offs(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many calls were handed to aiosqlite's thread so far."""
    calls = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(fn)
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return lambda: len(calls)


async def _workload(engine: AsyncEngine) -> list[Any]:
    """Inserts with RETURNING, a many-row insert, an UPDATE's count, a SELECT."""
    seen: list[Any] = []
    async with engine.begin() as c:
        seen.append(
            (
                await c.execute(
                    sa.text("INSERT INTO note (body, seen) VALUES ('a', 0) RETURNING id, body")
                )
            ).all()
        )
        await c.execute(
            sa.text("INSERT INTO note (body, seen) VALUES (:b, 1)"), [{"b": "b"}, {"b": "c"}]
        )
        updated = await c.execute(sa.text("UPDATE note SET seen = seen + 1 WHERE seen = 1"))
        seen.append(updated.rowcount)
        returned = await c.execute(
            sa.text("UPDATE note SET seen = 9 WHERE body IN ('a', 'b') RETURNING body")
        )
        seen.append(sorted(returned.scalars().all()))
    async with engine.connect() as c:
        seen.append((await c.execute(sa.text("SELECT body, seen FROM note ORDER BY id"))).all())
        seen.append((await c.execute(sa.text("SELECT count(*) FROM note WHERE 0"))).scalar())
    return seen


async def test_it_returns_what_sqlalchemys_own_adapter_returns(tmp_path: Path) -> None:
    results = []
    for stock in (True, False):
        engine = await _engine(tmp_path / f"{stock}.db", stock)
        try:
            results.append(await _workload(engine))
        finally:
            await engine.dispose()
    assert results[0] == results[1]
    assert results[1][:3] == [[(1, "a")], 2, ["a", "b"]]


async def test_a_transaction_that_fails_keeps_none_of_its_writes(engine: AsyncEngine) -> None:
    async with engine.begin() as c:
        await c.execute(sa.text("INSERT INTO note (body) VALUES ('kept')"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as c:
            await c.execute(sa.text("INSERT INTO note (body) VALUES ('undone')"))
            await c.execute(sa.text("INSERT INTO note (body) VALUES ('kept')"))  # duplicate
    with pytest.raises(RuntimeError):
        async with engine.begin() as c:
            await c.execute(sa.text("INSERT INTO note (body) VALUES ('also undone')"))
            raise RuntimeError("the handler crashed")
    # The pooled connection is clean afterwards: a new transaction commits normally.
    async with engine.begin() as c:
        await c.execute(sa.text("INSERT INTO note (body) VALUES ('later')"))
    other = make_engine(str(engine.url))  # another connection sees only what was committed
    try:
        async with other.connect() as c:
            bodies = (await c.execute(sa.text("SELECT body FROM note ORDER BY id"))).scalars()
            assert bodies.all() == ["kept", "later"]
    finally:
        await other.dispose()


async def test_statements_and_commits_need_no_hand_off(
    engine: AsyncEngine, hand_offs: Callable[[], int]
) -> None:
    before = hand_offs()
    async with engine.begin() as c:  # a read
        await c.execute(sa.text("SELECT count(*) FROM note"))
    async with engine.begin() as c:  # two writes and their commit
        await c.execute(sa.text("INSERT INTO note (body) VALUES ('x')"))
        await c.execute(sa.text("UPDATE note SET seen = 1"))
    assert hand_offs() - before == 0
    async with engine.connect() as c:
        assert (await c.execute(sa.text("SELECT body, seen FROM note"))).all() == [("x", 1)]


async def _ticking(stop: asyncio.Event) -> int:
    """How many times the event loop gave this task a turn until `stop`."""
    ticks = 0
    while not stop.is_set():
        ticks += 1
        await asyncio.sleep(0.005)
    return ticks


async def test_a_write_that_meets_another_connections_lock_waits_without_stalling_the_loop(
    engine: AsyncEngine, hand_offs: Callable[[], int]
) -> None:
    other = make_engine(str(engine.url))  # a second pool: another connection
    try:
        async with other.connect() as c:  # opened (opening is a hand-off of its own)
            await c.execute(sa.text("SELECT 1"))
        before = hand_offs()
        async with engine.connect() as holder:
            await holder.execute(sa.text("INSERT INTO note (body) VALUES ('first')"))  # locks

            async def second_writer() -> None:
                async with other.begin() as c:
                    await c.execute(sa.text("INSERT INTO note (body) VALUES ('second')"))

            stop = asyncio.Event()
            ticker = asyncio.create_task(_ticking(stop))
            writer = asyncio.create_task(second_writer())
            await asyncio.sleep(0.3)
            assert not writer.done()  # it waits for the lock ...
            assert hand_offs() - before == 1  # ... on aiosqlite's thread
            await holder.commit()
            await asyncio.wait_for(writer, 5)
            stop.set()
            assert await ticker > 20  # the loop ran all along (0.3 s / 5 ms is 60)
        before = hand_offs()
        async with other.begin() as c:  # that connection is back on the loop's thread
            await c.execute(sa.text("UPDATE note SET seen = 2"))
        assert hand_offs() == before
        async with engine.connect() as c:
            rows = (await c.execute(sa.text("SELECT body, seen FROM note ORDER BY id"))).all()
        assert rows == [("first", 2), ("second", 2)]
    finally:
        await other.dispose()


async def test_a_many_row_statement_runs_on_the_thread_and_the_loop_goes_on(
    engine: AsyncEngine, hand_offs: Callable[[], int]
) -> None:
    rows = [{"b": f"row {i}"} for i in range(50_000)]  # as the planner writes a due minute
    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticking(stop))
    await asyncio.sleep(0)
    before = hand_offs()
    async with engine.begin() as c:
        await c.execute(sa.text("INSERT INTO note (body) VALUES (:b)"), rows)
    stop.set()
    assert hand_offs() - before == 1  # the rows; the commit runs here
    assert await ticker > 1  # other updates were served meanwhile
    async with engine.connect() as c:
        assert (await c.execute(sa.text("SELECT count(*) FROM note"))).scalar() == 50_000


async def test_a_wait_given_up_leaves_a_connection_that_still_works(engine: AsyncEngine) -> None:
    other = make_engine(str(engine.url))
    try:
        async with engine.connect() as holder:
            await holder.execute(sa.text("INSERT INTO note (body) VALUES ('first')"))

            async def second_writer() -> None:
                async with other.begin() as c:
                    await c.execute(sa.text("INSERT INTO note (body) VALUES ('given up')"))

            writer = asyncio.create_task(second_writer())
            await asyncio.sleep(0.2)
            writer.cancel()  # e.g. the bot shutting down while it waits
            await holder.commit()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(writer, 5)
        async with other.begin() as c:
            await c.execute(sa.text("INSERT INTO note (body) VALUES ('later')"))
        async with engine.connect() as c:
            bodies = (await c.execute(sa.text("SELECT body FROM note ORDER BY id"))).scalars()
            assert bodies.all() == ["first", "later"]
    finally:
        await other.dispose()


async def test_a_write_through_a_streaming_cursor_is_committed(engine: AsyncEngine) -> None:
    async with engine.begin() as c:
        await c.stream(sa.text("INSERT INTO note (body) VALUES ('streamed') RETURNING id"))
    other = make_engine(str(engine.url))  # not the pooled connection that wrote it
    try:
        async with other.connect() as c:
            bodies = (await c.execute(sa.text("SELECT body FROM note"))).scalars().all()
    finally:
        await other.dispose()
    assert bodies == ["streamed"]
