"""The group tree as queries: who and what lies at or below some groups.

The closure table `group_tree` makes "a group and everything below it" one join, whatever
the depth; reports use these queries to limit what a principal sees, and the write path to
limit what a principal writes.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from learnreport.store.schema import group_tree, memberships

Groups = sa.Select[tuple[int]] | Sequence[int]
"""Group ids, given as a list or as a query that selects them."""


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
        .where(memberships.c.tenant_id == tenant_id, group_tree.c.ancestor_id.in_(ancestors))
    )


def groups_below(tenant_id: int, ancestors: Groups) -> sa.Select[tuple[int]]:
    return sa.select(group_tree.c.descendant_id).where(
        group_tree.c.tenant_id == tenant_id, group_tree.c.ancestor_id.in_(ancestors)
    )
