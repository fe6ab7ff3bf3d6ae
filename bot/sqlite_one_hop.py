"""SQLite through aiosqlite, each statement run where it is cheapest.

SQLAlchemy's aiosqlite adapter makes four hand-offs to aiosqlite's thread for every
statement (open a cursor, execute, fetch, close), and each wakes that thread and then
the event loop. On this kind of machine a hand-off after a pause costs 0.3-0.5 ms, many
times the statement itself (tens of microseconds on a local file). So a statement, and
a commit or rollback, runs right here on the event loop's thread, whole, with SQLite's
busy timeout at 0: it never waits. Only when another connection holds the lock it needs
(SQLITE_BUSY, which SQLite reports before changing anything) is it handed to
aiosqlite's thread, which waits there for the lock with the busy timeout while the loop
goes on. Waiting on the loop would stall the very coroutine that holds the lock. A
many-row statement goes to the thread from the start, as it is long.

Everything else (pooling, transactions, errors, the dialect) is SQLAlchemy's own; the
cursor only changes where the work runs. Server-side (streaming) cursors keep the stock
adapter's hand-offs.
"""

from __future__ import annotations

import collections
import functools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    AsyncAdapt_aiosqlite_ss_cursor,
)
from sqlalchemy.util import EMPTY_DICT, await_

T = TypeVar("T")
Outcome = tuple[Any, int, int | None, list[Any], bool]

# How long a statement handed to the thread waits for another connection's lock (ms).
WAIT_MS = 30_000
_SQLITE_BUSY = 5


def _busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY (any extended code): another connection holds the lock; nothing ran."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == _SQLITE_BUSY


async def _done() -> None:
    """An await that completes without giving the event loop a turn."""


def _waiting(conn: sqlite3.Connection, work: Callable[[], T]) -> T:
    """On aiosqlite's thread: `work` with the busy timeout on, so it waits for the lock."""
    conn.execute(f"PRAGMA busy_timeout={WAIT_MS}")
    try:
        return work()
    finally:
        conn.execute("PRAGMA busy_timeout=0")


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """The whole statement, and everything SQLAlchemy reads after, in one call."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        # rowcount is read after the rows are fetched: with RETURNING it counts them.
        return description, cursor.rowcount, cursor.lastrowid, rows, conn.in_transaction
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor: each statement whole, on the loop's thread unless it must wait."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor is opened here: that alone would be a hand-off.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        """Nothing to close: the statement's cursor is closed as it ends."""

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._call(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        self._call(operation, seq_of_parameters, many=True)

    def _call(self, operation: Any, parameters: Any, many: bool) -> None:
        adapt: OneHopConnection = self._adapt_connection  # type: ignore[assignment]
        # Until the statement is through, a transaction may have begun (or failed
        # half-way): an error leaves the connection to be rolled back for real.
        adapt._in_transaction = True
        work = functools.partial(_run, adapt.sqlite, operation, parameters, many)
        try:
            # A many-row statement (the planner's thousands of rows) runs on the thread
            # from the start: it takes long enough to hold up everyone else's updates.
            outcome = adapt.on_thread(work) if many else adapt.run(work)
        except Exception as error:
            adapt._handle_exception(error)
        self._description, self._rowcount, self._lastrowid, rows, adapt._in_transaction = outcome
        self._rows = collections.deque(rows)
        # SQLAlchemy's asyncio layer insists that a statement awaited something (it
        # guards against synchronous drivers); this await returns at once.
        await_(_done())

    def nextset(self) -> None:
        """sqlite3 has no further result sets."""

    def setinputsizes(self, *inputsizes: Any) -> None:
        """sqlite3 ignores input sizes."""


class StreamingCursor(AsyncAdapt_aiosqlite_ss_cursor):
    """The stock streaming cursor; it does not learn sqlite3's transaction state, so
    after it the connection counts as in a transaction and commits for real."""

    __slots__ = ()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        self._adapt_connection._in_transaction = True  # type: ignore[attr-defined]
        return await super()._execute_async(operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        self._adapt_connection._in_transaction = True  # type: ignore[attr-defined]
        return await super()._executemany_async(operation, seq_of_parameters)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """Statements, commits and rollbacks on the loop's thread unless they must wait.

    Commit and rollback do nothing when sqlite3 said no transaction is open: sqlite3
    opens one only before a write, so a read-only session, and the rollback SQLAlchemy's
    pool issues on every return after a commit, cost nothing.
    """

    __slots__ = ("_finished", "_handed", "_in_transaction")
    _cursor_cls = OneHopCursor
    _ss_cursor_cls = StreamingCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._in_transaction = False
        # Calls handed to the thread, and finished there (each counter has one writer:
        # the loop's thread, and aiosqlite's). A call whose caller was cancelled still
        # runs there; until it ends, everything else queues behind it on the thread,
        # since sqlite3 would block the loop on the connection's own mutex.
        self._handed = 0
        self._finished = 0

    @property
    def sqlite(self) -> sqlite3.Connection:
        return self._connection._conn  # type: ignore[no-any-return]

    def run(self, work: Callable[[], T]) -> T:
        """`work` (sqlite3 calls on this connection) here, or on the thread if it must
        wait for another connection's lock. Called in SQLAlchemy's greenlet."""
        if self._handed == self._finished:
            try:
                return work()
            except sqlite3.OperationalError as error:
                if not _busy(error):
                    raise
        return self.on_thread(work)

    def on_thread(self, work: Callable[[], T]) -> T:
        """`work` on aiosqlite's thread, waiting there for locks; the loop goes on."""
        self._handed += 1
        return await_(self._connection._execute(self._thread_work, work))  # type: ignore[no-any-return]

    def _thread_work(self, work: Callable[[], T]) -> T:
        try:
            return _waiting(self.sqlite, work)
        finally:
            self._finished += 1

    def commit(self) -> None:
        self._end(sqlite3.Connection.commit)

    def rollback(self) -> None:
        self._end(sqlite3.Connection.rollback)

    def _end(self, how: Callable[[sqlite3.Connection], None]) -> None:
        if self._in_transaction and self._connection._connection:
            try:
                self.run(functools.partial(how, self.sqlite))
            except Exception as error:
                self._handle_exception(error)
        self._in_transaction = False


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        # sqlite3 (serialized) may be called from both threads, never at once; and it
        # must never wait on the loop's thread, so its busy timeout starts at 0.
        kw.update(check_same_thread=False, timeout=0)
        stock = super().connect(*arg, **kw)
        return OneHopConnection(self, stock._connection)


def one_hop_dbapi() -> OneHopDBAPI:
    """The DBAPI module to hand `create_async_engine(..., module=...)` for sqlite+aiosqlite."""
    return OneHopDBAPI(aiosqlite, sqlite3)
