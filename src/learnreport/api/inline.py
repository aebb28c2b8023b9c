"""Requests answered on the event loop while their queries are quick.

FastAPI runs a plain function in a worker thread. Handing a request to a thread and back,
with the threads and the event loop taking turns at the interpreter lock, cost a first page
of 100 modules more than its query did: on two cores, two processes answered it with 2.4
to 4.2 ms of CPU a request when the credential and the page ran in threads, and with 1.9
to 2.5 ms when they ran on the loop (six runs of each, taken in turns).

On SQLite a query asks no server, so a quick one can run on the loop itself. `run` calls a
function there with a connection of a reader (`store.engine.QuickReads`) whose queries are
interrupted once the function has worked `BUDGET`, the one connection that every quick
read of the request shares (`OneReadPerRequest`); a function that needs longer, or would
wait for a lock, is stopped and called again in a worker thread with a connection of the
engine the route was given, where only the statement timeout applies. So a slow report
costs the loop about `BUDGET` before it moves, and a fast one never leaves it. On
PostgreSQL every query waits on the network, so every call goes to a thread, as before.

A function given to `run` may be called twice: it only reads, and counts nothing (a rate
limit, an audit line) before its last query.

A request given a `shape` (`shape_of`: its route, who asks, its filters) that recently
outran the budget goes straight to a thread: a department administrator's page took 10 to
11 ms at 1,000,000 results, and 13 to 14 ms when it first spent the budget on the loop in
vain; a client paging through it, or a dashboard asking it again, pays that once a minute.
A shape whose run in a thread turns out quick is forgotten: under load, one first page
that outran the budget once had sent every first page to threads for the next minute.
"""

import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from learnreport.domain.access import Principal
from learnreport.store.engine import QuickReads, gave_up, quick_reads

BUDGET = 0.002
"""Seconds of CPU a request may spend on the event loop, its queries and the work between
them: a first page of 100 modules takes under half of it, and every other request of the
process waits that long."""

SLOW_FOR = 60.0
"""Seconds for which a shape that outran the budget goes straight to a thread."""

SHAPES_KEPT = 10_000
"""Slow shapes remembered per process; past that they are all forgotten at once."""

T = TypeVar("T")


async def run(
    engine: sa.Engine, function: Callable[..., T], *args: object, shape: Hashable = None
) -> T:
    """`function(connection, *args)`, on the event loop with the request's connection of
    the quick reader of `engine`'s database if it is SQLite and the read is quick enough,
    else in a worker thread with a connection of `engine` itself."""
    reads = _quick_reads(engine)
    if reads is not None and not _slow.lately(shape):
        try:
            with reads.within(BUDGET), _reading(reads.engine) as connection:
                return function(connection, *args)
        except (sa.exc.SQLAlchemyError, sqlite3.Error) as error:
            if not gave_up(error):
                raise
            _slow.note(shape)
    return await run_in_threadpool(_timed, shape, function, engine, *args)


def _timed(shape: Hashable, function: Callable[..., T], engine: sa.Engine, *args: object) -> T:
    """`function(connection, *args)` with a connection of `engine`, forgetting that `shape`
    was slow if it was quick this time: one request that outran the budget once (a cold
    cache, the collector running meanwhile) would otherwise send its shape to threads for
    a whole minute."""
    started = time.thread_time()
    with engine.connect() as connection:
        found = function(connection, *args)
    if time.thread_time() - started < BUDGET:
        _slow.forget(shape)
    return found


class _Shared:
    """The quick reader's connection of one request, taken by its first quick read."""

    __slots__ = ("connection",)

    def __init__(self) -> None:
        self.connection: sa.Connection | None = None

    def take(self, quick: sa.Engine) -> sa.Connection:
        if self.connection is not None and self.connection.invalidated:
            self.release()
        if self.connection is None:
            self.connection = quick.connect()
        return self.connection

    def release(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


_shared: ContextVar[_Shared | None] = ContextVar("learnreport_shared_read", default=None)


@contextmanager
def _reading(quick: sa.Engine) -> Iterator[sa.Connection]:
    """The request's shared connection (`OneReadPerRequest`), or one of its own outside a
    request."""
    shared = _shared.get()
    if shared is not None:
        yield shared.take(quick)
        return
    with quick.connect() as connection:
        yield connection


class OneReadPerRequest:
    """The quick reads of one HTTP request share one connection and one read transaction,
    released as its answer starts.

    A first page reads twice, its credential and its rows: a connection each cost a
    checkout, a `BEGIN` and a `ROLLBACK` through SQLAlchemy. Shared, a first page at
    1,000,000 results took 0.065 ms less CPU in the process (median of five pairs of runs
    taken in turns, 3,000 pages each: 1.20 to 1.44 ms against 1.30 to 1.42). The two reads
    also see one snapshot. Released at the start of the answer, not at its end, so that an
    answer waiting on a slow client holds none of the reader's few connections.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        shared = _Shared()
        token = _shared.set(shared)

        async def releasing(message: Message) -> None:
            if message["type"] == "http.response.start":
                shared.release()
            await send(message)

        try:
            await self.app(scope, receive, releasing)
        finally:
            shared.release()
            _shared.reset(token)


def shape_of(request: Request, principal: Principal, *paging: str) -> Hashable:
    """What makes a listing quick or slow: its route, the rows its caller may see and its
    filters, but not the place in it (the `paging` parameters) that a client moves on."""
    asked = sorted((name, value) for name, value in request.query_params.multi_items()
                   if name not in paging)  # fmt: skip
    return (request.url.path, principal.tenant_id, principal.groups, tuple(asked))


class _Slow:
    """The shapes that outran the budget lately, and when."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._noted: dict[Hashable, float] = {}

    def note(self, shape: Hashable) -> None:
        if shape is None:
            return
        with self._lock:
            if len(self._noted) >= SHAPES_KEPT:
                self._noted.clear()
            self._noted[shape] = time.monotonic()

    def forget(self, shape: Hashable) -> None:
        with self._lock:
            self._noted.pop(shape, None)

    def lately(self, shape: Hashable) -> bool:
        if shape is None:
            return False
        with self._lock:
            noted = self._noted.get(shape)
        return noted is not None and time.monotonic() - noted < SLOW_FOR


_slow = _Slow()


_readers: "weakref.WeakKeyDictionary[sa.Engine, QuickReads | None]" = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def _quick_reads(engine: sa.Engine) -> QuickReads | None:
    """One reader per engine, made on first use and closed with the engine."""
    with _readers_lock:
        if engine in _readers:
            return _readers[engine]
        reads = _readers[engine] = quick_reads(engine)
    if reads is not None:
        sa.event.listen(engine, "engine_disposed", lambda _: reads.engine.dispose())
    return reads
