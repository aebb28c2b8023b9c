"""`python -m bench soak --minutes N`: a real server under mixed traffic for a bounded time,
which must answer without an error and without its memory growing.

Several clients on loopback, each with its own keep-alive connection, ask in a seeded
random mix for first pages, deep keyset pages, filtered lists, single records, the
statistics, small exports, write batches and requests that must be refused. The server
runs as `learnreport serve` runs it, on a copy of a built dataset (writes land in the
copy), so a soak never changes `bench/data`.

It exits 1 when any answer is a 5xx or a transport error, or when the server's resident
memory grew: the median of the last quarter of the samples taken after the warm-up
(`WARM_UP`) against
the median of the first quarter, with `GROWTH_MB` or `GROWTH_SHARE` of tolerance, whichever
is larger. A server that leaks a batch of rows per request grows by megabytes a minute.
"""

import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench import access, databases, servers
from bench.dataset import SIZES, completion_window, department
from learnreport.store.engine import create_engine

GROWTH_MB: Final = 10.0
GROWTH_SHARE: Final = 0.10
WARM_UP: Final = 30.0
"""Seconds, at least, before memory counts (a fifth of the run when longer): in a one-minute
run on dataset S the server's memory rose by 50 MB over the first half minute, as the pooled
connections' page caches filled, and then held."""
SAMPLE_EVERY: Final = 2.0
"""Seconds between two readings of the server's resident memory."""

MODULES = "/api/v2/reports/modules/"


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int
    expected: int
    ask: Callable[["Client"], httpx.Response]


@dataclass
class Client:
    """One client's connection and what it has learnt to ask for."""

    http: httpx.Client
    rng: random.Random
    people: list[str]
    deep: list[str]
    number: int
    written: int = 0

    def users(self) -> bytes:
        """A small batch of new people: each write of the soak adds to the copy."""
        self.written += 1
        batch = [
            {"id": f"soak-{self.number}-{self.written}-{n}", "first_name": "Soak"}
            for n in range(20)
        ]
        return orjson.dumps(batch)


def kinds(size: str) -> list[Kind]:
    """The traffic, as a list of kinds of request with their share and expected status."""
    _, group = department(SIZES[size])
    after, before = completion_window()
    filtered = f"{MODULES}?completed_at_after={after}&completed_at_before={before}"
    writing = {"Content-Type": "application/json"}
    return [
        Kind("first page", 20, 200, lambda c: c.http.get(f"{MODULES}?page_size=100")),
        Kind("deep page", 15, 200, lambda c: c.http.get(c.rng.choice(c.deep))),
        Kind("filtered", 15, 200, lambda c: c.http.get(f"{filtered}&group_name={group}")),
        Kind(
            "record",
            15,
            200,
            lambda c: c.http.get(f"/api/v2/reports/users/{c.rng.choice(c.people)}/"),
        ),
        Kind(
            "statistics",
            5,
            200,
            lambda c: c.http.post(
                "/analyse/statistics", json={"groupBy": c.rng.choice(["content", "none"])}
            ),
        ),
        Kind(
            "small export",
            5,
            200,
            lambda c: c.http.get("/api/v2/reports/groups/export/?format=csv"),
        ),
        Kind(
            "ingest batch",
            5,
            200,
            lambda c: c.http.post(
                "/api/v2/ingest/users",
                content=c.users(),
                headers=writing,
            ),
        ),
        Kind("unknown filter", 5, 400, lambda c: c.http.get(f"{MODULES}?colour=blue")),
        Kind("unknown record", 5, 404, lambda c: c.http.get("/api/v2/reports/users/nobody/")),
        Kind(
            "bad token",
            5,
            401,
            lambda c: c.http.get(MODULES, headers={"Authorization": "Bearer not-a-token"}),
        ),
        Kind("bad cursor", 5, 400, lambda c: c.http.get(f"{MODULES}?cursor=bm90LWEtY3Vyc29y")),
    ]


@dataclass
class Tally:
    """What the clients saw, kind by kind, gathered under one lock."""

    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unexpected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: Kind, seconds: float, status: int | None) -> None:
        with self.lock:
            self.timings[kind.name].append(seconds * 1000)
            if status is None or status >= 500:
                self.errors[kind.name] += 1
            elif status != kind.expected:
                self.unexpected[f"{kind.name}: {status}"] += 1


def soak(minutes: float, size: str, backend: str, server: str, clients: int, workers: int) -> int:
    seconds = minutes * 60
    with _copy(size, backend, server) as url, tempfile.TemporaryDirectory() as folder:
        engine = create_engine(url)
        try:
            grants = access.create(engine, "acme", department(SIZES[size])[0])
        finally:
            engine.dispose()
        log = Path(folder) / "server.log"
        with servers.learnreport(url, workers, log) as running:
            token = access.token(running.url, grants.owner)
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=running.url, headers=headers, timeout=60) as setup:
                people = [
                    row["id"] for row in setup.get("/api/v2/reports/users/").json()["results"]
                ]
                deep = _deep_pages(setup)
            print(
                f"Soak: {clients} clients for {minutes:g} min on {size} ({backend}), "
                f"{len(deep)} deep cursors",
                flush=True,
            )
            tally, memory = Tally(), Memory(running)
            deadline = time.monotonic() + seconds
            threads = [
                threading.Thread(
                    target=_drive,
                    args=(running.url, headers, kinds(size), tally, deadline, number),
                    kwargs={"people": people, "deep": deep},
                )
                for number in range(clients)
            ]
            with memory.sampling(deadline):
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            errors_logged = log.read_text(errors="replace").count("Traceback")
    return _report(tally, memory, max(WARM_UP, seconds / 5), errors_logged)


def _drive(
    url: str,
    headers: dict[str, str],
    mix: list[Kind],
    tally: Tally,
    deadline: float,
    number: int,
    *,
    people: list[str],
    deep: list[str],
) -> None:
    rng = random.Random(number)
    weights = [kind.weight for kind in mix]
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        client = Client(http, rng, people, deep, number)
        while time.monotonic() < deadline:
            kind = rng.choices(mix, weights)[0]
            started = time.perf_counter()
            try:
                status: int | None = kind.ask(client).status_code
            except httpx.TransportError:
                status = None
            tally.add(kind, time.perf_counter() - started, status)


def _deep_pages(client: httpx.Client) -> list[str]:
    """Keyset pages of 100 rows from every tenth page of a walk by 1,000, whatever the
    depth: a deep page costs what a first one does, or the soak shows it."""
    url: str | None = f"{MODULES}?cursor=&page_size=1000"
    found: list[str] = []
    pages = 0
    while url is not None:
        body = client.get(url).raise_for_status().json()
        following = body.get("next")
        url = following if isinstance(following, str) and following else None
        pages += 1
        if url is not None and pages % 10 == 0:
            found.append(url.replace("page_size=1000", "page_size=100"))
    return found or [f"{MODULES}?cursor=&page_size=100"]


class Memory:
    """The server's resident memory, read every `SAMPLE_EVERY` seconds while it works."""

    def __init__(self, server: servers.Server) -> None:
        self.server = server
        self.samples: list[tuple[float, float]] = []

    @contextmanager
    def sampling(self, deadline: float) -> Iterator[None]:
        started = time.monotonic()
        done = threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_EVERY):
                self.samples.append((time.monotonic() - started, self.server.rss_mb()))

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def growth(self, warm_up: float) -> tuple[float, float] | None:
        """The median memory of the first and last quarters of the samples after
        `warm_up` seconds; None with too few samples to tell."""
        kept = [rss for at, rss in self.samples if at >= warm_up]
        quarter = len(kept) // 4
        if quarter < 1:
            return None
        return statistics.median(kept[:quarter]), statistics.median(kept[-quarter:])


def _report(tally: Tally, memory: Memory, warm_up: float, errors_logged: int) -> int:
    print(f"{'kind':<16}{'requests':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'errors':>8}")
    for name, timings in sorted(tally.timings.items()):
        ordered = sorted(timings)
        p50 = ordered[len(ordered) // 2]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(
            f"{name:<16}{len(ordered):>10,}{p50:>10.1f}{p99:>10.1f}{ordered[-1]:>10.1f}"
            f"{tally.errors[name]:>8}"
        )
    for status, count in sorted(tally.unexpected.items()):
        print(f"unexpected status, not counted as an error: {status} x {count}")
    errors = sum(tally.errors.values())
    print(f"errors (5xx or transport): {errors}; tracebacks in the server's log: {errors_logged}")
    print(
        "memory (MB, resident) over time: "
        + ", ".join(
            f"{at:.0f}s {rss:.0f}"
            for at, rss in memory.samples[:: max(1, len(memory.samples) // 12)]
        )
    )
    failed = errors > 0 or errors_logged > 0
    growth = memory.growth(warm_up)
    if growth is None:
        print("memory: too few samples after the warm-up to tell; run longer")
        failed = True
    else:
        first, last = growth
        allowed = max(GROWTH_MB, first * GROWTH_SHARE)
        grew = last - first > allowed
        print(
            f"memory after a {warm_up:.0f} s warm-up: {first:.1f} MB in the first quarter, "
            f"{last:.1f} MB in the last (tolerance {allowed:.1f} MB): "
            f"{'GREW' if grew else 'steady'}"
        )
        failed = failed or grew
    print("FAILED" if failed else "passed")
    return 1 if failed else 0


@contextmanager
def _copy(size: str, backend: str, server: str) -> Iterator[str]:
    """A scratch copy of a built dataset, removed afterwards: a file copy on SQLite, a
    database made from the dataset's as a template on PostgreSQL."""
    built = databases.url(size, backend, server)
    if backend == "sqlite":
        source = databases.sqlite_file(size)
        if not source.exists():
            sys.exit(f"no dataset {size}: python -m bench build --size {size}")
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / source.name
            for suffix in ("", "-wal"):
                if Path(f"{source}{suffix}").exists():
                    shutil.copyfile(f"{source}{suffix}", f"{copy}{suffix}")
            yield f"sqlite:///{copy}"
        return
    address = make_url(built)
    scratch = address.set(database=f"{address.database}_soak").render_as_string(False)
    databases.drop(scratch)
    admin = create_engine(address.set(database="postgres"))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(
                f'CREATE DATABASE "{address.database}_soak" TEMPLATE "{address.database}"'
            )
    except sa.exc.OperationalError as error:
        sys.exit(
            f"cannot copy {address.database} (python -m bench build --size {size} "
            f"--backend postgresql): {error.orig}"
        )
    finally:
        admin.dispose()
    try:
        yield scratch
    finally:
        databases.drop(scratch)
