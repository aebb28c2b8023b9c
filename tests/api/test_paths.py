"""The 360Learning dialect: one learner's standing in a path session, its errors in the
page's order, its three ways to authenticate, and the session-wide list."""

import logging
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from learnreport.api.logs import mask
from learnreport.ingest import ingest
from learnreport.store import credentials
from learnreport.store.tenants import Tenant

Token = Callable[..., str]
BASE = "/api/v1/paths/sessions"


@pytest.fixture
def paths(engine: sa.Engine, world: Tenant, other_tenant: Tenant) -> Tenant:
    ingest(engine, world.id, "paths", [{"id": "pth1", "name": "Onboarding", "steps": [
        {"activity_id": "a1", "due_days": 10},
        {"activity_id": "a2", "min_score": 80, "max_attempts": 2},
        {"activity_id": "a3", "mandatory": False},
    ]}])  # fmt: skip
    ingest(engine, world.id, "path_sessions", [
        {"id": "s-open", "path_id": "pth1", "starts_at": "2025-01-01T00:00:00Z",
         "ends_at": "2099-01-01T00:00:00Z"},
        {"id": "s-future", "path_id": "pth1", "starts_at": "2099-01-01T00:00:00Z"},
        {"id": "s-ended", "path_id": "pth1", "starts_at": "2024-01-01T00:00:00Z",
         "ends_at": "2024-12-31T00:00:00Z"},
    ])  # fmt: skip
    ingest(engine, world.id, "enrollments", [
        {"id": "pe1", "user_id": "u1", "path_session_id": "s-open",
         "access_at": "2025-01-01T00:00:00Z", "unenrolled_at": "2025-03-01T00:00:00Z"},
        {"id": "pe2", "user_id": "u2", "path_session_id": "s-open",
         "access_at": "2025-01-01T00:00:00Z"},
        {"id": "pe3", "user_id": "u3", "path_session_id": "s-ended",
         "access_at": "2024-01-01T00:00:00Z"},
        {"id": "pe4", "user_id": "u4", "path_session_id": "s-future"},
    ])  # fmt: skip
    ingest(engine, other_tenant.id, "paths", [{"id": "pth1", "name": "Theirs", "steps": [
        {"activity_id": "a1"}]}])  # fmt: skip
    ingest(
        engine,
        other_tenant.id,
        "path_sessions",
        [{"id": "s-theirs", "path_id": "pth1", "starts_at": "2025-01-01T00:00:00Z"}],
    )
    return world


@pytest.fixture
def key(engine: sa.Engine, paths: Tenant) -> str:
    with engine.begin() as connection:
        created = credentials.create(connection, paths, "key", "owner")
    return created.secret


def stats(client: TestClient, key: str, session: str, user: str) -> Any:
    answer = client.get(f"{BASE}/{session}/stats/{user}", params={"company": "acme",
                                                                  "apiKey": key})  # fmt: skip
    return answer.status_code, answer.json()


def test_a_learner_in_a_session_not_yet_open_is_session_not_opened(
    client: TestClient, key: str
) -> None:
    assert stats(client, key, "s-future", "u4") == (200, {
        "progress": 0, "globalTime": 0, "status": "onTime",
        "detailedStatus": {"type": "sessionNotOpened"},
    })  # fmt: skip


def test_a_learner_behind_a_relative_due_date_is_late(client: TestClient, key: str) -> None:
    status, body = stats(client, key, "s-open", "u2")
    assert status == 200
    assert (body["status"], body["detailedStatus"]) == ("late", {"type": "late"})
    assert "archivedAt" not in body and "result" not in body


def test_a_session_that_ended_before_the_learner_finished_is_unsuccessful_session_ended(
    client: TestClient, key: str
) -> None:
    status, body = stats(client, key, "s-ended", "cy@ACME.example")
    assert status == 200
    assert body["detailedStatus"] == {"type": "unsuccessful", "reason": "sessionEnded"}


def test_an_unenrolled_learner_shows_when_and_keeps_the_figures_of_that_moment(
    client: TestClient, key: str
) -> None:
    status, body = stats(client, key, "s-open", "u1")
    assert status == 200
    assert body["archivedAt"] == "2025-03-01T00:00:00Z"
    assert body["globalTime"] == 0


@pytest.mark.parametrize(
    ("session", "user", "error"),
    [
        ("nope", "u1", "path_session_not_found"),
        ("nope", "nobody", "path_session_not_found"),
        ("s-theirs", "u1", "path_session_not_found"),
        ("s-open", "nobody", "user_not_found"),
        ("s-open", "ann@globex.example", "user_not_found"),
        ("s-open", "u3", "user_not_enrolled"),
    ],
)
def test_errors_follow_the_pages_precedence(
    client: TestClient, key: str, session: str, user: str, error: str
) -> None:
    assert stats(client, key, session, user) == (404, {"error": error})


def test_the_key_works_in_the_query_in_headers_and_a_bearer_token_works_too(
    client: TestClient, key: str, paths: Tenant, token: Token
) -> None:
    path = f"{BASE}/s-open/stats/u2"
    assert client.get(path, headers={"X-company-id": "acme", "X-apiKey": key}).status_code == 200
    assert client.get(path, params={"company": str(paths.id), "apiKey": key}).status_code == 200
    bearer = {"Authorization": f"Bearer {token(paths, scopes=['read.path.stats'])}"}
    assert client.get(path, headers=bearer).status_code == 200
    for params in ({}, {"company": "globex", "apiKey": key}, {"company": "acme", "apiKey": "x"}):
        answer = client.get(path, params=params)
        assert (answer.status_code, answer.json()) == (401, {"error": "unauthorized"})


def test_a_key_without_the_scope_is_forbidden(
    client: TestClient, engine: sa.Engine, paths: Tenant
) -> None:
    with engine.begin() as connection:
        narrow = credentials.create(connection, paths, "key", "custom:bi",
                                    scopes=["read.modules.reports"]).secret  # fmt: skip
    assert stats(client, narrow, "s-open", "u2") == (403, {"error": "forbidden"})


def test_the_api_key_never_reaches_the_access_log(caplog: pytest.LogCaptureFixture) -> None:
    assert mask("/x?company=acme&apiKey=acme.k_1.SECRET&b=1") == ("/x?company=acme&apiKey=***&b=1")
    from learnreport.api import logs

    logs.install()
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1", "GET",
            "/api/v1/paths/sessions/s/stats/u?company=acme&apiKey=acme.k_1.SECRET", "1.1", 200,
        )  # fmt: skip
    assert "SECRET" not in caplog.text and "apiKey=***" in caplog.text


def test_department_administrators_and_custom_roles_see_only_their_people_on_both_routes(
    client: TestClient, engine: sa.Engine, paths: Tenant
) -> None:
    with engine.begin() as connection:
        sales = credentials.create(
            connection, paths, "key", "department_admin", groups=["Sales"]
        ).secret
        custom = credentials.create(
            connection,
            paths,
            "key",
            "custom:eng",
            scopes=["read.path.stats"],
            groups=["Engineering"],
        ).secret
    assert stats(client, sales, "s-open", "u2")[0] == 200
    assert stats(client, sales, "s-ended", "u3") == (404, {"error": "user_not_found"})
    assert stats(client, custom, "s-open", "u2") == (404, {"error": "user_not_found"})
    listed = client.get(f"{BASE}/s-open/stats", params={"company": "acme", "apiKey": sales})
    assert [row["userId"] for row in listed.json()["stats"]] == ["u1", "u2"]
    none = client.get(f"{BASE}/s-open/stats", params={"company": "acme", "apiKey": custom})
    assert none.json() == {"stats": []}


def test_the_session_list_walks_every_enrolled_learner_once(client: TestClient, key: str) -> None:
    seen, params = [], {"company": "acme", "apiKey": key, "pageSize": "1"}
    while True:
        body = client.get(f"{BASE}/s-open/stats", params=params).json()
        seen += [(row["userId"], row["email"], row["status"]) for row in body["stats"]]
        if "nextPageToken" not in body:
            break
        params = {**params, "pageToken": body["nextPageToken"]}
    assert [user for user, _, _ in seen] == ["u1", "u2"]
    bad = client.get(f"{BASE}/s-open/stats", params={**params, "pageToken": "forged.x"})
    assert (bad.status_code, bad.json()["error"]) == (400, "bad_request")
    missing = client.get(f"{BASE}/nope/stats", params={"company": "acme", "apiKey": key})
    assert missing.json() == {"error": "path_session_not_found"}
