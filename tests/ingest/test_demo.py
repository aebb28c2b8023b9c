"""The demo: deterministic, complete, and written only once unless reset."""

import sqlalchemy as sa

from learnreport.domain.states import ResultState
from learnreport.ingest import demo
from learnreport.store.schema import results, tenants, users


def snapshot(engine: sa.Engine) -> list[tuple]:
    """Every result with its tenant's slug: tenant ids are not stable across a reset."""
    columns = [c for c in results.columns if c.name != "tenant_id"]
    query = (
        sa.select(tenants.c.slug, *columns)
        .join(tenants, tenants.c.id == results.c.tenant_id)
        .order_by(tenants.c.slug, results.c.id)
    )
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def test_the_demo_writes_two_tenants_with_results_in_every_state(engine: sa.Engine) -> None:
    written = demo.run(engine, users=40, results=2_000)
    assert written is not None and set(written) == {"acme", "globex"}
    with engine.connect() as connection:
        slugs = (
            connection.execute(sa.select(tenants.c.slug).order_by(tenants.c.slug)).scalars().all()
        )
        states = set(connection.execute(sa.select(results.c.state).distinct()).scalars())
        retakes = connection.execute(
            sa.select(sa.func.count()).where(results.c.attempt > 1)
        ).scalar_one()
        people = connection.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
    assert slugs == ["acme", "globex"]
    assert states == set(ResultState)
    assert retakes > 0
    assert people == 40 + 5


def test_the_demo_is_deterministic_for_a_seed(engine: sa.Engine) -> None:
    demo.run(engine, users=20, results=500, seed=3)
    first = snapshot(engine)
    demo.run(engine, users=20, results=500, seed=3, reset=True)
    assert snapshot(engine) == first


def test_the_demo_changes_nothing_when_its_tenants_exist_unless_reset(engine: sa.Engine) -> None:
    demo.run(engine, users=20, results=500)
    before = snapshot(engine)
    assert demo.run(engine, users=30, results=900) is None
    assert snapshot(engine) == before
    assert demo.run(engine, users=30, results=900, reset=True) is not None
    assert snapshot(engine) != before
