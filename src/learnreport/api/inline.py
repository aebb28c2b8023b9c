"""Requests answered on the event loop while their queries are quick.

FastAPI runs a plain function in a worker thread. Handing a request to a thread and back,
with the threads and the event loop taking turns at the interpreter lock, cost a first page
of 100 modules more than its query did: on two cores, two processes answered it with 2.4
to 4.2 ms of CPU a request when the credential and the page ran in threads, and with 1.9
to 2.5 ms when they ran on the loop (six runs of each, taken in turns).

On SQLite a query asks no server, so a quick one can run on the loop itself. `run` calls a
function there with a reader (`store.engine.QuickReads`) whose queries are interrupted
once the function has worked `BUDGET`; a function that needs longer, or would wait for a
lock, is stopped and called again in a worker thread with the engine the route was given,
where only the statement timeout applies. So a slow report costs the loop about `BUDGET`
before it moves, and a fast one never leaves it. On PostgreSQL every query waits on the
network, so every call goes to a thread, as before.

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
from collections.abc import Callable, Hashable
from typing import TypeVar

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

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
    """`function(engine, *args)`, on the event loop with quick reads of the database of
    `engine` if it is SQLite and they are quick enough, else in a worker thread with
    `engine` itself."""
    reads = _quick_reads(engine)
    if reads is not None and not _slow.lately(shape):
        try:
            with reads.within(BUDGET) as quick:
                return function(quick, *args)
        except (sa.exc.SQLAlchemyError, sqlite3.Error) as error:
            if not gave_up(error):
                raise
            _slow.note(shape)
    return await run_in_threadpool(_timed, shape, function, engine, *args)


def _timed(shape: Hashable, function: Callable[..., T], engine: sa.Engine, *args: object) -> T:
    """`function(engine, *args)`, forgetting that `shape` was slow if it was quick this time:
    one request that outran the budget once (a cold cache, the collector running
    meanwhile) would otherwise send its shape to threads for a whole minute."""
    started = time.thread_time()
    found = function(engine, *args)
    if time.thread_time() - started < BUDGET:
        _slow.forget(shape)
    return found


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
