"""Tenants are created, found, changed and deleted by slug, and a slug names one tenant."""

import re
from dataclasses import replace

import pytest
import sqlalchemy as sa

from learnreport.ingest import ingest
from learnreport.store import tenants
from learnreport.store.schema import metadata
from learnreport.store.tenants import Tenant, TenantExists, TenantNotFound

CANONICAL_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def test_create_stores_the_tenant_with_its_defaults(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        created = tenants.create(connection, "acme", "Acme Corporation")

    with engine.connect() as connection:
        assert tenants.get(connection, "acme") == created
    assert (created.slug, created.name) == ("acme", "Acme Corporation")
    assert (created.training_types_enabled, created.api_access_enabled) == (False, True)
    assert CANONICAL_TIMESTAMP.fullmatch(created.created_at)


def test_create_stores_the_given_settings(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        created = tenants.create(
            connection, "acme", "Acme", training_types_enabled=True, api_access_enabled=False
        )

    assert (created.training_types_enabled, created.api_access_enabled) == (True, False)


def test_create_refuses_a_taken_slug_and_keeps_the_first_tenant(
    engine: sa.Engine, tenant: Tenant
) -> None:
    with pytest.raises(TenantExists), engine.begin() as connection:
        tenants.create(connection, tenant.slug, "Another Acme")

    with engine.connect() as connection:
        assert tenants.all_tenants(connection) == [tenant]


def test_tenants_get_their_own_ids(tenant: Tenant, other_tenant: Tenant) -> None:
    assert tenant.id != other_tenant.id


def test_find_answers_none_and_get_raises_for_an_unknown_slug(
    engine: sa.Engine, tenant: Tenant
) -> None:
    with engine.connect() as connection:
        assert tenants.find(connection, "initech") is None
        with pytest.raises(TenantNotFound):
            tenants.get(connection, "initech")


def test_all_tenants_lists_every_tenant_in_slug_order(
    engine: sa.Engine, other_tenant: Tenant, tenant: Tenant
) -> None:
    with engine.connect() as connection:
        assert tenants.all_tenants(connection) == [tenant, other_tenant]


def test_update_changes_only_the_given_settings(engine: sa.Engine, tenant: Tenant) -> None:
    with engine.begin() as connection:
        updated = tenants.update(connection, "acme", training_types_enabled=True)

    with engine.connect() as connection:
        assert tenants.get(connection, "acme") == updated
    assert updated == replace(tenant, training_types_enabled=True)


def test_update_can_switch_a_setting_off(engine: sa.Engine, tenant: Tenant) -> None:
    """False is a change, not a missing argument."""
    with engine.begin() as connection:
        updated = tenants.update(connection, "acme", name="Acme Inc.", api_access_enabled=False)

    assert (updated.name, updated.api_access_enabled) == ("Acme Inc.", False)


def test_update_without_changes_returns_the_tenant_unchanged(
    engine: sa.Engine, tenant: Tenant
) -> None:
    with engine.begin() as connection:
        assert tenants.update(connection, "acme") == tenant


def test_update_and_delete_raise_for_an_unknown_slug(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        with pytest.raises(TenantNotFound):
            tenants.update(connection, "initech", name="Initech")
        with pytest.raises(TenantNotFound):
            tenants.delete(connection, "initech")


def test_delete_removes_every_record_of_the_tenant_and_none_of_another(
    engine: sa.Engine, tenant: Tenant, other_tenant: Tenant
) -> None:
    for owner in (tenant, other_tenant):
        ingest(engine, owner.id, "users", [{"id": "u1"}, {"id": "u2"}])
        ingest(engine, owner.id, "groups", [{"id": "g1", "name": "G1"}])
        ingest(engine, owner.id, "memberships", [{"user_id": "u1", "group_id": "g1"}])
    others_before = _rows_by_table(engine, other_tenant)
    assert others_before.keys() >= {"users", "groups", "group_tree", "memberships"}

    with engine.begin() as connection:
        tenants.delete(connection, "acme")

    with engine.connect() as connection:
        assert tenants.all_tenants(connection) == [other_tenant]
    assert _rows_by_table(engine, tenant) == {}
    assert _rows_by_table(engine, other_tenant) == others_before


def _rows_by_table(engine: sa.Engine, tenant: Tenant) -> dict[str, int]:
    """How many rows each table holds for the tenant, leaving out the empty ones."""
    counts = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if "tenant_id" in table.c:
                query = sa.select(sa.func.count()).where(table.c.tenant_id == tenant.id)
                counts[table.name] = connection.execute(query).scalar_one()
    return {name: count for name, count in counts.items() if count}
