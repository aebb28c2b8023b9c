"""The xAPI statement resource: the specification's examples landing in the reports, its
credentials and versions, idempotency, voiding, reading back with paging, and the limits of a
key restricted to groups."""

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learnreport.ingest import ingest
from learnreport.store import credentials, tenants
from learnreport.store.tenants import Tenant
from xapi_examples import (
    ATTEMPTED,
    AU,
    CMI5,
    LONG,
    LONG_CORRECTED,
    SENT,
    SIMPLE,
    VOIDING,
    add_people_and_activities,
    cmi5_session,
)

Token = Callable[..., str]
Basic = tuple[str, str]
"""HTTP Basic credentials: a user name and a password."""
VERSION = {"X-Experience-API-Version": "1.0.3"}
ADL = "http://adlnet.gov/expapi/verbs/"
COURSE = "https://acme.example/courses/safety"
STATEMENTS = "/xapi/statements"


@pytest.fixture
def lrs(engine: sa.Engine, world: Tenant) -> Tenant:
    """The known world, the people and activities of the specification's examples, and a
    course whose identifier is an IRI."""
    add_people_and_activities(engine, world)
    ingest(
        engine,
        world.id,
        "activities",
        [{"id": "a-safety", "name": "Safety course", "identifier": COURSE}],
    )
    return world


def new_key(engine: sa.Engine, tenant: Tenant, role: str = "custom:lrs", **options: Any) -> str:
    options.setdefault("scopes", ["write.xapi"] if role.startswith("custom:") else None)
    with engine.begin() as connection:
        return credentials.create(connection, tenant, "key", role, **options).secret


def basic(key: str) -> Basic:
    """An API key as HTTP Basic credentials: its id as the user name, its secret as the
    password."""
    key_id, _, secret = key.rpartition(".")
    return key_id, secret


@pytest.fixture
def key(engine: sa.Engine, lrs: Tenant) -> Basic:
    return basic(new_key(engine, lrs))


def post(client: TestClient, auth: Basic, body: Any) -> Any:
    return client.post(STATEMENTS, json=body, auth=auth, headers=VERSION)


def get(client: TestClient, auth: Basic, **params: Any) -> Any:
    return client.get(STATEMENTS, params=params, auth=auth, headers=VERSION)


def said(verb: str, minute: int = 0, *, email: str = "ann@acme.example", **extra: Any) -> Any:
    return {
        "actor": {"mbox": f"mailto:{email}"},
        "verb": {"id": ADL + verb},
        "object": {"id": COURSE},
        "timestamp": f"2025-03-01T09:{minute:02d}:00Z",
        **extra,
    }


def modules(client: TestClient, token: Token, tenant: Tenant) -> dict[tuple[str, str], Any]:
    """The native modules report's rows of results that statements made."""
    bearer = {"Authorization": f"Bearer {token(tenant, scopes=['read.modules.reports'])}"}
    rows = client.get("/api/v2/reports/modules/", params={"page_size": 1000}, headers=bearer)
    return {
        (row["user_id"], row["module_identifier"]): row
        for row in rows.json()["results"]
        if row["id"].startswith("xapi:")
    }


def test_the_about_resource_needs_neither_credentials_nor_a_version(client: TestClient) -> None:
    answer = client.get("/xapi/about")
    assert (answer.status_code, answer.json()) == (200, {"version": ["1.0.3"]})
    assert answer.headers["X-Experience-API-Version"] == "1.0.3"


def test_the_specifications_examples_posted_as_written_land_and_move_the_result(
    client: TestClient, key: Basic, lrs: Tenant, token: Token
) -> None:
    sent = [SIMPLE, SENT, ATTEMPTED, LONG_CORRECTED, VOIDING, CMI5]
    answer = post(client, key, sent)
    assert answer.status_code == 200
    assert answer.json() == [s.get("id", answer.json()[n]) for n, s in enumerate(sent)]
    assert answer.headers["X-Experience-API-Version"] == "1.0.3"
    assert "X-Experience-API-Consistent-Through" in answer.headers
    failed = modules(client, token, lrs)["p-gert", AU]
    assert (failed["state"], failed["score"], failed["failed_at"]) == (
        "failed",
        65.0,
        "2012-06-01T19:09:13Z",
    )
    assert post(client, key, cmi5_session()).status_code == 200
    passed = modules(client, token, lrs)["p-gert", AU]
    assert (passed["state"], passed["score"], passed["completed_at"], passed["id"]) == (
        "passed",
        90.0,
        "2012-06-01T19:30:00Z",
        failed["id"],
    )


def test_the_long_example_as_written_is_a_400_naming_its_timestamp_and_stores_nothing(
    client: TestClient, key: Basic
) -> None:
    answer = post(client, key, [SIMPLE, LONG])
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["X-Experience-API-Version"] == "1.0.3"
    [error] = answer.json()["errors"]
    assert (error["statement"], error["property"]) == (1, "timestamp")
    assert answer.json()["detail"].startswith("statement 1, timestamp:")
    assert get(client, key, statementId=SIMPLE["id"]).status_code == 404


def test_put_stores_under_the_id_given_and_a_stored_statement_reads_back_completed(
    client: TestClient, key: Basic
) -> None:
    statement_id = "e05aa883-acaf-40ad-bf54-02c8ce485fb0"
    put = client.put(
        STATEMENTS,
        params={"statementId": statement_id},
        json=said("launched"),
        auth=key,
        headers=VERSION,
    )
    assert (put.status_code, put.content) == (204, b"")
    assert put.headers["X-Experience-API-Version"] == "1.0.3"
    read = get(client, key, statementId=statement_id.upper()).json()
    assert read["id"] == statement_id and read["version"] == "1.0.0"
    authority = read["authority"]
    assert (authority["objectType"], authority["account"]["homePage"]) == (
        "Agent",
        "http://testserver/",
    )
    assert authority["account"]["name"].startswith("acme.k_")
    assert read["stored"].endswith("Z") and read["timestamp"] == "2025-03-01T09:00:00Z"


def test_put_without_a_uuid_statement_id_or_with_another_id_in_the_body_is_a_400(
    client: TestClient, key: Basic
) -> None:
    no_id = client.put(STATEMENTS, json=said("launched"), auth=key, headers=VERSION)
    other = client.put(
        STATEMENTS,
        params={"statementId": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"},
        json=SIMPLE,
        auth=key,
        headers=VERSION,
    )
    assert (no_id.status_code, no_id.json()["errors"][0]["parameter"]) == (400, "statementId")
    assert (other.status_code, other.json()["errors"][0]["property"]) == (400, "id")


def test_the_same_id_twice_is_200_and_changes_nothing_other_content_is_a_409(
    client: TestClient, key: Basic, lrs: Tenant, token: Token
) -> None:
    assert post(client, key, CMI5).status_code == 200
    before = modules(client, token, lrs)
    assert (post(client, key, CMI5).status_code, modules(client, token, lrs)) == (200, before)
    changed = copy.deepcopy(CMI5)
    changed["verb"]["id"] = ADL + "passed"
    conflict = post(client, key, [SIMPLE, changed])
    assert conflict.status_code == 409
    assert CMI5["id"] in conflict.json()["detail"]
    assert get(client, key, statementId=SIMPLE["id"]).status_code == 404
    put = client.put(
        STATEMENTS, params={"statementId": CMI5["id"]}, json=changed, auth=key, headers=VERSION
    )
    assert put.status_code == 409
    assert modules(client, token, lrs) == before


def test_voiding_reverts_the_result_and_a_voided_statement_is_read_by_voided_id_only(
    client: TestClient, key: Basic, lrs: Tenant, token: Token
) -> None:
    post(client, key, [CMI5, *cmi5_session()])
    passing = cmi5_session()[2]["id"]
    void = {
        "actor": {"mbox": "mailto:ann@acme.example"},
        "verb": {"id": ADL + "voided"},
        "object": {"objectType": "StatementRef", "id": passing},
    }
    assert post(client, key, void).status_code == 200
    assert modules(client, token, lrs)["p-gert", AU]["state"] == "failed"
    assert get(client, key, statementId=passing).status_code == 404
    assert get(client, key, voidedStatementId=passing).json()["verb"]["id"] == ADL + "passed"
    assert get(client, key, voidedStatementId=CMI5["id"]).status_code == 404
    listed = get(client, key, activity=AU, limit=50).json()["statements"]
    assert passing not in [statement["id"] for statement in listed]


def test_a_statement_about_someone_unknown_is_counted_unmatched_and_matched_when_they_arrive(
    client: TestClient, engine: sa.Engine, key: Basic, lrs: Tenant, token: Token
) -> None:
    post(client, key, said("completed", 5, email="newcomer@acme.example"))
    bearer = {"Authorization": f"Bearer {token(lrs, scopes=['write.xapi'])}"}
    counts = client.get("/api/v2/ingest/statements/", headers=bearer)
    assert counts.json() == {"received": 1, "matched": 0, "unmatched": 1, "voided": 0}
    ingest(engine, lrs.id, "users", [{"id": "u9", "email": "newcomer@acme.example"}])
    assert modules(client, token, lrs)["u9", COURSE]["state"] == "completed"
    with_key = {"X-API-Key": new_key(engine, lrs)}
    counts = client.get("/api/v2/ingest/statements/", headers=with_key)
    assert counts.json() == {"received": 1, "matched": 1, "unmatched": 0, "voided": 0}


@pytest.mark.parametrize(
    "sent",
    [
        "nothing",
        "unknown key",
        "bearer token",
        "wrong secret",
        "client id and secret",
        "whole key as user name",
        "not base64",
    ],
)
def test_anything_but_an_api_key_in_basic_credentials_is_a_401_with_a_basic_challenge(
    client: TestClient, engine: sa.Engine, lrs: Tenant, token: Token, sent: str
) -> None:
    key = new_key(engine, lrs)
    key_id, _, secret = key.rpartition(".")
    with engine.begin() as connection:
        oauth_client = credentials.create(connection, lrs, "client", "owner")
    authorization = {
        "nothing": None,
        "unknown key": ("acme.k_0000000000000000", secret),
        "bearer token": f"Bearer {token(lrs, scopes=['write.xapi'])}",
        "wrong secret": (key_id, secret[::-1]),
        "client id and secret": (oauth_client.credential.public_id, oauth_client.secret),
        "whole key as user name": (key, ""),
        "not base64": "Basic %%%",
    }[sent]
    headers = dict(VERSION)
    if isinstance(authorization, str):
        headers["Authorization"] = authorization
    auth = authorization if isinstance(authorization, tuple) else None
    answer = client.post(STATEMENTS, json=SIMPLE, auth=auth, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="learnreport"'
    assert answer.headers["X-Experience-API-Version"] == "1.0.3"


def test_a_key_without_write_xapi_or_of_a_tenant_without_api_access_is_a_403(
    client: TestClient, engine: sa.Engine, lrs: Tenant, key: Basic
) -> None:
    narrow = basic(new_key(engine, lrs, scopes=["read.modules.reports"]))
    answer = post(client, narrow, SIMPLE)
    assert (answer.status_code, answer.json()["detail"]) == (
        403,
        "The API key lacks the scope write.xapi.",
    )
    with engine.begin() as connection:
        tenants.update(connection, lrs.slug, api_access_enabled=False)
    assert "API access must be enabled" in post(client, key, SIMPLE).json()["detail"]


def test_another_tenants_statement_is_not_found(
    client: TestClient, engine: sa.Engine, lrs: Tenant, other_tenant: Tenant, key: Basic
) -> None:
    theirs = basic(new_key(engine, other_tenant))
    assert post(client, theirs, SIMPLE).status_code == 200
    assert get(client, key, statementId=SIMPLE["id"]).status_code == 404
    assert get(client, key, verb=SIMPLE["verb"]["id"]).json() == {"statements": [], "more": ""}
    assert post(client, key, SIMPLE).status_code == 200


@pytest.mark.parametrize("version", [None, "0.95", "1.1.0", "2.0.0", "one"])
def test_a_request_without_a_1_0_version_header_is_a_400(
    client: TestClient, key: Basic, version: str | None
) -> None:
    headers = {} if version is None else {"X-Experience-API-Version": version}
    answer = client.post(STATEMENTS, json=SIMPLE, auth=key, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["parameter"] == "X-Experience-API-Version"
    assert answer.headers["X-Experience-API-Version"] == "1.0.3"


def test_versions_1_0_and_1_0_x_are_accepted(client: TestClient, key: Basic) -> None:
    for version in ("1.0", "1.0.0", "1.0.3", "1.0.9"):
        headers = {"X-Experience-API-Version": version}
        assert client.get(STATEMENTS, auth=key, headers=headers).status_code == 200


def test_a_key_limited_to_groups_sends_and_reads_only_statements_about_its_people(
    client: TestClient, engine: sa.Engine, lrs: Tenant, key: Basic
) -> None:
    sales = basic(new_key(engine, lrs, "department_admin", groups=["Sales"]))
    about_cy = said("completed", 3, email="cy@acme.example")
    assert post(client, key, about_cy).status_code == 200
    refused = post(client, sales, [said("launched", 1), about_cy])
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("statement 1: its actor is not a person")
    assert post(client, sales, said("launched", 4, email="bob@acme.example")).status_code == 200
    seen = [s["actor"]["mbox"] for s in get(client, sales).json()["statements"]]
    assert seen == ["mailto:bob@acme.example"]
    cy_id = get(client, key, agent=json.dumps({"mbox": "mailto:cy@acme.example"})).json()[
        "statements"
    ][0]["id"]
    assert get(client, sales, statementId=cy_id).status_code == 404


def test_pages_follow_more_in_stored_order_newest_first_or_ascending(
    client: TestClient, key: Basic
) -> None:
    ids = [post(client, key, said("progressed", minute)).json()[0] for minute in range(5)]
    walked: list[str] = []
    answer = get(client, key, limit=2, verb=ADL + "progressed").json()
    while True:
        walked += [statement["id"] for statement in answer["statements"]]
        if not answer["more"]:
            break
        assert answer["more"].startswith("/xapi/statements?")
        answer = client.get(answer["more"], auth=key, headers=VERSION).json()
    assert walked == ids[::-1]
    ascending = get(client, key, limit=3, ascending="true").json()
    assert [s["id"] for s in ascending["statements"]] == ids[:3]
    following = client.get(ascending["more"], auth=key, headers=VERSION).json()
    assert [s["id"] for s in following["statements"]] == ids[3:]


def test_a_more_link_used_with_other_filters_or_altered_is_a_400(
    client: TestClient, key: Basic
) -> None:
    post(client, key, [said("progressed", minute) for minute in range(3)])
    more = get(client, key, limit=1).json()["more"]
    cursor = more.partition("cursor=")[2]
    assert get(client, key, limit=1, verb=ADL + "launched", cursor=cursor).status_code == 400
    assert get(client, key, limit=1, cursor=cursor[:-2] + "xx").status_code == 400


def test_the_query_filters_by_agent_verb_activity_registration_and_stored_time(
    client: TestClient, key: Basic
) -> None:
    registration = "ec531277-b57b-4c15-8d91-d292c5b2b8f7"
    bob = said("completed", 2, email="bob@acme.example", context={"registration": registration})
    post(client, key, [said("launched", 1), bob, CMI5])

    def found(**params: Any) -> list[str]:
        answer = get(client, key, **params)
        assert answer.status_code == 200, answer.json()
        return [s["verb"]["id"].removeprefix(ADL) for s in answer.json()["statements"]]

    assert found(agent=json.dumps({"mbox": "mailto:Bob@ACME.example"})) == ["completed"]
    assert found(verb=ADL + "launched") == ["launched"]
    assert found(activity=AU) == ["failed"]
    assert found(registration=registration.upper()) == ["completed"]
    assert found(since="2000-01-01T00:00:00Z", ascending="true") == [
        "launched",
        "completed",
        "failed",
    ]
    assert found(until="2000-01-01T00:00:00Z") == []


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"Verb": ADL + "launched"}, "Verb"),
        ({"statementId": SIMPLE["id"], "verb": ADL + "launched"}, "verb"),
        ({"statementId": SIMPLE["id"], "voidedStatementId": SIMPLE["id"]}, "voidedStatementId"),
        ({"statementId": "12345"}, "statementId"),
        ({"agent": '{"name": "nobody"}'}, "agent"),
        ({"agent": "not json"}, "agent"),
        ({"verb": "launched"}, "verb"),
        ({"registration": "x"}, "registration"),
        ({"since": "yesterday"}, "since"),
        ({"limit": "-1"}, "limit"),
        ({"ascending": "yes"}, "ascending"),
        ({"format": "ids"}, "format"),
        ({"related_agents": "true"}, "related_agents"),
        ({"cursor": "forged.x"}, "cursor"),
    ],
)
def test_a_bad_query_parameter_is_a_400_naming_it(
    client: TestClient, key: Basic, params: dict[str, str], parameter: str
) -> None:
    answer = get(client, key, **params)
    assert answer.status_code == 400
    assert parameter in [error["parameter"] for error in answer.json()["errors"]]


def test_a_body_too_large_is_a_413_and_one_not_json_a_400_and_neither_stores_anything(
    client: TestClient, key: Basic
) -> None:
    big = [SIMPLE | {"id": None, "result": {"response": "x" * 600_000}} for _ in range(2)]
    too_large = client.post(
        STATEMENTS,
        content=json.dumps(big),
        auth=key,
        headers={**VERSION, "Content-Type": "application/json"},
    )
    assert too_large.status_code == 413
    broken = client.post(
        STATEMENTS,
        content=b'{"actor": ',
        auth=key,
        headers={**VERSION, "Content-Type": "application/json"},
    )
    assert (broken.status_code, broken.json()["errors"][0]["parameter"]) == (400, "body")
    form = client.post(STATEMENTS, data={"statement": "x"}, auth=key, headers=VERSION)
    assert (form.status_code, form.json()["errors"][0]["parameter"]) == (400, "Content-Type")
    assert get(client, key).json() == {"statements": [], "more": ""}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            "",
            "mailto:a@acme.example",
            "http://e.example/x",
            "PT1M",
            "\x00",
            "2025-01-01T00:00:00Z",
            "e05aa883-acaf-40ad-bf54-02c8ce485fb0",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "actor",
                    "verb",
                    "object",
                    "result",
                    "mbox",
                    "objectType",
                    "score",
                    "raw",
                    "scaled",
                    "member",
                    "timestamp",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values)
def test_no_body_makes_a_500(client: TestClient, key: Basic, body: Any) -> None:
    answer = post(client, key, body)
    assert answer.status_code in (200, 400), answer.text
