"""Reading stored records back in the write path's shape, on SQLite and PostgreSQL."""

from typing import Any

import pytest
import sqlalchemy as sa

from learnreport.ingest import ingest
from learnreport.ingest.files import field_names
from learnreport.reports.records import read
from learnreport.store.tenants import Tenant


def records(engine: sa.Engine, tenant: Tenant, kind: str, batch: int = 2000) -> list[dict]:
    names = field_names(kind)
    with engine.connect() as connection:
        return [
            dict(zip(names, row, strict=True))
            for rows in read(connection, tenant.id, kind, batch=batch)
            for row in rows
        ]


def ids(engine: sa.Engine, tenant: Tenant, kind: str) -> list[Any]:
    return [record["id"] for record in records(engine, tenant, kind)]


@pytest.fixture
def catalog(engine: sa.Engine, tenant: Tenant) -> None:
    ingest(engine, tenant.id, "users", [{"id": "u1"}, {"id": "u2"}])
    ingest(engine, tenant.id, "activities", [
        {"id": "a2", "name": "Two"}, {"id": "a1", "name": "One"}, {"id": "a3", "name": "Three"},
    ])  # fmt: skip


def test_groups_come_parents_first_then_by_external_id(engine: sa.Engine, tenant: Tenant) -> None:
    """So that a file imported in batches only refers to groups already written."""
    ingest(engine, tenant.id, "groups", [
        {"id": "a-team", "name": "Team", "parent_id": "m-department"},
        {"id": "m-department", "name": "Department", "parent_id": "z-root"},
        {"id": "z-root", "name": "Root"},
        {"id": "b-office", "name": "Office", "parent_id": "z-root"},
    ])  # fmt: skip
    assert ids(engine, tenant, "groups") == ["z-root", "b-office", "m-department", "a-team"]
    assert records(engine, tenant, "groups")[3]["parent_id"] == "m-department"


def test_memberships_are_ordered_by_external_ids_not_internal_ids(
    engine: sa.Engine, tenant: Tenant
) -> None:
    ingest(engine, tenant.id, "users", [{"id": "u2"}, {"id": "u1"}])
    ingest(engine, tenant.id, "groups", [{"id": "g2", "name": "Two"}, {"id": "g1", "name": "One"}])
    ingest(engine, tenant.id, "memberships", [
        {"user_id": "u2", "group_id": "g1"},
        {"user_id": "u1", "group_id": "g2"},
        {"user_id": "u1", "group_id": "g1"},
    ])  # fmt: skip
    assert [tuple(m.values()) for m in records(engine, tenant, "memberships")] == [
        ("u1", "g1"),
        ("u1", "g2"),
        ("u2", "g1"),
    ]


def test_a_user_reads_back_with_canonical_stamps_dates_and_sorted_custom_fields(
    engine: sa.Engine, tenant: Tenant
) -> None:
    ingest(engine, tenant.id, "users", [
        {"id": "u1", "email": "Ann@Example.com", "contract_start_date": "2025-01-31",
         "last_seen": "2025-01-31T09:30:00.750+01:00", "modified_at": "2025-02-01T00:00:00Z",
         "custom_fields": {"zone": "B", "area": "A", "gone": None}},
        {"id": "u2", "modified_at": "2025-02-01T00:00:00Z"},
    ])  # fmt: skip
    ann, bob = records(engine, tenant, "users")
    assert ann["email"] == "ann@example.com"
    assert ann["contract_start_date"] == "2025-01-31"
    assert ann["last_seen"] == "2025-01-31T08:30:00Z"
    assert list(ann["custom_fields"].items()) == [("area", "A"), ("zone", "B")]
    assert (ann["status"], ann["created_at"]) == ("active", "2025-02-01T00:00:00Z")
    assert bob["custom_fields"] == {}, "a user without fields says so, for a complete record"


def test_a_group_s_json_objects_have_sorted_keys(engine: sa.Engine, tenant: Tenant) -> None:
    ingest(engine, tenant.id, "groups", [
        {"id": "g1", "name": "One", "name_i18n": {"nl": "Een", "en": "One"},
         "extra": {"z": [{"b": 1, "a": 2}], "a": None}},
    ])  # fmt: skip
    [group] = records(engine, tenant, "groups")
    assert list(group["name_i18n"]) == ["en", "nl"]
    assert list(group["extra"]) == ["a", "z"]
    assert list(group["extra"]["z"][0]) == ["a", "b"]


def test_catalog_records_carry_their_nested_parts_in_order(
    engine: sa.Engine, tenant: Tenant, catalog: None
) -> None:
    item = "0000000a-0000-4000-8000-000000000001"
    ingest(engine, tenant.id, "courses", [
        {"id": "c1", "name": "Course", "items": [{"activity_id": "a3", "uuid": item},
                                                 {"activity_id": "a1"}]},
    ])  # fmt: skip
    ingest(engine, tenant.id, "journeys", [
        {"id": "j1", "name": "Journey", "sections": [
            {"id": "j1s2", "name": "Second", "activity_ids": ["a2", "a1"]},
            {"id": "j1s1", "name": "First", "activity_ids": []},
        ]},
    ])  # fmt: skip
    ingest(engine, tenant.id, "programmes", [
        {"id": "p1", "title": "Programme", "sku": "P-1", "activity_ids": ["a3", "c1"]},
    ])  # fmt: skip
    ingest(engine, tenant.id, "paths", [
        {"id": "x1", "name": "Path", "steps": [
            {"activity_id": "a2", "due_at": "2026-01-01T10:00:00+02:00", "min_score": 70},
            {"activity_id": "c1", "mandatory": False, "due_days": 7, "max_attempts": 2},
        ]},
    ])  # fmt: skip
    [course] = records(engine, tenant, "courses")
    assert course["items"][0] == {"activity_id": "a3", "uuid": item}
    assert [i["activity_id"] for i in course["items"]] == ["a3", "a1"]
    [journey] = records(engine, tenant, "journeys")
    assert [(s["id"], s["name"], s["activity_ids"]) for s in journey["sections"]] == [
        ("j1s2", "Second", ["a2", "a1"]),
        ("j1s1", "First", []),
    ]
    [programme] = records(engine, tenant, "programmes")
    assert (programme["title"], programme["sku"], programme["activity_ids"]) == (
        "Programme",
        "P-1",
        ["a3", "c1"],
    )
    [path] = records(engine, tenant, "paths")
    assert path["steps"] == [
        {"activity_id": "a2", "mandatory": True, "due_at": "2026-01-01T08:00:00Z",
         "due_days": None, "min_score": 70.0, "max_attempts": None, "needs_correction": False},
        {"activity_id": "c1", "mandatory": False, "due_at": None, "due_days": 7,
         "min_score": None, "max_attempts": 2, "needs_correction": False},
    ]  # fmt: skip
    assert ids(engine, tenant, "activities") == ["a1", "a2", "a3"]


def test_references_read_back_as_external_ids(
    engine: sa.Engine, tenant: Tenant, catalog: None
) -> None:
    ingest(engine, tenant.id, "paths", [{"id": "x1", "name": "Path"}])
    ingest(engine, tenant.id, "path_sessions", [
        {"id": "s1", "path_id": "x1", "starts_at": "2026-01-01T00:00:00Z"},
    ])  # fmt: skip
    ingest(engine, tenant.id, "enrollments", [
        {"id": "e1", "user_id": "u2", "content_id": "a1", "due_at": "2026-02-01T00:00:00Z"},
        {"id": "e2", "user_id": "u1", "path_session_id": "s1"},
    ])  # fmt: skip
    ingest(engine, tenant.id, "results", [
        {"id": "r1", "user_id": "u1", "content_id": "a2", "state": "passed", "score": 8.5},
    ])  # fmt: skip
    [session] = records(engine, tenant, "path_sessions")
    assert session["path_id"] == "x1"
    first, second = records(engine, tenant, "enrollments")
    assert (first["user_id"], first["content_id"], first["path_session_id"]) == ("u2", "a1", None)
    assert (second["content_id"], second["path_session_id"]) == ("x1", "s1")
    [result] = records(engine, tenant, "results")
    assert (result["user_id"], result["content_id"], result["score"]) == ("u1", "a2", 8.5)


def test_nested_parts_take_one_query_per_batch_however_many_records(
    engine: sa.Engine, tenant: Tenant, catalog: None
) -> None:
    ingest(engine, tenant.id, "courses", [
        {"id": f"c{n}", "name": f"Course {n}", "items": [{"activity_id": "a1"}]} for n in range(5)
    ])  # fmt: skip
    statements: list[str] = []

    def count(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "content_items" in statement:
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        found = records(engine, tenant, "courses", batch=2)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert [[item["activity_id"] for item in course["items"]] for course in found] == [["a1"]] * 5
    assert len(statements) == 3, "5 courses in batches of 2: one items query per batch"


def test_another_tenant_s_records_never_show(
    engine: sa.Engine, tenant: Tenant, other_tenant: Tenant
) -> None:
    ingest(engine, tenant.id, "users", [{"id": "u1", "custom_fields": {"a": "acme"}}])
    ingest(engine, other_tenant.id, "users", [
        {"id": "u1", "custom_fields": {"a": "globex"}}, {"id": "u9"},
    ])  # fmt: skip
    [user] = records(engine, tenant, "users")
    assert (user["id"], user["custom_fields"]) == ("u1", {"a": "acme"})
