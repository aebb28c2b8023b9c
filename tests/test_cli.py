from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from learnreport.api.app import create_app
from learnreport.cli import app
from learnreport.config import Settings
from learnreport.store.engine import create_engine


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    """A runner whose commands all use one fresh SQLite file."""
    return CliRunner(env={"DATABASE_URL": f"sqlite:///{tmp_path / 'learnreport.db'}"})


def tenants(cli: CliRunner) -> list[dict[str, object]]:
    result = cli.invoke(app, ["tenants", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed: list[dict[str, object]] = orjson.loads(result.stdout)
    return listed


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def test_migrate_is_idempotent(cli: CliRunner) -> None:
    first = ok(cli.invoke(app, ["migrate"]))
    second = ok(cli.invoke(app, ["migrate"]))
    assert first.stdout == second.stdout
    assert "Database at revision" in first.stdout


def test_migrate_reports_an_unreachable_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'learnreport.db'}"
    result = CliRunner(env={"DATABASE_URL": url}).invoke(app, ["migrate"])
    assert result.exit_code == 1
    assert "cannot open the database" in result.stderr


def test_unsupported_database_is_an_error(tmp_path: Path) -> None:
    result = CliRunner(env={"DATABASE_URL": "mysql://localhost/x"}).invoke(app, ["migrate"])
    assert result.exit_code == 1
    assert "unsupported database" in result.stderr


def test_a_fresh_database_lists_no_tenants(cli: CliRunner) -> None:
    assert tenants(cli) == []
    assert "Slug" in ok(cli.invoke(app, ["tenants", "list"])).stdout


def test_create_and_list(cli: CliRunner) -> None:
    ok(cli.invoke(app, ["tenants", "create", "acme", "--name", "Acme Corp"]))
    ok(cli.invoke(app, ["tenants", "create", "zeta-1", "--name", "Zeta", "--training-types"]))
    listed = tenants(cli)
    assert [(t["slug"], t["name"]) for t in listed] == [("acme", "Acme Corp"), ("zeta-1", "Zeta")]
    assert [t["training_types_enabled"] for t in listed] == [False, True]
    assert [t["api_access_enabled"] for t in listed] == [True, True]
    table = ok(cli.invoke(app, ["tenants", "list"])).stdout
    assert "Acme Corp" in table
    assert "zeta-1" in table


def test_create_with_api_access_off(cli: CliRunner) -> None:
    ok(cli.invoke(app, ["tenants", "create", "acme", "--name", "Acme", "--no-api-access"]))
    assert tenants(cli)[0]["api_access_enabled"] is False


def test_creating_an_existing_slug_fails_and_changes_nothing(cli: CliRunner) -> None:
    ok(cli.invoke(app, ["tenants", "create", "acme", "--name", "Acme"]))
    result = cli.invoke(app, ["tenants", "create", "acme", "--name", "Other"])
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert [t["name"] for t in tenants(cli)] == ["Acme"]


def test_set_changes_only_what_is_given(cli: CliRunner) -> None:
    ok(cli.invoke(app, ["tenants", "create", "acme", "--name", "Acme"]))
    ok(cli.invoke(app, ["tenants", "set", "acme", "--training-types"]))
    [tenant] = tenants(cli)
    assert (tenant["name"], tenant["training_types_enabled"], tenant["api_access_enabled"]) == (
        "Acme",
        True,
        True,
    )
    ok(cli.invoke(app, ["tenants", "set", "acme", "--name", "Acme Inc", "--no-api-access"]))
    [tenant] = tenants(cli)
    assert (tenant["name"], tenant["training_types_enabled"], tenant["api_access_enabled"]) == (
        "Acme Inc",
        True,
        False,
    )


def test_setting_an_unknown_slug_fails(cli: CliRunner) -> None:
    result = cli.invoke(app, ["tenants", "set", "nobody", "--name", "X"])
    assert result.exit_code == 1
    assert "no tenant 'nobody'" in result.stderr


@pytest.mark.parametrize("slug", ["Acme", "-acme", "ac me", "a" * 64, "acme_corp", ""])
def test_a_bad_slug_is_rejected(cli: CliRunner, slug: str) -> None:
    for command in ("create", "set"):
        result = cli.invoke(app, ["tenants", command, "--name", "X", "--", slug])
        assert result.exit_code == 2
        assert "not a slug" in result.stderr
    assert tenants(cli) == []


def test_a_63_character_slug_is_accepted(cli: CliRunner) -> None:
    ok(cli.invoke(app, ["tenants", "create", "a" * 63, "--name", "Long"]))


def test_serve_documents_its_options(cli: CliRunner) -> None:
    help_text = ok(cli.invoke(app, ["serve", "--help"])).stdout
    for option in ("--host", "--port", "--workers"):
        assert option in help_text


def test_the_demo_hands_out_an_owner_client_that_gets_a_token(
    cli: CliRunner, tmp_path: Path
) -> None:
    shown = ok(cli.invoke(app, ["demo", "--users", "20", "--results", "200"])).output
    client_id = shown.split("client_id:")[1].split()[0]
    secret = shown.split("client_secret:")[1].split()[0]
    engine = create_engine(f"sqlite:///{tmp_path / 'learnreport.db'}")
    try:
        with TestClient(create_app(Settings(), engine)) as client:
            answer = client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, secret),
            )
            assert answer.status_code == 200, answer.text
            token = answer.json()["access_token"]
            users = client.get(
                "/api/v2/reports/users/", headers={"Authorization": f"Bearer {token}"}
            )
            assert users.json()["count"] == 20
    finally:
        engine.dispose()
    again = ok(cli.invoke(app, ["demo", "--users", "20", "--results", "200"])).output
    assert "client_secret" not in again
    assert "clients create --tenant acme" in again
