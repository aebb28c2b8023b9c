"""A small known world, written through the write path, that report tests read back.

Two tenants share group names, external ids and the shape of their records, so that a
leak from one into the other shows as a wrong row. Acme's tree:

    Acme ── Sales ── Sales Benelux
        └── Engineering

ann (u1) is in Sales, bob (u2) in Sales Benelux, cy (u3) in Engineering and dee (u4) in
no group. The figures that tests expect are written next to the records that make them.
"""

from typing import Any

import sqlalchemy as sa

from learnreport.ingest import ingest
from learnreport.store import tenants
from learnreport.store.tenants import Tenant

UUIDS = {
    "u1": "11111111-1111-4111-8111-111111111111",
    "a1": "aaaaaaaa-1111-4111-8111-111111111111",
    "j1": "bbbbbbbb-1111-4111-8111-111111111111",
    "p1": "cccccccc-1111-4111-8111-111111111111",
    "k1": "dddddddd-1111-4111-8111-111111111111",
}

GROUPS = [
    {"id": "g-root", "name": "Acme", "type": "company", "modified_at": "2025-01-01T00:00:00Z"},
    {
        "id": "g-sales",
        "name": "Sales",
        "type": "division",
        "parent_id": "g-root",
        "external_name": "DIV-SAL",
        "name_i18n": {"en": "Sales", "nl": "Verkoop"},
        "extra": {"cost_center": "1001"},
        "modified_at": "2025-02-01T00:00:00Z",
    },
    {
        "id": "g-benelux",
        "name": "Sales Benelux",
        "type": "department",
        "parent_id": "g-sales",
        "created_by_user_importer": True,
        "modified_at": "2025-03-01T00:00:00Z",
    },
    {
        "id": "g-eng",
        "name": "Engineering",
        "type": "division",
        "parent_id": "g-root",
        "modified_at": "2025-04-01T00:00:00Z",
    },
]

USERS = [
    {
        "id": "u1",
        "uuid": UUIDS["u1"],
        "email": "Ann@Acme.example",
        "first_name": "Ann",
        "registration_date": "2025-01-10T08:00:00Z",
        "last_seen": "2025-06-01T12:00:00Z",
        "contract_start_date": "2025-01-01",
        "employee_id": "E1",
        "custom_fields": {"region": "EMEA", "status": "senior"},
        "modified_at": "2025-01-10T08:00:00Z",
    },
    {
        "id": "u2",
        "email": "bob@acme.example",
        "first_name": "Bob",
        "status": "pending",
        "registration_date": "2025-03-05T08:00:00Z",
        "last_seen": "2025-03-06T12:00:00Z",
        "contract_start_date": "2025-03-01",
        "contract_end_date": "2025-12-31",
        "employee_id": "E2",
        "custom_fields": {"region": "AMER"},
        "modified_at": "2025-03-05T08:00:00Z",
    },
    {
        "id": "u3",
        "email": "cy@acme.example",
        "first_name": "Cy",
        "registration_date": "2025-05-20T08:00:00Z",
        "employee_id": "E3",
        "modified_at": "2025-05-20T08:00:00Z",
    },
    {
        "id": "u4",
        "email": "dee@acme.example",
        "first_name": "Dee",
        "status": "suspended",
        "modified_at": "2025-06-20T08:00:00Z",
    },
]

MEMBERSHIPS = [
    {"user_id": "u1", "group_id": "g-sales"},
    {"user_id": "u2", "group_id": "g-benelux"},
    {"user_id": "u3", "group_id": "g-eng"},
]

ACTIVITIES = [
    {"id": "a1", "uuid": UUIDS["a1"], "name": "Onboarding", "identifier": "ACT-1",
     "type": "exam", "duration": 30, "training_type": "formal", "accreditation_points": 1.5},
    {"id": "a2", "name": "Safety", "type": "learning-bite", "duration": 15,
     "training_type": "informal"},
    {"id": "a3", "name": "Ethics", "type": "video"},
]  # fmt: skip

CATALOG: dict[str, list[dict[str, Any]]] = {
    "journeys": [
        {
            "id": "j1",
            "uuid": UUIDS["j1"],
            "name": "First year",
            "sections": [
                {"id": "j1s1", "name": "Week one", "activity_ids": ["a1"]},
                {"id": "j1s2", "name": "Month one", "activity_ids": ["a2"]},
            ],
        }
    ],
    "programmes": [
        {"id": "p1", "uuid": UUIDS["p1"], "title": "People Analytics", "activity_ids": ["a1", "a2"]}
    ],
    "skills": [{"id": "k1", "uuid": UUIDS["k1"], "name": "Negotiation"}],
}

ENROLLMENTS = [
    {"id": "e1", "user_id": "u1", "content_id": "a1", "mandatory": True},
    {"id": "e2", "user_id": "u1", "content_id": "a2", "mandatory": False},
    {"id": "e3", "user_id": "u2", "content_id": "a2", "mandatory": False},
]


def _result(id_: str, user: str, content: str, state: str, **fields: Any) -> dict[str, Any]:
    return {"id": id_, "user_id": user, "content_id": content, "state": state, **fields}


RESULTS = [
    # modules: training time counts r1 (30 formal), r3 (15 informal), r5 (30 formal), r6 (0)
    _result("r1", "u1", "a1", "completed", progress=100, started_at="2025-01-31T09:00:00Z",
            completed_at="2025-02-01T10:00:00Z", modified_at="2025-02-01T10:00:00Z",
            score=90, grade="good"),
    _result("r2", "u1", "a2", "failed", progress=100, started_at="2025-02-20T09:00:00Z",
            failed_at="2025-03-01T09:00:00Z", modified_at="2025-03-01T09:00:00Z"),
    _result("r3", "u1", "a2", "passed", attempt=2, progress=100,
            started_at="2025-03-10T09:00:00Z", completed_at="2025-03-15T09:00:00Z",
            expires_at="2026-03-15T00:00:00Z", graded_at="2025-03-16T09:00:00Z",
            modified_at="2025-03-16T09:00:00Z"),
    _result("r4", "u2", "a2", "in_progress", progress=40, started_at="2025-04-01T09:00:00Z",
            modified_at="2025-04-02T09:00:00Z"),
    _result("r5", "u3", "a1", "passed", progress=100, started_at="2025-06-29T09:00:00Z",
            completed_at="2025-06-30T23:59:59Z", modified_at="2025-06-30T23:59:59Z"),
    _result("r6", "u3", "a3", "completed", progress=100, started_at="2025-06-30T09:00:00Z",
            completed_at="2025-07-01T00:00:00Z", expired_at="2025-08-01T00:00:00Z",
            modified_at="2025-08-01T00:00:00Z"),
    _result("r7", "u4", "a1", "not_started", modified_at="2025-06-20T08:00:00Z"),
    # journeys
    _result("rj1", "u1", "j1", "in_progress", progress=50, created_at="2025-02-01T00:00:00Z",
            modified_at="2025-02-10T00:00:00Z"),
    _result("rs1", "u1", "j1s1", "completed", progress=100, created_at="2025-02-01T00:00:00Z",
            completed_at="2025-02-10T00:00:00Z", modified_at="2025-02-10T00:00:00Z"),
    _result("rj2", "u3", "j1", "completed", progress=100, created_at="2025-06-01T00:00:00Z",
            completed_at="2025-07-01T00:00:00Z", modified_at="2025-07-01T00:00:00Z"),
    # programmes
    _result("rp1", "u1", "p1", "completed", progress=100, completed_at="2025-05-05T00:00:00Z",
            modified_at="2025-05-05T00:00:00Z"),
    _result("rp2", "u2", "p1", "in_progress", progress=20, modified_at="2025-05-06T00:00:00Z"),
    # skills
    _result("rk1", "u1", "k1", "completed", progress=100, completed_at="2025-04-04T00:00:00Z",
            seen_at="2025-04-01T00:00:00Z", flagged=True, expires_at="2026-04-04T00:00:00Z",
            last_nudged_at="2025-03-30T00:00:00Z", modified_at="2025-04-04T00:00:00Z"),
    _result("rk2", "u3", "k1", "failed", progress=100, failed_at="2025-04-05T00:00:00Z",
            modified_at="2025-04-05T00:00:00Z"),
]  # fmt: skip

OTHER = {
    "groups": [{"id": "g-sales", "name": "Sales"}],
    "users": [{"id": "u1", "email": "ann@globex.example", "first_name": "Ann"}],
    "memberships": [{"user_id": "u1", "group_id": "g-sales"}],
    "activities": [{"id": "a1", "name": "Onboarding", "duration": 999}],
    "results": [
        _result("r1", "u1", "a1", "completed", completed_at="2025-02-01T10:00:00Z"),
        _result("r99", "u1", "a1", "passed", attempt=2, completed_at="2025-02-02T10:00:00Z"),
    ],
}
"""Globex: the same names and ids as acme's, and one id (r99) acme does not have."""


def build(engine: sa.Engine, acme: Tenant, globex: Tenant) -> None:
    with engine.begin() as connection:
        tenants.update(connection, acme.slug, training_types_enabled=True)
    for kind, records in [
        ("groups", GROUPS),
        ("users", USERS),
        ("memberships", MEMBERSHIPS),
        ("activities", ACTIVITIES),
        *CATALOG.items(),
        ("enrollments", ENROLLMENTS),
        ("results", RESULTS),
    ]:
        ingest(engine, acme.id, kind, records)
    for kind, records in OTHER.items():
        ingest(engine, globex.id, kind, records)


def uuids(engine: sa.Engine, tenant: Tenant, keyed: list[tuple[sa.Table, str]]) -> dict[str, str]:
    """The uuids of the tenant's records, by the column named beside each table (an
    external id, a group's name, a custom field's key): dialects speak in uuids."""
    found: dict[str, str] = {}
    with engine.connect() as connection:
        for table, key in keyed:
            query = sa.select(table.c[key], table.c.uuid).where(table.c.tenant_id == tenant.id)
            found.update({name: uuid for name, uuid in connection.execute(query).all()})
    return found
