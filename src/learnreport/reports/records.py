"""Every stored record of a kind, read back in exactly the shape the write path accepts.

A kind's export is a file `learnreport import` takes again: the fields of the kind's struct
(`ingest.records`, columns in `ingest.files.field_names` order), references as the
platform's external ids, and the nested parts (custom fields, course items, journey
sections with their activities, programme activities, path steps) inside their record.
Rows stream through a server-side cursor in batches, and each nested part of a batch comes
from one `IN` query, so memory holds one batch and the number of queries grows with the
batches, never with the rows.

The order makes an export reproducible: exported, imported into an empty database and
exported again, a file is the same byte for byte. So nothing depends on internal ids, which
the second database hands out anew. Records come by external id; groups parents first (by
depth in the tree, then external id), so that a file imported in batches only ever refers
to groups already written; memberships by the user's and then the group's external id.
Nested parts keep their positions, and JSON objects (custom fields, a group's translated
names and extra data) have their keys sorted.
"""

from collections import defaultdict
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from learnreport.ingest.files import field_names
from learnreport.ingest.records import PathStep
from learnreport.store.schema import (
    content_items,
    contents,
    custom_fields,
    enrollments,
    group_tree,
    groups,
    memberships,
    path_sessions,
    path_steps,
    results,
    user_field_values,
    users,
)

Row = tuple[Any, ...]
Parts = Callable[[sa.Connection, int, list[int]], Mapping[int, Any]]
"""The nested part of each record of a batch, by the record's internal id."""

BATCH = 2000
KEY = "_key"
STEP = PathStep.__struct_fields__


@dataclass(frozen=True)
class Reader:
    """How one kind is read back: its query, and what is fetched per batch beside it."""

    query: Callable[[int], sa.Select[Any]]
    """The tenant's records in export order: their internal id labelled `KEY`, then the
    value of each field that is not nested, labelled with the field's name."""
    parts: Mapping[str, tuple[Parts, Any]] = field(default_factory=dict)
    """The loader of each nested field, and the value of a record that has none (shared by
    all such records, so never changed)."""
    documents: tuple[str, ...] = ()
    """Fields holding JSON objects, whose keys are sorted."""


def read(
    connection: sa.Connection, tenant_id: int, kind: str, *, batch: int = BATCH
) -> Generator[list[Row]]:
    """The tenant's records of `kind` as tuples of `field_names(kind)`, in batches; close
    it while the connection is open, as its cursor is."""
    reader = READERS[kind]
    names = field_names(kind)
    query = reader.query(tenant_id)
    plain = [column.name for column in query.selected_columns][1:]
    result = connection.execution_options(yield_per=batch).execute(query)
    try:
        for rows in result.partitions(batch):
            keys = [row[0] for row in rows]
            loaded = {
                name: load(connection, tenant_id, keys) for name, (load, _) in reader.parts.items()
            }
            yield [_record(names, plain, reader, loaded, row) for row in rows]
    finally:
        result.close()


def _record(
    names: tuple[str, ...],
    plain: list[str],
    reader: Reader,
    loaded: dict[str, Mapping[int, Any]],
    row: sa.Row[Any],
) -> Row:
    if not loaded and not reader.documents:
        return tuple(row[1:])
    values = dict(zip(plain, row[1:], strict=True))
    for name in reader.documents:
        values[name] = _sorted(values[name])
    for name, found in loaded.items():
        values[name] = found.get(row[0], reader.parts[name][1])
    return tuple(values[name] for name in names)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _same_tenant(table: sa.Table | sa.Alias, reference: ColumnElement[int]) -> ColumnElement[bool]:
    """Join `table` by its id to `reference`, within the tenant (every key leads with it)."""
    return sa.and_(
        table.c.tenant_id == reference.table.c.tenant_id,  # type: ignore[attr-defined]
        table.c.id == reference,
    )


def _columns(table: sa.Table, kind: str, **given: ColumnElement[Any]) -> list[Any]:
    """The record's id as `KEY` and each field that is not nested: a column of the same
    name unless `given`, `id` being the external id."""
    nested = READERS[kind].parts
    columns: list[Any] = [table.c.id.label(KEY)]
    for name in field_names(kind):
        if name in nested:
            continue
        column = given.get(name, table.c.external_id if name == "id" else table.c.get(name))
        columns.append(column.label(name))
    return columns


# People


def _users(tenant_id: int) -> sa.Select[Any]:
    u = users.c
    return (
        sa.select(*_columns(users, "users")).where(u.tenant_id == tenant_id).order_by(u.external_id)
    )


def _custom_fields(connection: sa.Connection, tenant_id: int, keys: list[int]) -> dict[int, Any]:
    values, fields = user_field_values.c, custom_fields.c
    query = (
        sa.select(values.user_id, fields.key, values.value)
        .select_from(
            user_field_values.join(custom_fields, _same_tenant(custom_fields, values.field_id))
        )
        .where(values.tenant_id == tenant_id, values.user_id.in_(keys))
    )
    found: dict[int, dict[str, str]] = defaultdict(dict)
    for user, key, value in connection.execute(query):
        found[user][key] = value
    return {user: dict(sorted(pairs.items())) for user, pairs in found.items()}


def _groups(tenant_id: int) -> sa.Select[Any]:
    g, tree = groups.c, group_tree.c
    parent = groups.alias("parent")
    depth = (
        sa.select(sa.func.count())
        .where(tree.tenant_id == g.tenant_id, tree.descendant_id == g.id)
        .scalar_subquery()
    )
    return (
        sa.select(*_columns(groups, "groups", parent_id=parent.c.external_id))
        .select_from(groups.outerjoin(parent, _same_tenant(parent, g.parent_id)))
        .where(g.tenant_id == tenant_id)
        .order_by(depth, g.external_id)
    )


def _memberships(tenant_id: int) -> sa.Select[Any]:
    m = memberships.c
    return (
        sa.select(
            m.user_id.label(KEY),
            users.c.external_id.label("user_id"),
            groups.c.external_id.label("group_id"),
        )
        .select_from(
            memberships.join(users, _same_tenant(users, m.user_id)).join(
                groups, _same_tenant(groups, m.group_id)
            )
        )
        .where(m.tenant_id == tenant_id)
        .order_by(users.c.external_id, groups.c.external_id)
    )


# The catalog


def _catalog(
    content_kind: str, kind: str, **given: ColumnElement[Any]
) -> Callable[[int], sa.Select[Any]]:
    def query(tenant_id: int) -> sa.Select[Any]:
        c = contents.c
        return (
            sa.select(*_columns(contents, kind, **given))
            .where(c.tenant_id == tenant_id, c.kind == content_kind)
            .order_by(c.external_id)
        )

    return query


def _children(tenant_id: int, keys: list[int]) -> sa.Select[Any]:
    """The ordered children of each parent: course items, programme activities."""
    items = content_items.c
    child = contents.alias("child")
    return (
        sa.select(items.parent_id, child.c.external_id, items.uuid)
        .select_from(content_items.join(child, _same_tenant(child, items.child_id)))
        .where(items.tenant_id == tenant_id, items.parent_id.in_(keys))
        .order_by(items.parent_id, items.position)
    )


def _items(connection: sa.Connection, tenant_id: int, keys: list[int]) -> dict[int, Any]:
    found: dict[int, list[dict[str, str]]] = defaultdict(list)
    for parent, activity, uuid in connection.execute(_children(tenant_id, keys)):
        found[parent].append({"activity_id": activity, "uuid": uuid})
    return found


def _activity_ids(connection: sa.Connection, tenant_id: int, keys: list[int]) -> dict[int, Any]:
    found: dict[int, list[str]] = defaultdict(list)
    for parent, activity, _ in connection.execute(_children(tenant_id, keys)):
        found[parent].append(activity)
    return found


def _sections(connection: sa.Connection, tenant_id: int, keys: list[int]) -> dict[int, Any]:
    """Each journey's sections with their activities, in one query of both levels."""
    outer, inner = content_items.alias("outer"), content_items.alias("inner")
    section, activity = contents.alias("section"), contents.alias("activity")
    query = (
        sa.select(
            outer.c.parent_id,
            outer.c.position,
            section.c.external_id,
            section.c.uuid,
            section.c.name,
            activity.c.external_id,
        )
        .select_from(
            outer.join(section, _same_tenant(section, outer.c.child_id))
            .outerjoin(
                inner,
                sa.and_(
                    inner.c.tenant_id == section.c.tenant_id, inner.c.parent_id == section.c.id
                ),
            )
            .outerjoin(activity, _same_tenant(activity, inner.c.child_id))
        )
        .where(outer.c.tenant_id == tenant_id, outer.c.parent_id.in_(keys))
        .order_by(outer.c.parent_id, outer.c.position, inner.c.position)
    )
    found: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    for journey, position, id_, uuid, name, activity_id in connection.execute(query):
        part = found[journey].setdefault(
            position, {"id": id_, "uuid": uuid, "name": name, "activity_ids": []}
        )
        if activity_id is not None:
            part["activity_ids"].append(activity_id)
    return {journey: list(parts.values()) for journey, parts in found.items()}


def _steps(connection: sa.Connection, tenant_id: int, keys: list[int]) -> dict[int, Any]:
    steps = path_steps.c
    columns = [contents.c.external_id if name == "activity_id" else steps[name] for name in STEP]
    query = (
        sa.select(steps.path_id, *columns)
        .select_from(path_steps.join(contents, _same_tenant(contents, steps.content_id)))
        .where(steps.tenant_id == tenant_id, steps.path_id.in_(keys))
        .order_by(steps.path_id, steps.position)
    )
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for path, *values in connection.execute(query):
        found[path].append(dict(zip(STEP, values, strict=True)))
    return found


# Progress


def _path_sessions(tenant_id: int) -> sa.Select[Any]:
    s = path_sessions.c
    path = contents.alias("path")
    return (
        sa.select(*_columns(path_sessions, "path_sessions", path_id=path.c.external_id))
        .select_from(path_sessions.join(path, _same_tenant(path, s.path_id)))
        .where(s.tenant_id == tenant_id)
        .order_by(s.external_id)
    )


def _enrollments(tenant_id: int) -> sa.Select[Any]:
    e = enrollments.c
    session = path_sessions.alias("session")
    given = {
        "user_id": users.c.external_id,
        "content_id": contents.c.external_id,
        "path_session_id": session.c.external_id,
    }
    return (
        sa.select(*_columns(enrollments, "enrollments", **given))
        .select_from(
            enrollments.join(users, _same_tenant(users, e.user_id))
            .join(contents, _same_tenant(contents, e.content_id))
            .outerjoin(session, _same_tenant(session, e.session_id))
        )
        .where(e.tenant_id == tenant_id)
        .order_by(e.external_id)
    )


def _results(tenant_id: int) -> sa.Select[Any]:
    r = results.c
    given = {"user_id": users.c.external_id, "content_id": contents.c.external_id}
    return (
        sa.select(*_columns(results, "results", **given))
        .select_from(
            results.join(users, _same_tenant(users, r.user_id)).join(
                contents, _same_tenant(contents, r.content_id)
            )
        )
        .where(r.tenant_id == tenant_id)
        .order_by(r.external_id)
    )


READERS: dict[str, Reader] = {
    "users": Reader(_users, {"custom_fields": (_custom_fields, {})}),
    "groups": Reader(_groups, documents=("name_i18n", "extra")),
    "activities": Reader(_catalog("activity", "activities")),
    "courses": Reader(_catalog("course", "courses"), {"items": (_items, [])}),
    "journeys": Reader(_catalog("journey", "journeys"), {"sections": (_sections, [])}),
    "programmes": Reader(
        _catalog("programme", "programmes", title=contents.c.name),
        {"activity_ids": (_activity_ids, [])},
    ),
    "skills": Reader(_catalog("skill", "skills")),
    "paths": Reader(_catalog("path", "paths"), {"steps": (_steps, [])}),
    "path_sessions": Reader(_path_sessions),
    "enrollments": Reader(_enrollments),
    "results": Reader(_results),
    "memberships": Reader(_memberships),
}
