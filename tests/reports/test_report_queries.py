"""Every report query is limited to the tenant and the principal's groups, and its three
ways of listing (pages, keyset pages, the stream) agree."""

from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learnreport.domain.access import Principal, RoleName
from learnreport.reports import NATIVE, base
from learnreport.store.schema import groups
from learnreport.store.tenants import Tenant


def principal(tenant: Tenant, groups: tuple[int, ...] | None = None) -> Principal:
    role = RoleName.parse("owner" if groups is None else "department_admin")
    return Principal(tenant.id, tenant.slug, "test", role, frozenset(), groups)


def group_id(engine: sa.Engine, tenant: Tenant, name: str) -> int:
    with engine.connect() as connection:
        query = sa.select(groups.c.id).where(groups.c.tenant_id == tenant.id, groups.c.name == name)
        return int(connection.execute(query).scalar_one())


def listing(
    engine: sa.Engine, name: str, who: Principal, criteria: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        report = NATIVE[name].define(connection, who.tenant_id)
        rows = base.page(connection, report, who, criteria or {}, offset=0, limit=1000)
        return [dict(zip(report.names, row, strict=True)) for row in rows]


def ids(rows: list[dict[str, Any]], key: str = "id") -> list[str]:
    return [row[key] for row in rows]


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_no_report_shows_a_row_of_another_tenant(
    engine: sa.Engine, world: Tenant, other_tenant: Tenant, name: str
) -> None:
    seen = listing(engine, name, principal(other_tenant))
    key = "user_id" if name == "training_time" else "id"
    expected = {
        "users": ["u1"],
        "groups": ["g-sales"],
        "modules": ["r1", "r99"],
        "training_time": ["u1"],
    }.get(name, [])
    assert ids(seen, key) == expected


def test_a_department_administrator_sees_the_people_of_its_groups_and_their_subgroups(
    engine: sa.Engine, world: Tenant
) -> None:
    sales = principal(world, (group_id(engine, world, "Sales"),))
    assert ids(listing(engine, "users", sales)) == ["u1", "u2"]
    assert ids(listing(engine, "modules", sales)) == ["r1", "r2", "r3", "r4"]
    assert ids(listing(engine, "training_time", sales), "user_id") == ["u1", "u2"]
    assert ids(listing(engine, "groups", sales)) == ["g-sales", "g-benelux"]


def test_a_principal_limited_to_no_group_sees_nothing(engine: sa.Engine, world: Tenant) -> None:
    nobody = principal(world, ())
    assert all(listing(engine, name, nobody) == [] for name in NATIVE)


def test_a_department_administrator_cannot_widen_its_view_with_a_group_filter(
    engine: sa.Engine, world: Tenant
) -> None:
    benelux = principal(world, (group_id(engine, world, "Sales Benelux"),))
    assert ids(listing(engine, "users", benelux, {"group_name": ["Acme"]})) == ["u2"]
    assert ids(listing(engine, "users", benelux, {"group_name": ["Engineering"]})) == []


def test_counts_agree_with_the_rows_for_every_principal(engine: sa.Engine, world: Tenant) -> None:
    for who in (principal(world), principal(world, (group_id(engine, world, "Sales"),))):
        with engine.connect() as connection:
            for name, definition in NATIVE.items():
                report = definition.define(connection, world.id)
                assert base.count(connection, report, who, {}) == len(listing(engine, name, who))


def test_one_record_of_another_tenant_is_not_found(
    engine: sa.Engine, world: Tenant, other_tenant: Tenant
) -> None:
    with engine.connect() as connection:
        report = NATIVE["modules"].define(connection, world.id)
        assert base.one(connection, report, principal(world), {}, "r99") is None
        assert base.one(connection, report, principal(other_tenant), {}, "r99") is not None


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(size=st.integers(min_value=1, max_value=8), name=st.sampled_from(sorted(NATIVE)))
def test_keyset_pages_numbered_pages_and_the_stream_list_the_same_rows(
    engine: sa.Engine, world: Tenant, size: int, name: str
) -> None:
    who = principal(world)
    with engine.connect() as connection:
        report = NATIVE[name].define(connection, world.id)
        total = base.count(connection, report, who, {})
        numbered = [
            row
            for offset in range(0, total, size)
            for row in base.page(connection, report, who, {}, offset=offset, limit=size)
        ]
        keyset: list[Any] = []
        after = None
        while True:
            rows, after = base.seek(connection, report, who, {}, after=after, limit=size)
            keyset.extend(rows)
            if after is None:
                break
        streamed = [row for batch in base.stream(connection, report, who, {}, batch=size)
                    for row in batch]  # fmt: skip
    assert [tuple(row) for row in keyset] == [tuple(row) for row in numbered]
    assert [tuple(row) for row in streamed] == [tuple(row) for row in numbered]
    assert len(numbered) == total


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    asks=st.lists(
        st.tuples(
            st.sampled_from([None, "Sales", "Sales Benelux"]),
            st.sampled_from([{}, {"state": ["completed"]}, {"user_id": ["u1", "u2"]}]),
        ),
        min_size=2,
        max_size=6,
    )
)
def test_keyset_pages_asked_in_any_order_keep_each_principals_view_and_filters(
    engine: sa.Engine, world: Tenant, asks: list[tuple[str | None, dict[str, Any]]]
) -> None:
    """Keyset queries are built once and kept: one kept for one view or filter must never
    answer another."""
    with engine.connect() as connection:
        report = NATIVE["modules"].define(connection, world.id)
        for group, criteria in asks:
            who = principal(world, None if group is None else (group_id(engine, world, group),))
            expected = base.page(connection, report, who, criteria, offset=0, limit=1000)
            seen: list[Any] = []
            after = None
            while True:
                rows, after = base.seek(connection, report, who, criteria, after=after, limit=2)
                seen.extend(rows)
                if after is None:
                    break
            assert [tuple(row) for row in seen] == [tuple(row) for row in expected]
