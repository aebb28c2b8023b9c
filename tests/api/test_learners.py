"""The iSpring dialect over the known world plus a course: every parameter, the page's XML,
tokens from its token URL, keyset page tokens, and department administrators."""

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from learnreport.ingest import demo, ingest
from learnreport.store import credentials, tenants
from learnreport.store.schema import content_items, contents, enrollments, groups, users
from learnreport.store.tenants import Tenant
from world import uuids

Token = Callable[..., str]
PATH = "/learners/modules/results"
ITEMS = {"c1-i1": "eeeeeeee-0000-4000-8000-000000000001",
         "c1-i2": "eeeeeeee-0000-4000-8000-000000000002"}  # fmt: skip


@pytest.fixture
def school(engine: sa.Engine, world: Tenant) -> Tenant:
    """The world, plus a course of two modules and enrollments in it and in activities."""
    ingest(engine, world.id, "users", [{"id": "u5", "first_name": "Eve", "status": "blocked"}])
    ingest(engine, world.id, "memberships", [{"user_id": "u5", "group_id": "g-eng"}])
    ingest(engine, world.id, "courses", [{"id": "c1", "name": "Compliance", "items": [
        {"activity_id": "a1", "uuid": ITEMS["c1-i1"]},
        {"activity_id": "a2", "uuid": ITEMS["c1-i2"]},
    ]}])  # fmt: skip
    ingest(engine, world.id, "enrollments", [
        {"id": "e10", "user_id": "u1", "content_id": "c1", "access_at": "2025-01-05T00:00:00Z",
         "due_at": "2025-02-15T00:00:00Z", "expires_at": "2026-01-01T00:00:00Z"},
        {"id": "e11", "user_id": "u3", "content_id": "c1", "access_at": "2025-05-01T00:00:00Z",
         "due_at": "2099-01-01T00:00:00Z"},
        {"id": "e12", "user_id": "u5", "content_id": "a3", "due_at": "2025-01-01T00:00:00Z"},
        {"id": "e13", "user_id": "u3", "content_id": "a2", "access_at": "2025-03-01T00:00:00Z",
         "due_at": "2025-04-01T00:00:00Z"},
    ])  # fmt: skip
    return world


ACTIVE_ROWS = {
    ("e1", "a1"): "complete",
    ("e2", "a2"): "passed",
    ("e10", "a1"): "complete",
    ("e10", "a2"): "passed",
    ("e11", "a1"): "passed",
    ("e11", "a2"): "not_started",
    ("e13", "a2"): "not_started",
}
"""Every enrollment x module of the active people (u2 is pending, u5 blocked), and its
status in iSpring's words."""


class Ids:
    def __init__(self, engine: sa.Engine, tenant: Tenant) -> None:
        keyed = [(users, "external_id"), (contents, "external_id"),
                 (enrollments, "external_id"), (groups, "name")]  # fmt: skip
        self.uuid = uuids(engine, tenant, keyed)
        with engine.connect() as connection:
            items = connection.execute(
                sa.select(content_items.c.uuid).where(content_items.c.tenant_id == tenant.id)
            ).scalars()
            assert set(ITEMS.values()) <= set(items)
        self.external = {uuid: name for name, uuid in self.uuid.items()}

    def rows(self, results: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (self.external[row["enrollmentId"]], self.external[row["moduleId"]]): row
            for row in results
        }


@pytest.fixture
def ids(engine: sa.Engine, school: Tenant) -> Ids:
    return Ids(engine, school)


@pytest.fixture
def owner(school: Tenant, token: Token) -> dict[str, str]:
    return {"Authorization": token(school), "Accept": "application/json"}


def results(client: TestClient, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    answer = client.get(f"{PATH}?{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    body = orjson.loads(answer.content)
    assert "nextPageToken" not in body
    found: list[dict[str, Any]] = body["results"]
    return found


def test_the_default_lists_every_module_of_every_enrollment_of_active_people(
    client: TestClient, owner: dict[str, str], ids: Ids
) -> None:
    found = ids.rows(results(client, owner))
    assert {pair: row["completionStatus"] for pair, row in found.items()} == ACTIVE_ROWS


def test_a_result_has_the_pages_fields_in_the_pages_order_leaving_out_what_it_omits(
    client: TestClient, owner: dict[str, str], ids: Ids
) -> None:
    found = ids.rows(results(client, owner))
    done = found["e10", "a1"]
    assert list(done) == [
        "userId", "courseId", "moduleTitle", "moduleId", "courseItemId", "enrollmentId",
        "accessDate", "dueDate", "expirationDate", "completionDate", "timeSpent",
        "completionStatus", "progress", "isOverdue", "viewsCount",
    ]  # fmt: skip
    assert done["courseId"] == ids.uuid["c1"]
    assert done["courseItemId"] == ITEMS["c1-i1"]
    assert done["accessDate"] == "2025-01-05T00:00:00+00:00"
    assert done["completionDate"] == "2025-02-01T10:00:00+00:00"
    assert (done["progress"], done["isOverdue"]) == (100, 0)
    untouched = found["e11", "a2"]
    assert "progress" not in untouched and "completionDate" not in untouched
    assert "expirationDate" not in untouched
    alone = found["e2", "a2"]
    assert alone["courseId"] == alone["moduleId"] == ids.uuid["a2"]
    assert "dueDate" not in alone


def test_is_overdue_only_past_the_due_date_while_unfinished(
    client: TestClient, owner: dict[str, str], ids: Ids
) -> None:
    found = ids.rows(results(client, owner))
    overdue = {pair for pair, row in found.items() if row["isOverdue"] == 1}
    assert overdue == {("e13", "a2")}


def test_time_and_views_add_up_every_attempt(
    client: TestClient, engine: sa.Engine, school: Tenant, owner: dict[str, str], ids: Ids
) -> None:
    ingest(engine, school.id, "results", [
        {"id": "r2", "user_id": "u1", "content_id": "a2", "state": "failed", "time_spent": 60,
         "views": 2, "modified_at": "2025-09-01T09:00:00Z"},
        {"id": "r3", "user_id": "u1", "content_id": "a2", "attempt": 2, "state": "passed",
         "time_spent": 30, "views": 1, "modified_at": "2025-09-16T09:00:00Z"},
    ])  # fmt: skip
    row = ids.rows(results(client, owner))["e2", "a2"]
    assert (row["timeSpent"], row["viewsCount"], row["completionStatus"]) == (90, 3, "passed")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("userIds[]={u3}", {("e11", "a1"), ("e11", "a2"), ("e13", "a2")}),
        ("userIds={u3}&userIds={u1}", set(ACTIVE_ROWS)),
        ("courseIds[]={c1}", {("e10", "a1"), ("e10", "a2"), ("e11", "a1"), ("e11", "a2")}),
        ("moduleIds[]={a1}", {("e1", "a1"), ("e10", "a1"), ("e11", "a1")}),
        ("courseItemIds[]=" + ITEMS["c1-i2"], {("e10", "a2"), ("e11", "a2")}),
        ("enrollmentIds[]={e13}&enrollmentIds[]={e1}", {("e13", "a2"), ("e1", "a1")}),
        ("departmentIds[]={Sales}", {("e1", "a1"), ("e2", "a2"), ("e10", "a1"), ("e10", "a2")}),
        ("departmentIds[]={Acme}", set(ACTIVE_ROWS)),
        ("accessDate[startDate]=2025-03-01", {("e11", "a1"), ("e11", "a2"), ("e13", "a2")}),
        ("accessDate[endDate]=2025-01-05", {("e10", "a1"), ("e10", "a2")}),
        ("dueDate[startDate]=2025-02-15T00:00:00Z&dueDate[endDate]=2025-04-01",
         {("e10", "a1"), ("e10", "a2"), ("e13", "a2")}),
        ("completionDate[startDate]=2025-03-01", {("e2", "a2"), ("e10", "a2"), ("e11", "a1")}),
        ("completionDate[endDate]=2025-02-01", {("e1", "a1"), ("e10", "a1")}),
        ("completionStatuses[]=passed&completionStatuses[]=not_started",
         {("e2", "a2"), ("e10", "a2"), ("e11", "a1"), ("e11", "a2"), ("e13", "a2")}),
        ("completionStatus=complete", {("e1", "a1"), ("e10", "a1")}),
        ("completionStatus=accepted", set()),
        ("userStatuses[]=3", {("e12", "a3")}),
        ("userStatuses[]=1&userStatuses[]=3", {*ACTIVE_ROWS, ("e12", "a3")}),
    ],
)  # fmt: skip
def test_each_parameter_narrows_to_exactly_its_rows(
    client: TestClient, owner: dict[str, str], ids: Ids, query: str, expected: set[Any]
) -> None:
    filled = re.sub(r"\{(\w[\w ]*)\}", lambda match: ids.uuid[match.group(1)], query)
    assert set(ids.rows(results(client, owner, filled))) == expected


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("userIds[]=nope", "userIds"),
        ("completionStatuses[]=done", "completionStatuses"),
        ("userStatuses[]=2", "userStatuses"),
        ("accessDate[startDate]=yesterday", "accessDate[startDate]"),
        ("pageSize=1001", "pageSize"),
        ("pageSize=0", "pageSize"),
        ("pageToken=forged.token", "pageToken"),
        ("colour=red", "colour"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it_in_the_format_asked_for(
    client: TestClient, owner: dict[str, str], query: str, parameter: str
) -> None:
    as_json = client.get(f"{PATH}?{query}", headers=owner)
    assert as_json.status_code == 400
    body = orjson.loads(as_json.content)
    assert body["code"] == "bad_request" and parameter in body["message"]
    as_xml = client.get(f"{PATH}?{query}", headers={"Authorization": owner["Authorization"]})
    assert as_xml.status_code == 400
    assert ET.fromstring(as_xml.content).findtext("code") == "bad_request"


def test_page_tokens_walk_every_row_once_and_are_bound_to_tenant_and_filters(
    client: TestClient, owner: dict[str, str], ids: Ids, other_tenant: Tenant, token: Token
) -> None:
    seen: list[tuple[str, str]] = []
    query = "pageSize=2"
    while True:
        body = orjson.loads(client.get(f"{PATH}?{query}", headers=owner).content)
        seen += list(ids.rows(body["results"]))
        if "nextPageToken" not in body:
            break
        next_token = body["nextPageToken"]
        query = f"pageSize=2&pageToken={next_token}"
    assert sorted(seen) == sorted(ACTIVE_ROWS)
    assert len(seen) == len(set(seen))
    moved = client.get(f"{PATH}?pageSize=2&pageToken={next_token}&userStatuses[]=3",
                       headers=owner)  # fmt: skip
    assert moved.status_code == 400
    globex = {"Authorization": token(other_tenant), "Accept": "application/json"}
    assert client.get(f"{PATH}?pageToken={next_token}", headers=globex).status_code == 400


def test_the_page_answers_xml_by_default_in_its_own_shape(
    client: TestClient, owner: dict[str, str]
) -> None:
    answer = client.get(f"{PATH}?pageSize=1", headers={"Authorization": owner["Authorization"]})
    assert answer.headers["content-type"].startswith("application/xml")
    text = answer.text
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<response>\n<results>\n')
    root = ET.fromstring(answer.content)
    assert [child.tag for child in root] == ["results", "nextPageToken"]
    assert root.find("results/result/userId") is not None


def test_xml_stays_well_formed_for_any_stored_text(
    client: TestClient, engine: sa.Engine, school: Tenant, owner: dict[str, str]
) -> None:
    title = "<b>&amp;</b>\x01\x1f 𝄞 ]]>"
    ingest(engine, school.id, "activities", [{"id": "a1", "name": title}])
    answer = client.get(PATH, headers={"Authorization": owner["Authorization"]})
    titles = {element.text for element in ET.fromstring(answer.content).iter("moduleTitle")}
    assert "<b>&amp;</b>\ufffd\ufffd 𝄞 ]]>" in titles


def test_the_token_url_of_the_page_and_the_bare_or_bearer_header_both_work(
    client: TestClient, engine: sa.Engine, school: Tenant
) -> None:
    with engine.begin() as connection:
        created = credentials.create(connection, school, "client", "owner")
    issued = client.post("/api/v3/token", data={
        "client_id": created.credential.public_id, "client_secret": created.secret,
        "grant_type": "client_credentials",
    })  # fmt: skip
    assert issued.status_code == 200
    assert {"access_token", "expires_in", "token_type"} <= set(issued.json())
    access = issued.json()["access_token"]
    for header in (access, f"Bearer {access}"):
        assert client.get(PATH, headers={"Authorization": header}).status_code == 200
    refused = client.get(PATH)
    assert refused.status_code == 401
    assert ET.fromstring(refused.content).findtext("code") == "unauthorized"


def test_the_route_wants_the_learner_results_scope(
    client: TestClient, school: Tenant, token: Token
) -> None:
    other = {"Authorization": token(school, scopes=["read.modules.reports"])}
    answer = client.get(PATH, headers=other)
    assert answer.status_code == 403
    assert ET.fromstring(answer.content).findtext("code") == "permission_denied"


def test_a_department_administrator_sees_its_departments_and_may_not_ask_for_others(
    client: TestClient, school: Tenant, token: Token, ids: Ids
) -> None:
    sales = {"Authorization": token(school, "department_admin", groups=["Sales"]),
             "Accept": "application/json"}  # fmt: skip
    assert set(ids.rows(results(client, sales))) == {
        ("e1", "a1"), ("e2", "a2"), ("e10", "a1"), ("e10", "a2"),
    }  # fmt: skip
    assert results(client, sales, f"userIds[]={ids.uuid['u3']}") == []
    own = results(client, sales, f"departmentIds[]={ids.uuid['Sales']}")
    assert len(own) == 4
    other = client.get(f"{PATH}?departmentIds[]={ids.uuid['Engineering']}", headers=sales)
    assert other.status_code == 403
    custom = {"Authorization": token(school, "custom:hr", scopes=["read.learner.results"],
                                     groups=["Engineering"]),
              "Accept": "application/json"}  # fmt: skip
    assert {pair[0] for pair in ids.rows(results(client, custom))} == {"e11", "e13"}


def test_a_tenant_without_api_access_is_refused(
    client: TestClient, engine: sa.Engine, school: Tenant, owner: dict[str, str]
) -> None:
    with engine.begin() as connection:
        tenants.update(connection, school.slug, api_access_enabled=False)
    assert client.get(PATH, headers=owner).status_code == 403


def test_the_pages_example_request_answers_in_the_documented_shape(
    client: TestClient, owner: dict[str, str]
) -> None:
    example = (
        "userIds[]=85077abc-2639-11ea-8e3f-0a580af40c09&courseIds[]=f0e7400a-ca31-11e9-b6fc-"
        "0a580af40a22&moduleIds[]=5a98720f-41e2-11ea-8a66-0a580af40c6f&moduleIds[]=55e716fa-"
        "3c5c-11ef-96f2-02420a200177&moduleIds[]=6657451e-3c5c-11ef-ae43-02420a200177&access"
        "Date[startDate]=2019-12-24T21:00:00Z&accessDate[endDate]=2020-12-30T03:00:00Z&dueDate"
        "[startDate]=2019-08-30T03:00:00Z&dueDate[endDate]=2019-12-30T03:00:00Z&completionDate"
        "[startDate]=2019-08-30T03:00:00Z&completionDate[endDate]=2019-12-30T03:00:00Z&"
        "completionStatus=failed&departmentIds[]=f0b2d3c0-aded-11e9-bfe6-0a580af40906&"
        "userStatuses[]=1&pageSize=33"
    )
    xml = client.get(f"{PATH}?{example}", headers={"Authorization": owner["Authorization"]})
    assert xml.status_code == 200
    assert xml.text == '<?xml version="1.0" encoding="UTF-8"?>\n<response>\n<results>\n' \
                       "</results>\n</response>\n"  # fmt: skip
    as_json = client.get(f"{PATH}?{example}", headers=owner)
    assert orjson.loads(as_json.content) == {"results": []}


def test_walking_page_tokens_over_the_demo_returns_every_result_once(
    client: TestClient, engine: sa.Engine, token: Token
) -> None:
    demo.run(engine, users=40, results=3000)
    with engine.connect() as connection:
        acme = tenants.get(connection, "acme")
    headers = {"Authorization": token(acme), "Accept": "application/json"}

    def walk(size: int) -> list[tuple[str, str]]:
        walked: list[tuple[str, str]] = []
        query = f"userStatuses[]=1&userStatuses[]=3&pageSize={size}"
        while True:
            body = orjson.loads(client.get(f"{PATH}?{query}", headers=headers).content)
            walked += [(row["enrollmentId"], row["courseItemId"]) for row in body["results"]]
            if "nextPageToken" not in body:
                return walked
            query = (
                f"userStatuses[]=1&userStatuses[]=3&pageSize={size}&pageToken="
                + body["nextPageToken"]
            )

    whole = walk(1000)
    assert walk(97) == whole
    assert len(set(whole)) == len(whole) > 1000
