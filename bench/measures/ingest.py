"""Ingest: records per second into the store by file import, by HTTP batches and by the
write path called directly, against the driver's own `executemany` of the same rows.

The reference is the driver's `executemany` of rows already in their stored form into the
same table with the same indexes: what the database itself costs, the floor under any
write path. Every figure is of new results on a scratch store (never the dataset) that
already holds the people and activities they point at, and whose statistics are current
(as autovacuum keeps them on a PostgreSQL server).
"""

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from bench import databases, servers
from bench.figures import Check, Failed, Figure
from bench.run_context import Run
from learnreport.ingest import ingest, upsert
from learnreport.ingest.demo import refresh_statistics
from learnreport.store import credentials, tenants
from learnreport.store.engine import writing
from learnreport.store.migrate import upgrade
from learnreport.store.schema import results

MEASURE = "Ingest"
PEOPLE = 5_000
ACTIVITIES = 50
STAMP = "2025-01-02T00:00:00Z"
HTTP_BATCH = 1_000
HTTP_CLIENTS = 4
SCRATCH = "bench-scratch"


def records(prefix: str, count: int, attempt: int) -> list[dict[str, Any]]:
    """New results of the scratch tenant's people; `attempt` keeps each method's apart."""
    return [
        {
            "id": f"{prefix}{n}",
            "user_id": f"u{n % PEOPLE}",
            "content_id": f"a{(n // PEOPLE) % ACTIVITIES}",
            "attempt": attempt + n // (PEOPLE * ACTIVITIES),
            "state": "completed",
            "progress": 100.0,
            "time_spent": 60,
            "completed_at": STAMP,
            "modified_at": STAMP,
        }
        for n in range(count)
    ]


def measure(run: Run) -> tuple[list[Figure], list[Check]]:
    count = 10_000 if run.quick else 100_000
    url = _scratch_url(run)
    databases.recreate(url)
    try:
        engine = databases.engine(url)
        upgrade(engine)
        with engine.begin() as connection:
            tenant = tenants.create(connection, SCRATCH, "Scratch")
            key = credentials.create(connection, tenant, "key", "owner").secret
        ingest(engine, tenant.id, "users", [{"id": f"u{n}"} for n in range(PEOPLE)])
        ingest(
            engine,
            tenant.id,
            "activities",
            [{"id": f"a{n}", "name": f"Activity {n}"} for n in range(ACTIVITIES)],
        )
        refresh_statistics(engine)
        floor = reference(engine, tenant.id, count)
        refresh_statistics(engine)
        direct = write_path(engine, tenant.id, count)
        from_file = file_import(url, count, run.scratch)
        with servers.learnreport(url, run.workers, run.scratch / "ingest-server.log") as server:
            over_http = http(server.url, key, count)
        with engine.connect() as connection:
            stored = connection.execute(
                sa.select(sa.func.count())
                .select_from(results)
                .where(results.c.tenant_id == tenant.id)
            ).scalar_one()
        engine.dispose()
    finally:
        databases.drop(url)
    rates = {
        "write path (ingest.upsert, batches of 10,000)": direct,
        "file import (learnreport import, NDJSON, incl. start-up)": from_file,
        f"HTTP batches of {HTTP_BATCH:,}, {HTTP_CLIENTS} clients": over_http,
    }
    figures = [
        Figure(MEASURE, name, rate, "records/s", "driver executemany of stored rows", floor,
               extra={"records": count})
        for name, rate in rates.items()
    ]  # fmt: skip
    check = Check(
        "ingest stored",
        stored == 4 * count,
        f"{stored:,} results stored, {4 * count:,} sent by the four methods",
    )
    return figures, [check]


def _scratch_url(run: Run) -> str:
    if run.backend == "sqlite":
        return f"sqlite:///{run.scratch / 'ingest.db'}"
    return databases.url("scratch", "postgresql", databases.POSTGRESQL_SERVER)


def reference(engine: sa.Engine, tenant_id: int, count: int) -> float:
    """The driver's own executemany of stored rows, 10,000 per transaction."""
    with engine.connect() as connection:
        users = dict(
            connection.exec_driver_sql(
                f"SELECT external_id, id FROM users WHERE tenant_id = {tenant_id}"
            ).all()
        )
        contents = dict(
            connection.exec_driver_sql(
                f"SELECT external_id, id FROM contents WHERE tenant_id = {tenant_id}"
            ).all()
        )
    rows = [
        {
            **record,
            "tenant_id": tenant_id,
            "id": 10_000_000 + n,
            "external_id": record["id"],
            "user_id": users[record["user_id"]],
            "content_id": contents[record["content_id"]],
            "content_kind": "activity",
            "enrollment_type": "NOT_ENROLLED",
            "score": None,
            "grade": None,
            "views": 0,
            "flagged": False,
            "created_at": STAMP,
        }
        for n, record in enumerate(records("ref", count, 100))
    ]
    statement = results.insert().compile(dialect=engine.dialect, column_keys=list(rows[0]))
    order = statement.positiontup
    params = [tuple(row[name] for name in order) for row in rows] if order else rows
    started = time.perf_counter()
    for start in range(0, count, 10_000):
        with engine.begin() as connection:
            connection.exec_driver_sql(statement.string, params[start : start + 10_000])
    return count / (time.perf_counter() - started)


def write_path(engine: sa.Engine, tenant_id: int, count: int) -> float:
    batch = records("wp", count, 200)
    started = time.perf_counter()
    for start in range(0, count, 10_000):
        with writing(engine) as connection:
            upsert(connection, tenant_id, "results", batch[start : start + 10_000])
    return count / (time.perf_counter() - started)


def file_import(url: str, count: int, folder: Path) -> float:
    """`learnreport import` of an NDJSON file, timed from the command's start to its end."""
    with tempfile.NamedTemporaryFile("wb", suffix=".ndjson", dir=folder, delete=False) as file:
        for record in records("fi", count, 300):
            file.write(orjson.dumps(record) + b"\n")
    command = [
        sys.executable,
        "-m",
        "learnreport",
        "import",
        file.name,
        "--tenant",
        SCRATCH,
        "--kind",
        "results",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, "DATABASE_URL": url}, capture_output=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise Failed(f"learnreport import failed: {done.stderr.decode()[-1000:]}")
    return count / seconds


def http(url: str, key: str, count: int) -> float:
    bodies = [
        orjson.dumps(records(f"h{start}_", HTTP_BATCH, 400 + start // HTTP_BATCH))
        for start in range(0, count, HTTP_BATCH)
    ]
    headers = {"X-API-Key": key, "Content-Type": "application/json"}

    def send(body: bytes) -> None:
        answer = client.post(f"{url}/api/v2/ingest/results", content=body, headers=headers)
        if answer.status_code != 200 or answer.json()["inserted"] != HTTP_BATCH:
            raise Failed(f"an ingest batch answered {answer.status_code}: {answer.text[:500]}")

    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(HTTP_CLIENTS) as pool:
        started = time.perf_counter()
        list(pool.map(send, bodies))
        return count / (time.perf_counter() - started)
