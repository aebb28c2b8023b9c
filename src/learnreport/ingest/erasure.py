"""Erasure of a person on request (GDPR article 17, the right to erasure).

Everything the store holds about one person goes in the caller's transaction: their
statements (matched to them, or still unmatched but naming their email or account), results,
enrollments, profile field values, memberships and the person. Rows are deleted table by
table, children first, so that the answer can say how many rows of each went and so that
nothing depends on the database cascading.
"""

import sqlalchemy as sa

from learnreport.ingest.batches import people_within
from learnreport.store import tallies
from learnreport.store.schema import (
    enrollments,
    memberships,
    results,
    statements,
    user_field_values,
    users,
)

BY_PERSON = (results, enrollments, user_field_values, memberships)


def erase_person(
    connection: sa.Connection,
    tenant_id: int,
    external_id: str,
    limited_to: tuple[int, ...] | None = None,
) -> dict[str, int] | None:
    """The rows removed by table, or None when the tenant has no such person, or none that a
    writer limited to `limited_to` may see (the same answer, so that it tells nothing)."""
    person = connection.execute(
        sa.select(users.c.id, users.c.external_id, users.c.email, users.c.username).where(
            users.c.tenant_id == tenant_id, users.c.external_id == external_id
        )
    ).first()
    if person is None:
        return None
    if limited_to is not None and not people_within(connection, tenant_id, limited_to, {person.id}):
        return None
    removed = {
        str(statements.name): _delete(connection, tenant_id, statements, _statements_of(person))
    }
    with tallies.recounted(connection, tenant_id, people={person.id}):
        for table in BY_PERSON:
            removed[str(table.name)] = _delete(
                connection, tenant_id, table, table.c.user_id == person.id
            )
    removed[str(users.name)] = _delete(connection, tenant_id, users, users.c.id == person.id)
    return removed


def _statements_of(person: sa.Row) -> sa.ColumnElement[bool]:
    """A person's statements: those matched to them and those that name them but are not
    matched yet (the actor key is `mailto:EMAIL` or `HOMEPAGE|NAME`)."""
    unmatched = []
    if person.email:
        unmatched.append(statements.c.actor == f"mailto:{person.email}")
    for name in {person.username, person.external_id} - {None}:
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        unmatched.append(statements.c.actor.like(f"%|{escaped}", escape="\\"))
    return sa.or_(
        statements.c.user_id == person.id,
        sa.and_(statements.c.user_id.is_(None), sa.or_(*unmatched)),
    )


def _delete(
    connection: sa.Connection, tenant_id: int, table: sa.Table, condition: sa.ColumnElement[bool]
) -> int:
    statement = table.delete().where(table.c.tenant_id == tenant_id, condition)
    return connection.execute(statement).rowcount
