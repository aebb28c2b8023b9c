"""`learnreport export` and `learnreport import`, run as a user runs them, on both databases."""

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from learnreport.api import tokens
from learnreport.api.app import create_app
from learnreport.cli import app
from learnreport.config import Settings
from learnreport.ingest import ingest
from learnreport.store import credentials
from learnreport.store.schema import imports, users
from learnreport.store.tenants import Tenant


def url(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def cli(engine: sa.Engine) -> CliRunner:
    """A runner whose commands use the test's database."""
    return CliRunner(env={"DATABASE_URL": url(engine)})


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def http_export(engine: sa.Engine, tenant: Tenant, report: str, query: str) -> bytes:
    with engine.begin() as connection:
        created = credentials.create(connection, tenant, "client", "owner")
    with engine.connect() as connection:
        principal = credentials.load_principal(connection, created.credential.public_id)
    assert principal is not None
    token = tokens.issue(engine, Settings(), principal).token
    with TestClient(create_app(Settings(), engine)) as client:
        answer = client.get(
            f"/api/v2/reports/{report}/export/?{query}",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text
    return answer.content


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_a_report_export_holds_what_the_http_export_answers_with_the_same_filters(
    engine: sa.Engine, world: Tenant, cli: CliRunner, fmt: str
) -> None:
    ingest(engine, world.id, "users", [{"id": "u5", "first_name": "=SUM(A1)"}])
    ingest(engine, world.id, "memberships", [{"user_id": "u5", "group_id": "g-benelux"}])
    exported = ok(cli.invoke(app, [
        "export", "--tenant", "acme", "--report", "users", "--format", fmt,
        "--filter", "group_name=Sales", "--filter", "status=active,pending",
    ])).stdout_bytes  # fmt: skip
    assert exported == http_export(
        engine, world, "users", f"format={fmt}&group_name=Sales&status=active,pending"
    )
    if fmt == "csv":
        lines = exported.decode().splitlines()
        assert lines[0].startswith("id,uuid,username,email,")
        assert [line.split(",")[0] for line in lines[1:]] == ["u1", "u2", "u5"]
        assert ",'=SUM(A1)," in lines[3]


def test_an_unknown_filter_is_refused_naming_it(world: Tenant, cli: CliRunner) -> None:
    result = cli.invoke(app, [
        "export", "--tenant", "acme", "--report", "modules", "--format", "csv",
        "--filter", "colour=red", "--filter", "completed_at_after=yesterday",
    ])  # fmt: skip
    assert result.exit_code == 1
    assert "--filter colour: unknown parameter" in result.stderr
    assert "--filter completed_at_after: 'yesterday' is not an ISO 8601 date" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--format", "csv"], "give either --report NAME or --kind KIND"),
        (["--report", "users", "--kind", "users", "--format", "csv"], "give either"),
        (["--kind", "users", "--format", "csv", "--filter", "a=b"], "applies to --report only"),
        (["--kind", "users"], "give --format"),
        (["--kind", "users", "--out", "users.xlsx"], "cannot tell the format of users.xlsx"),
    ],
)
def test_an_export_that_cannot_be_told_what_to_write_says_why(
    tenant: Tenant, cli: CliRunner, arguments: list[str], said: str
) -> None:
    result = cli.invoke(app, ["export", "--tenant", "acme", *arguments])
    assert result.exit_code == 1
    assert said in result.stderr


def test_a_kind_export_goes_to_standard_output_without_a_file(
    world: Tenant, cli: CliRunner
) -> None:
    exported = ok(cli.invoke(app, ["export", "--tenant", "acme", "--kind", "memberships",
                                   "--format", "ndjson"])).stdout  # fmt: skip
    assert [orjson.loads(line) for line in exported.splitlines()] == [
        {"user_id": "u1", "group_id": "g-sales"},
        {"user_id": "u2", "group_id": "g-benelux"},
        {"user_id": "u3", "group_id": "g-eng"},
    ]


def test_an_exported_file_imports_into_another_tenant(
    world: Tenant, cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "groups.parquet"
    ok(cli.invoke(app, ["export", "--tenant", "acme", "--kind", "groups", "--out", str(path)]))
    ok(cli.invoke(app, ["tenants", "create", "initech", "--name", "Initech"]))
    shown = ok(cli.invoke(app, ["import", str(path), "--tenant", "initech", "--kind", "groups",
                                "--json"])).stdout  # fmt: skip
    summary = orjson.loads(shown)
    assert (summary["received"], summary["inserted"], summary["errors"]) == (4, 4, [])
    assert summary["import_id"] == 1
    told = ok(cli.invoke(app, ["import", str(path), "--tenant", "initech", "--kind", "groups"]))
    assert told.stdout == (
        f"Imported groups from {path}: 4 received, 0 inserted, 0 updated, 4 unchanged, 0 skipped.\n"
    )


def results_csv(tmp_path: Path, states: list[str]) -> Path:
    path = tmp_path / "results.csv"
    rows = [f"x{n},u1,a1,{n + 10},{state}" for n, state in enumerate(states)]
    path.write_text("id,user_id,content_id,attempt,state\r\n" + "".join(r + "\r\n" for r in rows))
    return path


def count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_import_errors_name_file_line_field_and_reason_and_stop_after_a_hundred(
    engine: sa.Engine, world: Tenant, cli: CliRunner, tmp_path: Path
) -> None:
    path = results_csv(tmp_path, ["passed"] + ["done"] * 105)
    before = count(engine, imports)
    result = cli.invoke(app, ["import", str(path), "--tenant", "acme", "--kind", "results"])
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 101
    assert errors[0].startswith(f"{path} line 3, field state: Invalid enum value 'done'")
    assert errors[99].startswith(f"{path} line 102, field state:")
    assert errors[100] == "… and 5 more"
    assert result.stdout.startswith(f"Nothing written: {path} has errors.")
    assert count(engine, imports) == before


def test_a_csv_header_error_is_told_before_anything_is_written(
    world: Tenant, cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "users.csv"
    path.write_text("id,colour\r\nu9,red\r\n")
    result = cli.invoke(app, ["import", str(path), "--tenant", "acme", "--kind", "users"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: line 1 (the header): unknown column 'colour'")


def test_a_dry_run_tells_what_it_would_write_and_writes_nothing(
    engine: sa.Engine, world: Tenant, cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "users.ndjson"
    path.write_bytes(b'{"id": "u1", "first_name": "Ann"}\n{"id": "u9"}\n')
    before = count(engine, users)
    told = ok(cli.invoke(app, ["import", str(path), "--tenant", "acme", "--kind", "users",
                               "--dry-run"])).stdout  # fmt: skip
    assert told == (
        f"Checked users from {path}: no errors; importing it would give 2 received, "
        "1 inserted, 1 updated, 0 unchanged, 0 skipped.\n"
    )
    assert count(engine, users) == before


def test_an_import_killed_mid_file_keeps_whole_batches_and_resumes_after_them(
    engine: sa.Engine, tenant: Tenant, tmp_path: Path
) -> None:
    """The real thing: a process reading a pipe, killed with SIGKILL while it waits for more."""
    records = b"".join(
        orjson.dumps({"id": f"u{n:04d}", "first_name": f"Person {n}"}) + b"\n" for n in range(500)
    )
    lines = records.splitlines(keepends=True)
    path = tmp_path / "users.ndjson"
    os.mkfifo(path)
    command = [sys.executable, "-m", "learnreport", "import", str(path), "--tenant", "acme",
               "--kind", "users", "--batch-size", "100"]  # fmt: skip
    process = subprocess.Popen(
        command,
        env={**os.environ, "DATABASE_URL": url(engine)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        pipe = _open_for_writing(path, process)
        os.write(pipe, b"".join(lines[:250]))
        _wait_until(lambda: _committed(engine, tenant) == 200 and _waiting(process))
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        os.close(pipe)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert count(engine, users) == _committed(engine, tenant) == 200
    path.unlink()
    path.write_bytes(records)
    resumed = subprocess.run(
        [*command, "--resume"],
        env={**os.environ, "DATABASE_URL": url(engine)},
        capture_output=True,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert b"after the 200 records committed before: 300 received, 300 inserted" in resumed.stdout
    assert count(engine, users) == 500
    with engine.connect() as connection:
        row = connection.execute(sa.select(imports.c.records, imports.c.finished_at)).one()
    assert row.records == 500
    assert row.finished_at is not None


def _open_for_writing(path: Path, process: subprocess.Popen[bytes]) -> int:
    """The pipe's writing end, once the importer has opened its reading end."""
    deadline = time.monotonic() + 60
    while True:
        try:
            pipe = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(process.communicate()[1].decode()) from None
            time.sleep(0.05)
            continue
        flags = fcntl.fcntl(pipe, fcntl.F_GETFL)
        fcntl.fcntl(pipe, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return pipe


def _committed(engine: sa.Engine, tenant: Tenant) -> int | None:
    with engine.connect() as connection:
        query = sa.select(imports.c.records).where(imports.c.tenant_id == tenant.id)
        return connection.execute(query).scalar()


def _waiting(process: subprocess.Popen[bytes]) -> bool:
    """Whether the process is blocked reading the pipe (Linux names where it sleeps)."""
    where = Path(f"/proc/{process.pid}/wchan").read_text()
    return where.endswith(("pipe_read", "pipe_wait"))


def _wait_until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
