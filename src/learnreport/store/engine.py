"""Engines for the two supported databases, configured the same way wherever they are made."""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

CACHE_SIZE: Final = -65536
"""SQLite's page cache per connection, in KiB (negative): 64 MiB, for pages and aggregates."""

EXPORT_CACHE_SIZE: Final = -2048
"""The page cache of a connection reading a whole export, in KiB: 2 MiB. A sequential read
gains nothing from a big cache, and filling the 64 MiB of `CACHE_SIZE` made a server
exporting 817,676 modules 58 MB larger."""

SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    "busy_timeout=10000",
    f"cache_size={CACHE_SIZE}",
    "temp_store=MEMORY",
)


def create_engine(url: str | URL, *, pool_size: int = 10) -> sa.Engine:
    """An engine for SQLite (WAL, foreign keys on) or PostgreSQL (psycopg 3, sessions in UTC).

    On SQLite the driver's own transaction handling is turned off so that SQLAlchemy's
    `begin()` issues a real `BEGIN`, which makes an ingest batch one atomic, isolated
    transaction; `writing` makes it `BEGIN IMMEDIATE`.
    """
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return sa.create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args={"options": "-c timezone=UTC", "connect_timeout": 10},
        )
    raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql")


def _sqlite_engine(url: URL) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(WRITES, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


WRITES = "learnreport_writes"


def writing(engine: sa.Engine) -> AbstractContextManager[sa.Connection]:
    """A transaction that will write. On SQLite it takes the write lock at its start, waiting
    for it as long as `busy_timeout` allows: a transaction that read first and then wrote
    would fail at once, rather than wait, if another writer had committed in between
    (SQLITE_BUSY_SNAPSHOT), so concurrent write batches would fail instead of queueing."""
    return engine.execution_options(**{WRITES: True}).begin()


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
