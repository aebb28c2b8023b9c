"""A lookup of many keys is one query, and each database finds the keys through its index."""

import pytest
import sqlalchemy as sa

from learnreport.ingest import upsert
from learnreport.store import bulk
from learnreport.store.schema import users
from learnreport.store.tenants import Tenant


def test_among_finds_exactly_the_given_keys(engine: sa.Engine, tenant: Tenant) -> None:
    with engine.begin() as connection:
        people = [{"id": f"u{n}", "email": f"u{n}@acme.example"} for n in range(1, 6)]
        upsert(connection, tenant.id, "users", people)
        query = sa.select(users.c.external_id).where(
            users.c.tenant_id == tenant.id, bulk.among(users.c.external_id, ["u2", "u4", "u9"])
        )
        found = sorted(connection.execute(query).scalars())

    assert found == ["u2", "u4"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_lookup_by_among_searches_the_unique_index_rather_than_scanning(
    engine: sa.Engine, tenant: Tenant
) -> None:
    query = sa.select(users.c.id).where(
        users.c.tenant_id == tenant.id, bulk.among(users.c.external_id, ["u1", "u2"])
    )
    compiled = query.compile(engine)
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}",
            tuple(compiled.params[name] for name in compiled.positiontup or ()),
        ).all()

    steps = [row[-1] for row in plan]
    assert any("external_id=?" in step for step in steps), steps
    assert not any(step.startswith("SCAN users") for step in steps), steps
