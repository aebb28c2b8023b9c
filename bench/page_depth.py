"""The cost of a keyset page by its depth, against the cost of the first page, in one run.

Keyset paging promises that a page a hundred thousand rows deep costs what the first page
costs. This script builds the demo on SQLite and PostgreSQL, walks the iSpring dialect's
`GET /learners/modules/results` with `pageToken` to several depths, and times the page
found at each depth (the median of repeated requests) against the first page. Run it from
the repository root:

    python -m bench.page_depth [--results 200000] [--postgresql URL]
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import orjson
import sqlalchemy as sa
from fastapi.testclient import TestClient

from learnreport.api import tokens
from learnreport.api.app import create_app
from learnreport.config import Settings
from learnreport.ingest import demo
from learnreport.store import credentials, tenants
from learnreport.store.engine import create_engine
from learnreport.store.migrate import upgrade

PATH = "/learners/modules/results?userStatuses[]=1&userStatuses[]=3&pageSize=100"
REPEATS = 15


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=200_000)
    parser.add_argument("--postgresql", default="postgresql+psycopg://postgres@127.0.0.1/test")
    options = parser.parse_args()
    print("| database | depth (rows) | median ms | first page median ms | ratio |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for name, url in (("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}"),
                          ("PostgreSQL", None)):  # fmt: skip
            with _database(url, options.postgresql) as engine:
                for line in measure(name, engine, options.results):
                    print(line, flush=True)


@contextmanager
def _database(url: str | None, admin_url: str) -> Iterator[sa.Engine]:
    if url is not None:
        engine = create_engine(url)
        yield engine
        engine.dispose()
        return
    admin = create_engine(admin_url)
    name = f"lr_bench_{uuid4().hex}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = create_engine(admin.url.set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def measure(name: str, engine: sa.Engine, results: int) -> list[str]:
    upgrade(engine)
    demo.run(engine, users=max(results // 150, 300), results=results)
    settings = Settings(database_url=engine.url.render_as_string(False))
    with engine.begin() as connection:
        acme = tenants.get(connection, "acme")
        created = credentials.create(connection, acme, "client", "owner")
        principal = credentials.load_principal(connection, created.credential.public_id)
    assert principal is not None
    headers = {"Authorization": tokens.issue(engine, settings, principal).token,
               "Accept": "application/json"}  # fmt: skip
    lines = []
    with TestClient(create_app(settings, engine)) as client:
        first = _median(client, PATH, headers)
        walked, query = 0, PATH
        marks = iter((1_000, 10_000, 30_000, 60_000, 100_000, 200_000))
        mark = next(marks)
        while True:
            body = orjson.loads(client.get(query, headers=headers).content)
            walked += len(body["results"])
            if "nextPageToken" not in body:
                break
            query = f"{PATH}&pageToken={body['nextPageToken']}"
            if walked >= mark:
                deep = _median(client, query, headers)
                figures = (
                    name,
                    f"{walked:,}",
                    f"{deep:.1f}",
                    f"{first:.1f}",
                    f"{deep / first:.2f}",
                )
                lines.append(f"| {' | '.join(figures)} |")
                mark = next(marks, 10**12)
    return lines


def _median(client: TestClient, query: str, headers: dict[str, str]) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        client.get(query, headers=headers).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    main()
