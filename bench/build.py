"""`python -m bench build`: write a size's dataset through the real write path.

Every record goes through `learnreport.ingest.upsert` in batches of 50,000, each its own
write transaction, as `learnreport import --batch-size 50000` writes them: the build
doubles as a measurement of the write path at scale, and its records per second and the
writer's CPU seconds are kept in bench/data/<size>.json.
"""

import json
import multiprocessing
import multiprocessing.connection
import os
import pickle
import platform
import queue
import sqlite3
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from bench import databases
from bench.dataset import SIZES, Generator, Tenant, tenants
from learnreport.collector import collect_less_often
from learnreport.ingest import Converted, convert, upsert
from learnreport.ingest.demo import refresh_statistics, settle
from learnreport.ingest.kinds import TARGETS
from learnreport.store import tenants as stored_tenants
from learnreport.store.engine import writing
from learnreport.store.migrate import upgrade

NOW = "2026-01-01T00:00:00Z"
REPORT_EVERY = 5.0
"""Seconds between progress lines."""
FIRST_ANALYZE = 10_000
"""Records written before PostgreSQL's planner statistics are first refreshed; then at each
doubling.

PostgreSQL plans with the statistics it last gathered, and without autovacuum a fresh
database keeps those of its empty tables: the M build then wrote under 1,000 records/s, not
17,000. Refreshing whenever the records double keeps every table within twice its
known size, at the cost of one ANALYZE per doubling. SQLite's write path plans the same
without statistics (an M build without them took 92 and 96 s, with them 84 and 98 s), and
its ANALYZE reads every index (2.4 s at M), so SQLite is analysed once, at the end."""
AHEAD = 16
"""Batches the generating process may have ready before the writer takes them."""
HEADER = 8
"""Bytes of a batch's size before it in the pipe."""
BULK_CACHE = -1_048_576
"""The build's SQLite page cache, in KiB (negative): 1 GiB."""
BULK_PRAGMAS = ("journal_mode=MEMORY", "synchronous=OFF", f"cache_size={BULK_CACHE}")
"""How the build's writer loads SQLite: each page a batch changes is written once, into
the database, and SQLite never waits for the disk to hold it (`synchronous=OFF`).

Through the server's write-ahead log, each changed page was written twice, into the log at
the commit and from the log into the database at a checkpoint, and a batch of 50,000
records changes tens of thousands of pages (the results' and enrollments' modification
times are indexed in no order). Midway through L that was 37,000 system calls and 76 MB
written a second, for 16,000 records, and committing was 14% of the writer's time
(writing the log and copying it into the database); with the journal in memory the
build wrote 22,500 records a second. A build that stops is built again from nothing, so
it needs no journal that survives a crash; the journal in memory still undoes a batch
that fails. The database is left in WAL mode, as the server opens it."""


def build(size_name: str, backend: str, server: str) -> dict[str, object]:
    collect_less_often()
    size = SIZES[size_name]
    url = databases.url(size_name, backend, server)
    databases.recreate(url)
    engine = databases.engine(url)
    if backend == "sqlite":
        sa.event.listen(engine, "connect", _bulk_writer)
    upgrade(engine)
    written: Counter[str] = Counter()
    started = last = time.perf_counter()
    analyze_at = FIRST_ANALYZE
    for tenant in tenants(size):
        with engine.begin() as connection:
            tenant_id = stored_tenants.create(connection, tenant.slug, tenant.name).id
        for kind, batch in _generated(tenant):
            with writing(engine) as connection:
                upsert(connection, tenant_id, kind, batch, now=NOW)
            written[kind] += len(batch)
            if backend != "sqlite" and written.total() >= analyze_at:
                refresh_statistics(engine)
                analyze_at *= 2
            if time.perf_counter() - last >= REPORT_EVERY:
                last = time.perf_counter()
                _progress(written, last - started)
    loaded = time.perf_counter() - started
    settle(engine)
    engine.dispose()
    if backend == "sqlite":
        _leave_in_wal_mode(url)
    seconds = time.perf_counter() - started
    record = {
        "size": size_name,
        "backend": backend,
        "records": dict(written),
        "total_records": sum(written.values()),
        "load_seconds": round(loaded, 1),
        "seconds": round(seconds, 1),
        "records_per_second": round(sum(written.values()) / loaded),
        "writer_cpu_seconds": round(_cpu_seconds(), 1),
        "machine": f"{platform.processor() or platform.machine()}, Python {sys.version.split()[0]}",
        "database_bytes": _database_bytes(url),
    }
    databases.DATA.mkdir(exist_ok=True)
    suffix = "" if backend == "sqlite" else f"-{backend}"
    path = databases.DATA / f"{size_name}{suffix}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"built {size_name} on {backend}: {record['total_records']:,} records in "
        f"{seconds:,.0f} s ({record['records_per_second']:,} records/s), "
        f"{record['writer_cpu_seconds']:,} s of the writer's CPU; {path}"
    )
    return record


def _cpu_seconds() -> float:
    """The writing thread's CPU time: on a shared host the build's seconds move with
    whatever else runs, the writer's CPU much less, so two builds compare by it."""
    return time.thread_time()


def _bulk_writer(dbapi_connection: Any, record: Any) -> None:
    """`BULK_PRAGMAS`, with a page cache that holds the indexes a bulk load writes all over
    (the results' and enrollments' modification times): with the server's 64 MiB, each
    batch at L read back from the operating system thousands of pages it had written a few
    batches before."""
    for pragma in BULK_PRAGMAS:
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _leave_in_wal_mode(url: str) -> None:
    """Set the file's journal back to the write-ahead log, which lasts with the file, once
    the build's last connection has closed: the mode can change only on the one connection
    to a database."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    connection.close()


def _generated(tenant: Tenant) -> Iterator[tuple[str, Converted | list[dict[str, Any]]]]:
    """The tenant's batches, generated in a second process while this one writes: making
    the records in the writing process was a tenth of the build, on a machine whose second
    core was idle. That process also converts each batch (`learnreport.ingest.convert`:
    validating the records and turning them into stored rows), the write path's work that
    asks no database: 6.3 microseconds a result and 3.0 an enrollment, where unpickling
    the converted rows costs the writer 0.5 more than the records; M's writer took 55.5
    and 56.3 s of CPU with it, 61.4 and 61.9 without, in builds taken in turns.

    The generator makes a block of people's records at once, and the writer must not wait
    for it: up to `AHEAD` batches wait in the generating process, pickled by the generator
    itself, for a thread that writes each to the pipe, which holds no interpreter lock
    while it waits. Through a `multiprocessing.Queue`, whose own thread both pickled and
    wrote and got the lock only between the generator's time slices, or through a pipe
    written by the generator, which stopped generating while the writer read, the writer
    waited for the next batch for about a tenth of the L build. Every batch is read into
    one buffer, kept from batch to batch: `Connection.recv_bytes` allocates the rest of the
    message for each 64 KiB it reads (6% of the L build), and a new buffer of each batch's
    size, mapped afresh by the allocator and faulted in page by page, was 2.5% of it."""
    receiver, sender = multiprocessing.Pipe(duplex=False)
    producer = multiprocessing.Process(target=_generate, args=(tenant, sender), daemon=True)
    producer.start()
    sender.close()
    buffer = bytearray(HEADER)
    try:
        with open(receiver.fileno(), "rb", buffering=0, closefd=False) as stream:
            while size := int.from_bytes(_read(stream, buffer, HEADER)):
                if len(buffer) < size:
                    buffer = bytearray(size)
                yield pickle.loads(_read(stream, buffer, size))
    finally:
        producer.kill()
        producer.join()
        receiver.close()


def _read(stream: BinaryIO, buffer: bytearray, size: int) -> memoryview:
    """The next `size` bytes of the stream, in the start of `buffer`."""
    view = memoryview(buffer)[:size]
    filled = 0
    while filled < size:
        read = stream.readinto(view[filled:])
        if not read:
            raise RuntimeError("the dataset's generator stopped early")
        filled += read
    return view


def _generate(tenant: Tenant, sender: multiprocessing.connection.Connection) -> None:
    ready: queue.Queue[bytes] = queue.Queue(AHEAD)
    writer = threading.Thread(target=_send, args=(ready, sender.fileno()))
    writer.start()
    for kind, records in Generator(tenant).batches():
        batch = convert(kind, records) if kind in TARGETS else records
        ready.put(pickle.dumps((kind, batch), protocol=pickle.HIGHEST_PROTOCOL))
    ready.put(b"")
    writer.join()


def _send(ready: "queue.Queue[bytes]", pipe: int) -> None:
    """Write each batch, its size first; an empty one ends the stream."""
    while True:
        data = ready.get()
        view = memoryview(len(data).to_bytes(HEADER) + data)
        while view:
            view = view[os.write(pipe, view) :]
        if not data:
            return


def _progress(written: Counter[str], seconds: float) -> None:
    total = sum(written.values())
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in written.items())
    print(
        f"{seconds:7.0f} s  {total:>11,} records  {total / seconds:8,.0f}/s  ({kinds})", flush=True
    )


def _database_bytes(url: str) -> int:
    if url.startswith("sqlite"):
        return Path(url.removeprefix("sqlite:///")).stat().st_size
    engine = databases.engine(url)
    with engine.connect() as connection:
        size = connection.execute(sa.text("SELECT pg_database_size(current_database())"))
        value = int(size.scalar_one())
    engine.dispose()
    return value
