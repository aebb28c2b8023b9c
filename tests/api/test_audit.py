"""The audit log: one JSON line with the same fields for every token issued or refused,
credential created or revoked, write batch, erasure and 401 or 403, holding ids only; and
nothing for the requests that are none of those."""

import base64
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from learnreport.api import audit
from learnreport.api.app import create_app
from learnreport.cli import app as cli_app
from learnreport.config import Settings
from learnreport.store import credentials
from learnreport.store.credentials import Created
from learnreport.store.tenants import Tenant

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
"""What is logged does not depend on the database."""

FIELDS = {"time", "event", "tenant", "principal", "method", "route", "status", "outcome"}
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
GRANT = {"grant_type": "client_credentials"}
VERSION = {"X-Experience-API-Version": "1.0.3"}

pytestmark = SQLITE_ONLY


@pytest.fixture(autouse=True)
def standard_error() -> Iterator[None]:
    """Tests that send the lines to a file leave the process sending them where it did."""
    yield
    audit.direct(Settings().audit_log)


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> Any:
    """`lines()`: the audit lines logged so far, parsed, each checked to hold exactly the
    fields with a UTC time; `time` is left out, to compare the rest whole."""
    caplog.set_level(logging.INFO, logger=audit.LOGGER)

    def parsed() -> list[dict[str, Any]]:
        found = []
        for record in caplog.records:
            if record.name == audit.LOGGER:
                line = orjson.loads(record.getMessage())
                assert set(line) == FIELDS
                assert TIME.fullmatch(line.pop("time"))
                found.append(line)
        return found

    return parsed


def line(
    event: str, tenant: str | None, principal: str | None, method: str | None,
    route: str | None, status: int | None, outcome: str,
) -> dict[str, Any]:  # fmt: skip
    return {"event": event, "tenant": tenant, "principal": principal, "method": method,
            "route": route, "status": status, "outcome": outcome}  # fmt: skip


def new(engine: sa.Engine, tenant: Tenant, kind: credentials.Kind, **options: Any) -> Created:
    with engine.begin() as connection:
        return credentials.create(connection, tenant, kind, options.pop("role", "owner"), **options)


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def test_a_token_issued_or_refused_at_either_token_url_is_a_line(
    client: TestClient, engine: sa.Engine, tenant: Tenant, lines: Any
) -> None:
    owner = new(engine, tenant, "client")
    client_id = owner.credential.public_id

    client.post("/oauth/token", data=GRANT, headers=basic(client_id, owner.secret))
    client.post("/api/v3/token", data=GRANT, headers=basic(client_id, owner.secret))
    client.post("/oauth/token", data=GRANT, headers=basic(client_id, "wrong"))
    client.post("/oauth/token", data={**GRANT, "scope": "read.nothing"},
                headers=basic(client_id, owner.secret))  # fmt: skip

    assert lines() == [
        line("token.issued", "acme", client_id, "POST", "/oauth/token", 200, "ok"),
        line("token.issued", "acme", client_id, "POST", "/api/v3/token", 200, "ok"),
        line("token.refused", "acme", client_id, "POST", "/oauth/token", 401, "denied"),
        line("token.refused", "acme", client_id, "POST", "/oauth/token", 400, "rejected"),
    ]


def test_a_client_id_of_another_shape_than_ours_is_not_written(
    client: TestClient, engine: sa.Engine, tenant: Tenant, lines: Any
) -> None:
    owner = new(engine, tenant, "client")
    swapped = {**GRANT, "client_id": owner.secret, "client_secret": owner.credential.public_id}

    client.post("/oauth/token", data=swapped)

    assert lines() == [line("token.refused", None, None, "POST", "/oauth/token", 401, "denied")]


def test_a_write_batch_is_a_line_whatever_its_answer(
    client: TestClient, engine: sa.Engine, tenant: Tenant, lines: Any
) -> None:
    key = new(engine, tenant, "key")
    headers = {"X-API-Key": key.secret}
    key_id = key.credential.public_id

    client.post("/api/v2/ingest/users", json=[{"id": "u42"}], headers=headers)
    client.post("/api/v2/ingest/users", json=[{"id": 42}], headers=headers)
    client.post("/api/v2/ingest/groups", content=b"x" * 2048, headers=headers)

    route = "/api/v2/ingest/users"
    assert lines() == [
        line("write.batch", "acme", key_id, "POST", route, 200, "ok"),
        line("write.batch", "acme", key_id, "POST", route, 422, "rejected"),
        line("write.batch", "acme", key_id, "POST", "/api/v2/ingest/groups", 422, "rejected"),
    ]


def test_an_erasure_is_a_line_naming_the_route_not_the_person(
    client: TestClient, engine: sa.Engine, tenant: Tenant, lines: Any
) -> None:
    key = new(engine, tenant, "key")
    headers = {"X-API-Key": key.secret}
    client.post("/api/v2/ingest/users", json=[{"id": "kim-42"}], headers=headers)

    client.delete("/api/v2/ingest/users/kim-42", headers=headers)

    erased = lines()[-1]
    assert erased == line(
        "write.erasure", "acme", key.credential.public_id, "DELETE", "/api/v2/ingest/users/{id}",
        200, "ok",
    )  # fmt: skip
    assert "kim-42" not in orjson.dumps(erased).decode()


def test_xapi_statements_sent_are_a_write_and_read_back_are_not(
    client: TestClient, engine: sa.Engine, tenant: Tenant, lines: Any
) -> None:
    key = new(engine, tenant, "key", role="custom:lrs", scopes=["write.xapi"])
    auth = tuple(key.secret.rsplit(".", 1))
    statement = {
        "actor": {"mbox": "mailto:kim@acme.example"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://acme.example/courses/safety"},
    }

    client.post("/xapi/statements", json=statement, auth=auth, headers=VERSION)
    client.get("/xapi/statements", auth=auth, headers=VERSION)

    assert lines() == [
        line("write.batch", "acme", key.credential.public_id, "POST", "/xapi/statements", 200,
             "ok"),
    ]  # fmt: skip


def test_every_401_and_403_is_a_line_with_the_principal_when_known(
    client: TestClient, engine: sa.Engine, tenant: Tenant, lines: Any
) -> None:
    reader = new(engine, tenant, "key", role="custom:x", scopes=["read.adoption.reports"])
    key = reader.secret

    client.get("/api/v2/reports/users/")
    client.get("/api/v2/reports/users/", headers={"Authorization": "Bearer not-a-token"})
    client.get("/api/v1/paths/sessions/s1/stats", params={"company": "acme", "apiKey": key})
    client.post("/api/v2/ingest/users", json=[], headers={"X-API-Key": key})
    client.post("/api/v2/ingest/users", json=[], headers={"X-API-Key": key + "x"})

    stats, users = "/api/v1/paths/sessions/{sessionId}/stats", "/api/v2/ingest/users"
    principal = reader.credential.public_id
    assert lines() == [
        line("access.denied", None, None, "GET", "/api/v2/reports/users/", 401, "denied"),
        line("access.denied", None, None, "GET", "/api/v2/reports/users/", 401, "denied"),
        line("access.denied", "acme", principal, "GET", stats, 403, "denied"),
        line("access.denied", "acme", principal, "POST", users, 403, "denied"),
        line("access.denied", None, None, "POST", users, 401, "denied"),
    ]


def test_a_read_let_in_is_no_line(
    client: TestClient, engine: sa.Engine, tenant: Tenant, lines: Any
) -> None:
    key = new(engine, tenant, "key")

    client.post("/external/api/reports?api-version=1.0", json={},
                headers={"X-AIHR-API-Key": key.secret})  # fmt: skip
    client.get("/api/v2/ingest/statements/", headers={"X-API-Key": key.secret})
    client.get("/health")

    assert lines() == []


def test_credentials_created_and_revoked_on_the_command_line_are_lines_in_the_file_set(
    engine: sa.Engine, tenant: Tenant, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    cli = CliRunner(
        env={"DATABASE_URL": engine.url.render_as_string(False), "LEARNREPORT_AUDIT_LOG": str(log)}
    )

    created = orjson.loads(
        cli.invoke(cli_app, ["clients", "create", "--tenant", "acme", "--role", "admin", "--json"])
        .stdout
    )  # fmt: skip
    key = orjson.loads(
        cli.invoke(cli_app, ["keys", "create", "--tenant", "acme", "--role", "owner", "--json"])
        .stdout
    )  # fmt: skip
    cli.invoke(cli_app, ["clients", "revoke", created["client_id"]])
    cli.invoke(cli_app, ["keys", "revoke", key["id"]])

    written = [orjson.loads(text) for text in log.read_text().splitlines()]
    assert [{name: entry[name] for name in FIELDS - {"time"}} for entry in written] == [
        line("credential.created", "acme", created["client_id"], None,
             "learnreport clients create", None, "ok"),
        line("credential.created", "acme", key["id"], None, "learnreport keys create", None, "ok"),
        line("credential.revoked", "acme", created["client_id"], None,
             "learnreport clients revoke", None, "ok"),
        line("credential.revoked", "acme", key["id"], None, "learnreport keys revoke", None, "ok"),
    ]  # fmt: skip
    assert created["client_secret"] not in log.read_text()
    assert key["key"].rpartition(".")[2] not in log.read_text()


def test_the_server_appends_its_lines_to_the_file_set(engine: sa.Engine, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    log.write_text('{"kept": true}\n')
    settings = Settings(database_url=engine.url.render_as_string(False), audit_log=str(log))

    with TestClient(create_app(settings, engine)) as client:
        client.get("/api/v2/reports/users/")

    kept, denied = log.read_text().splitlines()
    assert kept == '{"kept": true}'
    assert orjson.loads(denied)["event"] == "access.denied"


def test_off_writes_nowhere_but_the_logger_still_has_the_lines(
    engine: sa.Engine, lines: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(database_url=engine.url.render_as_string(False), audit_log="off")

    with TestClient(create_app(settings, engine)) as client:
        client.get("/api/v2/reports/users/")

    assert capsys.readouterr().err == ""
    assert [entry["event"] for entry in lines()] == ["access.denied"]


def test_by_default_the_lines_go_to_standard_error(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client.get("/api/v2/reports/users/")

    (written,) = capsys.readouterr().err.splitlines()
    assert orjson.loads(written)["event"] == "access.denied"
