"""The Analyse dialect over the known world: every filter and option, NOT_ENROLLED pairs,
ordering across pages, and statistics that agree with the results."""

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learnreport.store import tenants
from learnreport.store.schema import contents, custom_fields, groups, users
from learnreport.store.tenants import Tenant
from world import uuids

Token = Callable[..., str]
Pair = tuple[str, str]

EVERY_ROW: dict[Pair, tuple[str, str]] = {
    ("u1", "a1"): ("MANDATORY", "APPROVED"),
    ("u1", "a2"): ("OPTIONAL", "APPROVED"),
    ("u2", "a2"): ("OPTIONAL", "IN_PROGRESS"),
    ("u3", "a1"): ("NOT_ENROLLED", "APPROVED"),
    ("u3", "a3"): ("NOT_ENROLLED", "APPROVED"),
    ("u4", "a1"): ("NOT_ENROLLED", "NOT_STARTED"),
    ("u1", "j1"): ("NOT_ENROLLED", "IN_PROGRESS"),
    ("u3", "j1"): ("NOT_ENROLLED", "APPROVED"),
    ("u1", "p1"): ("NOT_ENROLLED", "APPROVED"),
    ("u2", "p1"): ("NOT_ENROLLED", "IN_PROGRESS"),
    ("u1", "k1"): ("NOT_ENROLLED", "APPROVED"),
    ("u3", "k1"): ("NOT_ENROLLED", "FAILED"),
}
"""Every person x content pair of the world with an enrollment or a result (sections are
parts of journeys and not listed), with its enrollment type and state; u1's a2 shows its
second, passed attempt."""

UNTOUCHED = {("u1", "a3"), ("u3", "a2"), ("u3", "p1")}
"""Pairs of the active people (u1, u3) and the published content with neither."""


@pytest.fixture
def owner(world: Tenant, token: Token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(world)}"}


class Ids:
    """uuids by external id (and custom field uuids by key), and back."""

    def __init__(self, engine: sa.Engine, tenant: Tenant) -> None:
        keyed = [(users, "external_id"), (contents, "external_id"), (groups, "name"),
                 (custom_fields, "key")]  # fmt: skip
        self.uuid = uuids(engine, tenant, keyed)
        self.external = {uuid: name for name, uuid in self.uuid.items()}

    def pairs(self, body: dict[str, Any]) -> list[Pair]:
        return [
            (self.external[row["user"]["id"]], self.external[row["content"]["id"]])
            for row in body["results"]
        ]


@pytest.fixture
def ids(engine: sa.Engine, world: Tenant) -> Ids:
    return Ids(engine, world)


def post(client: TestClient, headers: dict[str, str], path: str, body: Any) -> Any:
    answer = client.post(f"/analyse/{path}", headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def everything(client: TestClient, headers: dict[str, str], ids: Ids, **body: Any) -> set[Pair]:
    found = post(client, headers, "results", {**body, "options": {"limit": 1000}})
    assert found["total"] == len(found["results"])
    return set(ids.pairs(found))


def test_results_list_every_pair_with_its_type_state_and_the_page_shape(
    client: TestClient, owner: dict[str, str], ids: Ids
) -> None:
    body = post(client, owner, "results", {})
    assert (body["total"], body["limit"], body["skip"]) == (12, 50, 0)
    found = {
        (ids.external[row["user"]["id"]], ids.external[row["content"]["id"]]): (
            row["enrollmentType"],
            row["state"],
        )
        for row in body["results"]
    }
    assert found == EVERY_ROW
    passed = next(row for row in body["results"] if row["content"]["name"] == "Safety"
                  and row["user"]["name"] == "Ann")  # fmt: skip
    assert passed == {
        "content": {"id": ids.uuid["a2"], "name": "Safety", "type": "activity"},
        "user": {"id": ids.uuid["u1"], "name": "Ann", "email": "ann@acme.example",
                 "avatarUrl": None},
        "enrollmentType": "OPTIONAL",
        "state": "APPROVED",
        "progress": 100.0,
        "startedAt": "2025-03-10T09:00:00Z",
        "updatedAt": "2025-03-16T09:00:00Z",
        "completedAt": "2025-03-15T09:00:00Z",
        "expiresAt": "2026-03-15T00:00:00Z",
        "certificateIssuedAt": None,
    }  # fmt: skip


def test_each_filter_narrows_to_exactly_its_rows(
    client: TestClient, owner: dict[str, str], ids: Ids
) -> None:
    def only(**body: Any) -> set[Pair]:
        return everything(client, owner, ids, **body)

    def where(test: Callable[[Pair, tuple[str, str]], bool]) -> set[Pair]:
        return {pair for pair, row in EVERY_ROW.items() if test(pair, row)}

    assert only(states=["APPROVED"]) == where(lambda pair, row: row[1] == "APPROVED")
    assert only(states=["FAILED", "NOT_STARTED"]) == {("u3", "k1"), ("u4", "a1")}
    assert only(enrollmentTypes=["MANDATORY"]) == {("u1", "a1")}
    assert only(enrollmentTypes=["OPTIONAL"]) == {("u1", "a2"), ("u2", "a2")}
    assert only(userIds=[ids.uuid["u2"]]) == {("u2", "a2"), ("u2", "p1")}
    assert only(contentIds=[ids.uuid["k1"], ids.uuid["j1"]]) == where(
        lambda pair, row: pair[1] in ("k1", "j1")
    )
    assert only(groupIds=[ids.uuid["Sales"]]) == where(lambda pair, row: pair[0] in ("u1", "u2"))
    assert only(groupIds=[ids.uuid["Sales Benelux"]]) == {("u2", "a2"), ("u2", "p1")}
    emea = {"customFieldId": ids.uuid["region"], "values": ["EMEA"]}
    either = {"customFieldId": ids.uuid["region"], "values": ["EMEA", "AMER"]}
    senior = {"customFieldId": ids.uuid["status"], "values": ["senior"]}
    assert only(customFields=[emea]) == where(lambda pair, row: pair[0] == "u1")
    assert only(customFields=[either]) == where(lambda pair, row: pair[0] in ("u1", "u2"))
    assert only(customFields=[either, senior]) == where(lambda pair, row: pair[0] == "u1")
    assert only(updatedAtDateRange={"from": "2025-06-30"}) == {
        ("u3", "a1"), ("u3", "a3"), ("u3", "j1"),
    }  # fmt: skip
    assert only(updatedAtDateRange={"to": "2025-02-10"}) == {("u1", "a1"), ("u1", "j1")}
    assert only(updatedAtDateRange={"from": "2025-02-01T10:00:00Z", "to": "2025-02-01"}) == {
        ("u1", "a1")
    }
    assert only(expiryDateRange={"from": "2026-01-01"}) == {("u1", "a2"), ("u1", "k1")}


def test_not_enrolled_adds_every_untouched_pair_of_the_targeted_people_and_content(
    client: TestClient, owner: dict[str, str], ids: Ids
) -> None:
    not_enrolled = everything(client, owner, ids, enrollmentTypes=["NOT_ENROLLED"])
    touched = {pair for pair, row in EVERY_ROW.items() if row[0] == "NOT_ENROLLED"}
    assert not_enrolled == touched | UNTOUCHED
    targeted = post(
        client,
        owner,
        "results",
        {
            "userIds": [ids.uuid["u4"]],
            "contentIds": [ids.uuid["a2"], ids.uuid["a1"]],
            "enrollmentTypes": ["NOT_ENROLLED"],
        },
    )
    rows = {pair: row for pair, row in zip(ids.pairs(targeted), targeted["results"], strict=True)}
    assert set(rows) == {("u4", "a2"), ("u4", "a1")}
    assert (rows["u4", "a2"]["state"], rows["u4", "a2"]["progress"]) == ("NOT_STARTED", 0.0)
    assert rows["u4", "a2"]["updatedAt"] is None


def test_statistics_count_states_types_rates_and_groups(
    client: TestClient, owner: dict[str, str], ids: Ids
) -> None:
    figures = post(client, owner, "statistics", {})
    states = Counter(row[1] for row in EVERY_ROW.values())
    types = Counter(row[0] for row in EVERY_ROW.values())
    assert figures["total"] == 12
    assert figures["states"] == {state: states.get(state, 0) for state in figures["states"]}
    assert figures["enrollmentTypes"] == dict(types)
    assert figures["completionRate"] == pytest.approx(7 / 12)
    assert figures["groups"] == []
    by_content = post(client, owner, "statistics", {"groupBy": "content"})
    k1 = next(group for group in by_content["groups"] if group["name"] == "Negotiation")
    assert (k1["id"], k1["total"], k1["states"]["FAILED"]) == (ids.uuid["k1"], 2, 1)
    assert sum(group["total"] for group in by_content["groups"]) == 12
    by_group = post(client, owner, "statistics", {"groupBy": "group"})
    totals = {group["name"]: group["total"] for group in by_group["groups"]}
    assert totals == {"Sales": 5, "Sales Benelux": 2, "Engineering": 4}
    assert by_group["total"] == 12


filters = st.fixed_dictionaries(
    {},
    optional={
        "states": st.lists(
            st.sampled_from(["NOT_STARTED", "IN_PROGRESS", "APPROVED", "FAILED", "EXPIRED"]),
            unique=True, max_size=3,
        ),
        "enrollmentTypes": st.lists(
            st.sampled_from(["MANDATORY", "OPTIONAL", "NOT_ENROLLED"]), unique=True, max_size=3
        ),
        "users": st.lists(st.sampled_from(["u1", "u2", "u3", "u4"]), unique=True, max_size=3),
        "groups": st.lists(st.sampled_from(["Acme", "Sales", "Sales Benelux", "Engineering"]),
                           unique=True, max_size=2),
        "contents": st.lists(st.sampled_from(["a1", "a2", "a3", "j1", "p1", "k1"]),
                             unique=True, max_size=3),
        "region": st.lists(st.sampled_from(["EMEA", "AMER", "APAC"]), min_size=1, unique=True),
        "updated": st.sampled_from(["2025-02-01", "2025-04-04", "2025-06-30"]),
    },
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chosen=filters)
def test_statistics_agree_with_the_results_for_any_filters(
    client: TestClient, owner: dict[str, str], ids: Ids, chosen: dict[str, Any]
) -> None:
    body: dict[str, Any] = {
        key: chosen[key] for key in ("states", "enrollmentTypes") if key in chosen
    }
    for key, name in (("users", "userIds"), ("groups", "groupIds"), ("contents", "contentIds")):
        if key in chosen:
            body[name] = [ids.uuid[value] for value in chosen[key]]
    if "region" in chosen:
        body["customFields"] = [{"customFieldId": ids.uuid["region"], "values": chosen["region"]}]
    if "updated" in chosen:
        body["updatedAtDateRange"] = {"from": chosen["updated"]}
    rows = post(client, owner, "results", {**body, "options": {"limit": 1000}})["results"]
    figures = post(client, owner, "statistics", body)
    assert figures["total"] == len(rows)
    counted = Counter(row["state"] for row in rows)
    assert figures["states"] == {state: counted.get(state, 0) for state in figures["states"]}
    kinds = Counter(row["enrollmentType"] for row in rows)
    assert figures["enrollmentTypes"] == {kind: kinds.get(kind, 0) for kind in kinds} | {
        kind: 0 for kind in figures["enrollmentTypes"] if kind not in kinds
    }
    progress = sum(row["progress"] for row in rows) / len(rows) if rows else 0.0
    assert figures["averageProgress"] == pytest.approx(progress, abs=0.01)


@pytest.mark.parametrize(
    "order",
    [{"updatedAt": "DESC"}, {"progress": "ASC"}, {"userName": "ASC", "completedAt": "desc"},
     {"contentName": "DESC"}, {"completedAt": "ASC"}],
)  # fmt: skip
def test_pages_in_any_order_never_repeat_or_drop_a_row(
    client: TestClient, owner: dict[str, str], ids: Ids, order: dict[str, str]
) -> None:
    whole = post(client, owner, "results", {"options": {"limit": 1000, "order": order}})
    paged: list[Pair] = []
    for skip in range(0, 12, 5):
        page = post(client, owner, "results", {"options": {"limit": 5, "skip": skip,
                                                           "order": order}})  # fmt: skip
        paged += ids.pairs(page)
    assert paged == ids.pairs(whole)
    assert len(set(paged)) == 12


def test_order_sorts_by_the_field_with_missing_values_last(
    client: TestClient, owner: dict[str, str]
) -> None:
    rows = post(client, owner, "results", {"options": {"order": {"completedAt": "DESC"}}})
    completed = [row["completedAt"] for row in rows["results"]]
    present = [value for value in completed if value is not None]
    assert present == sorted(present, reverse=True)
    assert completed == present + [None] * (len(completed) - len(present))


def test_a_department_administrator_sees_only_its_people_in_results_and_statistics(
    client: TestClient, world: Tenant, token: Token, ids: Ids
) -> None:
    benelux = {
        "Authorization": f"Bearer {token(world, 'department_admin', groups=['Sales Benelux'])}"
    }
    assert everything(client, benelux, ids) == {("u2", "a2"), ("u2", "p1")}
    assert everything(client, benelux, ids, userIds=[ids.uuid["u1"]]) == set()
    assert post(client, benelux, "statistics", {})["total"] == 2
    grouped = post(client, benelux, "statistics", {"groupBy": "group"})
    assert [group["name"] for group in grouped["groups"]] == ["Sales Benelux"]
    untouched = everything(client, benelux, ids, enrollmentTypes=["NOT_ENROLLED"])
    assert {pair[0] for pair in untouched} <= {"u2"}


def test_another_tenants_token_never_sees_this_tenants_rows(
    client: TestClient, world: Tenant, other_tenant: Tenant, token: Token, ids: Ids
) -> None:
    globex = {"Authorization": f"Bearer {token(other_tenant)}"}
    body = post(client, globex, "results", {"userIds": [ids.uuid["u1"]]})
    assert body["total"] == 0
    assert post(client, globex, "statistics", {})["total"] == 1


def test_a_tenant_without_api_access_is_told_so_on_both_endpoints(
    client: TestClient, engine: sa.Engine, world: Tenant, owner: dict[str, str]
) -> None:
    with engine.begin() as connection:
        tenants.update(connection, world.slug, api_access_enabled=False)
    for path in ("results", "statistics"):
        answer = client.post(f"/analyse/{path}", headers=owner, json={})
        assert answer.status_code == 403
        assert "API access must be enabled" in answer.json()["detail"]


def test_both_endpoints_want_the_analyse_scope(
    client: TestClient, world: Tenant, token: Token
) -> None:
    native = {"Authorization": f"Bearer {token(world, scopes=['read.modules.reports'])}"}
    for path in ("results", "statistics"):
        assert client.post(f"/analyse/{path}", headers=native, json={}).status_code == 403
        assert client.post(f"/analyse/{path}", json={}).status_code == 401


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"groupIds": ["not-a-uuid"]}, "groupIds[0]"),
        ({"states": ["DONE"]}, "states[0]"),
        ({"enrollmentTypes": ["SOMETIMES"]}, "enrollmentTypes[0]"),
        ({"options": {"limit": 1001}}, "options.limit"),
        ({"options": {"limit": 0}}, "options.limit"),
        ({"options": {"skip": -1}}, "options.skip"),
        ({"options": {"order": {"colour": "ASC"}}}, "options.order.colour"),
        ({"options": {"order": {"updatedAt": "UP"}}}, "options.order.updatedAt"),
        ({"updatedAtDateRange": {"from": "someday"}}, "updatedAtDateRange.from"),
        ({"expiryDateRange": {"to": "2025-02-30"}}, "expiryDateRange.to"),
        ({"customFields": [{"customFieldId": "x", "values": ["a"]}]},
         "customFields[0].customFieldId"),
        ({"colour": "red"}, "colour"),
    ],
)  # fmt: skip
def test_a_bad_body_is_a_400_naming_the_field(
    client: TestClient, owner: dict[str, str], body: dict[str, Any], parameter: str
) -> None:
    answer = client.post("/analyse/results", headers=owner, json=body)
    assert answer.status_code == 400, answer.text
    assert parameter in [error["parameter"] for error in answer.json()["errors"]]


def test_the_issues_example_request_answers_the_documented_shape(
    client: TestClient, owner: dict[str, str]
) -> None:
    example = {
        "groupIds": ["6f1c2a1e-0000-4000-8000-000000000001"],
        "userIds": ["6f1c2a1e-0000-4000-8000-000000000002"],
        "contentIds": ["6f1c2a1e-0000-4000-8000-000000000003"],
        "states": ["NOT_STARTED", "IN_PROGRESS", "APPROVED", "FAILED", "EXPIRED"],
        "enrollmentTypes": ["MANDATORY", "OPTIONAL", "NOT_ENROLLED"],
        "customFields": [{"customFieldId": "6f1c2a1e-0000-4000-8000-000000000004",
                          "values": ["Sales", "Support"]}],
        "updatedAtDateRange": {"from": "2025-01-01", "to": "2025-06-30T23:59:59Z"},
        "expiryDateRange": {"from": "2025-01-01"},
        "options": {"limit": 50, "skip": 0, "order": {"updatedAt": "DESC"}},
    }  # fmt: skip
    assert post(client, owner, "results", example) == {
        "total": 0, "limit": 50, "skip": 0, "results": []
    }  # fmt: skip
    statistics = {key: value for key, value in example.items() if key != "options"}
    figures = post(client, owner, "statistics", {**statistics, "groupBy": "content"})
    assert set(figures) == {"total", "states", "enrollmentTypes", "completionRate",
                            "averageProgress", "groupBy", "groups"}  # fmt: skip
