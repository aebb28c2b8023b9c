"""Users' custom fields, the group tree and memberships, as the write path keeps them."""

import pytest
import sqlalchemy as sa

from learnreport.ingest import BatchRejected, ingest
from learnreport.store.schema import custom_fields, group_tree, groups, memberships
from learnreport.store.schema import user_field_values as values
from learnreport.store.tenants import Tenant


def tree(engine: sa.Engine, tenant: Tenant) -> set[tuple[str, str, int]]:
    ancestor, descendant = groups.alias(), groups.alias()
    query = (
        sa.select(ancestor.c.external_id, descendant.c.external_id, group_tree.c.depth)
        .join(ancestor, sa.and_(ancestor.c.tenant_id == group_tree.c.tenant_id,
                                ancestor.c.id == group_tree.c.ancestor_id))
        .join(descendant, sa.and_(descendant.c.tenant_id == group_tree.c.tenant_id,
                                  descendant.c.id == group_tree.c.descendant_id))
        .where(group_tree.c.tenant_id == tenant.id)
    )  # fmt: skip
    with engine.connect() as connection:
        return set(connection.execute(query))


def test_a_group_may_come_before_its_parent_in_one_batch_and_the_tree_is_closed(
    engine: sa.Engine, tenant: Tenant
) -> None:
    ingest(engine, tenant.id, "groups", [
        {"id": "team", "name": "Team", "parent_id": "dept"},
        {"id": "dept", "name": "Dept", "parent_id": "root"},
        {"id": "root", "name": "Root"},
    ])  # fmt: skip
    assert tree(engine, tenant) == {
        ("root", "root", 0), ("dept", "dept", 0), ("team", "team", 0),
        ("root", "dept", 1), ("dept", "team", 1), ("root", "team", 2),
    }  # fmt: skip


def test_moving_a_group_moves_its_descendants_in_the_tree(
    engine: sa.Engine, tenant: Tenant
) -> None:
    ingest(engine, tenant.id, "groups", [
        {"id": "a", "name": "A"}, {"id": "b", "name": "B"},
        {"id": "a1", "name": "A1", "parent_id": "a"},
        {"id": "a11", "name": "A11", "parent_id": "a1"},
    ])  # fmt: skip
    ingest(engine, tenant.id, "groups", [{"id": "a1", "name": "A1", "parent_id": "b"}])
    assert ("b", "a11", 2) in tree(engine, tenant)
    assert ("a", "a11", 2) not in tree(engine, tenant)


def test_a_cycle_in_the_group_tree_is_refused(engine: sa.Engine, tenant: Tenant) -> None:
    ingest(
        engine,
        tenant.id,
        "groups",
        [{"id": "a", "name": "A"}, {"id": "b", "name": "B", "parent_id": "a"}],
    )
    with pytest.raises(BatchRejected) as caught:
        ingest(engine, tenant.id, "groups", [{"id": "a", "name": "A", "parent_id": "b"}])
    assert [(e.index, e.field) for e in caught.value.errors] == [(0, "parent_id")]
    assert ("a", "b", 1) in tree(engine, tenant)


def test_custom_fields_are_replaced_as_a_whole_and_count_as_a_change(
    engine: sa.Engine, tenant: Tenant
) -> None:
    user = {"id": "u1", "custom_fields": {"department": "Sales", "region": "EMEA"}}
    ingest(engine, tenant.id, "users", [user])
    assert ingest(engine, tenant.id, "users", [user]).unchanged == 1
    summary = ingest(
        engine, tenant.id, "users", [{"id": "u1", "custom_fields": {"department": "Support"}}]
    )
    assert summary.updated == 1
    query = sa.select(custom_fields.c.key, values.c.value).join(
        custom_fields, sa.and_(custom_fields.c.tenant_id == values.c.tenant_id,
                               custom_fields.c.id == values.c.field_id)
    )  # fmt: skip
    with engine.connect() as connection:
        assert connection.execute(query).all() == [("department", "Support")]


def test_a_user_record_without_custom_fields_leaves_them_alone(
    engine: sa.Engine, tenant: Tenant
) -> None:
    ingest(engine, tenant.id, "users", [{"id": "u1", "custom_fields": {"department": "Sales"}}])
    ingest(engine, tenant.id, "users", [{"id": "u1", "first_name": "Ann"}])
    with engine.connect() as connection:
        assert connection.execute(sa.select(values.c.value)).scalars().all() == ["Sales"]


def test_memberships_are_added_once_and_name_unknown_users_and_groups(
    engine: sa.Engine, tenant: Tenant
) -> None:
    ingest(engine, tenant.id, "users", [{"id": "u1"}])
    ingest(engine, tenant.id, "groups", [{"id": "g1", "name": "G1"}])
    pair = {"user_id": "u1", "group_id": "g1"}
    assert ingest(engine, tenant.id, "memberships", [pair, pair]).inserted == 1
    assert ingest(engine, tenant.id, "memberships", [pair]).unchanged == 1
    with pytest.raises(BatchRejected) as caught:
        ingest(engine, tenant.id, "memberships", [pair, {"user_id": "u9", "group_id": "g9"}])
    assert [(e.index, e.field) for e in caught.value.errors] == [(1, "group_id"), (1, "user_id")]
    with engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(memberships)).scalar_one()
            == 1
        )
