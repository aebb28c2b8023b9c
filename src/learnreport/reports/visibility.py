"""Which people and groups a principal may see, as SQL conditions every report applies.

A principal limited to groups (a department administrator, or a custom role given groups)
sees the people who are members of one of those groups or of any group below them, and
those people's records; an unlimited principal sees the whole tenant. The group tree's
closure table makes "a group and everything below it" one join, whatever the depth.
"""

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from learnreport.store.schema import groups
from learnreport.store.tree import groups_below, is_member_below, members_below


def named_groups(tenant_id: int, names: Iterable[str]) -> sa.Select[tuple[int]]:
    return sa.select(groups.c.id).where(
        groups.c.tenant_id == tenant_id, groups.c.name.in_(sorted(set(names)))
    )


def people_seen(
    person: ColumnElement[int],
    tenant_id: int,
    limited_to: tuple[int, ...] | None,
    *,
    by_row: bool = False,
) -> ColumnElement[bool] | None:
    """The condition that `person` is visible, or None when the principal sees everyone.

    Both forms hold the same people. The list (`person IN members`) lets the database start
    from the visible people's rows, which suits counts, aggregates and small departments;
    `by_row` checks each row's person instead, for a walk in key order that stops at a
    page's end (`base.seek`).
    """
    if limited_to is None:
        return None
    if by_row:
        return is_member_below(person, tenant_id, limited_to)
    return person.in_(members_below(tenant_id, limited_to))


def groups_seen(
    group: ColumnElement[int], tenant_id: int, limited_to: tuple[int, ...] | None
) -> ColumnElement[bool] | None:
    if limited_to is None:
        return None
    return group.in_(groups_below(tenant_id, limited_to))
