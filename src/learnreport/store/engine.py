"""Engines for the two supported databases, configured the same way wherever they are made."""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from math import inf
from time import monotonic, thread_time
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

CACHE_SIZE: Final = -65536
"""SQLite's page cache per connection, in KiB (negative): 64 MiB, for pages and aggregates."""

EXPORT_CACHE_SIZE: Final = -2048
"""The page cache of a connection reading a whole export, in KiB: 2 MiB. A sequential read
gains nothing from a big cache, and filling the 64 MiB of `CACHE_SIZE` made a server
exporting 817,676 modules 58 MB larger."""

LOCK_TIMEOUT_MS: Final = 10_000
"""How long a statement waits for a lock (SQLite's write lock, a PostgreSQL row, table or
advisory lock) before it fails, unless the engine is given another."""

sqlite3.register_adapter(bool, int)
"""SQLite stores a boolean as the integer it already is. Without an adapter the driver
looked for one, raising and clearing two errors, for every boolean of every row written."""
sqlite3.register_adapter(type(None), lambda value: value)
"""None is bound as NULL either way; found in the registry, it skips the driver's look for
`__adapt__` and `__conform__` methods: 280 ns a None, 110 with it."""

SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    f"busy_timeout={LOCK_TIMEOUT_MS}",
    f"cache_size={CACHE_SIZE}",
    "temp_store=MEMORY",
)

PROGRESS_STEPS: Final = 10_000
"""SQLite virtual machine steps between two looks at a statement's deadline: a few tenths
of a millisecond of work, so that looking costs well under 1% of a query."""

CONNECT_TIMEOUT_S: Final = 5
"""Seconds to wait for PostgreSQL to accept a connection. Refused connections (a stopped
server) fail at once; this bounds the wait for a host that does not answer at all, which
every request would otherwise spend before its 503."""

WRITES = "learnreport_writes"
EXPORTS = "learnreport_exports"


def create_engine(
    url: str | URL,
    *,
    pool_size: int = 10,
    statement_timeout_ms: int = 0,
    lock_timeout_ms: int = LOCK_TIMEOUT_MS,
) -> sa.Engine:
    """An engine for SQLite (WAL, foreign keys on) or PostgreSQL (psycopg 3, sessions in UTC).

    On SQLite the driver's own transaction handling is turned off so that SQLAlchemy's
    `begin()` issues a real `BEGIN`, which makes an ingest batch one atomic, isolated
    transaction; `writing` makes it `BEGIN IMMEDIATE`.

    `statement_timeout_ms` (0: none) ends any one statement that runs longer, except on the
    connections of `exporting`: PostgreSQL's `statement_timeout`, and on SQLite a deadline
    that the progress handler checks. The server sets it; the command line, whose imports
    and exports may rightly take long, does not.
    """
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, statement_timeout_ms, lock_timeout_ms)
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return _postgresql_engine(url, pool_size, statement_timeout_ms, lock_timeout_ms)
    raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql")


def _postgresql_engine(
    url: URL, pool_size: int, statement_timeout_ms: int, lock_timeout_ms: int
) -> sa.Engine:
    """`pool_pre_ping` tries each connection as it leaves the pool and reconnects once if
    the server dropped it, so after a restart the first request is served again rather
    than failing on a dead connection; while the server is down the reconnection is refused
    at once, and the request is answered 503 without waiting.

    Every statement is planned for its own values (`plan_cache_mode=force_custom_plan`).
    psycopg prepares a statement on its fifth execution on a connection, and PostgreSQL may
    then plan it once for any values. A report's best plan depends on them: for a
    department administrator's page, planned without knowing the department, it read every
    row of the department's people and sorted them, 102 ms at 1,000,000 results, where the
    plan for the department walked the key in 16 ms. Planning each time cost the owner's
    first page nothing measurable (2.1 to 3.5 ms either way); the statements stay prepared,
    so they are still parsed once."""
    options = (
        f"-c timezone=UTC -c statement_timeout={statement_timeout_ms} "
        f"-c lock_timeout={lock_timeout_ms} -c plan_cache_mode=force_custom_plan"
    )
    engine = sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"options": options, "connect_timeout": CONNECT_TIMEOUT_S},
    )

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get(EXPORTS, False):
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")

    return engine


class _Deadline:
    """When the SQLite statement running on one connection must stop."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at = inf

    def passed(self) -> bool:
        """The progress handler: a true answer interrupts the statement (SQLITE_INTERRUPT)."""
        return monotonic() > self.at


DEADLINE = "learnreport_deadline"


def _sqlite_engine(url: URL, statement_timeout_ms: int, lock_timeout_ms: int) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False})
    pragmas = [p for p in SQLITE_PRAGMAS if not p.startswith("busy_timeout")]
    pragmas.append(f"busy_timeout={lock_timeout_ms}")

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
        if statement_timeout_ms:
            deadline = record.info[DEADLINE] = _Deadline()
            dbapi_connection.set_progress_handler(deadline.passed, PROGRESS_STEPS)

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(WRITES, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    _replace_after_giving_up(engine)
    if statement_timeout_ms:
        seconds = statement_timeout_ms / 1000

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _start(connection: sa.Connection, *_args: Any) -> None:
            deadline: _Deadline = connection.connection.info[DEADLINE]
            exporting = connection.get_execution_options().get(EXPORTS, False)
            deadline.at = inf if exporting else monotonic() + seconds

    return engine


QUICK_CONNECTIONS: Final = 4
"""Connections of a quick reader: the event loop's work takes one, or two when it nests."""

QUICK_SKIPS = ("journal_mode", "busy_timeout", "foreign_keys")
"""Pragmas a quick reader leaves alone: the journal is the database's (WAL once any other
connection set it, which takes a lock), and it neither waits nor writes."""

GAVE_UP = frozenset({sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
"""What a quick read ends with when it would have taken long: its time was spent, or it
would have waited for a lock."""


class QuickReads:
    """Reads of one SQLite database that must end quickly or not at all, for a caller that
    cannot wait (`api.inline`): connections that write nothing and never wait, for a lock
    or for one another (with none free, taking one fails at once), and whose queries are
    interrupted once the time given to `within` is spent in the thread that runs them.

    The time is the thread's CPU time, not the clock's: on a busy machine a process is set
    aside for milliseconds at a time, and a clock would then stop quick reads that had
    done no more work than usual."""

    def __init__(self, url: URL) -> None:
        self._until = threading.local()
        self.engine = sa.create_engine(
            url,
            pool_size=QUICK_CONNECTIONS,
            max_overflow=0,
            pool_timeout=0,
            connect_args={"check_same_thread": False},
        )
        pragmas = [p for p in SQLITE_PRAGMAS if p.split("=")[0] not in QUICK_SKIPS]
        pragmas += ["busy_timeout=0", "query_only=ON"]

        @sa.event.listens_for(self.engine, "connect")
        def _configure(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.isolation_level = None
            for pragma in pragmas:
                dbapi_connection.execute(f"PRAGMA {pragma}")
            dbapi_connection.set_progress_handler(self._passed, PROGRESS_STEPS)

        _replace_after_giving_up(self.engine)

        @sa.event.listens_for(self.engine, "begin")
        def _begin(connection: sa.Connection) -> None:
            # Straight to the driver: through `exec_driver_sql`, as the engine's own hook
            # does, a BEGIN cost 30% of taking a connection, querying and giving it back.
            # A deferred BEGIN takes no lock, so it has no error to wrap.
            connection.connection.driver_connection.execute("BEGIN")  # type: ignore[union-attr]

    @contextmanager
    def within(self, seconds: float) -> Iterator[sa.Engine]:
        """The engine, whose queries in this thread are interrupted once the thread has
        worked `seconds` from now."""
        self._until.at = thread_time() + seconds
        try:
            yield self.engine
        finally:
            self._until.at = inf

    def _passed(self) -> bool:
        return thread_time() > getattr(self._until, "at", inf)


def quick_reads(engine: sa.Engine) -> QuickReads | None:
    """Quick reads of the database of `engine`, or None when that is not a SQLite file (a
    memory database is another database on another connection; PostgreSQL waits on its
    network, which no progress handler stops)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return QuickReads(url)


def _replace_after_giving_up(engine: sa.Engine) -> None:
    """Close a SQLite connection whose statement gave up (`GAVE_UP`) instead of giving it out
    again: the driver would prepare that statement afresh at every later execution.

    Python 3.11's sqlite3 keeps each connection's prepared statements by their SQL and takes
    a kept one only if it is not in use. A statement stopped while its rows were read stays
    marked in use for good: resetting it answers the error it stopped with, and the driver
    clears the mark only on success. One interrupted first page of modules (a cold cache
    outruns the quick reader's budget) made every later first page on that connection
    prepare its query again: a request prepared three statements at 1,000,000 results, the
    page's query and two `ROLLBACK`s, where it now prepares the two `ROLLBACK`s; preparing
    the query is 0.13 ms of a 0.42 ms read. A new connection costs its pragmas and a cold
    page cache, once.
    """

    @sa.event.listens_for(engine, "handle_error")
    def _replace(context: sa.engine.ExceptionContext) -> None:
        error = context.original_exception
        if isinstance(error, sqlite3.Error) and gave_up(error):
            context.is_disconnect = True
            context.invalidate_pool_on_disconnect = False


def gave_up(error: sa.exc.SQLAlchemyError | sqlite3.Error) -> bool:
    """Whether a quick read failed for want of time, of a lock or of a free connection,
    not for its own fault. The driver's error may come unwrapped: SQLAlchemy calls a
    connection's `begin` hooks, such as the quick reader's `BEGIN`, outside its wrapping."""
    if isinstance(error, sa.exc.TimeoutError):
        return True
    if isinstance(error, sa.exc.DBAPIError):
        error = error.orig  # type: ignore[assignment]
    if not isinstance(error, sqlite3.Error):
        return False
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) in GAVE_UP


def writing(engine: sa.Engine) -> AbstractContextManager[sa.Connection]:
    """A transaction that will write. On SQLite it takes the write lock at its start, waiting
    for it as long as `busy_timeout` allows: a transaction that read first and then wrote
    would fail at once, rather than wait, if another writer had committed in between
    (SQLITE_BUSY_SNAPSHOT), so concurrent write batches would fail instead of queueing."""
    return engine.execution_options(**{WRITES: True}).begin()


def exporting(engine: sa.Engine) -> AbstractContextManager[sa.Connection]:
    """A connection for a whole export, whose statements no statement timeout ends.

    An export is one statement (PostgreSQL's `COPY`, SQLite's stepped `SELECT`) that lasts
    as long as its client takes to read every row, which the server does not decide; its
    work per row is bounded, its memory is one batch, and a client that goes away ends it.
    The statements before it (the credential, the report's definition) keep the timeout.
    """
    return engine.execution_options(**{EXPORTS: True}).connect()


@contextmanager
def reading_through(connection: sa.Connection) -> Iterator[sa.Connection]:
    """`connection` with SQLite's small page cache of `EXPORT_CACHE_SIZE` while it reads a
    whole export, the engine's given back after. Shrinking the cache frees the pages past
    it, so the connection's cache starts cold again on its next query. A no-op elsewhere."""
    if connection.dialect.name != "sqlite":
        yield connection
        return
    connection.exec_driver_sql(f"PRAGMA cache_size={EXPORT_CACHE_SIZE}")
    try:
        yield connection
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={CACHE_SIZE}")
