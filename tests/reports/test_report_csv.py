"""The CSV the database writes for a report is byte for byte the CSV Python writes for it.

`base.stream_csv` (SQL-written lines on SQLite, COPY on PostgreSQL) against `api.render`'s
CSV of `base.stream`'s rows, over every native report, on both databases.
"""

import pytest
import sqlalchemy as sa

from learnreport.api import render
from learnreport.domain.access import Principal, RoleName
from learnreport.ingest import ingest
from learnreport.reports import NATIVE, base
from learnreport.reports.filters import Criteria
from learnreport.store.schema import groups
from learnreport.store.tenants import Tenant

AWKWARD = [
    "=1+2",
    "+31 6 1234",
    "-minus",
    "@home",
    "\tTabbed",
    "\rCarriage",
    'say "hi", twice',
    "two\nlines",
    "crlf\r\nend",
    "",
    "naïve 😀 ünïcode",
    "'quoted already",
    " spaced ",
    "a,b",
]
"""Text that exercises every rule: formula starts, quoting, line breaks, unicode."""

FLOATS = [0.0, 0.1, 100.0, 1 / 3, 33.333333333333336, 1e-05, 2.5e-4, 1e15, 1.5e15, 1e16, 7.25]
PERCENTS = [value for value in FLOATS if value <= 100]


def awkward_world(engine: sa.Engine, tenant: Tenant) -> None:
    """People, content and results whose every text column holds awkward text, and whose
    floats run from the ordinary to those SQLite cannot write as Python does."""
    people = [
        {
            "id": f"x{n}",
            "email": f"x{n}@acme.example",
            "first_name": text,
            "last_name": AWKWARD[-1 - n],
            "employee_id": f"-{n}",
            "custom_fields": {"region": text, "=formula": AWKWARD[n // 2]},
            "modified_at": "2025-01-10T08:00:00Z",
        }
        for n, text in enumerate(AWKWARD)
    ]
    activities = [
        {
            "id": f"c{n}",
            "name": AWKWARD[n % len(AWKWARD)] or "-",
            "identifier": AWKWARD[-1 - n % len(AWKWARD)],
            "type": "exam",
            "duration": n * 7,
            "accreditation_points": value,
        }
        for n, value in enumerate(FLOATS)
    ]
    results = [
        {
            "id": f"xr{n}",
            "user_id": f"x{n % len(AWKWARD)}",
            "content_id": f"c{n % len(FLOATS)}",
            "state": "passed" if n % 2 else "in_progress",
            "progress": PERCENTS[n % len(PERCENTS)],
            "score": FLOATS[-1 - n % len(FLOATS)],
            "grade": AWKWARD[n % len(AWKWARD)],
            "completed_at": "2025-02-01T10:00:00Z" if n % 2 else None,
            "modified_at": "2025-02-01T10:00:00Z",
        }
        for n in range(40)
    ]
    ingest(engine, tenant.id, "users", people)
    ingest(engine, tenant.id, "memberships", [{"user_id": "x1", "group_id": "g-sales"}])
    ingest(engine, tenant.id, "activities", activities)
    ingest(engine, tenant.id, "results", results)


def owner(tenant: Tenant) -> Principal:
    return Principal(tenant.id, tenant.slug, "test", RoleName.parse("owner"), frozenset())


def department_admin(engine: sa.Engine, tenant: Tenant) -> Principal:
    with engine.connect() as connection:
        sales = connection.execute(
            sa.select(groups.c.id).where(groups.c.tenant_id == tenant.id, groups.c.name == "Sales")
        ).scalar_one()
    role = RoleName.parse("department_admin")
    return Principal(tenant.id, tenant.slug, "test", role, frozenset(), (sales,))


def both(
    engine: sa.Engine, name: str, who: Principal, criteria: Criteria | None = None
) -> tuple[bytes, bytes]:
    """The report's CSV as the database writes it, and as Python writes it."""
    with engine.connect() as connection:
        report = NATIVE[name].define(connection, who.tenant_id)
        written = b"".join(base.stream_csv(connection, report, who, criteria or {}))
    with engine.connect() as connection:
        rows = base.stream(connection, report, who, criteria or {})
        rendered = b"".join(render.stream("csv", report.names, rows))
    return written, rendered


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_every_report_written_by_the_database_is_byte_for_byte_pythons_csv(
    engine: sa.Engine, world: Tenant, name: str
) -> None:
    awkward_world(engine, world)
    written, rendered = both(engine, name, owner(world))
    assert written == rendered
    assert rendered.count(b"\r\n") > 2


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_a_department_administrators_export_is_byte_for_byte_pythons_csv(
    engine: sa.Engine, world: Tenant, name: str
) -> None:
    awkward_world(engine, world)
    written, rendered = both(engine, name, department_admin(engine, world))
    assert written == rendered


def test_a_filtered_export_is_byte_for_byte_pythons_csv(engine: sa.Engine, world: Tenant) -> None:
    awkward_world(engine, world)
    criteria: Criteria = {"state": ["passed"]}
    written, rendered = both(engine, "modules", owner(world), criteria)
    assert written == rendered
    assert b"in_progress" not in written


def test_an_export_without_rows_is_its_header_line(engine: sa.Engine, tenant: Tenant) -> None:
    written, rendered = both(engine, "modules", owner(tenant))
    assert written == rendered
    assert written.count(b"\r\n") == 1
