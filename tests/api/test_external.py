"""The adoption dialect, `POST /external/api/reports`, through HTTP as a client of AIHR's page
calls it: the API key, `api-version`, every body field and its errors, paging, the SKU
filter, visibility and tenants."""

import json
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learnreport.ingest import ingest
from learnreport.store import credentials, tenants
from learnreport.store.tenants import Tenant

ROUTE = "/external/api/reports"
HEADER = "X-AIHR-API-Key"
PROBLEM = "application/problem+json"
JSON = {"Content-Type": "application/json"}
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
"""For what no backend tells apart: refusals decided before the report is read."""

JOHN = "550e8400-e29b-41d4-a716-446655440000"
ANN = "a0000000-0000-4000-8000-000000000000"
BOB = "b0000000-0000-4000-8000-000000000000"
IDLE = "d0000000-0000-4000-8000-000000000000"
THEIRS = "f0000000-0000-4000-8000-000000000000"

EXAMPLE_REQUEST = b"""{
"userIds": ["550e8400-e29b-41d4-a716-446655440000"],
"programSKUs": null,
"pageSize": 20,
"page": 1
}"""
"""The page's example request, byte for byte."""

EXAMPLE_RESPONSE = {
    "pageSize": 20,
    "page": 1,
    "count": 1,
    "data": [
        {
            "userId": "550e8400-e29b-41d4-a716-446655440000",
            "userName": "John Doe",
            "userAvatarUrl": "https://cdn.aihr.com/avatars/john-doe.jpg",
            "totalHoursStudied": 15,
            "progress": [
                {
                    "programName": "People Analytics",
                    "abbreviation": "PA",
                    "value": 75,
                    "timeSpentInMinutes": 900,
                    "timeLeftInMinutes": 300,
                    "totalDuration": "PT20H",
                    "date": "2025-10-03T14:30:00Z",
                }
            ],
        }
    ],
    "sort": {"sorts": [{"direction": "asc", "property": "userName"}]},
    "filter": {"program": "People Analytics", "userIds": "550e8400-e29b-41d4-a716-446655440000"},
}
"""The page's example response, as it prints it."""

Key = Callable[..., str]


@pytest.fixture
def key(engine: sa.Engine) -> Key:
    """`key(tenant, role="owner", scopes=None, groups=None)`: a new API key, as
    `learnreport keys create` makes one."""

    def create(
        tenant: Tenant,
        role: str = "owner",
        scopes: list[str] | None = None,
        groups: list[str] | None = None,
    ) -> str:
        with engine.begin() as connection:
            created = credentials.create(
                connection, tenant, "key", role, scopes=scopes, groups=groups
            )
        return created.secret

    return create


def result(id_: str, user: str, content: str, **fields: Any) -> dict[str, Any]:
    return {"id": id_, "user_id": user, "content_id": content, **fields}


@pytest.fixture
def acme(engine: sa.Engine, tenant: Tenant, other_tenant: Tenant) -> Tenant:
    """John Doe of the page's example, and a few more learners in two departments. Globex
    has a learner with John's uuid too, and programmes with acme's SKUs."""
    records: list[tuple[str, list[dict[str, Any]]]] = [
        ("groups", [{"id": "g-sales", "name": "Sales"}, {"id": "g-support", "name": "Support"}]),
        ("users", [
            {"id": "john", "uuid": JOHN, "first_name": "John", "last_name": "Doe",
             "avatar_url": "https://cdn.aihr.com/avatars/john-doe.jpg"},
            {"id": "ann", "uuid": ANN, "first_name": "Ann"},
            {"id": "bob", "uuid": BOB, "username": "bob"},
            {"id": "idle", "uuid": IDLE, "first_name": "Idle"},
            *({"id": f"l{n}", "first_name": "Learner", "last_name": str(n)} for n in range(5)),
        ]),
        ("memberships", [
            {"user_id": "john", "group_id": "g-sales"},
            {"user_id": "ann", "group_id": "g-sales"},
            {"user_id": "bob", "group_id": "g-support"},
        ]),
        ("activities", [{"id": "a1", "name": "Metrics", "duration": 30},
                        {"id": "a2", "name": "Interviews", "duration": 60}]),
        ("programmes", [
            {"id": "pa", "title": "People Analytics", "sku": "PA", "abbreviation": "PA",
             "duration": 1200, "activity_ids": ["a1"]},
            {"id": "hrbp", "title": "HR Business Partner", "sku": "HRBP", "abbreviation": "HRBP",
             "activity_ids": ["a2"]},
        ]),
        ("results", [
            result("r1", "john", "pa", state="in_progress", progress=75, time_spent=54_000,
                   modified_at="2025-10-03T14:30:00Z"),
            result("r2", "ann", "a1", state="completed", progress=100, time_spent=1800,
                   modified_at="2025-09-01T08:00:00Z"),
            result("r3", "ann", "a2", state="in_progress", progress=50, time_spent=1830,
                   modified_at="2025-09-02T08:00:00Z"),
            result("r4", "bob", "a2", state="passed", progress=100, time_spent=3600,
                   modified_at="2025-09-03T08:00:00Z"),
            *(result(f"l{n}", f"l{n}", "a1", state="in_progress") for n in range(5)),
        ]),
    ]  # fmt: skip
    for kind, batch in records:
        ingest(engine, tenant.id, kind, batch)
    ingest(engine, other_tenant.id, "users", [
        {"id": "john", "uuid": JOHN, "first_name": "Globex John"},
        {"id": "zoe", "uuid": THEIRS, "first_name": "Aaron"},
    ])  # fmt: skip
    ingest(engine, other_tenant.id, "programmes", [{"id": "pa", "title": "Globex PA", "sku": "PA"}])
    ingest(engine, other_tenant.id, "results", [
        result("r1", "john", "pa", state="completed", progress=100, time_spent=999_999),
        result("r2", "zoe", "pa", state="completed", progress=100),
    ])  # fmt: skip
    return tenant


@pytest.fixture
def owner(acme: Tenant, key: Key) -> dict[str, str]:
    return {HEADER: key(acme)}


def post(
    client: TestClient, headers: dict[str, str], body: Any = None, **params: str
) -> dict[str, Any]:
    answer = client.post(ROUTE, headers=headers, json=body, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    return dict(answer.json())


def names(body: dict[str, Any]) -> list[str]:
    return [learner["userName"] for learner in body["data"]]


def refused(answer: Any, status: int) -> str:
    """The refusal's detail, once it is checked to be a problem of this status."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["status"] == status
    return str(answer.json()["detail"])


def bad(answer: Any) -> list[str]:
    """The parameters a 400 names."""
    refused(answer, 400)
    return [error["parameter"] for error in answer.json()["errors"]]


# The page's example


def test_the_pages_example_request_answers_the_pages_example_response(
    client: TestClient, owner: dict[str, str]
) -> None:
    answer = client.post(
        f"{ROUTE}?api-version=1.0",
        content=EXAMPLE_REQUEST,
        headers={**owner, **JSON},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == EXAMPLE_RESPONSE
    assert answer.headers["api-supported-versions"] == "1.0"


def test_every_learner_with_activity_is_listed_by_name_with_figures_per_programme(
    client: TestClient, owner: dict[str, str]
) -> None:
    body = post(client, owner, {"pageSize": 500})
    assert body["count"] == 8
    assert names(body) == ["Ann", "bob", "John Doe", *(f"Learner {n}" for n in range(5))]
    ann = body["data"][0]
    assert ann == {
        "userId": ANN,
        "userName": "Ann",
        "userAvatarUrl": None,
        "totalHoursStudied": 1.0,
        "progress": [
            {
                "programName": "HR Business Partner",
                "abbreviation": "HRBP",
                "value": 0.0,
                "timeSpentInMinutes": 31,
                "timeLeftInMinutes": 29,
                "totalDuration": "PT1H",
                "date": "2025-09-02T08:00:00Z",
            },
            {
                "programName": "People Analytics",
                "abbreviation": "PA",
                "value": 100.0,
                "timeSpentInMinutes": 30,
                "timeLeftInMinutes": 1170,
                "totalDuration": "PT20H",
                "date": "2025-09-01T08:00:00Z",
            },
        ],
    }
    assert body["filter"] == {"program": "HR Business Partner,People Analytics", "userIds": ""}
    assert body["sort"] == {"sorts": [{"direction": "asc", "property": "userName"}]}


# Paging


def test_pages_count_from_one_and_together_list_everyone_once_in_order(
    client: TestClient, owner: dict[str, str]
) -> None:
    whole = post(client, owner, {"pageSize": 500})
    pages = [post(client, owner, {"pageSize": 3, "page": page}) for page in (1, 2, 3)]
    assert [len(page["data"]) for page in pages] == [3, 3, 2]
    assert {(page["count"], page["pageSize"]) for page in pages} == {(8, 3)}
    assert [page["page"] for page in pages] == [1, 2, 3]
    assert [learner for page in pages for learner in page["data"]] == whole["data"]


def test_learners_of_the_same_name_keep_their_order_from_page_to_page(
    client: TestClient, engine: sa.Engine, acme: Tenant, owner: dict[str, str]
) -> None:
    twins = [{"id": f"t{n}", "first_name": "Twin"} for n in range(9)]
    ingest(engine, acme.id, "users", twins)
    passed = [result(f"t{n}", f"t{n}", "a2", state="passed") for n in range(9)]
    ingest(engine, acme.id, "results", passed)
    body = {"programSKUs": "HRBP", "pageSize": 2}
    seen = [
        learner["userId"]
        for page in range(1, 7)
        for learner in post(client, owner, {**body, "page": page})["data"]
        if learner["userName"] == "Twin"
    ]
    assert seen == sorted(seen)
    assert len(set(seen)) == 9


def test_a_page_past_the_last_is_empty_and_still_counts(
    client: TestClient, owner: dict[str, str]
) -> None:
    body = post(client, owner, {"page": 4, "pageSize": 3})
    assert (body["data"], body["count"], body["page"]) == ([], 8, 4)


def test_the_page_size_defaults_to_twenty(client: TestClient, owner: dict[str, str]) -> None:
    body = post(client, owner, {})
    assert (body["pageSize"], body["page"], len(body["data"])) == (20, 1, 8)


# The body


@SQLITE_ONLY
def test_an_empty_body_is_every_default(client: TestClient, owner: dict[str, str]) -> None:
    for headers in ({}, JSON):
        answer = client.post(ROUTE, headers={**owner, **headers}, content=b"")
        assert answer.status_code == 200, answer.text
        assert (answer.json()["count"], answer.json()["pageSize"]) == (8, 20)


def test_the_sku_filter_ignores_spaces_and_blanks_and_echoes_the_programmes(
    client: TestClient, owner: dict[str, str]
) -> None:
    body = post(client, owner, {"programSKUs": " HRBP , ,PA,, "})
    assert body["filter"]["program"] == "HR Business Partner,People Analytics"
    assert body["count"] == 8
    only = post(client, owner, {"programSKUs": " HRBP "})
    assert (names(only), only["filter"]["program"]) == (["Ann", "bob"], "HR Business Partner")
    assert [p["programName"] for p in only["data"][0]["progress"]] == ["HR Business Partner"]
    assert only["data"][0]["totalHoursStudied"] == 0.5


def test_skus_that_match_nothing_answer_nobody_and_blanks_alone_filter_nothing(
    client: TestClient, owner: dict[str, str]
) -> None:
    nothing = post(client, owner, {"programSKUs": "NOPE, pa, " + "PA" * 100})
    assert (nothing["count"], nothing["data"], nothing["filter"]["program"]) == (0, [], "")
    for blank in (" , ,", "", None):
        body = post(client, owner, {"programSKUs": blank})
        assert (body["count"], body["filter"]["program"]) == (
            8,
            "HR Business Partner,People Analytics",
        ), blank


def test_the_user_ids_filter_matches_uuids_in_any_spelling_and_echoes_them(
    client: TestClient, owner: dict[str, str]
) -> None:
    body = post(client, owner, {"userIds": [BOB.upper(), JOHN, f"{{{BOB}}}", IDLE]})
    assert names(body) == ["bob", "John Doe"]
    assert body["filter"]["userIds"] == f"{BOB},{JOHN},{IDLE}"
    for nothing in ([], None):
        assert post(client, owner, {"userIds": nothing})["count"] == 8


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"programSKUs": 12}, "programSKUs"),
        ({"programSKUs": ["PA"]}, "programSKUs"),
        ({"programSKUs": "x" * 65_537}, "programSKUs"),
        ({"programSKUs": ",".join(f"S{n}" for n in range(1001))}, "programSKUs"),
        ({"userIds": "550e8400-e29b-41d4-a716-446655440000"}, "userIds"),
        ({"userIds": ["550e8400-e29b-41d4-a716"]}, "userIds[0]"),
        ({"userIds": [JOHN, "not-a-uuid"]}, "userIds[1]"),
        ({"userIds": [7]}, "userIds[0]"),
        ({"userIds": [JOHN] * 1001}, "userIds"),
        ({"pageSize": 0}, "pageSize"),
        ({"pageSize": -1}, "pageSize"),
        ({"pageSize": 501}, "pageSize"),
        ({"pageSize": "20"}, "pageSize"),
        ({"pageSize": 20.0}, "pageSize"),
        ({"pageSize": None}, "pageSize"),
        ({"pageSize": True}, "pageSize"),
        ({"page": 0}, "page"),
        ({"page": -3}, "page"),
        ({"page": 2**31}, "page"),
        ({"page": 10**30}, "page"),
        ({"page": "1"}, "page"),
        ({"page": [1]}, "page"),
        ({"pagesize": 10}, "pagesize"),
        ({"programSkus": "PA"}, "programSkus"),
    ],
)
def test_a_bad_field_is_a_400_naming_it(
    client: TestClient, owner: dict[str, str], body: dict[str, Any], parameter: str
) -> None:
    assert bad(client.post(ROUTE, headers=owner, json=body)) == [parameter]


def test_a_nul_character_among_the_skus_is_a_400_which_no_database_can_match(
    client: TestClient, owner: dict[str, str]
) -> None:
    answer = client.post(ROUTE, headers=owner, json={"programSKUs": "PA,\u0000"})
    assert bad(answer) == ["programSKUs"]


@SQLITE_ONLY
@pytest.mark.parametrize("content", [b"{", b'{"page": 1,}', b"page=1", b"\xff\xfe", b"[]", b"7"])
def test_a_body_that_is_not_a_json_object_is_a_400(
    client: TestClient, owner: dict[str, str], content: bytes
) -> None:
    answer = client.post(ROUTE, headers={**owner, **JSON}, content=content)
    assert bad(answer) == ["body"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
fields = st.sampled_from(["programSKUs", "userIds", "pageSize", "page", "other"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        fields, json_values | st.sampled_from([[JOHN], " PA, ", "PA\x00", "é" * 70]), max_size=4
    )
)
def test_no_body_makes_the_server_fail(
    client: TestClient, owner: dict[str, str], body: dict[str, Any]
) -> None:
    content = json.dumps(body).encode() if body else b""
    answer = client.post(ROUTE, headers={**owner, **JSON}, content=content)
    assert answer.status_code in (200, 400), answer.text


# api-version


def test_api_version_defaults_to_1_0(client: TestClient, owner: dict[str, str]) -> None:
    assert post(client, owner, {}) == post(client, owner, {}, **{"api-version": "1.0"})


@SQLITE_ONLY
@pytest.mark.parametrize("version", ["2.0", "1", "1.1", "", "1.0; DROP"])
def test_another_api_version_is_a_400_listing_the_supported_ones(
    client: TestClient, owner: dict[str, str], version: str
) -> None:
    answer = client.post(ROUTE, headers=owner, params={"api-version": version}, json={})
    assert bad(answer) == ["api-version"]
    assert "the supported versions are 1.0" in answer.json()["errors"][0]["reason"]


@SQLITE_ONLY
def test_the_api_version_is_checked_before_the_body(
    client: TestClient, owner: dict[str, str]
) -> None:
    answer = client.post(ROUTE, headers=owner, params={"api-version": "2.0"}, json={"page": 0})
    assert bad(answer) == ["api-version"]


# The API key


def invalid_key(answer: Any) -> str:
    detail = refused(answer, 401)
    assert answer.headers["www-authenticate"] == f'ApiKey realm="learnreport", header="{HEADER}"'
    return detail


@SQLITE_ONLY
def test_a_request_without_a_key_is_a_401_naming_the_header(
    client: TestClient, acme: Tenant
) -> None:
    for headers in ({}, {HEADER: ""}):
        assert f"an API key is required in the {HEADER} header" in invalid_key(
            client.post(ROUTE, headers=headers, json={"page": 0})
        )


@SQLITE_ONLY
def test_a_key_that_is_unknown_wrong_malformed_or_another_kind_is_a_401(
    client: TestClient, engine: sa.Engine, acme: Tenant, key: Key
) -> None:
    good = key(acme)
    with engine.begin() as connection:
        client_secret = credentials.create(connection, acme, "client", "owner").secret
    for value in (
        good[:-1] + ("A" if good[-1] != "A" else "B"),
        good.rpartition(".")[0],
        "acme.k_0000000000000000." + good.rpartition(".")[2],
        "globex" + good.removeprefix("acme"),
        "nonsense",
        "a key with spaces",
        "x" * 600,
        client_secret,
    ):
        answer = client.post(ROUTE, headers={HEADER: value}, json={})
        assert "unknown, revoked or wrong" in invalid_key(answer), value


@SQLITE_ONLY
def test_a_revoked_key_is_refused_from_the_next_request(
    client: TestClient, engine: sa.Engine, acme: Tenant, key: Key
) -> None:
    good = key(acme)
    assert client.post(ROUTE, headers={HEADER: good}, json={}).status_code == 200
    with engine.begin() as connection:
        credentials.revoke(connection, acme, good.rpartition(".")[0], "key")
    assert "revoked" in invalid_key(client.post(ROUTE, headers={HEADER: good}, json={}))


@SQLITE_ONLY
def test_a_bearer_token_does_not_open_this_route(
    client: TestClient, acme: Tenant, token: Callable[..., str]
) -> None:
    bearer = {"Authorization": f"Bearer {token(acme)}"}
    detail = invalid_key(client.post(ROUTE, headers=bearer, json={}))
    assert f"takes an API key in the {HEADER} header, not a bearer token" in detail


@SQLITE_ONLY
def test_a_key_without_the_adoption_scope_is_a_403_naming_it(
    client: TestClient, acme: Tenant, key: Key
) -> None:
    native = key(acme, "custom:reader", scopes=["read.programmes.reports"])
    detail = refused(client.post(ROUTE, headers={HEADER: native}, json={}), 403)
    assert "read.adoption.reports" in detail
    adopted = key(acme, "custom:adoption", scopes=["read.adoption.reports"])
    assert client.post(ROUTE, headers={HEADER: adopted}, json={}).status_code == 200


@SQLITE_ONLY
def test_a_key_of_a_tenant_whose_api_access_is_off_is_a_403_saying_so(
    client: TestClient, engine: sa.Engine, acme: Tenant, owner: dict[str, str]
) -> None:
    with engine.begin() as connection:
        tenants.update(connection, acme.slug, api_access_enabled=False)
    detail = refused(client.post(ROUTE, headers=owner, json={}), 403)
    assert "API access must be enabled" in detail


@SQLITE_ONLY
def test_authentication_is_checked_before_the_version_and_the_body(
    client: TestClient, acme: Tenant
) -> None:
    answer = client.post(ROUTE, params={"api-version": "9"}, json={"page": 0})
    invalid_key(answer)


# Who sees what


def test_a_department_administrators_key_sees_only_its_people(
    client: TestClient, acme: Tenant, key: Key
) -> None:
    sales = {HEADER: key(acme, "department_admin", groups=["Sales"])}
    body = post(client, sales, {"pageSize": 500})
    assert (names(body), body["count"]) == (["Ann", "John Doe"], 2)
    support_key = key(acme, "custom:support", scopes=["read.adoption.reports"], groups=["Support"])
    support = {HEADER: support_key}
    asked = post(client, support, {"userIds": [ANN, BOB, JOHN]})
    assert (names(asked), asked["count"]) == (["bob"], 1)


def test_another_tenants_learners_never_appear(
    client: TestClient, acme: Tenant, other_tenant: Tenant, owner: dict[str, str], key: Key
) -> None:
    body = post(client, owner, {"userIds": [JOHN, THEIRS], "programSKUs": "PA"})
    assert (names(body), body["count"]) == (["John Doe"], 1)
    assert body["data"][0]["totalHoursStudied"] == 15.0
    assert body["filter"]["program"] == "People Analytics"
    theirs = post(client, {HEADER: key(other_tenant)}, {"pageSize": 500})
    assert (names(theirs), theirs["count"]) == (["Aaron", "Globex John"], 2)
    assert "Ann" not in orjson.dumps(theirs).decode()


# The OpenAPI document


@SQLITE_ONLY
def test_the_openapi_document_names_the_pages_schemas_and_offers_the_key(
    client: TestClient,
) -> None:
    document = client.get("/api/v2/public/openapi.json").json()
    operation = document["paths"][ROUTE]["post"]
    assert operation["security"] == [{HEADER: ["read.adoption.reports"]}]
    assert document["components"]["securitySchemes"][HEADER] == {
        "type": "apiKey",
        "in": "header",
        "name": HEADER,
        "description": f"An API key (`learnreport keys create`) sent in the `{HEADER}` header.",
    }
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"] == "#/components/schemas/GetExternalAdoptionsQuery"
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"] == "#/components/schemas/AdoptionListResponse"
    schemas = document["components"]["schemas"]
    fields = set(schemas["GetExternalAdoptionsQuery"]["properties"])
    assert fields == {"programSKUs", "userIds", "pageSize", "page"}
    viewed = schemas["AdoptionViewModel"]["properties"]["progress"]["items"]
    assert viewed["$ref"] == "#/components/schemas/AdoptionProgressViewModel"
    assert [p["name"] for p in operation["parameters"]] == ["api-version"]
    assert client.get("/api/v2/public/docs/").status_code == 200
