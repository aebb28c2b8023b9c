"""The nested parts of people records: custom field values, the group tree, memberships."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from learnreport.ingest.batches import (
    Batch,
    Reference,
    Summary,
    allocate,
    lookup,
    people_within,
    validate,
)
from learnreport.ingest.errors import BatchRejected, RecordError
from learnreport.ingest.records import MembershipRecord
from learnreport.store import bulk, tallies
from learnreport.store.schema import custom_fields, group_tree, groups, memberships, users
from learnreport.store.schema import user_field_values as values
from learnreport.store.tree import groups_below
from learnreport.store.uuids import minted

USER = Reference(users, "user_id", "user")
GROUP = Reference(groups, "group_id", "group")


def lowercase_emails(batch: Batch) -> None:
    """Emails are matched without regard to case (360Learning's `userEmailOrId`)."""
    for row in batch.rows:
        if row.get("email"):
            row["email"] = row["email"].lower()


def write_custom_fields(batch: Batch) -> None:
    """Replace the custom field values of each user record that carries `custom_fields`."""
    current = set(batch.current)
    wanted = {
        index: {key: value for key, value in nested["custom_fields"].items() if value is not None}
        for index, nested in enumerate(batch.nested)
        if nested["custom_fields"] is not None and index in current
    }
    if not wanted:
        return
    field_ids = _field_ids(batch, {key for fields in wanted.values() for key in fields})
    user_ids = [batch.rows[index]["id"] for index in wanted]
    stored: dict[int, dict[int, str]] = defaultdict(dict)
    for chunk in bulk.chunked(user_ids):
        query = sa.select(values.c.user_id, values.c.field_id, values.c.value).where(
            values.c.tenant_id == batch.tenant_id, values.c.user_id.in_(chunk)
        )
        for user_id, field_id, value in batch.connection.execute(query):
            stored[user_id][field_id] = value
    inserts, replaced = [], []
    for index, fields in wanted.items():
        user_id = batch.rows[index]["id"]
        desired = {field_ids[key]: value for key, value in fields.items()}
        if desired == stored.get(user_id, {}):
            continue
        batch.changed(index)
        replaced.append(user_id)
        inserts += [
            {"tenant_id": batch.tenant_id, "user_id": user_id, "field_id": f, "value": v}
            for f, v in desired.items()
        ]
    for chunk in bulk.chunked(replaced):
        batch.connection.execute(
            values.delete().where(
                values.c.tenant_id == batch.tenant_id, values.c.user_id.in_(chunk)
            )
        )
    bulk.insert_rows(batch.connection, values, inserts)


def _field_ids(batch: Batch, keys: set[str]) -> dict[str, int]:
    """Ids of the tenant's custom fields by key, creating the missing ones."""
    query = sa.select(custom_fields.c.key, custom_fields.c.id).where(
        custom_fields.c.tenant_id == batch.tenant_id, custom_fields.c.key.in_(keys)
    )
    found = dict(batch.connection.execute(query).all())
    missing = sorted(keys - found.keys())
    if missing:
        last = allocate(batch.connection, batch.tenant_id, custom_fields.name, len(missing))
        rows = [
            {"tenant_id": batch.tenant_id, "id": id_, "key": key, "uuid": minted(), "name": key}
            for id_, key in zip(range(last - len(missing) + 1, last + 1), missing, strict=True)
        ]
        bulk.insert_rows(batch.connection, custom_fields, rows)
        found.update({row["key"]: row["id"] for row in rows})
    return found


def refuse_cycles(batch: Batch) -> None:
    """A group may not become its own ancestor: the tree must stay a tree."""
    table = groups
    parents = dict(
        batch.connection.execute(
            sa.select(table.c.id, table.c.parent_id).where(table.c.tenant_id == batch.tenant_id)
        ).all()
    )
    parents.update({row["id"]: row.get("parent_id") for row in batch.rows})
    for index, row in enumerate(batch.rows):
        seen = {row["id"]}
        node = parents.get(row["id"])
        while node is not None:
            if node in seen:
                batch.error(index, "parent_id", "would make the group its own ancestor")
                break
            seen.add(node)
            node = parents.get(node)


def rebuild_tree(batch: Batch) -> None:
    """Recompute the tenant's closure table: every (ancestor, descendant, depth) pair."""
    if not batch.summary.inserted and not batch.summary.updated:
        return
    rebuild_group_tree(batch.connection, batch.tenant_id)


def rebuild_group_tree(connection: sa.Connection, tenant_id: int) -> None:
    parents = dict(
        connection.execute(
            sa.select(groups.c.id, groups.c.parent_id).where(groups.c.tenant_id == tenant_id)
        ).all()
    )
    rows = []
    for group_id in parents:
        node: int | None = group_id
        depth = 0
        while node is not None:
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "ancestor_id": node,
                    "descendant_id": group_id,
                    "depth": depth,
                }
            )
            node = parents.get(node)
            depth += 1
    connection.execute(group_tree.delete().where(group_tree.c.tenant_id == tenant_id))
    bulk.insert_rows(connection, group_tree, rows)


def write_memberships(
    connection: sa.Connection,
    tenant_id: int,
    records: Sequence[Any],
    limited_to: tuple[int, ...] | None = None,
) -> Summary:
    """Add users to groups; a membership that exists already is unchanged.

    A writer limited to some departments adds people to groups at or below them only, and
    only people of theirs or people in no group yet (new ones, whom this makes theirs).
    """
    structs, positions, errors = validate("memberships", MembershipRecord, records)
    user_ids = lookup(connection, tenant_id, USER, {s.user_id for s in structs})
    group_ids = lookup(connection, tenant_id, GROUP, {s.group_id for s in structs})
    refused_people: set[int] = set()
    refused_groups: set[int] = set()
    if limited_to is not None:
        people = {user for user, _ in user_ids.values()}
        refused_people = people - people_within(connection, tenant_id, limited_to, people)
        refused_people -= _in_no_group(connection, tenant_id, refused_people)
        below = groups_within(connection, tenant_id, limited_to)
        refused_groups = {group for group, _ in group_ids.values()} - below
    pairs: dict[tuple[int, int], int] = {}
    for index, struct in zip(positions, structs, strict=True):
        user, group = user_ids.get(struct.user_id), group_ids.get(struct.group_id)
        if user is None:
            errors.append(RecordError(index, "user_id", f"no user with id {struct.user_id!r}"))
        elif user[0] in refused_people:
            errors.append(RecordError(index, "user_id", "is not a person of your departments"))
        if group is None:
            errors.append(RecordError(index, "group_id", f"no group with id {struct.group_id!r}"))
        elif group[0] in refused_groups:
            errors.append(RecordError(index, "group_id", "is not one of your departments"))
        if user is not None and group is not None:
            pairs.setdefault((group[0], user[0]), index)
    if errors:
        raise BatchRejected("memberships", errors)
    stored: set[tuple[int, int]] = set()
    for chunk in bulk.chunked({user for _, user in pairs}):
        query = sa.select(memberships.c.group_id, memberships.c.user_id).where(
            memberships.c.tenant_id == tenant_id, memberships.c.user_id.in_(chunk)
        )
        stored.update(connection.execute(query).all())
    new = [pair for pair in pairs if pair not in stored]
    with tallies.recounted(connection, tenant_id, people={user for _, user in new}):
        bulk.insert_rows(
            connection,
            memberships,
            [{"tenant_id": tenant_id, "group_id": g, "user_id": u} for g, u in new],
        )
    return Summary(
        "memberships", len(structs), inserted=len(new), unchanged=len(structs) - len(new)
    )


def _in_no_group(connection: sa.Connection, tenant_id: int, people: set[int]) -> set[int]:
    grouped: set[int] = set()
    for chunk in bulk.chunked(people):
        query = sa.select(memberships.c.user_id).where(
            memberships.c.tenant_id == tenant_id, memberships.c.user_id.in_(chunk)
        )
        grouped.update(connection.execute(query).scalars())
    return people - grouped


def groups_within(connection: sa.Connection, tenant_id: int, groups: Sequence[int]) -> set[int]:
    """`groups` and every group below them."""
    return set(connection.execute(groups_below(tenant_id, groups)).scalars())
