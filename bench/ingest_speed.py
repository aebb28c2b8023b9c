"""Records per second into the store: the database's own insert, the write path, and HTTP
batches, measured in one run on the same rows.

The reference is the driver's `executemany` of rows already in their stored form into the
same table with the same indexes: what the database itself costs, the floor under any
write path. Against it the script times the write path (`ingest.upsert`, batches of
10,000, as a file import calls it) and HTTP batches of 1,000 results sent by concurrent
clients to a server on loopback. Every figure is of new results on a store that already
holds the people and activities they point at, and whose statistics are current (as
autovacuum keeps them on a PostgreSQL server). Run it from the repository root:

    python -m bench.ingest_speed [--results 100000] [--postgresql URL] [--clients 4]
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import orjson
import sqlalchemy as sa

from learnreport.ingest import ingest, upsert
from learnreport.ingest.demo import refresh_statistics
from learnreport.store import credentials, tenants
from learnreport.store.engine import create_engine
from learnreport.store.migrate import upgrade
from learnreport.store.schema import results

PEOPLE = 5_000
ACTIVITIES = 50
STAMP = "2025-01-02T00:00:00Z"


def records(prefix: str, count: int, attempt: int) -> list[dict[str, Any]]:
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


def reference(engine: sa.Engine, tenant_id: int, count: int) -> float:
    """The driver's own executemany of stored rows, 10,000 per transaction."""
    with engine.connect() as connection:
        users = dict(connection.exec_driver_sql(
            f"SELECT external_id, id FROM users WHERE tenant_id = {tenant_id}"
        ).all())  # fmt: skip
        contents = dict(connection.exec_driver_sql(
            f"SELECT external_id, id FROM contents WHERE tenant_id = {tenant_id}"
        ).all())  # fmt: skip
    rows = [
        {**record, "tenant_id": tenant_id, "id": 10_000_000 + n, "external_id": record["id"],
         "user_id": users[record["user_id"]], "content_id": contents[record["content_id"]],
         "score": None, "grade": None, "views": 0, "flagged": False, "created_at": STAMP}
        for n, record in enumerate(records("ref", count, 100))
    ]  # fmt: skip
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
        with engine.begin() as connection:
            upsert(connection, tenant_id, "results", batch[start : start + 10_000])
    return count / (time.perf_counter() - started)


def http(url: str, key: str, count: int, clients: int) -> float:
    bodies = [
        orjson.dumps(records(f"h{start}_", 1_000, 300 + start // 1_000))
        for start in range(0, count, 1_000)
    ]
    headers = {"X-API-Key": key, "Content-Type": "application/json"}

    def send(body: bytes) -> None:
        answer = client.post(f"{url}/api/v2/ingest/results", content=body, headers=headers)
        if answer.status_code != 200 or answer.json()["inserted"] != 1_000:
            raise RuntimeError(answer.text[:500])

    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(clients) as pool:
        started = time.perf_counter()
        list(pool.map(send, bodies))
        return count / (time.perf_counter() - started)


@contextmanager
def server(database_url: str) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "learnreport", "serve", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)


@contextmanager
def database(url: str | None, admin_url: str) -> Iterator[str]:
    if url is not None:
        yield url
        return
    admin = create_engine(admin_url)
    name = f"lr_bench_{uuid4().hex}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def measure(name: str, url: str, count: int, clients: int) -> list[str]:
    engine = create_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        tenant = tenants.create(connection, "bench", "Bench")
        key = credentials.create(connection, tenant, "key", "owner").secret
    ingest(engine, tenant.id, "users", [{"id": f"u{n}"} for n in range(PEOPLE)])
    ingest(engine, tenant.id, "activities", [
        {"id": f"a{n}", "name": f"Activity {n}"} for n in range(ACTIVITIES)
    ])  # fmt: skip
    refresh_statistics(engine)
    floor = reference(engine, tenant.id, count)
    refresh_statistics(engine)
    direct = write_path(engine, tenant.id, count)
    engine.dispose()
    with server(url) as address:
        over_http = http(address, key, count, clients)
    return [
        f"| {name} | database executemany (reference) | {floor:,.0f} | 1.00 |",
        f"| {name} | write path, batches of 10,000 | {direct:,.0f} | {direct / floor:.2f} |",
        f"| {name} | HTTP, batches of 1,000, {clients} clients | {over_http:,.0f} | "
        f"{over_http / floor:.2f} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--postgresql", default="postgresql+psycopg://postgres@127.0.0.1/test")
    options = parser.parse_args()
    print("| database | how | results per second | ratio to reference |")
    print("|---|---|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for name, url in (("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}"),
                          ("PostgreSQL", None)):  # fmt: skip
            with database(url, options.postgresql) as address:
                for line in measure(name, address, options.results, options.clients):
                    print(line, flush=True)


if __name__ == "__main__":
    main()
