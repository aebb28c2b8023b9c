"""The nested parts of catalog records: course items, journey sections, programme
activities and path steps, each rewritten with its parent."""

from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from learnreport.ingest.batches import Batch, Reference, Target, allocate, canonical, write
from learnreport.ingest.records import SectionRecord
from learnreport.store import bulk
from learnreport.store.schema import content_items, contents, path_sessions, path_steps
from learnreport.store.uuids import minted

LEARNING = ("activity", "course")


def content(noun: str, kinds: tuple[str, ...] = (), kind_column: str | None = None) -> Reference:
    return Reference(contents, "content_id", noun, kinds, kind_column)


def _resolve_children(batch: Batch, part: str, key: str, kinds: tuple[str, ...]) -> None:
    """Check every child reference of every record, turning external ids into integer ids."""
    keys = {child[key] if key else child for nested in batch.nested for child in nested[part]}
    found = batch.resolve(content(kinds[0], kinds), keys)
    for index, nested in enumerate(batch.nested):
        for position, child in enumerate(nested[part]):
            external = child[key] if key else child
            where = f"{part}[{position}]" + (f".{key}" if key else "")
            hit = found.get(external)
            if hit is None:
                batch.error(index, where, f"no content with id {external!r}")
            elif hit[1] not in kinds:
                batch.error(index, where, f"{external!r} is a {hit[1]}, not a {' or '.join(kinds)}")
            else:
                nested.setdefault("resolved", {})[(part, position)] = hit[0]


def check_items(batch: Batch) -> None:
    _resolve_children(batch, "items", "activity_id", ("activity",))


def check_programme(batch: Batch) -> None:
    _resolve_children(batch, "activity_ids", "", LEARNING)


def check_path(batch: Batch) -> None:
    _resolve_children(batch, "steps", "activity_id", LEARNING)


def check_journey(batch: Batch) -> None:
    sections = [section for nested in batch.nested for section in nested["sections"]]
    keys = {section["id"] for section in sections}
    found = batch.resolve(content("section"), keys)
    seen: dict[str, int] = {}
    for index, nested in enumerate(batch.nested):
        for position, section in enumerate(nested["sections"]):
            where = f"sections[{position}]"
            hit = found.get(section["id"])
            if hit is not None and hit[1] != "section":
                batch.error(index, f"{where}.id", f"{section['id']!r} is already a {hit[1]}")
            if section["id"] in seen:
                batch.error(index, f"{where}.id", f"section {section['id']!r} appears twice")
            seen[section["id"]] = index
            for step, activity in enumerate(section["activity_ids"]):
                nested.setdefault("activities", []).append((position, step, activity))
    activities = {a for nested in batch.nested for _, _, a in nested.get("activities", [])}
    known = batch.resolve(content("activity", ("activity",)), activities)
    for index, nested in enumerate(batch.nested):
        for position, step, activity in nested.get("activities", []):
            if known.get(activity, (0, None))[1] != "activity":
                where = f"sections[{position}].activity_ids[{step}]"
                batch.error(index, where, f"no activity with id {activity!r}")


def write_items(batch: Batch) -> None:
    _replace_items(batch, "items", lambda nested, position, child: child.get("uuid"))


def write_programme_items(batch: Batch) -> None:
    _replace_items(batch, "activity_ids", lambda nested, position, child: None)


def write_journey(batch: Batch) -> None:
    """Upsert the sections as catalog entries of their own, then link them in order."""
    current = set(batch.current)
    records = [
        {key: value for key, value in section.items() if value is not None}
        for index, nested in enumerate(batch.nested)
        if index in current
        for section in nested["sections"]
    ]
    if records:
        write(batch.connection, batch.tenant_id, "sections", SECTIONS, records, now=batch.now)
    ids = batch.resolve(content("section"), {r["id"] for r in records})
    for index in current:
        nested = batch.nested[index]
        for position, section in enumerate(nested["sections"]):
            nested.setdefault("resolved", {})[("sections", position)] = ids[section["id"]][0]
    _replace_items(batch, "sections", lambda nested, position, child: None)


def _write_section_activities(batch: Batch) -> None:
    for nested in batch.nested:
        nested["resolved"] = {}
    ids = batch.resolve(
        content("activity"), {a for nested in batch.nested for a in nested["activity_ids"]}
    )
    for nested in batch.nested:
        for position, activity in enumerate(nested["activity_ids"]):
            nested["resolved"][("activity_ids", position)] = ids[activity][0]
    _replace_items(batch, "activity_ids", lambda nested, position, child: None)


SECTIONS = Target(
    contents,
    SectionRecord,
    nested=("activity_ids",),
    fixed={"kind": "section", "published": True},
    finish=_write_section_activities,
)


def _replace_items(batch: Batch, part: str, given_uuid: Any) -> None:
    """Rewrite the ordered children of each current record whose children changed.

    An item keeps its id and uuid while the same child stays under the same parent, so
    iSpring's `courseItemId` is stable across updates of a course.
    """
    table = content_items
    parents = {batch.rows[index]["id"]: index for index in batch.current}
    stored: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for chunk in bulk.chunked(parents):
        query = (
            sa.select(table.c.id, table.c.uuid, table.c.parent_id, table.c.child_id)
            .where(table.c.tenant_id == batch.tenant_id, table.c.parent_id.in_(chunk))
            .order_by(table.c.parent_id, table.c.position)
        )
        for row in batch.connection.execute(query).mappings():
            stored[row["parent_id"]].append(dict(row))
    changed: list[int] = []
    wanted: list[dict[str, Any]] = []
    for parent, index in parents.items():
        nested = batch.nested[index]
        previous = {item["child_id"]: item for item in stored.get(parent, [])}
        items = []
        for position, child in enumerate(nested[part]):
            child_id = nested["resolved"][(part, position)]
            old = previous.get(child_id, {})
            items.append(
                {
                    "tenant_id": batch.tenant_id,
                    "id": old.get("id"),
                    "uuid": (
                        given_uuid(nested, position, child) or old.get("uuid") or minted()
                    ).lower(),
                    "parent_id": parent,
                    "position": position,
                    "child_id": child_id,
                }
            )
        before = [(i["child_id"], i["uuid"]) for i in stored.get(parent, [])]
        if before == [(i["child_id"], i["uuid"]) for i in items]:
            continue
        batch.changed(index)
        changed.append(parent)
        wanted += items
    for chunk in bulk.chunked(changed):
        batch.connection.execute(
            table.delete().where(table.c.tenant_id == batch.tenant_id, table.c.parent_id.in_(chunk))
        )
    fresh = [item for item in wanted if item["id"] is None]
    if fresh:
        last = allocate(batch.connection, batch.tenant_id, table.name, len(fresh))
        for id_, item in zip(range(last - len(fresh) + 1, last + 1), fresh, strict=True):
            item["id"] = id_
    bulk.insert_rows(batch.connection, table, wanted)


def write_steps(batch: Batch) -> None:
    """Rewrite the steps of each current path whose steps changed."""
    parents = {batch.rows[index]["id"]: index for index in batch.current}
    columns = [c for c in path_steps.columns if c.name != "tenant_id"]
    stored: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for chunk in bulk.chunked(parents):
        query = (
            sa.select(*columns)
            .where(path_steps.c.tenant_id == batch.tenant_id, path_steps.c.path_id.in_(chunk))
            .order_by(path_steps.c.path_id, path_steps.c.position)
        )
        for row in batch.connection.execute(query).mappings():
            stored[row["path_id"]].append(dict(row))
    changed, wanted = [], []
    for parent, index in parents.items():
        nested = batch.nested[index]
        steps = []
        for position, step in enumerate(nested["steps"]):
            row = {key: value for key, value in step.items() if key != "activity_id"}
            if row["due_at"] is not None:
                row["due_at"] = canonical(row["due_at"])
            row.update(
                path_id=parent,
                position=position,
                content_id=nested["resolved"][("steps", position)],
            )
            steps.append(row)
        if steps == stored.get(parent, []):
            continue
        batch.changed(index)
        changed.append(parent)
        wanted += [{"tenant_id": batch.tenant_id, **step} for step in steps]
    for chunk in bulk.chunked(changed):
        batch.connection.execute(
            path_steps.delete().where(
                path_steps.c.tenant_id == batch.tenant_id, path_steps.c.path_id.in_(chunk)
            )
        )
    bulk.insert_rows(batch.connection, path_steps, wanted)


ENROLLABLE = ("activity", "course", "journey", "programme", "skill", "path")
RESULTABLE = (*ENROLLABLE, "section")


def check_enrollment(batch: Batch) -> None:
    """An enrollment names its content, or a path session whose path is then its content."""
    sessions = {row["session_id"] for row in batch.rows if row["session_id"] is not None}
    paths: dict[int, int] = {}
    for chunk in bulk.chunked(sessions):
        query = sa.select(path_sessions.c.id, path_sessions.c.path_id).where(
            path_sessions.c.tenant_id == batch.tenant_id, path_sessions.c.id.in_(chunk)
        )
        paths.update(batch.connection.execute(query).all())
    for index, row in enumerate(batch.rows):
        if row["session_id"] is None:
            if row["content_id"] is None and not _has_error(batch, index):
                batch.error(index, "content_id", "either content_id or path_session_id is required")
            continue
        path = paths[row["session_id"]]
        if row["content_id"] is None:
            row["content_id"] = path
        elif row["content_id"] != path:
            batch.error(index, "content_id", "is not the path of the enrollment's path session")


def _has_error(batch: Batch, index: int) -> bool:
    return any(error.index == batch.positions[index] for error in batch.errors)
