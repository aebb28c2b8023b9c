"""Catalog records with nested parts: course items, journey sections, programmes, paths."""

import pytest
import sqlalchemy as sa

from learnreport.ingest import BatchRejected, ingest
from learnreport.store.schema import content_items, contents, enrollments, path_steps
from learnreport.store.tenants import Tenant


@pytest.fixture
def activities(engine: sa.Engine, tenant: Tenant) -> None:
    ingest(engine, tenant.id, "activities", [{"id": f"a{n}", "name": f"A{n}"} for n in range(1, 4)])


def items(engine: sa.Engine, parent: str) -> list[tuple[str, str]]:
    child = contents.alias()
    query = (
        sa.select(child.c.external_id, content_items.c.uuid)
        .join(contents, sa.and_(contents.c.tenant_id == content_items.c.tenant_id,
                                contents.c.id == content_items.c.parent_id))
        .join(child, sa.and_(child.c.tenant_id == content_items.c.tenant_id,
                             child.c.id == content_items.c.child_id))
        .where(contents.c.external_id == parent)
        .order_by(content_items.c.position)
    )  # fmt: skip
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def test_course_items_keep_their_uuid_while_the_same_activity_stays_in_the_course(
    engine: sa.Engine, tenant: Tenant, activities: None
) -> None:
    ingest(
        engine,
        tenant.id,
        "courses",
        [{"id": "c1", "name": "C", "items": [{"activity_id": "a1"}, {"activity_id": "a2"}]}],
    )
    before = dict(items(engine, "c1"))
    summary = ingest(
        engine,
        tenant.id,
        "courses",
        [{"id": "c1", "name": "C", "items": [{"activity_id": "a2"}, {"activity_id": "a3"}]}],
    )
    after = items(engine, "c1")
    assert summary.updated == 1
    assert [external for external, _ in after] == ["a2", "a3"]
    assert dict(after)["a2"] == before["a2"]


def test_journey_sections_become_catalog_entries_linked_in_order(
    engine: sa.Engine, tenant: Tenant, activities: None
) -> None:
    journey = {"id": "j1", "name": "J", "sections": [
        {"id": "s1", "name": "One", "activity_ids": ["a1"]},
        {"id": "s2", "name": "Two", "activity_ids": ["a3", "a2"]},
    ]}  # fmt: skip
    ingest(engine, tenant.id, "journeys", [journey])
    assert [external for external, _ in items(engine, "j1")] == ["s1", "s2"]
    assert [external for external, _ in items(engine, "s2")] == ["a3", "a2"]
    assert ingest(engine, tenant.id, "journeys", [journey]).unchanged == 1


def test_a_child_that_is_not_in_the_catalog_is_named_with_its_position(
    engine: sa.Engine, tenant: Tenant, activities: None
) -> None:
    with pytest.raises(BatchRejected) as caught:
        ingest(engine, tenant.id, "paths", [
            {"id": "p1", "name": "P", "steps": [{"activity_id": "a1"}, {"activity_id": "zz"}]}
        ])  # fmt: skip
    assert [(e.index, e.field) for e in caught.value.errors] == [(0, "steps[1].activity_id")]


def test_an_id_of_one_kind_cannot_be_reused_for_another(
    engine: sa.Engine, tenant: Tenant, activities: None
) -> None:
    with pytest.raises(BatchRejected) as caught:
        ingest(engine, tenant.id, "skills", [{"id": "a1", "name": "Skill"}])
    assert caught.value.errors[0].reason == "'a1' is already a activity"


def test_path_steps_keep_their_rules(engine: sa.Engine, tenant: Tenant, activities: None) -> None:
    ingest(engine, tenant.id, "paths", [{"id": "p1", "name": "P", "steps": [
        {"activity_id": "a1", "due_days": 7},
        {"activity_id": "a2", "mandatory": False, "min_score": 70, "max_attempts": 2,
         "needs_correction": True, "due_at": "2025-02-01T00:00:00+02:00"},
    ]}])  # fmt: skip
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(path_steps.c.mandatory, path_steps.c.due_days, path_steps.c.due_at,
                      path_steps.c.min_score, path_steps.c.max_attempts)
            .order_by(path_steps.c.position)
        ).all()  # fmt: skip
    assert [tuple(row) for row in rows] == [
        (True, 7, None, None, None),
        (False, None, "2025-01-31T22:00:00Z", 70.0, 2),
    ]


def test_an_enrollment_in_a_path_session_is_an_enrollment_in_its_path(
    engine: sa.Engine, tenant: Tenant, activities: None
) -> None:
    ingest(engine, tenant.id, "users", [{"id": "u1"}])
    ingest(
        engine, tenant.id, "paths", [{"id": "p1", "name": "P", "steps": [{"activity_id": "a1"}]}]
    )
    ingest(
        engine,
        tenant.id,
        "path_sessions",
        [{"id": "s1", "path_id": "p1", "starts_at": "2025-01-01T00:00:00Z"}],
    )
    ingest(
        engine, tenant.id, "enrollments", [{"id": "e1", "user_id": "u1", "path_session_id": "s1"}]
    )
    with engine.connect() as connection:
        content_id = connection.execute(sa.select(enrollments.c.content_id)).scalar_one()
        path_id = connection.execute(
            sa.select(contents.c.id).where(contents.c.external_id == "p1")
        ).scalar_one()
    assert content_id == path_id
    with pytest.raises(BatchRejected) as caught:
        ingest(engine, tenant.id, "enrollments", [{"id": "e2", "user_id": "u1"}])
    assert caught.value.errors[0].field == "content_id"
