"""The shipped migrations bring any database, empty or current, to the newest schema."""

import sqlalchemy as sa
from alembic import command

from learnreport.domain.states import enrollment_type
from learnreport.store.migrate import alembic_config, current_revision, head_revision, upgrade
from learnreport.store.schema import contents, enrollments, metadata, results
from learnreport.store.tenants import Tenant


def test_upgrade_brings_an_empty_database_to_head(empty_engine: sa.Engine) -> None:
    assert current_revision(empty_engine) is None

    upgrade(empty_engine)

    assert current_revision(empty_engine) == head_revision(empty_engine)
    assert set(sa.inspect(empty_engine).get_table_names()) == {
        *metadata.tables,
        "alembic_version",
    }


def test_upgrade_of_a_database_at_head_changes_nothing(empty_engine: sa.Engine) -> None:
    upgrade(empty_engine)
    before = _schema(empty_engine)

    upgrade(empty_engine)

    assert current_revision(empty_engine) == head_revision(empty_engine)
    assert _schema(empty_engine) == before


def test_migrated_database_is_at_the_head_revision(engine: sa.Engine) -> None:
    assert head_revision(engine) is not None
    assert current_revision(engine) == head_revision(engine)


def test_results_stored_before_their_content_kind_was_kept_get_it_from_the_catalog(
    engine: sa.Engine, world: Tenant
) -> None:
    command.downgrade(alembic_config(engine), "0004")
    assert "content_kind" not in {c["name"] for c in sa.inspect(engine).get_columns("results")}

    upgrade(engine)

    query = (
        sa.select(results.c.content_kind, contents.c.kind, sa.func.count())
        .join(contents, sa.and_(contents.c.tenant_id == results.c.tenant_id,
                                contents.c.id == results.c.content_id))
        .group_by(results.c.content_kind, contents.c.kind)
    )  # fmt: skip
    with engine.connect() as connection:
        pairs = {(copied, kind): count for copied, kind, count in connection.execute(query)}
    assert all(copied == kind for copied, kind in pairs)
    assert len(pairs) > 1


def test_results_stored_before_their_enrollment_type_was_kept_get_it_from_their_enrollments(
    engine: sa.Engine, world: Tenant
) -> None:
    command.downgrade(alembic_config(engine), "0005")

    upgrade(engine)

    e, r = enrollments.c, results.c
    with engine.connect() as connection:
        current = connection.execute(
            sa.select(e.tenant_id, e.user_id, e.content_id, e.mandatory).where(
                e.unenrolled_at.is_(None)
            )
        ).all()
        kept = connection.execute(
            sa.select(r.tenant_id, r.user_id, r.content_id, r.enrollment_type)
        ).all()
    flags: dict[tuple[int, int, int], list[bool]] = {}
    for tenant_id, person, content, mandatory in current:
        flags.setdefault((tenant_id, person, content), []).append(mandatory)
    expected = [enrollment_type(flags.get(tuple(row[:3]), [])).value for row in kept]
    assert [row.enrollment_type for row in kept] == expected
    assert len(set(expected)) == 3


def _schema(engine: sa.Engine) -> dict[str, object]:
    """Enough of a database's shape to see any table, column, key or index a rerun added."""
    inspector = sa.inspect(engine)
    return {
        table: (
            [(column["name"], str(column["type"])) for column in inspector.get_columns(table)],
            inspector.get_pk_constraint(table),
            inspector.get_foreign_keys(table),
            inspector.get_unique_constraints(table),
            inspector.get_indexes(table),
        )
        for table in inspector.get_table_names()
    }
