"""A client that goes away halfway through a large export gives back what the export held.

Against a real server process, since only a real socket can be closed under an answer: the
export's database connection (a pooled one, or the SQLite export's own reader) must be
released within seconds, the server's memory must come back to where it was, and the
server must go on answering.
"""

import os
from pathlib import Path

import httpx
import sqlalchemy as sa

from serving import Served, abandon, demo_owner, eventually, serving, start_reading

RESULTS = 40_000
"""Enough results that a modules export is megabytes, far more than the sockets buffer."""

FORMATS = ("csv", "ndjson", "json")
MEMORY_MB = 25
"""How far above its resident memory after a first whole export the server may stay
after the abandoned ones: one batch of rows is a few megabytes, a leaked export more."""


def readers(engine: sa.Engine, served: Served) -> int:
    """The database sessions of the server in a statement or a transaction.

    PostgreSQL's `pg_stat_activity` tells (client sessions only: autovacuum may work on the
    tables the test just wrote). On SQLite, a connection reading holds a lock on
    one of the write-ahead log's read marks (bytes 123 to 127 of the `-shm` file), which
    the kernel lists in /proc/locks with the process holding it: a pooled connection and the
    CSV export's own reader alike."""
    if engine.dialect.name == "postgresql":
        query = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "AND state <> 'idle'"
        )
        with engine.connect() as connection:
            return int(connection.execute(query).scalar_one())
    inode = os.stat(f"{engine.url.database}-shm").st_ino
    held = 0
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        pid, device, start = fields[-4], fields[-3], fields[-2]
        on_shm = device.endswith(f":{inode}") and pid == str(served.process.pid)
        held += on_shm and 123 <= int(start) <= 127
    return held


def whole(served: Served, path: str, token: str) -> int:
    answer = httpx.get(served.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    assert answer.status_code == 200, answer.text[:500]
    return len(answer.content)


def test_an_export_abandoned_halfway_frees_its_connection_and_memory(
    engine: sa.Engine, tmp_path: Path
) -> None:
    token = demo_owner(engine, RESULTS)
    with serving(engine, tmp_path) as served:
        paths = [f"/api/v2/reports/modules/export/?format={fmt}" for fmt in FORMATS]
        sizes = [whole(served, path, token) for path in paths]
        assert readers(engine, served) == 0
        at_rest = served.rss_mb()
        for path, size in zip(paths, sizes, strict=True):
            part = 64 * 1024
            assert size > 40 * part, f"{path} is too small to stop halfway: {size:,} bytes"
            for _ in range(3):
                stalled = start_reading(served.port, path, token, part)
                assert eventually(lambda: readers(engine, served) > 0, 10), (
                    f"{path}: the export ended before its client stopped reading"
                )
                abandon(stalled)
                assert eventually(lambda: readers(engine, served) == 0, 10), (
                    f"{path}: the export still holds the database after its client left"
                )
        grown = served.rss_mb() - at_rest
        assert grown < MEMORY_MB, f"{grown:.0f} MB more resident memory after the exports"
        assert httpx.get(served.url + "/health", timeout=10).status_code == 200
        assert whole(served, paths[0], token) == sizes[0]
        assert "Traceback" not in served.errors()
