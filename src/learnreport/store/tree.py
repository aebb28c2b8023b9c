"""The group tree as queries: who and what lies at or below some groups.

The closure table `group_tree` makes "a group and everything below it" one join, whatever
the depth; reports use these queries to limit what a principal sees, and the write path to
limit what a principal writes.
"""

from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal, _TraverseInternalsType

from learnreport.store.schema import group_tree, memberships

Groups = sa.Select[tuple[int]] | Sequence[int]
"""Group ids, given as a list or as a query that selects them."""


class _Among(ColumnElement[bool]):
    """`column IN (query)`, with the ids the query selects looked up once on PostgreSQL.

    PostgreSQL plans `ancestor_id IN (SELECT id FROM groups WHERE name = ...)` as a join to
    `groups` inside the check of every row, and a keyset page of `group_name` checked each
    of 15,000 rows that way: 124 ms for a department of 1,000,000 results, against 23 ms
    for `= ANY(ARRAY(...))`, which it evaluates once, as the ids of a department
    administrator's groups are given. SQLite keeps `IN`, whose list it also builds once."""

    inherit_cache = True

    def __init__(self, column: ColumnElement[int], query: sa.Select[tuple[int]]) -> None:
        self.column = column
        self.query = query

    _traverse_internals: ClassVar[_TraverseInternalsType] = [
        ("column", InternalTraversal.dp_clauseelement),
        ("query", InternalTraversal.dp_clauseelement),
    ]


@compiles(_Among)
def _among_default(element: _Among, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.in_(element.query), **kw))


@compiles(_Among, "postgresql")
def _among_postgresql(element: _Among, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY(ARRAY({compiler.process(element.query, **kw)}))"


def _among(column: ColumnElement[int], groups: Groups) -> ColumnElement[bool]:
    if isinstance(groups, sa.Select):
        return _Among(column, groups)
    return column.in_(groups)


def members_below(tenant_id: int, ancestors: Groups) -> sa.Select[tuple[int]]:
    """The ids of the people in any group at or below the groups `ancestors` selects."""
    return (
        sa.select(memberships.c.user_id)
        .join(
            group_tree,
            sa.and_(
                group_tree.c.tenant_id == memberships.c.tenant_id,
                group_tree.c.descendant_id == memberships.c.group_id,
            ),
        )
        .where(memberships.c.tenant_id == tenant_id, _among(group_tree.c.ancestor_id, ancestors))
    )


def is_member_below(person: ColumnElement[int], tenant_id: int, ancestors: Groups) -> sa.Exists:
    """That `person` is in a group at or below the groups `ancestors` selects, checked one
    person at a time: the same people as `members_below`, as a semi-join.

    A keyset page that walks a report's rows in key order asks this of each row it meets,
    which costs one probe of the person's memberships, however many people the groups hold.
    The group ids below the ancestors are listed once; `+ 0` keeps SQLite from probing the
    memberships index once per listed group for every row, which made a page of the root
    group's 185 groups 3 times slower. `OFFSET 0` keeps PostgreSQL from turning the check
    into a join that starts from the department's people (55 ms for a page of a department
    of 2,098), as it may not pull up a subquery with an offset.
    """
    return (
        sa.select(sa.literal(1))
        .where(
            memberships.c.tenant_id == tenant_id,
            memberships.c.user_id == person,
            (memberships.c.group_id + 0).in_(groups_below(tenant_id, ancestors)),
        )
        .offset(0)
        .exists()
    )


def groups_below(tenant_id: int, ancestors: Groups) -> sa.Select[tuple[int]]:
    return sa.select(group_tree.c.descendant_id).where(
        group_tree.c.tenant_id == tenant_id, _among(group_tree.c.ancestor_id, ancestors)
    )
