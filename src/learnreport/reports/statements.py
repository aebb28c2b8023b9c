"""Stored xAPI statements read back: one by id, a filtered page in stored order, and counts.

Every read is limited to the principal's tenant and, for a principal limited to groups, to
statements about the people in them (a statement not matched to a person is about no one
such a principal sees). Voided statements are read by `voidedStatementId` only: "The LRS
MUST not return any Statement which has been voided, unless that Statement has been
requested by voidedStatementId" (Communication 2.1.4).

Pages follow `stored`, newest first unless `ascending` (2.1.3: "a list of Statements in
reverse chronological order based on stored time"), ties broken by the statement's integer
id, which is also the order of arrival; a page after a key seeks on the `stored` index.
"""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from learnreport.domain.access import Principal
from learnreport.reports.visibility import people_seen
from learnreport.store.schema import statements

Key = tuple[str, int]
"""Where a page ends: the last statement's `stored` and integer id."""


@dataclass(frozen=True, slots=True)
class Filters:
    """The query parameters of GET statements, already checked. Instants are canonical UTC
    text at whole seconds, as `stored` is kept."""

    actor: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    since: str | None = None
    """Exclusive: "Only Statements stored since the specified Timestamp (exclusive)"."""
    until: str | None = None
    """Inclusive: "Only Statements stored at or before the specified Timestamp"."""
    ascending: bool = False


def one(
    connection: sa.Connection, principal: Principal, statement_id: str, *, voided: bool
) -> dict[str, Any] | None:
    """The statement with this id, if it is voided (or not, as `voided` says) and seen."""
    query = sa.select(statements.c.document).where(
        *_seen(principal),
        statements.c.statement_id == statement_id.lower(),
        statements.c.voided == voided,
    )
    return connection.execute(query).scalar_one_or_none()


def page(
    connection: sa.Connection,
    principal: Principal,
    filters: Filters,
    *,
    after: Key | None,
    limit: int,
) -> tuple[list[dict[str, Any]], Key | None]:
    """Up to `limit` statements after the key `after`, and the key of the last one when
    more follow."""
    stored, row_id = statements.c.stored, statements.c.id
    query = sa.select(statements.c.document, stored, row_id).where(
        *_seen(principal), sa.not_(statements.c.voided), *_matching(filters)
    )
    if after is not None:
        later = (stored > after[0]) if filters.ascending else (stored < after[0])
        same = (row_id > after[1]) if filters.ascending else (row_id < after[1])
        query = query.where(sa.or_(later, sa.and_(stored == after[0], same)))
    order = (stored, row_id) if filters.ascending else (stored.desc(), row_id.desc())
    found = connection.execute(query.order_by(*order).limit(limit + 1)).all()
    shown = found[:limit]
    last = (shown[-1][1], shown[-1][2]) if len(found) > limit else None
    return [row[0] for row in shown], last


def counts(connection: sa.Connection, principal: Principal) -> dict[str, int]:
    """How many statements were received, how many of those about an activity are matched
    to a person and an activity and how many still wait for one or both, and how many are
    voided."""
    about_activity = statements.c.activity.is_not(None)
    matched = sa.and_(statements.c.user_id.is_not(None), statements.c.content_id.is_not(None))
    query = sa.select(
        sa.func.count().label("received"),
        sa.func.count().filter(about_activity, matched).label("matched"),
        sa.func.count().filter(about_activity, sa.not_(matched)).label("unmatched"),
        sa.func.count().filter(statements.c.voided).label("voided"),
    ).where(*_seen(principal))
    return dict(connection.execute(query).one()._mapping)


def _seen(principal: Principal) -> list[ColumnElement[bool]]:
    conditions = [statements.c.tenant_id == principal.tenant_id]
    seen = people_seen(statements.c.user_id, principal.tenant_id, principal.groups)
    return conditions if seen is None else [*conditions, seen]


def _matching(filters: Filters) -> list[ColumnElement[bool]]:
    c = statements.c
    wanted = [
        (c.actor, filters.actor),
        (c.verb, filters.verb),
        (c.activity, filters.activity),
        (c.registration, filters.registration),
    ]
    conditions = [column == value for column, value in wanted if value is not None]
    if filters.since is not None:
        conditions.append(c.stored > filters.since)
    if filters.until is not None:
        conditions.append(c.stored <= filters.until)
    return conditions
