"""Full export: every row of the modules report as CSV, and the server's memory meanwhile.

learnreport streams the export over HTTP and writes it with `learnreport export`; the
references are the database shell running the report's own SQL (the floor: no HTTP, no
rendering in Python) and Datasette streaming the tenant's raw results table as CSV (its
fastest form: keyset pages on the primary key, no joins). Every output goes to a file, and
the files are compared after the clocks stop, so checking costs no measured time.

The export over HTTP and its floor are taken in turns, `ROUNDS` times each, and each rate
is their median: the host's speed moves within a minute, and one export over HTTP at M
ran at 81,672 rows/s in a run (0.52x its floor) where three taken by hand right after ran
at 183,027 to 215,582. The memory is read after the first export, which one worker
serves: read after all three, it summed two workers' growth (60.6 MB at M).
"""

import csv
import hashlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench import databases, servers, shell
from bench.figures import Check, Failed, Figure
from bench.run_context import TENANT, Run
from learnreport.reports import NATIVE, base

MEASURE = "Full export"
PATH = "/api/v2/reports/modules/export/?format=csv"
ROUNDS = 3


def measure(run: Run) -> tuple[list[Figure], list[Check]]:
    before = run.server.peak_rss_mb()
    http_file, cli_file, ref_file = (run.scratch / f"{n}.csv" for n in ("http", "cli", "ref"))
    export_sql, raw_sql = report_sql(run)
    seconds, sent = _http(run, http_file)
    after = run.server.peak_rss_mb()
    http_runs, ref_runs = [seconds], [shell.csv_export(run.database_url, export_sql, ref_file)]
    for _ in range(0 if run.quick else ROUNDS - 1):
        http_runs.append(_http(run, http_file)[0])
        ref_runs.append(shell.csv_export(run.database_url, export_sql, ref_file))
    http_seconds, ref_seconds = statistics.median(http_runs), statistics.median(ref_runs)
    cli_seconds = _cli(run, cli_file)
    raw_file = run.scratch / "raw.csv"
    raw_seconds = shell.csv_export(run.database_url, raw_sql, raw_file)
    http_ids, cli_ids, ref_ids = (_ids(f) for f in (http_file, cli_file, ref_file))
    raw_file.unlink()
    rows = http_ids[0]
    run.modules_rows = rows
    tool = "sqlite3 -csv" if run.backend == "sqlite" else "psql \\copy"
    floor = rows / ref_seconds
    http_rate = rows / http_seconds
    figures = [
        Figure(
            MEASURE,
            "CSV over HTTP",
            http_rate,
            "rows/s",
            f"{tool} (the export's SQL)",
            floor,
            "≥ 0.8x",
            http_rate >= 0.8 * floor,
            {
                "rows": rows,
                "bytes": sent,
                "runs": [rows / seconds for seconds in http_runs],
                "reference_runs": [rows / seconds for seconds in ref_runs],
            },
        ),
        Figure(
            MEASURE,
            "CSV over HTTP",
            http_rate,
            "rows/s",
            f"{tool} (the report's raw columns, values as the database writes them)",
            rows / raw_seconds,
            extra={"seconds": raw_seconds},
        ),
        Figure(
            MEASURE,
            "learnreport export (CLI, incl. start-up)",
            rows / cli_seconds,
            "rows/s",
            f"{tool} (the export's SQL)",
            floor,
            extra={"seconds": cli_seconds},
        ),
    ]
    if run.datasette is not None:
        datasette_rate, datasette_rows = _datasette(run)
        figures.append(
            Figure(
                MEASURE,
                "CSV over HTTP",
                http_rate,
                "rows/s",
                "Datasette CSV stream (raw results table)",
                datasette_rate,
                "≥ 5x",
                http_rate >= 5 * datasette_rate,
                {"datasette_rows": datasette_rows},
            )
        )
    growth = after - before
    figures.append(
        Figure(
            "Memory",
            f"server peak RSS after the full export (growth {growth:.1f} MB)",
            after,
            "MB",
            "peak RSS after start-up and warm-up",
            before,
            "growth ≤ 50 MB",
            growth <= 50,
            {"growth_mb": growth},
        )
    )
    checks = [
        Check(
            "export rows",
            http_ids[0] == cli_ids[0] == ref_ids[0] > 0,
            f"HTTP {http_ids[0]:,}, CLI {cli_ids[0]:,}, {tool} {ref_ids[0]:,} rows",
        ),
        Check(
            "export ids in order",
            http_ids[1] == cli_ids[1] == ref_ids[1],
            "the id column, in order, is the same in the three exports",
        ),
    ]
    return figures, checks


def report_sql(run: Run) -> tuple[str, str]:
    """The statement the export has the database run for the owner, values inlined: the
    modules report in key order, each column as the text of its CSV field
    (`base.csv_fields`), so that the shell computes the same values the server asks for;
    and the same rows as the report's raw columns, which the database writes in its own
    forms (PostgreSQL's timestamps with a space and `+00`, booleans as `t` and `f`). The
    first is the reference; the second shows what computing the fields costs."""
    engine = databases.engine(run.database_url)
    with engine.connect() as connection:
        report = NATIVE["modules"].define(connection, run.tenant_id)
    fields = base.csv_fields(report)
    if fields is None:
        raise Failed("the modules report has no CSV fields for the database to write")
    rows = base.in_key_order(report, run.access.owner.principal, {})
    statements = (
        shell.compile_sql(rows.with_only_columns(*fields), engine),
        shell.compile_sql(rows, engine),
    )
    engine.dispose()
    return statements


def _http(run: Run, out: Path) -> tuple[float, int]:
    sent = 0
    with run.client() as client, out.open("wb") as output:
        started = time.perf_counter()
        with client.stream("GET", PATH, headers={"Accept": "text/csv"}) as answer:
            if answer.status_code != 200:
                raise Failed(f"the export answered {answer.status_code}")
            for chunk in answer.iter_bytes():
                sent += len(chunk)
                output.write(chunk)
        return time.perf_counter() - started, sent


def _cli(run: Run, out: Path) -> float:
    command = [
        sys.executable,
        "-m",
        "learnreport",
        "export",
        "--tenant",
        TENANT,
        "--report",
        "modules",
        "--format",
        "csv",
        "--out",
        str(out),
    ]
    env = {**os.environ, "DATABASE_URL": run.database_url}
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _datasette(run: Run) -> tuple[float, int]:
    """Rows per second of Datasette's CSV stream over a bounded time: it is too slow to
    stream a large report whole within a run. The stream goes on after the client leaves
    (it used a core through the next measurements), so it gets a server of its own, stopped
    once the time is up."""
    assert run.datasette is not None and run.datasette_file is not None
    limit = 5.0 if run.quick else 30.0
    log = run.scratch / "datasette-csv.log"
    with servers.datasette(run.datasette_file, run.workers, log) as own:
        url = (
            f"{own.url}/{run.datasette_file.stem}/results.csv"
            f"?tenant_id={run.tenant_id}&_stream=on&_size=max"
        )
        started = time.perf_counter()
        lines = _stream_lines(url, started + limit)
    seconds = time.perf_counter() - started
    rows = max(lines - 1, 0)
    if rows == 0:
        raise Failed("Datasette streamed no rows")
    return rows / seconds, rows


def _stream_lines(url: str, until: float) -> int:
    lines = 0
    with httpx.stream("GET", url, timeout=120) as answer:
        if answer.status_code != 200:
            raise Failed(f"Datasette's CSV answered {answer.status_code}")
        for chunk in answer.iter_bytes():
            lines += chunk.count(b"\n")
            if time.perf_counter() >= until:
                break
    return lines


def _ids(path: Path) -> tuple[int, str]:
    """The number of rows of a CSV file with a header, and a digest of its first column."""
    digest = hashlib.sha256()
    rows = 0
    with path.open(newline="", encoding="utf-8") as text:
        reader = csv.reader(text)
        next(reader)
        for row in reader:
            digest.update(row[0].encode() + b"\n")
            rows += 1
    return rows, digest.hexdigest()
