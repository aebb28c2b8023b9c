"""Reading a report's CSV through the driver, in batches, as the database writes it
(`store.csv_text`): whole lines from PostgreSQL's `COPY`; on SQLite, columns of ready
values read as Arrow record batches by the ADBC driver and joined into lines by Arrow.

Python then does next to nothing per row: over 137,790 rows of the modules report, rows
through SQLAlchemy rendered by the csv module took 2.0 s on PostgreSQL and COPY 1.34 s
(`psql`'s `\\copy` 0.88 s). On SQLite, over the 817,676 rows of the benchmark's dataset M,
the sqlite3 driver's rows written by the csv module took 16.9 s where Arrow took 11.4 s and
the `sqlite3` shell 10.6 s, with the same bytes (measured side by side on a busy machine).
"""

import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from adbc_driver_sqlite import StatementOptions

from learnreport.store import csv_text
from learnreport.store.csv_text import Kind, csv_field
from learnreport.store.engine import EXPORT_CACHE_SIZE, SQLITE_PRAGMAS

BATCH: Final = 2000
"""Rows per batch read from PostgreSQL's COPY."""

SQLITE_BATCH: Final = 8192
"""Rows per Arrow batch read from SQLite: the ADBC driver's 1,024 cost the Python side of a
modules export 3.2 s against 2.5 s."""

EXTRA_FLOAT_DIGITS: Final = 1
"""PostgreSQL's default, which writes a float as the shortest text that gives it back."""

Counted = Callable[[int], None]
"""Told the rows of each chunk before the chunk is yielded, for a progress display."""

_QUOTED: Final = "[" + "".join(sorted(csv_text.QUOTED)) + "]"


def for_driver(query: sa.Select[Any], dialect: sa.Dialect) -> tuple[str, dict[str, Any], list[str]]:
    """The statement as the driver takes it, its parameters by name with SQLAlchemy's bind
    processing applied, and their order for a driver with positional parameters."""
    state = query.compile(dialect=dialect).construct_expanded_state()
    parameters = {
        name: state.processors[name](value) if name in state.processors else value
        for name, value in state.parameters.items()
    }
    return state.statement, parameters, list(state.positiontup or ())


def writes(connection: sa.Connection) -> bool:
    """Whether the database can write the CSV of this connection: PostgreSQL always, SQLite
    when the database is a file that another connection can open."""
    return connection.dialect.name == "postgresql" or _sqlite_file(connection) is not None


def by_database(
    connection: sa.Connection,
    query: sa.Select[Any],
    fields: Sequence[csv_field],
    counted: Counted | None = None,
) -> Iterator[bytes]:
    """The CSV lines of `query`'s rows, each made of `fields`, in batches; `writes` tells
    whether the connection's database can."""
    if connection.dialect.name == "postgresql":
        return postgresql_copy(connection, query.with_only_columns(*fields), counted)
    return sqlite_arrow(connection, query, fields, counted)


def postgresql_copy(
    connection: sa.Connection,
    query: sa.Select[Any],
    counted: Counted | None = None,
    batch: int = BATCH,
) -> Iterator[bytes]:
    """`COPY (query) TO STDOUT (FORMAT csv)`, its line breaks made `\\r\\n`, a batch of rows
    at a time.

    COPY ends each line with `\\n`, and has no option for another line break. A `\\n` ends a
    line when it stands outside quotes, which an even number of `"` before it tells:
    quotes are only ever opened, closed or doubled. Float text depends on
    `extra_float_digits`, set here for the transaction to the default that writes the
    shortest text that gives the value back.
    """
    connection.exec_driver_sql(f"SET LOCAL extra_float_digits = {EXTRA_FLOAT_DIGITS}")
    select, parameters, _ = for_driver(query, connection.dialect)
    driver: Any = connection.connection.driver_connection
    statement = f"COPY ({select}) TO STDOUT (FORMAT csv)"
    quoted = False
    with driver.cursor() as cursor, cursor.copy(statement, parameters) as copy:
        rows: list[Any] = []
        for row in copy:
            rows.append(row)
            if len(rows) == batch:
                text, quoted = _crlf(b"".join(rows), quoted)
                if counted is not None:
                    counted(batch)
                yield text
                rows = []
        if rows:
            if counted is not None:
                counted(len(rows))
            yield _crlf(b"".join(rows), quoted)[0]


def _crlf(text: bytes, quoted: bool) -> tuple[bytes, bool]:
    """`text` with each `\\n` outside quotes made `\\r\\n`, and whether it ends inside quotes
    (`quoted` tells whether it begins inside them)."""
    if b'"' not in text:
        return (text if quoted else text.replace(b"\n", b"\r\n")), quoted
    parts = text.split(b'"')
    outside = 1 if quoted else 0
    for index in range(outside, len(parts), 2):
        parts[index] = parts[index].replace(b"\n", b"\r\n")
    return b'"'.join(parts), quoted != (len(parts) % 2 == 0)


def sqlite_arrow(
    connection: sa.Connection,
    query: sa.Select[Any],
    fields: Sequence[csv_field],
    counted: Counted | None = None,
    batch: int = SQLITE_BATCH,
) -> Iterator[bytes]:
    """`query`'s rows read by the ADBC driver as Arrow batches, on a connection of its own
    to the same file, and joined into lines by Arrow's compute functions, which run in C++
    without the interpreter lock; only floats pass through Python, for their `repr`.

    The next batch is read in a thread while this one is joined and sent, as SQLite, which
    reads it, and Arrow both work without the lock. The connection is read-only, keeps the
    small page cache of `EXPORT_CACHE_SIZE` (a sequential read gains nothing from the
    engine's 64 MiB, which an export filled: 58 MB more resident memory) and sees one
    snapshot of the database from the first row to the last.
    """
    path = _sqlite_file(connection)
    if path is None:
        raise ValueError("the ADBC driver opens a SQLite database by its file")
    columns: list[sa.ColumnElement[Any]] = []
    for field in fields:
        columns.append(field)
        if field.kind is Kind.FLOAT:
            columns.append(csv_text.float_is_null(field))
    statement, parameters, order = for_driver(query.with_only_columns(*columns), connection.dialect)
    uri = f"file:{urllib.request.pathname2url(path)}?mode=ro"
    with adbc_sqlite.connect(uri, autocommit=True) as reader, reader.cursor() as cursor:
        for pragma in (*_READING_PRAGMAS, f"cache_size={EXPORT_CACHE_SIZE}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.adbc_statement.set_options(**{StatementOptions.BATCH_ROWS.value: str(batch)})
        cursor.execute(statement, [parameters[name] for name in order])
        batches = cursor.fetch_record_batch()
        with ThreadPoolExecutor(1, thread_name_prefix="csv-export") as ahead:
            reading = ahead.submit(_next_batch, batches)
            while (read := reading.result()) is not None:
                reading = ahead.submit(_next_batch, batches)
                if counted is not None:
                    counted(read.num_rows)
                yield _lines(read, fields)


_READING_PRAGMAS: Final = tuple(p for p in SQLITE_PRAGMAS if p.startswith("busy_timeout"))
"""The engine's settings that matter to a reader: its wait for a lock."""


def _sqlite_file(connection: sa.Connection) -> str | None:
    database = connection.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _next_batch(batches: pa.RecordBatchReader) -> pa.RecordBatch | None:
    try:
        return batches.read_next_batch()
    except StopIteration:
        return None


def _lines(read: pa.RecordBatch, fields: Sequence[csv_field]) -> bytes:
    """The batch's CSV lines: floats as `repr`, 0.0 written empty where NULL, text quoted
    where QUOTE_MINIMAL quotes it, every field joined by `,` and each line ended by
    `\\r\\n`."""
    cells: list[pa.Array] = []
    index = 0
    for field in fields:
        value = read.column(index)
        index += 1
        if field.kind is Kind.FLOAT:
            text = pa.array(list(map(repr, value.to_pylist())), pa.string())
            value = pc.if_else(read.column(index).cast(pa.bool_()), "", text)
            index += 1
        elif field.kind is Kind.TEXT and not field.canonical:
            quoting = pc.match_substring_regex(value, _QUOTED)
            if pc.any(quoting).as_py():
                doubled = pc.replace_substring(value, '"', '""')
                quoted = pc.binary_join_element_wise('"', doubled, '"', "")
                value = pc.if_else(quoting, quoted, value)
        cells.append(value)
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*cells, ","), "", "\r\n")
    _, offsets, data = lines.buffers()
    bounds = memoryview(offsets).cast("i")
    first, last = bounds[lines.offset], bounds[lines.offset + len(lines)]
    return data.slice(first, last - first).to_pybytes()
