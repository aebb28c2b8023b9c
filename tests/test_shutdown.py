"""SIGTERM, as a service manager or a container runtime sends it, stops `learnreport serve`
and `learnreport import` cleanly: real processes, stopped in the middle of their work."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import sqlalchemy as sa

from learnreport.store.schema import imports, users
from learnreport.store.tenants import Tenant
from serving import ROOT, demo_owner, eventually, serving, start_reading

EXPORT = "/api/v2/reports/modules/export/?format=ndjson"
GRACE = 3
"""The stopping server's `--graceful-timeout` in these tests."""


def rest(sock: socket.socket) -> bytes:
    """What the socket still gets until the server ends the connection."""
    sock.settimeout(60)
    received = []
    try:
        while chunk := sock.recv(1 << 20):
            received.append(chunk)
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return b"".join(received)


def test_sigterm_during_exports_finishes_the_read_ones_closes_the_stalled_and_exits_0(
    engine: sa.Engine, tmp_path: Path
) -> None:
    token = demo_owner(engine, 20_000)
    with serving(engine, tmp_path, "--graceful-timeout", str(GRACE)) as served:
        stalled = start_reading(served.port, EXPORT, token, 64 * 1024)
        reading = start_reading(served.port, EXPORT, token, 64 * 1024)
        tail: list[bytes] = []
        reader = threading.Thread(target=lambda: tail.append(rest(reading)))
        served.process.send_signal(signal.SIGTERM)
        reader.start()
        started = time.monotonic()
        code = served.process.wait(GRACE + 20)
        took = time.monotonic() - started
        reader.join(30)
        unread = rest(stalled)
        assert code == 0, served.errors()[-3000:]
        assert took < GRACE + 10, f"the server took {took:.1f} s to stop"
        assert "Traceback" not in served.errors(), served.errors()[-3000:]
        assert tail[0].endswith(b"\r\n0\r\n\r\n"), "the export being read was cut short"
        assert not unread.endswith(b"\r\n0\r\n\r\n"), "the stalled export was not closed"


def test_sigterm_during_an_import_keeps_its_whole_batches_and_says_what_it_committed(
    engine: sa.Engine, tenant: Tenant, tmp_path: Path
) -> None:
    records, batch = 6_000, 300
    file = tmp_path / "users.ndjson"
    file.write_bytes(
        b"".join(
            orjson.dumps({"id": f"u{i}", "email": f"u{i}@acme.example", "first_name": "U"}) + b"\n"
            for i in range(records)
        )
    )
    command = [sys.executable, "-m", "learnreport", "import", str(file), "--tenant", "acme"]
    command += ["--kind", "users", "--batch-size", str(batch)]
    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    run = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert eventually(lambda: committed(engine, tenant) >= 2 * batch, 60), "no batch committed"
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=30)

    kept, stored = committed(engine, tenant), people(engine, tenant)
    assert run.returncode == 128 + signal.SIGTERM, err.decode()
    assert b"Traceback" not in err, err.decode()
    assert 0 < kept < records, "the import was not stopped part way"
    assert kept % batch == 0 and stored == kept, f"{stored} people for {kept} committed"
    assert f"the {kept:,} records of its committed batches are kept".encode() in out, out
    resumed = subprocess.run([*command, "--resume"], env=env, cwd=ROOT, capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert people(engine, tenant) == records


def committed(engine: sa.Engine, tenant: Tenant) -> int:
    query = sa.select(sa.func.max(imports.c.records)).where(imports.c.tenant_id == tenant.id)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one() or 0)


def people(engine: sa.Engine, tenant: Tenant) -> int:
    query = sa.select(sa.func.count()).select_from(users).where(users.c.tenant_id == tenant.id)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())
