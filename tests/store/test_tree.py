"""The group tree's queries give the same people whether the groups come as ids or as a
query, and PostgreSQL looks the queried ids up once rather than for every row."""

import pytest
import sqlalchemy as sa

from learnreport.ingest import ingest
from learnreport.reports.visibility import named_groups
from learnreport.store.schema import groups, users
from learnreport.store.tenants import Tenant
from learnreport.store.tree import groups_below, is_member_below, members_below

TREE = [
    {"id": "g1", "name": "Sales"},
    {"id": "g2", "name": "Sales East", "parent_id": "g1"},
    {"id": "g3", "name": "Sales East Team", "parent_id": "g2"},
    {"id": "g4", "name": "Support"},
]
PEOPLE = {"u1": ["g1"], "u2": ["g2"], "u3": ["g3", "g4"], "u4": ["g4"], "u5": []}


@pytest.fixture
def tree(engine: sa.Engine, tenant: Tenant) -> dict[str, int]:
    ingest(engine, tenant.id, "groups", TREE)
    people = [{"id": person, "email": f"{person}@x.example"} for person in PEOPLE]
    ingest(engine, tenant.id, "users", people)
    placed = [
        {"user_id": person, "group_id": group}
        for person, chosen in PEOPLE.items()
        for group in chosen
    ]
    ingest(engine, tenant.id, "memberships", placed)
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(groups.c.name, groups.c.id).where(groups.c.tenant_id == tenant.id)
        ).all()
    return dict(found)


@pytest.mark.parametrize("names", [["Sales"], ["Sales East"], ["Support", "Sales East Team"]])
def test_groups_named_by_a_query_hold_the_people_of_the_same_groups_given_as_ids(
    engine: sa.Engine, tenant: Tenant, tree: dict[str, int], names: list[str]
) -> None:
    ids = [tree[name] for name in names]
    queried = named_groups(tenant.id, names)
    u = users.c
    with engine.connect() as connection:
        for given in (ids, queried):
            listed = set(connection.scalars(members_below(tenant.id, given)))
            below = set(connection.scalars(groups_below(tenant.id, given)))
            one_by_one = set(
                connection.scalars(
                    sa.select(u.id).where(
                        u.tenant_id == tenant.id, is_member_below(u.id, tenant.id, given)
                    )
                )
            )
            expected_ids = set(connection.scalars(members_below(tenant.id, ids)))
            assert listed == one_by_one == expected_ids
            assert below == set(connection.scalars(groups_below(tenant.id, ids)))
        assert listed


@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_looks_up_the_ids_of_named_groups_once(
    engine: sa.Engine, tenant: Tenant, tree: dict[str, int]
) -> None:
    """An `InitPlan` runs once per statement; planned as a join, the lookup of the named
    groups ran inside the check of every row of a keyset page."""
    query = members_below(tenant.id, named_groups(tenant.id, ["Sales"]))
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {compiled}").scalars())
    assert "InitPlan" in plan, plan
