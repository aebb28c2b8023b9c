"""A keyset page limited to some people walks the report in key order on SQLite, within a
window, checking each row's person by probing its memberships or by looking it up in the
list of people, and falls back to the visible people's rows when the window holds too few,
or starts from them when the people are few: every way lists exactly the rows the numbered
pages list, for every principal and filter."""

from typing import Any

import pytest
import sqlalchemy as sa

from learnreport.domain.access import Principal, RoleName
from learnreport.reports import NATIVE, base
from learnreport.store.csv_stream import for_driver
from learnreport.store.schema import contents, groups
from learnreport.store.tenants import Tenant


def principal(tenant: Tenant, limited_to: tuple[int, ...] | None = None) -> Principal:
    role = RoleName.parse("owner" if limited_to is None else "department_admin")
    return Principal(tenant.id, tenant.slug, "test", role, frozenset(), limited_to)


def group_ids(engine: sa.Engine, tenant: Tenant) -> list[int]:
    with engine.connect() as connection:
        query = sa.select(groups.c.id).where(groups.c.tenant_id == tenant.id)
        return sorted(connection.execute(query).scalars())


def walked(
    engine: sa.Engine, name: str, who: Principal, criteria: dict[str, Any], size: int
) -> list[Any]:
    with engine.connect() as connection:
        report = NATIVE[name].define(connection, who.tenant_id)
        seen: list[Any] = []
        after = None
        while True:
            rows, after = base.seek(connection, report, who, criteria, after=after, limit=size)
            seen += rows
            if after is None:
                return seen


def numbered(engine: sa.Engine, name: str, who: Principal, criteria: dict[str, Any]) -> list[Any]:
    with engine.connect() as connection:
        report = NATIVE[name].define(connection, who.tenant_id)
        return list(base.page(connection, report, who, criteria, offset=0, limit=10_000))


WAYS = {
    "probed": {"LISTED_AT_MOST": 0, "LIST_AT_MOST": 0},
    "listed once": {"LISTED_AT_MOST": 0, "LIST_AT_MOST": 10**6},
    "from the people's rows": {"LISTED_AT_MOST": 10**6},
}
"""Limits on the people counted that make `base._walk` take each way on the small world."""


def take(monkeypatch: pytest.MonkeyPatch, way: str, window: int = base.WINDOW) -> None:
    for name, value in {**WAYS[way], "WINDOW": window, "LIST_WINDOW": window}.items():
        monkeypatch.setattr(base, name, value)


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("window", [1, 3, base.WINDOW])
@pytest.mark.parametrize("name", ["modules", "users"])
def test_walked_pages_list_the_rows_of_the_numbered_pages(
    engine: sa.Engine,
    world: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    way: str,
    window: int,
    name: str,
) -> None:
    take(monkeypatch, way, window)
    views: list[tuple[Principal, dict[str, Any]]] = [
        (principal(world, (group,)), {}) for group in group_ids(engine, world)
    ]
    views += [(principal(world), {"group_name": ["Sales"]}), (principal(world, ()), {})]
    for who, criteria in views:
        expected = numbered(engine, name, who, criteria)
        for size in (1, 2, 5):
            assert walked(engine, name, who, criteria, size) == expected, (who.groups, size)


CHECKS = {
    "probed": (
        "memberships.user_id = ",
        "memberships USING COVERING INDEX ix_memberships_tenant_id_user_id_group_id "
        "(tenant_id=? AND user_id=?)",
    ),
    "listed once": ("user_id + ? IN", "LIST SUBQUERY"),
}
"""How each walk's SQL checks a row's person, and the step of its plan that shows it."""


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("way", CHECKS)
@pytest.mark.parametrize("criteria", [{}, {"group_name": ["Sales"]}])
def test_a_department_page_walks_the_results_in_key_order_without_sorting(
    engine: sa.Engine,
    world: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    way: str,
    criteria: dict[str, Any],
) -> None:
    """The plan that costs a page: results by their key index, each row's person probed in
    the memberships index or looked up in the people listed once; lost, a page reads and
    sorts every row of the department."""
    take(monkeypatch, way, window=1)
    sql_mark, plan_step = CHECKS[way]
    who = principal(world, tuple(group_ids(engine, world)[:1]))
    sent: list[tuple[str, Any]] = []

    def keep(*args: Any) -> None:
        sent.append((args[2], args[3]))

    with engine.connect() as connection:
        report = NATIVE["modules"].define(connection, world.id)
        sa.event.listen(engine, "before_cursor_execute", keep)
        try:
            base.seek(connection, report, who, criteria, after=None, limit=1)
        finally:
            sa.event.remove(engine, "before_cursor_execute", keep)
        walks = [(sql, params) for sql, params in sent if sql_mark in sql]
        assert walks, sent
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {walks[0][0]}", walks[0][1]).all()
    steps = [row[-1] for row in plan]
    assert any(
        step.startswith("SEARCH results USING INDEX sqlite_autoindex_results_1") and "id<?" in step
        for step in steps
    ), steps
    assert any(plan_step in step for step in steps), steps
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in steps), steps


def test_a_page_of_modules_reads_neither_enrollments_nor_the_catalogs_kinds(
    engine: sa.Engine, world: Tenant
) -> None:
    """`optional` and the report's kind are asked of the result, which the write path gives
    its pair's enrollment type and its content's kind: asked of the enrollments, `optional`
    was a subquery per row, and asked of the catalog, the kind made SQLite filter on every
    activity of the tenant at each page."""
    who = principal(world, tuple(group_ids(engine, world)[:1]))
    with engine.connect() as connection:
        report = NATIVE["modules"].define(connection, world.id)
        query = base.select(report, who, {}).order_by(report.key).limit(100)
        statement, _, _ = for_driver(query, connection.dialect)
    assert "enrollments" not in statement
    assert "contents.kind" not in statement


LARGE_TENANT = [
    ("contents", "ix_contents_tenant_id_kind_name", "605 303 51 2"),
    ("contents", "ix_contents_tenant_id_sku", "605 303 47"),
    ("contents", "sqlite_autoindex_contents_1", "605 303 1"),
    ("contents", "sqlite_autoindex_contents_2", "605 303 1"),
    ("contents", "sqlite_autoindex_contents_3", "605 303 1"),
    ("results", "ix_results_tenant_id_content_id_id", "10005000 5002500 18563 1"),
    ("results", "ix_results_tenant_id_modified_at", "10005000 5002500 2"),
    ("results", "sqlite_autoindex_results_1", "10005000 5002500 1"),
    ("results", "sqlite_autoindex_results_2", "10005000 5002500 1"),
    ("results", "sqlite_autoindex_results_3", "10005000 5002500 50 1 1"),
    ("users", "ix_users_tenant_id_employee_id", "200500 100250 1"),
    ("users", "ix_users_tenant_id_modified_at", "200500 100250 1"),
    ("users", "sqlite_autoindex_users_1", "200500 100250 1"),
    ("users", "sqlite_autoindex_users_2", "200500 100250 1"),
    ("users", "sqlite_autoindex_users_3", "200500 100250 1"),
    ("users", "sqlite_autoindex_users_4", "200500 100250 1"),
]
"""`sqlite_stat1` of the benchmark's people, catalog and 10,000,000 results (two tenants):
with these statistics, and inner joins, SQLite started a first page from the catalog."""


def first_page_plan(
    engine: sa.Engine, tenant: Tenant, report_name: str, criteria: dict[str, Any]
) -> list[str]:
    """The steps of SQLite's plan for a first page, with `LARGE_TENANT`'s statistics."""
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.exec_driver_sql("DELETE FROM sqlite_stat1")
        connection.exec_driver_sql("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)", LARGE_TENANT)
    engine.dispose()
    with engine.connect() as connection:
        report = NATIVE[report_name].define(connection, tenant.id)
        query = base._seeking(report, principal(tenant), criteria, base.LISTED, resumed=False)
        statement, parameters, order = for_driver(query.params(_limit=101), connection.dialect)
        values = tuple(parameters[name] for name in order)
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", values).all()
    return [row[-1] for row in plan]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("report_name", ["modules", "skills", "journeys"])
def test_a_first_page_walks_the_results_in_key_order_with_a_large_tenants_statistics(
    engine: sa.Engine, world: Tenant, report_name: str
) -> None:
    steps = first_page_plan(engine, world, report_name, {})
    assert steps[0].startswith("SEARCH results USING INDEX sqlite_autoindex_results_1"), steps
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in steps), steps


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_page_of_one_module_walks_its_results_in_key_order_with_a_large_tenants_statistics(
    engine: sa.Engine, world: Tenant
) -> None:
    """From the content, its results by the index of content and key: through an index of
    the content alone, a module's page read and sorted all its results (42 ms at
    10,000,000 results, 0.41 ms walked)."""
    with engine.connect() as connection:
        uuid = connection.execute(
            sa.select(contents.c.uuid).where(
                contents.c.tenant_id == world.id, contents.c.external_id == "a1"
            )
        ).scalar_one()
    steps = first_page_plan(engine, world, "modules", {"module_uuid": [uuid]})
    assert any(
        step.startswith("SEARCH results USING INDEX ix_results_tenant_id_content_id_id")
        and "id>?" in step
        for step in steps
    ), steps
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in steps), steps
