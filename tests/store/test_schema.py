"""Every table is keyed by tenant first, in the metadata and in the migrated databases.

`tenant_id` leading every key gives every tenant-filtered query an index and lets the schema
be distributed by tenant later; pairing it in every foreign key keeps a row from pointing
into another tenant. The rule is checked on the metadata, so that a new table breaks it
before any migration exists, and on databases built by the migrations, which are what runs.
"""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from learnreport.store.schema import metadata

UNKEYED = {"tenants", "signing_keys", "server_secrets", "alembic_version"}
"""Tables that are not records of one tenant: the tenants themselves; the keys that sign access
tokens and the server's own secrets, one set for the whole server (a token's tenant is known
only once its signature is checked); and Alembic's own."""

TENANT_TABLES = [table for name, table in metadata.tables.items() if name not in UNKEYED]

Key = tuple[str, str, list[str | None]]
"""What a table's key is, its name, and its columns in order."""

Reference = tuple[str, list[str], str, list[str]]
"""A foreign key: its name, its columns, the table it refers to and that table's columns."""


@pytest.mark.parametrize("table", TENANT_TABLES, ids=lambda table: table.name)
def test_tenant_id_leads_every_key_of_the_metadata(table: sa.Table) -> None:
    assert _keys_not_led_by_tenant(_metadata_keys(table)) == []


@pytest.mark.parametrize("table", TENANT_TABLES, ids=lambda table: table.name)
def test_foreign_keys_of_the_metadata_stay_within_a_tenant(table: sa.Table) -> None:
    references = [
        (
            str(constraint.name),
            [column.name for column in constraint.columns],
            constraint.referred_table.name,
            [element.column.name for element in constraint.elements],
        )
        for constraint in table.foreign_key_constraints
    ]
    assert _references_across_tenants(references) == []


def test_tenant_id_leads_every_key_of_the_migrated_database(engine: sa.Engine) -> None:
    inspector = sa.inspect(engine)
    keys = {
        table: _keys_not_led_by_tenant(_database_keys(inspector, table))
        for table in _tenant_tables(inspector)
    }
    assert {table: broken for table, broken in keys.items() if broken} == {}


def test_foreign_keys_of_the_migrated_database_stay_within_a_tenant(engine: sa.Engine) -> None:
    inspector = sa.inspect(engine)
    references = {
        table: _references_across_tenants(
            [
                (
                    str(key["name"]),
                    key["constrained_columns"],
                    key["referred_table"],
                    key["referred_columns"],
                )
                for key in inspector.get_foreign_keys(table)
            ]
        )
        for table in _tenant_tables(inspector)
    }
    assert {table: broken for table, broken in references.items() if broken} == {}


def test_migrated_database_matches_the_metadata(engine: sa.Engine) -> None:
    """What `alembic revision --autogenerate` would find: a change with no migration for it."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def _metadata_keys(table: sa.Table) -> Iterator[Key]:
    yield "primary key", str(table.primary_key.name), [c.name for c in table.primary_key]
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            yield "unique", str(constraint.name), [c.name for c in constraint.columns]
        if isinstance(constraint, sa.ForeignKeyConstraint):
            yield "foreign key", str(constraint.name), [c.name for c in constraint.columns]
    for index in table.indexes:
        # An expression has no column name, as in reflection: it is not led by tenant_id.
        columns = [e.name if isinstance(e, sa.Column) else None for e in index.expressions]
        yield "index", str(index.name), columns


def _database_keys(inspector: sa.Inspector, table: str) -> Iterator[Key]:
    primary_key = inspector.get_pk_constraint(table)
    yield "primary key", str(primary_key["name"]), primary_key["constrained_columns"]
    for unique in inspector.get_unique_constraints(table):
        yield "unique", str(unique["name"]), list(unique["column_names"])
    for foreign_key in inspector.get_foreign_keys(table):
        yield "foreign key", str(foreign_key["name"]), foreign_key["constrained_columns"]
    for index in inspector.get_indexes(table):
        yield "index", str(index["name"]), list(index["column_names"])


def _keys_not_led_by_tenant(keys: Iterator[Key]) -> list[Key]:
    return [key for key in keys if key[2][:1] != ["tenant_id"]]


def _references_across_tenants(references: list[Reference]) -> list[Reference]:
    return [reference for reference in references if _crosses_tenants(*reference[1:])]


def _crosses_tenants(columns: list[str], referred: str, referred_columns: list[str]) -> bool:
    """A key to `tenants` must be `tenant_id` alone; any other pairs `tenant_id` with its own."""
    if referred == "tenants":
        return (columns, referred_columns) != (["tenant_id"], ["id"])
    return dict(zip(columns, referred_columns, strict=True)).get("tenant_id") != "tenant_id"


def _tenant_tables(inspector: sa.Inspector) -> list[str]:
    return [table for table in inspector.get_table_names() if table not in UNKEYED]
