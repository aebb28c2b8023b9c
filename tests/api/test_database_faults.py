"""When the database cannot answer in time, or at all: 503 problem details with Retry-After,
never a 500, and service again as soon as it can.

The database that is stopped and started again is a PostgreSQL cluster of the test's own
(`initdb` in a temporary directory, on a free port), never the shared server other tests use.
"""

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from learnreport.api.app import create_app
from learnreport.config import Settings
from learnreport.ingest import ingest, upsert
from learnreport.store.engine import create_engine, writing
from learnreport.store.migrate import upgrade
from learnreport.store.tenants import Tenant

Token = Callable[..., str]

PEOPLE = 1000
"""People and activities of a tenant whose every pair, NOT_ENROLLED, is a million rows to
count: seconds of work on either database, cut short by a timeout of 50 ms."""


def unavailable(answer: Any, retry_after: int) -> dict[str, Any]:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == str(retry_after)
    body: dict[str, Any] = answer.json()
    assert body["status"] == 503
    return body


def served(engine: sa.Engine, **settings: Any) -> TestClient:
    """The application on the test's database, through an engine it makes from `settings`."""
    return TestClient(
        create_app(Settings(database_url=engine.url.render_as_string(False), **settings))
    )


@pytest.fixture
def crowded(engine: sa.Engine, tenant: Tenant) -> Tenant:
    ingest(engine, tenant.id, "users", [{"id": f"u{n}"} for n in range(PEOPLE)])
    ingest(
        engine, tenant.id, "activities", [{"id": f"a{n}", "name": f"A{n}"} for n in range(PEOPLE)]
    )
    return tenant


def test_a_report_running_past_the_statement_timeout_is_503_with_retry_after(
    engine: sa.Engine, crowded: Tenant, token: Token
) -> None:
    owner = {"Authorization": f"Bearer {token(crowded)}"}
    every_pair = {"enrollmentTypes": ["NOT_ENROLLED"]}
    with served(engine, statement_timeout_ms=50) as client:
        answer = client.post("/analyse/results", json=every_pair, headers=owner)
        assert "statement timeout" in unavailable(answer, 30)["detail"]
        assert client.get("/api/v2/reports/users/?page_size=1", headers=owner).status_code == 200


def test_a_write_waiting_past_the_lock_timeout_is_503_with_retry_after_and_writes_nothing(
    engine: sa.Engine, tenant: Tenant, token: Token
) -> None:
    writer = {"Authorization": f"Bearer {token(tenant)}"}
    with served(engine, lock_timeout_ms=50) as client, writing(engine) as holder:
        upsert(holder, tenant.id, "users", [{"id": "held"}])
        answer = client.post("/api/v2/ingest/users", json=[{"id": "waiting"}], headers=writer)
        assert "nothing was written" in unavailable(answer, 1)["detail"]
    with served(engine) as client:
        listed = client.get("/api/v2/reports/users/", headers=writer).json()["results"]
    assert [row["id"] for row in listed] == ["held"]


# The database stopped and started again.


def _postgresql_binaries() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parent.parent.name
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class Cluster:
    """A PostgreSQL server of the test's own, stopped and started at will."""

    binaries: Path
    data: Path
    port: int
    owner: list[str]
    """The command prefix that runs the server as a user other than root, which it refuses."""

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *arguments: str) -> None:
        command = [*self.owner, str(self.binaries / tool), *arguments]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off"
        self.run("pg_ctl", "-D", str(self.data / "db"), "-l", str(self.data / "log"), "-w",
                 "-o", options, "start")  # fmt: skip

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data / "db"), "-m", "immediate", "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    binaries = _postgresql_binaries()
    if binaries is None:
        reason = "initdb is not installed, so no PostgreSQL server of the test's own can run"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so this test may not be skipped")
        pytest.skip(reason)
    data = Path(tempfile.mkdtemp(prefix="lr_pg_"))
    owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
        owner = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    found = Cluster(binaries, data, port, owner)
    found.run("initdb", "-D", str(data / "db"), "-A", "trust", "-U", "postgres", "--no-sync")
    found.start()
    try:
        yield found
    finally:
        subprocess.run([*owner, str(binaries / "pg_ctl"), "-D", str(data / "db"), "-m",
                        "immediate", "stop"], capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(data, ignore_errors=True)


class TestTheDatabaseStoppedAndStartedAgain:
    @pytest.fixture
    def engine(self, cluster: Cluster) -> Iterator[sa.Engine]:
        """The `engine` of the fixtures that make tenants and tokens, on the cluster."""
        migrated = create_engine(cluster.url)
        upgrade(migrated)
        yield migrated
        migrated.dispose()

    def test_every_report_is_503_while_it_is_down_and_served_again_once_it_is_up(
        self, cluster: Cluster, engine: sa.Engine, tenant: Tenant, token: Token
    ) -> None:
        owner = {"Authorization": f"Bearer {token(tenant)}"}
        reports = [f"/api/v2/reports/{name}/" for name in ("users", "modules", "groups")]
        with served(engine) as client:
            for report in reports:
                assert client.get(report, headers=owner).status_code == 200
            assert client.get("/health").status_code == 200
            cluster.stop()
            for report in reports:
                assert (
                    "cannot be reached"
                    in unavailable(client.get(report, headers=owner), 5)["detail"]
                )
            assert unavailable_health(client.get("/health"))
            unavailable(client.post("/analyse/results", json={}, headers=owner), 5)
            learners = client.get("/learners/modules/results", headers=owner)
            assert learners.status_code == 503 and learners.headers["retry-after"] == "5"
            assert "<code>error</code>" in learners.text
            sessions = client.get("/api/v1/paths/sessions/s-1/stats", headers=owner)
            assert sessions.status_code == 503 and sessions.json() == {"error": "error"}
            cluster.start()
            for report in reports:
                assert client.get(report, headers=owner).status_code == 200
            assert client.get("/health").status_code == 200

    def test_a_restart_between_two_requests_goes_unnoticed(
        self, cluster: Cluster, engine: sa.Engine, tenant: Tenant, token: Token
    ) -> None:
        """The pooled connections died with the server; each is tried before use and
        replaced, so the first request after the restart is served."""
        owner = {"Authorization": f"Bearer {token(tenant)}"}
        with served(engine) as client:
            assert client.get("/api/v2/reports/users/", headers=owner).status_code == 200
            cluster.stop()
            cluster.start()
            assert client.get("/api/v2/reports/users/", headers=owner).status_code == 200


def unavailable_health(answer: Any) -> bool:
    return answer.status_code == 503 and answer.headers["retry-after"] == "5"
