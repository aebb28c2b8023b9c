"""`learnreport clients`, `keys` and `signing-keys`: secrets shown once, rules enforced with a
clear message, and revocation by id alone."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from learnreport.cli import app
from learnreport.domain.access import SCOPES
from learnreport.ingest import ingest
from learnreport.store import credentials, tenants
from learnreport.store.engine import create_engine


@pytest.fixture
def database(tmp_path: Path, sqlite_template: Path) -> Iterator[sa.Engine]:
    """A migrated SQLite file with the tenants acme (with two groups) and globex."""
    path = tmp_path / "learnreport.db"
    shutil.copyfile(sqlite_template, path)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        acme = tenants.create(connection, "acme", "Acme")
        tenants.create(connection, "globex", "Globex")
    ingest(engine, acme.id, "groups", [{"id": "g-1", "name": "Sales"}, {"id": "g-2", "name": "HR"}])
    yield engine
    engine.dispose()


@pytest.fixture
def cli(database: sa.Engine) -> CliRunner:
    return CliRunner(env={"DATABASE_URL": database.url.render_as_string(False)})


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def fails(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.stderr


def as_json(cli: CliRunner, *arguments: str) -> Any:
    return orjson.loads(ok(cli.invoke(app, [*arguments, "--json"])).stdout)


def test_a_created_client_is_printed_once_and_authenticates(
    cli: CliRunner, database: sa.Engine
) -> None:
    created = as_json(cli, "clients", "create", "--tenant", "acme", "--role", "admin")

    assert created["client_id"].startswith("acme.c_")
    assert (created["tenant"], created["role"], created["groups"]) == ("acme", "admin", None)
    assert created["scopes"] == sorted(SCOPES)
    principal = credentials.authenticate_client(
        database, created["client_id"], created["client_secret"]
    )
    assert principal is not None
    assert principal.tenant == "acme"


def test_the_human_output_shows_the_id_and_the_secret(cli: CliRunner) -> None:
    output = ok(cli.invoke(app, ["clients", "create", "--tenant", "acme", "--role", "owner"]))

    lines = dict(
        line.split(": ", 1) for line in output.stdout.splitlines() if line.startswith("client_")
    )
    assert lines["client_id"].startswith("acme.c_")
    assert output.stdout.count(lines["client_secret"]) == 1
    assert "cannot be shown again" in output.stdout


def test_scopes_and_groups_each_take_one_comma_separated_list(cli: CliRunner) -> None:
    created = as_json(
        cli,
        "clients",
        "create",
        "--tenant",
        "acme",
        "--role",
        "custom:hr",
        "--scopes",
        "read.user.reports, read.group.reports",
        "--groups",
        "Sales,g-2",
    )

    assert created["role"] == "custom:hr"
    assert created["scopes"] == ["read.group.reports", "read.user.reports"]
    assert created["groups"] == ["HR", "Sales"]


def test_a_department_admin_is_created_with_its_groups(cli: CliRunner) -> None:
    created = as_json(
        cli, "clients", "create", "--tenant", "acme", "--role", "department_admin", "--groups", "HR"
    )

    assert created["groups"] == ["HR"]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--tenant", "nobody", "--role", "owner"], "no tenant 'nobody'"),
        (["--tenant", "acme", "--role", "boss"], "unknown role 'boss'"),
        (["--tenant", "acme", "--role", "owner", "--scopes", "read.nope"], "unknown scope"),
        (["--tenant", "acme", "--role", "owner", "--scopes", ""], "at least one scope"),
        (["--tenant", "acme", "--role", "department_admin"], "at least one group"),
        (
            ["--tenant", "acme", "--role", "department_admin", "--groups", "Sales,Nope"],
            "'Nope'",
        ),
        (["--tenant", "acme", "--role", "admin", "--groups", "Sales"], "whole tenant"),
        (["--tenant", "acme", "--role", "custom:hr"], "custom:hr"),
    ],
)
def test_a_credential_breaking_a_rule_is_refused_with_a_clear_message(
    cli: CliRunner, arguments: list[str], message: str
) -> None:
    for kind in ("clients", "keys"):
        fails(cli.invoke(app, [kind, "create", *arguments]), message)
        assert as_json(cli, kind, "list", "--tenant", "acme") == []


def test_listing_never_shows_a_secret_and_shows_revocations(cli: CliRunner) -> None:
    created = as_json(
        cli, "clients", "create", "--tenant", "acme", "--role", "owner", "--description", "BI"
    )
    as_json(cli, "clients", "create", "--tenant", "globex", "--role", "owner")

    ok(cli.invoke(app, ["clients", "revoke", created["client_id"]]))

    listed = as_json(cli, "clients", "list", "--tenant", "acme")
    assert [(row["client_id"], row["description"]) for row in listed] == [
        (created["client_id"], "BI")
    ]
    assert listed[0]["revoked_at"] is not None
    assert "client_secret" not in listed[0]
    table = ok(cli.invoke(app, ["clients", "list", "--tenant", "acme"])).stdout
    assert created["client_secret"] not in table
    assert created["client_secret"] not in orjson.dumps(listed).decode()


def test_revoking_an_unknown_client_or_a_key_as_a_client_fails(cli: CliRunner) -> None:
    key = as_json(cli, "keys", "create", "--tenant", "acme", "--role", "owner")

    fails(cli.invoke(app, ["clients", "revoke", "acme.c_0000000000000000"]), "no client")
    fails(cli.invoke(app, ["clients", "revoke", "nobody.c_0000000000000000"]), "no client")
    fails(cli.invoke(app, ["clients", "revoke", "nodot"]), "no client")
    fails(cli.invoke(app, ["clients", "revoke", key["id"]]), "no client")


def test_an_api_key_is_created_listed_and_revoked(cli: CliRunner, database: sa.Engine) -> None:
    created = as_json(
        cli, "keys", "create", "--tenant", "acme", "--role", "custom:x", "--scopes", "write.users"
    )

    assert created["key"].startswith(created["id"] + ".")
    assert credentials.authenticate_key(database, created["key"]) is not None
    listed = as_json(cli, "keys", "list", "--tenant", "acme")
    assert [row["id"] for row in listed] == [created["id"]]
    assert created["key"] not in orjson.dumps(listed).decode()

    ok(cli.invoke(app, ["keys", "revoke", created["id"]]))

    assert credentials.authenticate_key(database, created["key"]) is None


def test_revoking_by_the_whole_key_is_refused_without_echoing_it(cli: CliRunner) -> None:
    created = as_json(cli, "keys", "create", "--tenant", "acme", "--role", "owner")

    result = cli.invoke(app, ["keys", "revoke", created["key"]])

    fails(result, "expected a key id")
    assert created["key"].rpartition(".")[2] not in result.output


def test_signing_keys_rotate_and_the_previous_one_can_then_be_removed(cli: CliRunner) -> None:
    assert as_json(cli, "signing-keys", "list") == []
    ok(cli.invoke(app, ["signing-keys", "rotate"]))
    [first] = as_json(cli, "signing-keys", "list")
    assert (first["algorithm"], first["signs"]) == ("ES256", True)

    fails(cli.invoke(app, ["signing-keys", "remove", first["kid"]]), "only signing key")
    ok(cli.invoke(app, ["signing-keys", "rotate"]))
    newest, previous = as_json(cli, "signing-keys", "list")
    assert previous == {**first, "signs": False}
    assert newest["signs"] is True

    ok(cli.invoke(app, ["signing-keys", "remove", first["kid"]]))
    assert [key["kid"] for key in as_json(cli, "signing-keys", "list")] == [newest["kid"]]
    fails(cli.invoke(app, ["signing-keys", "remove", first["kid"]]), "no signing key")
    assert "PRIVATE" not in ok(cli.invoke(app, ["signing-keys", "list"])).stdout
