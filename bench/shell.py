"""The references that are the database itself: SQL run by the `sqlite3` shell or `psql`.

Queries are learnreport's own, compiled with their values inlined for the database's
dialect, so the reference does exactly the work the server asks the database for, and
nothing of what the server adds (HTTP, rendering, checking access).
"""

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.databases import psql_url
from learnreport.store import csv_stream
from learnreport.store.engine import SQLITE_PRAGMAS

SQLITE_SETUP = "".join(f"PRAGMA {p};\n" for p in SQLITE_PRAGMAS if "journal_mode" not in p)
"""The connection settings learnreport's engine gives SQLite (its page cache above all),
so that the shell reads the file as the server does."""


def compile_sql(query: sa.Select[Any], engine: sa.Engine) -> str:
    """The query with its values inlined. On PostgreSQL the driver inlines them, as
    SQLAlchemy renders no literal for a `timestamptz` compared with text."""
    if engine.dialect.name != "postgresql":
        compiled = query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        # SQLAlchemy's SQLite compiler writes the -1 of an OFFSET without a LIMIT as a
        # parameter even with literal binds (2.1.9), which the shell would bind to NULL.
        return str(compiled).replace("LIMIT ? OFFSET", "LIMIT -1 OFFSET")
    statement, parameters, _ = csv_stream.for_driver(query, engine.dialect)
    connection = engine.raw_connection()
    try:
        return psycopg.ClientCursor(connection.driver_connection).mogrify(statement, parameters)
    finally:
        connection.close()


def csv_export(database_url: str, sql: str, out: Path) -> float:
    """Seconds for the shell to write the query's rows, with a header, as CSV to `out`."""
    address = make_url(database_url)
    if address.get_backend_name() == "sqlite":
        command = ["sqlite3", "-csv", "-header", str(address.database)]
        stdin = ".output /dev/null\n" + SQLITE_SETUP + ".output stdout\n"
        stdin += sql.rstrip().rstrip(";") + ";\n"
    else:
        flat = " ".join(sql.split())
        command = [
            "psql",
            psql_url(database_url),
            "-q",
            "-c",
            f"SET extra_float_digits = {csv_stream.EXTRA_FLOAT_DIGITS}",
            "-c",
            f"\\copy ({flat}) to stdout with (format csv, header)",
        ]
        stdin = ""
    with out.open("wb") as output:
        started = time.perf_counter()
        subprocess.run(command, input=stdin.encode(), stdout=output, check=True)
        return time.perf_counter() - started


def timings_ms(database_url: str, sql: str, repeats: int) -> list[float]:
    """The query run `repeats` times in one shell session, each run's time as the shell
    itself measures it (`.timer on`, `\\timing on`): no process start, no connection."""
    address = make_url(database_url)
    statement = " ".join(sql.split()).rstrip(";") + ";\n"
    if address.get_backend_name() == "sqlite":
        command = ["sqlite3", str(address.database)]
        script = ".output /dev/null\n" + SQLITE_SETUP + ".output stdout\n.timer on\n"
        script += statement * repeats
        pattern = re.compile(r"Run Time: real ([0-9.]+)")
        scale = 1000.0
    else:
        command = ["psql", psql_url(database_url), "-q", "-X"]
        script = "\\timing on\n" + statement * repeats
        pattern = re.compile(r"Time: ([0-9.]+) ms")
        scale = 1.0
    shell = subprocess.run(command, input=script.encode(), capture_output=True, check=True)
    found = [float(t) * scale for t in pattern.findall(shell.stdout.decode())]
    if len(found) != repeats:
        raise RuntimeError(f"expected {repeats} timings from {command[0]}, got {len(found)}")
    return found
