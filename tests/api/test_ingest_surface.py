"""The write surface: batches in, counted; bad batches named record by record and written not
at all; limits before parsing; who may write what; erasure."""

from collections.abc import Callable
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from learnreport.api.app import create_app
from learnreport.config import Settings
from learnreport.domain.access import NATIVE_READ_SCOPES
from learnreport.store import credentials
from learnreport.store.schema import results, users
from learnreport.store.tenants import Tenant

Token = Callable[..., str]
BASE = "/api/v2/ingest"
NDJSON = {"Content-Type": "application/x-ndjson"}


def make_client(engine: sa.Engine, **settings: Any) -> TestClient:
    url = engine.url.render_as_string(False)
    return TestClient(create_app(Settings(database_url=url, **settings), engine))


@pytest.fixture
def owner(world: Tenant, token: Token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(world)}"}


def rows(engine: sa.Engine, table: sa.Table, tenant: Tenant, *columns: str) -> list[tuple]:
    with engine.connect() as connection:
        query = (
            sa.select(*(table.c[name] for name in columns))
            .where(table.c.tenant_id == tenant.id)
            .order_by(*(table.c[name] for name in columns))
        )
        return [tuple(row) for row in connection.execute(query)]


def result(id: str, user: str = "u1", **fields: Any) -> dict[str, Any]:
    record = {"id": id, "user_id": user, "content_id": "a3", "attempt": 7, "state": "completed"}
    return record | fields


def test_a_good_batch_is_written_and_counted_and_sending_it_again_changes_nothing(
    client: TestClient, owner: dict[str, str], engine: sa.Engine, world: Tenant
) -> None:
    batch = [result("x1", modified_at="2025-06-01T00:00:00Z"), result("x2", user="u2")]

    first = client.post(f"{BASE}/results", json=batch, headers=owner)
    again = client.post(f"{BASE}/results", json=batch, headers=owner)

    assert first.status_code == 200, first.text
    assert first.json() == {"kind": "results", "received": 2, "inserted": 2, "updated": 0,
                            "unchanged": 0, "skipped": 0}  # fmt: skip
    assert again.json() | {"kind": "results"} == {"kind": "results", "received": 2,
                                                   "inserted": 0, "updated": 0, "unchanged": 2,
                                                   "skipped": 0}  # fmt: skip
    assert ("x1", "completed") in rows(engine, results, world, "external_id", "state")


def test_a_record_older_than_the_stored_one_is_skipped_and_counted(
    client: TestClient, owner: dict[str, str], engine: sa.Engine, world: Tenant
) -> None:
    newer = result("x1", state="passed", modified_at="2025-06-02T00:00:00Z")
    older = result("x1", state="failed", modified_at="2025-06-01T00:00:00Z")
    client.post(f"{BASE}/results", json=[newer], headers=owner)

    answer = client.post(f"{BASE}/results", json=[older], headers=owner)

    assert answer.json()["skipped"] == 1
    assert [s for i, s in rows(engine, results, world, "external_id", "state") if i == "x1"] == [
        "passed"
    ]


def test_ndjson_batches_are_read_line_by_line(
    client: TestClient, owner: dict[str, str], engine: sa.Engine, world: Tenant
) -> None:
    records = [result("x1"), result("x2", user="u2")]
    body = b"\n".join(orjson.dumps(record) for record in records) + b"\n"

    answer = client.post(f"{BASE}/results", content=body, headers={**owner, **NDJSON})

    assert answer.status_code == 200, answer.text
    assert answer.json()["inserted"] == 2


def test_every_bad_record_is_named_with_its_field_and_reason_and_nothing_is_written(
    client: TestClient, owner: dict[str, str], engine: sa.Engine, world: Tenant
) -> None:
    before = rows(engine, users, world, "external_id", "modified_at")
    batch = [
        {"id": "n1", "first_name": "Nia"},
        {"id": "n2", "status": 3},
        {"id": "n3", "shoe_size": 44},
        {"first_name": "No id"},
        {"id": "n5", "last_seen": "yesterday"},
        {"id": "n1", "first_name": "Twice"},
        {"id": "n7", "email": "ANN@ACME.example"},
    ]

    answer = client.post(f"{BASE}/users", json=batch, headers=owner)

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["detail"] == "6 of 7 users record(s) are not valid; nothing was written."
    assert [(e["index"], e["field"]) for e in problem["errors"]] == [
        (1, "status"), (2, "shoe_size"), (3, "id"), (4, "last_seen"), (5, "id"), (6, "email"),
    ]  # fmt: skip
    reasons = [e["reason"] for e in problem["errors"]]
    assert reasons[1] == "Object contains unknown field `shoe_size`"
    assert reasons[2] == "Object missing required field `id`"
    assert reasons[4] == "duplicates record 0 of this batch"
    assert reasons[5] == "is taken by the stored record 'u1'"
    assert rows(engine, users, world, "external_id", "modified_at") == before


def test_malformed_ndjson_lines_are_named_by_line_and_nothing_is_written(
    client: TestClient, owner: dict[str, str], engine: sa.Engine, world: Tenant
) -> None:
    body = orjson.dumps(result("x1")) + b"\n\n{not json\n" + orjson.dumps(result("x3"))[:-3]

    answer = client.post(f"{BASE}/results", content=body, headers={**owner, **NDJSON})

    assert answer.status_code == 422
    assert [(e["index"], e["line"]) for e in answer.json()["errors"]] == [(1, 3), (2, 4)]
    assert all(e["reason"].startswith("not JSON") for e in answer.json()["errors"])
    assert "x1" not in {i for (i,) in rows(engine, results, world, "external_id")}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{oops", "the body is not JSON"),
        (b'{"id": "x1"}', "expected a JSON array of records"),
    ],
)
def test_a_body_that_is_not_an_array_of_records_is_refused(
    client: TestClient, owner: dict[str, str], body: bytes, reason: str
) -> None:
    answer = client.post(f"{BASE}/results", content=body, headers={**owner,
                         "Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["reason"].startswith(reason)


def test_batches_over_the_record_or_byte_limit_are_413_and_write_nothing(
    engine: sa.Engine, owner: dict[str, str], world: Tenant
) -> None:
    three = [result(f"x{n}") for n in range(3)]
    with make_client(engine, batch_max_records=2, batch_max_bytes=2048) as client:
        by_count = client.post(f"{BASE}/results", json=three, headers=owner)
        lines = b"\n".join(orjson.dumps(record) for record in three)
        by_lines = client.post(f"{BASE}/results", content=lines, headers={**owner, **NDJSON})
        by_size = client.post(f"{BASE}/results", json=[result("x" * 3000)], headers=owner)
        declared = client.post(
            f"{BASE}/results",
            content=b"[" + b" " * 5000 + b"]",
            headers={**owner, "Content-Type": "application/json"},
        )

    assert [a.status_code for a in (by_count, by_lines, by_size, declared)] == [413] * 4
    assert by_count.json()["detail"] == "The batch holds 3 records; at most 2 are accepted."
    assert "2048 bytes" in by_size.json()["detail"]
    assert not {i for (i,) in rows(engine, results, world, "external_id")} & {"x0", "x1", "x2"}


def test_a_body_that_is_neither_json_nor_ndjson_is_415(
    client: TestClient, owner: dict[str, str]
) -> None:
    answer = client.post(f"{BASE}/results", content=b"id,state", headers={**owner,
                         "Content-Type": "text/csv"})  # fmt: skip
    assert answer.status_code == 415


def test_writing_needs_the_kinds_write_scope_and_a_read_scope_never_writes(
    client: TestClient, world: Tenant, token: Token
) -> None:
    reader = {"Authorization": f"Bearer {token(world, 'custom:bi', list(NATIVE_READ_SCOPES))}"}
    writer = {"Authorization": f"Bearer {token(world, 'custom:hr', ['write.users'])}"}

    assert client.post(f"{BASE}/users", json=[{"id": "n1"}]).status_code == 401
    assert client.post(f"{BASE}/users", json=[{"id": "n1"}], headers=reader).status_code == 403
    assert client.post(f"{BASE}/results", json=[result("x1")], headers=writer).status_code == 403
    assert client.post(f"{BASE}/users", json=[{"id": "n1"}], headers=writer).status_code == 200


def test_an_api_key_with_the_write_scope_writes_as_a_token_does(
    client: TestClient, engine: sa.Engine, world: Tenant
) -> None:
    with engine.begin() as connection:
        created = credentials.create(
            connection, world, "key", "custom:sync", scopes=["write.users"]
        )
    key = created.secret

    good = client.post(f"{BASE}/users", json=[{"id": "n1"}], headers={"X-API-Key": key})
    wrong = client.post(f"{BASE}/users", json=[{"id": "n2"}], headers={"X-API-Key": key + "x"})

    assert (good.status_code, wrong.status_code) == (200, 401)


def test_records_land_in_the_callers_tenant_only(
    client: TestClient, engine: sa.Engine, world: Tenant, other_tenant: Tenant, token: Token
) -> None:
    theirs = {"Authorization": f"Bearer {token(other_tenant)}"}

    answer = client.post(f"{BASE}/results", json=[result("x1")], headers=theirs)

    assert answer.status_code == 422  # globex has no user u1 with activity a3 to point at
    assert answer.json()["errors"][0]["reason"] in ("no user with id 'u1'", "no content with "
                                                    "id 'a3'")  # fmt: skip
    assert "x1" not in {i for (i,) in rows(engine, results, world, "external_id")}


def test_a_department_administrator_writes_only_its_peoples_records(
    client: TestClient, engine: sa.Engine, world: Tenant, token: Token
) -> None:
    sales = {"Authorization": f"Bearer {token(world, 'department_admin', groups=['Sales'])}"}

    catalog = client.post(f"{BASE}/activities", json=[{"id": "a9", "name": "X"}], headers=sales)
    outside = client.post(f"{BASE}/results", json=[result("x1"), result("x3", user="u3")],
                          headers=sales)  # fmt: skip
    inside = client.post(f"{BASE}/results", json=[result("x2", user="u2")], headers=sales)

    assert catalog.status_code == 403
    assert outside.status_code == 422
    assert outside.json()["errors"] == [
        {"index": 1, "field": "user_id", "reason": "is not a person of your departments"}
    ]
    assert inside.status_code == 200


def test_erasure_removes_the_person_and_every_record_about_them(
    client: TestClient, owner: dict[str, str], engine: sa.Engine, world: Tenant, token: Token
) -> None:
    before = rows(engine, results, world, "external_id")
    reader = {"Authorization": f"Bearer {token(world)}"}

    answer = client.delete(f"{BASE}/users/u1", headers=owner)

    assert answer.status_code == 200, answer.text
    removed = answer.json()["removed"]
    assert removed["users"] == 1 and removed["memberships"] == 1 and removed["results"] > 0
    assert answer.json()["rows"] == sum(removed.values())
    assert len(rows(engine, results, world, "external_id")) == len(before) - removed["results"]
    for resource in ("users", "modules", "training_time"):
        listed = client.get(f"/api/v2/reports/{resource}/", headers=reader).json()["results"]
        assert "u1" not in {row.get("user_id", row.get("id")) for row in listed}
    assert client.delete(f"{BASE}/users/u1", headers=owner).status_code == 404


def test_erasure_cannot_reach_another_tenant_or_outside_a_department(
    client: TestClient, engine: sa.Engine, world: Tenant, other_tenant: Tenant, token: Token
) -> None:
    theirs = {"Authorization": f"Bearer {token(other_tenant)}"}
    benelux = {
        "Authorization": f"Bearer {token(world, 'department_admin', groups=['Sales Benelux'])}"
    }

    assert client.delete(f"{BASE}/users/u9", headers=theirs).status_code == 404
    assert client.delete(f"{BASE}/users/u1", headers=benelux).status_code == 404
    assert client.delete(f"{BASE}/users/u2", headers=benelux).status_code == 200
    assert {i for (i,) in rows(engine, users, world, "external_id")} >= {"u1", "u3"}
