"""Every limit of README's table: past it, a clear 4xx naming it, whichever surface is asked.

The limits of the request itself (URL, query parameters, body, JSON depth) hold for every
route before it reads anything, so those tests need no credential; a route's own limits
(page sizes, list lengths, text lengths) are tried with an owner's credential.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from learnreport.api.app import create_app
from learnreport.api.limits import json_depth
from learnreport.api.surfaces import ingest
from learnreport.config import Settings
from learnreport.store import credentials
from learnreport.store.tenants import Tenant

Token = Callable[..., str]

SETTINGS = Settings()
XAPI = {"X-Experience-API-Version": "1.0.3"}
USERS = "/api/v2/reports/users/"
LEARNERS = "/learners/modules/results"
SESSION_STATS = "/api/v1/paths/sessions/s-1/stats"


@pytest.fixture
def bare(tmp_path: Any) -> Iterator[TestClient]:
    """The application on a database it never needs to reach: limits refuse before it."""
    with TestClient(create_app(Settings(database_url=f"sqlite:///{tmp_path}/none.db"))) as client:
        yield client


def refused(answer: Any, status: int, limit: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["limit"] == limit
    assert body["maximum"] == getattr(SETTINGS, limit)
    return body


def body_routes() -> list[tuple[str, str]]:
    """Every route that takes a body and does not read it within limits of its own."""
    app = create_app(Settings(database_url="sqlite://"))
    found = []
    for route in iter_route_contexts(app.routes):
        if route.path.startswith(f"{ingest.PREFIX}/"):
            continue
        for method in sorted((route.methods or set()) & {"POST", "PUT", "PATCH"}):
            found.append((method, route.path.replace("{", "").replace("}", "")))
    return found


def test_every_route_with_a_body_is_found() -> None:
    paths = {path for _, path in body_routes()}
    assert {"/oauth/token", "/api/v3/token", "/analyse/results", "/xapi/statements"} <= paths


@pytest.mark.parametrize(("method", "path"), body_routes())
def test_a_body_over_max_body_bytes_is_413_before_it_is_read(
    bare: TestClient, method: str, path: str
) -> None:
    body = b"x" * (SETTINGS.max_body_bytes + 1)
    answer = bare.request(method, path, content=body, headers=XAPI)
    detail = refused(answer, 413, "max_body_bytes")["detail"]
    assert str(SETTINGS.max_body_bytes) in detail


def test_a_body_without_a_length_is_refused_once_it_streams_past_the_limit(
    bare: TestClient,
) -> None:
    chunks = (b"[" + b" " * 65536 for _ in range(SETTINGS.max_body_bytes // 65536 + 1))
    answer = bare.post("/analyse/results", content=chunks)
    assert "content-length" not in answer.request.headers
    refused(answer, 413, "max_body_bytes")


def test_a_json_body_nested_deeper_than_max_json_depth_is_400_naming_the_body(
    bare: TestClient,
) -> None:
    deep = SETTINGS.max_json_depth + 1
    body = '{"userIds": ' + "[" * (deep - 1) + "]" * (deep - 1) + "}"
    answer = bare.post(
        "/analyse/results", content=body, headers={"content-type": "application/json"}
    )
    problem = refused(answer, 400, "max_json_depth")
    assert problem["errors"][0]["parameter"] == "body"


def test_a_json_body_at_max_json_depth_passes_the_limit(bare: TestClient) -> None:
    most = SETTINGS.max_json_depth
    body = '{"userIds": ' + "[" * (most - 1) + "]" * (most - 1) + "}"
    answer = bare.post(
        "/analyse/results", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"[]", 0),
        (b'{"a": [1, {"b": [[[[]]]]}]}', 7),
        (b'["[[[[[", "\\"[[[[", "\\\\", [["]"]]]', 3),
        (b"[" * 40 + b"]" * 40, 40),
    ],
)
def test_json_depth_counts_the_brackets_outside_strings_once_there_are_enough_to_matter(
    text: bytes, depth: int
) -> None:
    assert json_depth(text, 2) == depth


def test_a_url_over_max_url_bytes_is_414(bare: TestClient) -> None:
    answer = bare.get(USERS, params={"email": "a" * SETTINGS.max_url_bytes})
    refused(answer, 414, "max_url_bytes")


def test_more_query_parameters_than_max_query_parameters_is_400(bare: TestClient) -> None:
    query = "&".join(["user_id=1"] * (SETTINGS.max_query_parameters + 1))
    problem = refused(bare.get(f"{USERS}?{query}"), 400, "max_query_parameters")
    assert problem["errors"][0]["parameter"] == "query"


def test_a_dialect_answers_a_limit_in_its_own_error_shape(bare: TestClient) -> None:
    long = {"userIds[]": "a" * SETTINGS.max_url_bytes}
    learners = bare.get(LEARNERS, params=long)
    assert learners.status_code == 414
    assert learners.headers["content-type"].startswith("application/xml")
    assert "<code>error</code>" in learners.text
    paths = bare.get(SESSION_STATS, params=long)
    assert paths.status_code == 414
    assert paths.json() == {"error": "error"}


def test_a_route_within_the_limits_is_answered_as_before(client: TestClient) -> None:
    query = "&".join(["user_id=1"] * SETTINGS.max_query_parameters)
    assert client.get(f"{USERS}?{query}").status_code == 401


# A route's own limits, tried with an owner's credentials.


@pytest.fixture
def owner(engine: sa.Engine, tenant: Tenant, token: Token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(tenant)}"}


@pytest.fixture
def owner_key(engine: sa.Engine, tenant: Tenant) -> str:
    with engine.begin() as connection:
        return credentials.create(connection, tenant, "key", "owner").secret


def names(answer: Any) -> list[str]:
    assert answer.status_code == 400, answer.text
    return [error["parameter"] for error in answer.json()["errors"]]


def test_a_native_page_size_over_the_most_is_400_naming_it(
    client: TestClient, owner: dict[str, str]
) -> None:
    for resource in ("users", "modules", "training_time"):
        answer = client.get(f"/api/v2/reports/{resource}/?page_size=1001", headers=owner)
        assert names(answer) == ["page_size"]


def test_a_native_list_filter_of_more_than_100_values_is_400_however_given(
    client: TestClient, owner: dict[str, str]
) -> None:
    commas = ",".join(str(n) for n in range(101))
    assert names(client.get(USERS, params={"user_id": commas}, headers=owner)) == ["user_id"]
    repeated = [("user_id", str(n)) for n in range(101)]
    assert names(client.get(USERS, params=repeated, headers=owner)) == ["user_id"]


def test_a_native_filter_value_over_255_characters_is_400_naming_it(
    client: TestClient, owner: dict[str, str]
) -> None:
    assert names(client.get(USERS, params={"email": "a" * 256}, headers=owner)) == ["email"]


def test_the_learner_results_page_size_and_arrays_are_bounded(
    client: TestClient, owner: dict[str, str]
) -> None:
    xml = client.get(LEARNERS, params={"pageSize": "1001"}, headers=owner)
    assert xml.status_code == 400 and "pageSize" in xml.text
    uuids = [("userIds[]", f"00000000-0000-0000-0000-{n:012d}") for n in range(101)]
    many = client.get(LEARNERS, params=uuids, headers=owner)
    assert many.status_code == 400 and "userIds: at most 100" in many.text


def test_the_path_session_page_size_is_bounded(client: TestClient, owner: dict[str, str]) -> None:
    answer = client.get(SESSION_STATS, params={"pageSize": "1001"}, headers=owner)
    assert answer.status_code == 400
    assert answer.json()["error"] == "bad_request" and "pageSize" in answer.json()["message"]


def test_the_analyse_limit_lists_and_values_are_bounded(
    client: TestClient, owner: dict[str, str]
) -> None:
    uuid = "00000000-0000-0000-0000-000000000000"
    bodies = {
        "options.limit": {"options": {"limit": 1001}},
        "userIds": {"userIds": [uuid] * 1001},
        "customFields[0].values[0]": {"customFields": [{"customFieldId": uuid,
                                                        "values": ["a" * 1025]}]},
    }  # fmt: skip
    for parameter, body in bodies.items():
        assert names(client.post("/analyse/results", json=body, headers=owner)) == [parameter]


def test_the_adoption_page_size_and_user_ids_are_bounded(
    client: TestClient, owner_key: str
) -> None:
    key = {"X-AIHR-API-Key": owner_key}
    url = "/external/api/reports"
    assert names(client.post(url, json={"pageSize": 501}, headers=key)) == ["pageSize"]
    many = {"userIds": ["00000000-0000-0000-0000-000000000000"] * 1001}
    assert names(client.post(url, json=many, headers=key)) == ["userIds"]


def test_the_xapi_limit_is_the_most_the_server_allows_as_the_specification_asks(
    client: TestClient, owner_key: str
) -> None:
    key_id, _, secret = owner_key.rpartition(".")
    answer = client.get(
        "/xapi/statements", params={"limit": "100000"}, auth=(key_id, secret), headers=XAPI
    )
    assert answer.status_code == 200 and answer.json()["statements"] == []


@pytest.mark.parametrize(
    "setting",
    ["max_url_bytes", "max_query_parameters", "max_body_bytes", "max_json_depth",
     "statement_timeout_ms", "lock_timeout_ms"],
)  # fmt: skip
def test_every_limit_setting_is_in_the_readme_with_its_default(setting: str) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    row = f"| `LEARNREPORT_{setting.upper()}` | `{getattr(SETTINGS, setting)}` |"
    assert row in readme
