"""The native Reporting API v2 over the known world: every filter of every resource, paging,
formats, visibility and errors, through HTTP as a BI tool calls it."""

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from learnreport.api.surfaces.native import RESOURCES
from learnreport.domain.access import SCOPES
from learnreport.ingest import ingest
from learnreport.reports import NATIVE
from learnreport.store.tenants import Tenant
from world import UUIDS

Token = Callable[..., str]
API = "/api/v2/reports"


@pytest.fixture
def owner(world: Tenant, token: Token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(world)}"}


def listed(client: TestClient, headers: dict[str, str], resource: str, **params: Any) -> Any:
    answer = client.get(f"{API}/{resource}/", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def ids(body: Any, key: str = "id") -> list[str]:
    return [row[key] for row in body["results"]]


FILTER_CASES: list[tuple[str, dict[str, str], list[str]]] = [
    ("users", {"contract_start_date_after": "2025-02-01"}, ["u2"]),
    ("users", {"contract_start_date_before": "2025-01-31"}, ["u1"]),
    ("users", {"contract_end_date_after": "2025-12-31"}, ["u2"]),
    ("users", {"contract_end_date_before": "2025-12-30"}, []),
    ("users", {"last_seen_after": "2025-06-01"}, ["u1"]),
    ("users", {"last_seen_before": "2025-03-06"}, ["u2"]),
    ("users", {"registration_date_after": "2025-03-05T08:00:00Z"}, ["u2", "u3"]),
    ("users", {"registration_date_before": "2025-01-10"}, ["u1"]),
    ("users", {"modified_at_after": "2025-05-20T10:00:00+02:00"}, ["u3", "u4"]),
    ("users", {"modified_at_before": "2025-01-10T08:00:00Z"}, ["u1"]),
    ("users", {"email": "ANN@acme.example"}, ["u1"]),
    ("users", {"uuid": UUIDS["u1"].upper()}, ["u1"]),
    ("users", {"employee_id": "E2,E3"}, ["u2", "u3"]),
    ("users", {"status": "pending"}, ["u2"]),
    ("users", {"group_name": "Sales"}, ["u1", "u2"]),
    ("groups", {"name": "Sales"}, ["g-sales"]),
    ("groups", {"type": "division"}, ["g-sales", "g-eng"]),
    ("groups", {"parent_name": "Acme"}, ["g-sales", "g-eng"]),
    ("groups", {"external_name": "DIV-SAL"}, ["g-sales"]),
    ("groups", {"created_by_user_importer": "true"}, ["g-benelux"]),
    ("groups", {"modified_at_after": "2025-03-01"}, ["g-benelux", "g-eng"]),
    ("groups", {"modified_at_before": "2025-01-31"}, ["g-root"]),
    ("modules", {"completed_at_after": "2025-06-30T23:59:59Z"}, ["r5", "r6"]),
    ("modules", {"completed_at_before": "2025-06-30"}, ["r1", "r3", "r5"]),
    ("modules", {"expires_at_after": "2026-01-01"}, ["r3"]),
    ("modules", {"expires_at_before": "2026-03-14"}, []),
    ("modules", {"failed_at_after": "2025-03-01"}, ["r2"]),
    ("modules", {"failed_at_before": "2025-02-28"}, []),
    ("modules", {"started_at_after": "2025-06-29"}, ["r5", "r6"]),
    ("modules", {"started_at_before": "2025-01-31T09:00:00Z"}, ["r1"]),
    ("modules", {"modified_at_after": "2025-06-20T08:00:00Z"}, ["r5", "r6", "r7"]),
    ("modules", {"modified_at_before": "2025-02-01T10:00:00.5Z"}, ["r1"]),
    ("modules", {"user_id": "u1"}, ["r1", "r2", "r3"]),
    ("modules", {"group_name": "Sales"}, ["r1", "r2", "r3", "r4"]),
    ("modules", {"module_uuid": UUIDS["a1"]}, ["r1", "r5", "r7"]),
    ("modules", {"state": "passed,failed"}, ["r2", "r3", "r5"]),
    ("journeys", {"created_at_after": "2025-06-01"}, ["rj2"]),
    ("journeys", {"created_at_before": "2025-02-01"}, ["rj1", "rs1"]),
    ("journeys", {"completed_at_after": "2025-02-10"}, ["rs1", "rj2"]),
    ("journeys", {"completed_at_before": "2025-02-10"}, ["rs1"]),
    ("journeys", {"modified_at_after": "2025-07-01"}, ["rj2"]),
    ("journeys", {"modified_at_before": "2025-02-10"}, ["rj1", "rs1"]),
    ("journeys", {"user_id": "u3"}, ["rj2"]),
    ("journeys", {"group_name": "Engineering"}, ["rj2"]),
    ("journeys", {"journey_uuid": UUIDS["j1"]}, ["rj1", "rs1", "rj2"]),
    ("programmes", {"completed_at_after": "2025-05-01"}, ["rp1"]),
    ("programmes", {"completed_at_before": "2025-05-04"}, []),
    ("programmes", {"programme_id": "p1"}, ["rp1", "rp2"]),
    ("programmes", {"programme_uuid": UUIDS["p1"]}, ["rp1", "rp2"]),
    ("programmes", {"user_id": "u2"}, ["rp2"]),
    ("programmes", {"group_name": "Sales Benelux"}, ["rp2"]),
    ("programmes", {"modified_at_after": "2025-05-06"}, ["rp2"]),
    ("programmes", {"modified_at_before": "2025-05-05"}, ["rp1"]),
    ("skills", {"completed_at_after": "2025-04-01"}, ["rk1"]),
    ("skills", {"completed_at_before": "2025-04-03"}, []),
    ("skills", {"expires_at_after": "2026-01-01"}, ["rk1"]),
    ("skills", {"expires_at_before": "2025-12-31"}, []),
    ("skills", {"failed_at_after": "2025-04-05"}, ["rk2"]),
    ("skills", {"failed_at_before": "2025-04-05"}, ["rk2"]),
    ("skills", {"skill_id": "k1"}, ["rk1", "rk2"]),
    ("skills", {"skill_uuid": UUIDS["k1"]}, ["rk1", "rk2"]),
    ("skills", {"user_id": "u1"}, ["rk1"]),
    ("skills", {"group_name": "Engineering"}, ["rk2"]),
    ("skills", {"modified_at_after": "2025-04-05"}, ["rk2"]),
    ("skills", {"modified_at_before": "2025-04-04"}, ["rk1"]),
    ("training_time", {"reporting_period_start": "2025-03-01"}, ["u1", "u2", "u3", "u4"]),
    ("training_time", {"reporting_period_end": "2025-02-28"}, ["u1", "u2", "u3", "u4"]),
    ("training_time", {"user_id": "u3"}, ["u3"]),
    ("training_time", {"group_name": "Sales"}, ["u1", "u2"]),
    ("training_time", {"modified_at_after": "2025-06-30"}, ["u3"]),
    ("training_time", {"modified_at_before": "2025-03-16T09:00:00Z"}, ["u1"]),
]


@pytest.mark.parametrize(
    ("resource", "params", "expected"),
    FILTER_CASES,
    ids=[f"{resource}-{next(iter(params))}" for resource, params, _ in FILTER_CASES],
)
def test_each_filter_selects_exactly_the_rows_it_names(
    client: TestClient,
    owner: dict[str, str],
    resource: str,
    params: dict[str, str],
    expected: list[str],
) -> None:
    key = "user_id" if resource == "training_time" else "id"
    assert ids(listed(client, owner, resource, **params), key) == expected


def test_every_filter_of_every_resource_has_a_case() -> None:
    declared = {
        (name, param.name)
        for name, definition in NATIVE.items()
        for report_filter in definition.filters
        for param in report_filter.params()
    }
    covered = {(resource, name) for resource, params, _ in FILTER_CASES for name in params}
    assert declared - covered == set()


def test_training_time_sums_minutes_of_activities_completed_in_the_period(
    client: TestClient, owner: dict[str, str]
) -> None:
    def minutes(**params: str) -> dict[str, tuple[int, int, int]]:
        body = listed(client, owner, "training_time", **params)
        return {
            row["user_id"]: (
                row["total_training_time"],
                row["formal_training_time"],
                row["informal_training_time"],
            )
            for row in body["results"]
        }

    everything = {"u1": (45, 30, 15), "u2": (0, 0, 0), "u3": (30, 30, 0), "u4": (0, 0, 0)}
    assert minutes() == everything
    assert minutes(reporting_period_start="2025-03-01")["u1"] == (15, 0, 15)
    assert minutes(reporting_period_end="2025-02-28")["u1"] == (30, 30, 0)
    assert minutes(reporting_period_end="2025-06-30")["u3"] == (30, 30, 0)


def test_training_types_appear_only_for_a_tenant_that_enables_them(
    client: TestClient, world: Tenant, other_tenant: Tenant, token: Token
) -> None:
    globex = {"Authorization": f"Bearer {token(other_tenant)}"}
    row = listed(client, globex, "training_time")["results"][0]
    assert row == {
        "user_id": "u1",
        "total_training_time": 999 * 2,
        "modified_at": row["modified_at"],
    }


def test_rows_carry_every_field_of_the_page(client: TestClient, owner: dict[str, str]) -> None:
    module = client.get(f"{API}/modules/r3/", headers=owner).json()
    assert module == {
        "id": "r3",
        "user_id": "u1",
        "module_uuid": module["module_uuid"],
        "module_name": "Safety",
        "module_identifier": None,
        "module_type": "learning-bite",
        "module_duration": 15,
        "progress": 100.0,
        "started_at": "2025-03-10T09:00:00Z",
        "completed_at": "2025-03-15T09:00:00Z",
        "expires_at": "2026-03-15T00:00:00Z",
        "expired_at": None,
        "graded_at": "2025-03-16T09:00:00Z",
        "failed_at": None,
        "modified_at": "2025-03-16T09:00:00Z",
        "is_completed": True,
        "grade": None,
        "score": None,
        "optional": True,
        "attempt": 2,
        "accreditation_points": None,
        "state": "passed",
    }
    section = client.get(f"{API}/journeys/rs1/", headers=owner).json()
    assert (section["journey_uuid"], section["journey_name"]) == (UUIDS["j1"], "First year")
    assert section["section_name"] == "Week one"
    journey = client.get(f"{API}/journeys/rj1/", headers=owner).json()
    assert (journey["section_uuid"], journey["section_name"]) == (None, None)
    user = client.get(f"{API}/users/u1/", headers=owner).json()
    assert (user["email"], user["region"], user["flexible_status"]) == (
        "ann@acme.example",
        "EMEA",
        "senior",
    )
    group = client.get(f"{API}/groups/g-sales/", headers=owner).json()
    assert group["parent_name"] == "Acme"
    assert group["name_i18n"] == {"en": "Sales", "nl": "Verkoop"}
    assert group["extra"] == {"cost_center": "1001"}
    mandatory = client.get(f"{API}/modules/r1/", headers=owner).json()
    assert (mandatory["optional"], mandatory["is_completed"]) == (False, True)
    not_enrolled = client.get(f"{API}/modules/r5/", headers=owner).json()
    assert not_enrolled["optional"] is False, "TinQwise: optional default on 'false'"


def test_a_record_of_another_tenant_is_not_found(client: TestClient, owner: dict[str, str]) -> None:
    answer = client.get(f"{API}/modules/r99/", headers=owner)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_department_administrator_sees_only_its_departments_everywhere(
    client: TestClient, world: Tenant, token: Token
) -> None:
    benelux = {
        "Authorization": f"Bearer {token(world, 'department_admin', groups=['Sales Benelux'])}"
    }
    assert ids(listed(client, benelux, "users")) == ["u2"]
    assert listed(client, benelux, "users")["count"] == 1
    assert ids(listed(client, benelux, "modules")) == ["r4"]
    assert ids(listed(client, benelux, "groups")) == ["g-benelux"]
    assert ids(listed(client, benelux, "training_time"), "user_id") == ["u2"]
    assert ids(listed(client, benelux, "programmes")) == ["rp2"]
    assert client.get(f"{API}/users/u1/", headers=benelux).status_code == 404
    assert client.get(f"{API}/training_time/u1/", headers=benelux).status_code == 404
    exported = client.get(f"{API}/modules/export/", headers=benelux, params={"format": "ndjson"})
    assert [orjson.loads(line)["id"] for line in exported.text.splitlines()] == ["r4"]
    csv_page = client.get(f"{API}/users/", headers=benelux, params={"format": "csv"})
    assert [row["id"] for row in csv.DictReader(io.StringIO(csv_page.text))] == ["u2"]


def test_a_sibling_department_administrator_sees_nothing_of_the_other_department(
    client: TestClient, world: Tenant, token: Token
) -> None:
    engineering = {
        "Authorization": f"Bearer {token(world, 'department_admin', groups=['Engineering'])}"
    }
    assert ids(listed(client, engineering, "users")) == ["u3"]
    assert ids(listed(client, engineering, "users", group_name="Sales")) == []
    assert client.get(f"{API}/modules/r1/", headers=engineering).status_code == 404


def test_page_paging_counts_and_links_pages(client: TestClient, owner: dict[str, str]) -> None:
    first = listed(client, owner, "modules", page_size=3)
    assert (first["count"], ids(first), first["previous"]) == (7, ["r1", "r2", "r3"], None)
    second = client.get(first["next"], headers=owner).json()
    assert ids(second) == ["r4", "r5", "r6"]
    last = client.get(second["next"], headers=owner).json()
    assert (ids(last), last["next"]) == (["r7"], None)
    assert client.get(last["previous"], headers=owner).json() == second


def test_cursor_paging_walks_every_row_once_without_counting(
    client: TestClient, owner: dict[str, str]
) -> None:
    body = listed(client, owner, "modules", page_size=2, cursor="")
    seen = ids(body)
    assert "count" not in body
    while body["next"]:
        body = client.get(body["next"], headers=owner).json()
        seen += ids(body)
    assert seen == ["r1", "r2", "r3", "r4", "r5", "r6", "r7"]


def test_a_cursor_is_bound_to_its_filters_and_cannot_be_forged(
    client: TestClient, owner: dict[str, str]
) -> None:
    body = listed(client, owner, "modules", page_size=2, cursor="", user_id="u1")
    cursor = body["next"].split("cursor=")[1].split("&")[0]
    moved = client.get(f"{API}/modules/", headers=owner, params={"cursor": cursor, "user_id": "u3"})
    assert moved.status_code == 400
    forged = client.get(f"{API}/modules/", headers=owner, params={"cursor": "MTA.AAAA"})
    assert forged.status_code == 400
    assert forged.json()["errors"][0]["parameter"] == "cursor"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"colour": "red"}, "colour"),
        ({"completed_at_after": "yesterday"}, "completed_at_after"),
        ({"completed_at_after": "2025-02-30"}, "completed_at_after"),
        (
            {"completed_at_before": "2025-01-01", "completed_at_after": "2025-02-01"},
            "completed_at_before",
        ),
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"page": "99"}, "page"),
        ({"page_size": "1001"}, "page_size"),
        ({"format": "yaml"}, "format"),
        ({"user_id": "a\x00b"}, "user_id"),
        ({"completed_at_after": "9999-12-31T23:59:59.5Z"}, "completed_at_after"),
    ],
)
def test_a_bad_parameter_is_a_400_problem_naming_it(
    client: TestClient, owner: dict[str, str], params: dict[str, str], parameter: str
) -> None:
    answer = client.get(f"{API}/modules/", headers=owner, params=params)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert parameter in [error["parameter"] for error in answer.json()["errors"]]


@pytest.mark.parametrize("fmt", ["json", "csv", "xml", "ndjson"])
def test_every_list_renders_in_every_format_by_parameter_or_accept(
    client: TestClient, owner: dict[str, str], fmt: str
) -> None:
    by_param = client.get(f"{API}/modules/", headers=owner, params={"format": fmt})
    media = by_param.headers["content-type"].split(";")[0]
    by_accept = client.get(f"{API}/modules/", headers={**owner, "Accept": media})
    assert by_param.status_code == by_accept.status_code == 200
    assert by_param.content == by_accept.content
    assert parsed_ids(fmt, by_param.text) == ["r1", "r2", "r3", "r4", "r5", "r6", "r7"]


def parsed_ids(fmt: str, text: str) -> list[str]:
    if fmt == "json":
        return [row["id"] for row in orjson.loads(text)["results"]]
    if fmt == "csv":
        return [row["id"] for row in csv.DictReader(io.StringIO(text))]
    if fmt == "ndjson":
        return [orjson.loads(line)["id"] for line in text.splitlines()]
    return [element.text or "" for element in ET.fromstring(text).iter("id")]


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "json", "xml"])
def test_the_export_streams_every_matching_row(
    client: TestClient, owner: dict[str, str], fmt: str
) -> None:
    answer = client.get(
        f"{API}/modules/export/", headers=owner, params={"format": fmt, "user_id": "u1"}
    )
    assert answer.status_code == 200
    if fmt == "json":
        assert [row["id"] for row in orjson.loads(answer.text)] == ["r1", "r2", "r3"]
    else:
        assert parsed_ids(fmt, answer.text) == ["r1", "r2", "r3"]


def test_csv_cells_that_could_run_as_formulas_are_neutralised_and_xml_stays_well_formed(
    client: TestClient, engine: sa.Engine, world: Tenant, owner: dict[str, str]
) -> None:
    nasty = ['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "\tx", "<b>&</b>\x01"]
    ingest(
        engine,
        world.id,
        "users",
        [{"id": f"x{n}", "first_name": name} for n, name in enumerate(nasty)],
    )
    text = client.get(f"{API}/users/export/", headers=owner, params={"format": "csv"}).text
    names = [row["first_name"] for row in csv.DictReader(io.StringIO(text)) if row["id"][0] == "x"]
    assert all(name[0] == "'" for name in names[:5])
    xml = client.get(f"{API}/users/", headers=owner, params={"format": "xml", "page_size": 50})
    assert "<b>" not in xml.text
    names_in_xml = [element.text for element in ET.fromstring(xml.text).iter("first_name")]
    assert "<b>&</b>\ufffd" in names_in_xml


def test_a_token_from_another_tenant_never_sees_this_tenant(
    client: TestClient, world: Tenant, other_tenant: Tenant, token: Token
) -> None:
    globex = {"Authorization": f"Bearer {token(other_tenant)}"}
    assert ids(listed(client, globex, "modules")) == ["r1", "r99"]
    assert listed(client, globex, "users")["results"][0]["email"] == "ann@globex.example"
    assert client.get(f"{API}/modules/r2/", headers=globex).status_code == 404


def test_every_route_wants_its_own_scope_and_a_token(
    client: TestClient, world: Tenant, token: Token
) -> None:
    scopes = {resource.name: resource.scope for resource in RESOURCES}
    holders = {
        scope: {"Authorization": f"Bearer {token(world, 'custom:auditor', scopes=[scope])}"}
        for scope in SCOPES
    }
    for resource, needed in scopes.items():
        for route in ("", "export/", "u1/"):
            path = f"{API}/{resource}/{route}"
            for scope, headers in holders.items():
                answer = client.get(path, headers=headers)
                if scope == needed:
                    assert answer.status_code in (200, 404), (path, scope)
                else:
                    assert answer.status_code == 403, (path, scope)
                    assert "insufficient_scope" in answer.headers["www-authenticate"]
            assert client.get(path).status_code == 401
