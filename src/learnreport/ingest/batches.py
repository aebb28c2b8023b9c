"""The one write path: validated, all-or-nothing bulk upserts by the platform's own ids.

A batch goes through four steps, each set-wise: validate every record (msgspec), look up
the rows it names (one `IN` query per table and 500 keys), plan inserts, updates and skips,
then write with `executemany`. Every problem found in the first three steps is collected
before anything is written, so a rejected batch names all its bad records and writes none.

Records are complete: an update replaces every column with the record's value (an absent
optional field becomes empty). A record whose `modified_at` is older than the stored one is
skipped; one equal to it, or without `modified_at` and identical to the stored row, is
unchanged. Sending the same batch twice therefore changes nothing.
"""

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson
import sqlalchemy as sa

from learnreport.ingest.errors import BatchRejected, RecordError, from_validation
from learnreport.store import bulk, tallies
from learnreport.store.schema import memberships, sequences
from learnreport.store.tree import members_below
from learnreport.store.types import JSONDocument, Timestamp, format_timestamp
from learnreport.store.uuids import mint


@dataclass(frozen=True, slots=True)
class Reference:
    """A record field holding another record's external id, stored as its integer id."""

    table: sa.Table
    column: str
    noun: str
    kinds: tuple[str, ...] = ()
    kind_column: str | None = None
    """Where the referred content's kind is copied, so that a report of one kind of content
    reads it from the row instead of from the catalog."""


@dataclass(frozen=True)
class Target:
    """How one kind of record lands in its table."""

    table: sa.Table
    record: type[msgspec.Struct]
    person: str | None = None
    """The column naming the person a record is about (`id` for users), by which a writer
    limited to some departments is held to them; None for records about no one person."""
    references: Mapping[str, Reference] = field(default_factory=dict)
    renamed: Mapping[str, str] = field(default_factory=dict)
    nested: tuple[str, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)
    prepare: Callable[["Batch"], None] | None = None
    check: Callable[["Batch"], None] | None = None
    finish: Callable[["Batch"], None] | None = None
    """Writes the nested parts of the records in `Batch.current`; calls `Batch.changed` for
    each record whose nested parts differed from the stored ones."""
    tallied: bool = False
    """Whether the records change where their people stand (`store.tallies`)."""


@dataclass(slots=True)
class Summary:
    kind: str
    received: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0

    def add(self, other: "Summary") -> None:
        self.received += other.received
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped


@dataclass
class Batch:
    """One batch on its way into the store; the hooks of a `Target` read and extend it."""

    connection: sa.Connection
    tenant_id: int
    kind: str
    target: Target
    now: str
    rows: list[dict[str, Any]]
    nested: list[dict[str, Any]]
    limited_to: tuple[int, ...] | None = None
    errors: list[RecordError] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    """The position in the submitted batch of each valid record (`rows[i]`, `nested[i]`)."""
    existing: dict[str, dict[str, Any]] = field(default_factory=dict)
    current: list[int] = field(default_factory=list)
    """Indexes of the records that are not stale: inserted, updated or unchanged."""
    summary: Summary = field(init=False)
    _unchanged: set[int] = field(default_factory=set)
    _unstamped: set[int] = field(default_factory=set)

    def changed(self, index: int) -> None:
        """Count an unchanged record as updated because its nested parts changed."""
        if index in self._unchanged:
            self._unchanged.discard(index)
            self.summary.unchanged -= 1
            self.summary.updated += 1
            if index not in self._unstamped:
                return
            row = self.rows[index]
            row["modified_at"] = self.now
            self.connection.execute(
                self.target.table.update()
                .where(self.target.table.c.tenant_id == self.tenant_id)
                .where(self.target.table.c.id == row["id"])
                .values(modified_at=self.now)
            )

    def error(self, index: int, field_name: str | None, reason: str) -> None:
        self.errors.append(RecordError(self.positions[index], field_name, reason))

    def resolve(self, reference: Reference, keys: set[str]) -> dict[str, tuple[int, str | None]]:
        """Map external ids to (integer id, content kind) in this tenant."""
        return lookup(self.connection, self.tenant_id, reference, keys)


def canonical(value: str) -> str:
    """The stored text of a timestamp that msgspec wrote with an offset or a fraction."""
    if value[-1] == "Z" and value[19] == ".":
        return value[:19] + "Z"
    return format_timestamp(datetime.fromisoformat(value))


def now_text() -> str:
    return format_timestamp(datetime.now(UTC))


def validate(
    kind: str, struct: type[msgspec.Struct], records: Sequence[Any]
) -> tuple[list[Any], list[int], list[RecordError]]:
    """The records that are valid `struct`s, their positions, and an error for each other one.

    The whole batch is converted at once (in C); only a batch that fails is converted again
    record by record, to name every bad record rather than the first.
    """
    try:
        structs = msgspec.convert(records, list[struct])  # type: ignore[valid-type]
        return _without_nul(structs, list(range(len(structs))), [])
    except msgspec.ValidationError:
        pass
    if not isinstance(records, Sequence) or isinstance(records, str | bytes):
        return [], [], [RecordError(0, None, "expected an array of records")]
    structs, positions, errors = [], [], []
    for index, record in enumerate(records):
        try:
            structs.append(msgspec.convert(record, struct))
            positions.append(index)
        except msgspec.ValidationError as error:
            errors.append(from_validation(index, error))
    return _without_nul(structs, positions, errors)


def _without_nul(
    structs: list[Any], positions: list[int], errors: list[RecordError]
) -> tuple[list[Any], list[int], list[RecordError]]:
    """Refuse, on both databases alike, a record with the NUL character in any text:
    PostgreSQL's text and JSON columns cannot hold it, and the batch failed there as a
    whole. Encoding the batch again finds one: 5 to 8 ms for 10,000 results, as long as
    their validation and about 1% of writing them;
    only then is each record looked through, to name the field."""
    if b"\\u0000" not in msgspec.json.encode(structs):
        return structs, positions, errors
    kept, kept_positions = [], []
    for struct, position in zip(structs, positions, strict=True):
        field = _nul_in(msgspec.to_builtins(struct), "")
        if field is None:
            kept.append(struct)
            kept_positions.append(position)
        else:
            errors.append(RecordError(position, field, "must not contain the NUL character"))
    errors.sort(key=lambda error: error.index)
    return kept, kept_positions, errors


def _nul_in(value: Any, path: str) -> str | None:
    """The path, as `from_validation` names fields (`steps[0].activity_id`), of the first
    text holding NUL, a mapping's keys included."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return inner
            if (found := _nul_in(item, inner)) is not None:
                return found
    if isinstance(value, list):
        for position, item in enumerate(value):
            if (found := _nul_in(item, f"{path}[{position}]")) is not None:
                return found
    return None


@dataclass(frozen=True, slots=True)
class Converted:
    """A batch validated and turned into stored rows: the part of the write path that asks
    no database, done ahead of `write`, in another process if need be (a bulk load does it
    in the process that reads or generates the records, while its writer writes). It
    pickles; `write` fills in its rows, so it is written once."""

    rows: list[dict[str, Any]]
    nested: list[dict[str, Any]]
    positions: list[int]
    errors: list[RecordError]

    def __len__(self) -> int:
        """The records of the batch, good and bad."""
        return len(self.positions) + len(self.errors)


def convert(kind: str, target: Target, records: Sequence[Any]) -> Converted:
    structs, positions, errors = validate(kind, target.record, records)
    rows, nested = _to_rows(target, structs)
    return Converted(rows, nested, positions, errors)


def write(
    connection: sa.Connection,
    tenant_id: int,
    kind: str,
    target: Target,
    records: Sequence[Any] | Converted,
    *,
    now: str | None = None,
    limited_to: tuple[int, ...] | None = None,
) -> Summary:
    """Upsert one batch inside the caller's transaction; raise `BatchRejected` before writing.

    `limited_to` holds a writer to the people of some groups and the groups below them
    (see `check_people_within`).
    """
    converted = records if isinstance(records, Converted) else convert(kind, target, records)
    batch = Batch(connection, tenant_id, kind, target, now or now_text(), converted.rows,
                  converted.nested, limited_to)  # fmt: skip
    batch.positions, batch.errors = converted.positions, converted.errors
    if target.prepare is not None:
        target.prepare(batch)
    _find_existing(batch)
    _check_duplicates(batch)
    ids = _assign_ids(batch)
    _resolve_references(batch, ids)
    if limited_to is not None:
        _check_within(batch)
    if target.check is not None:
        target.check(batch)
    if batch.errors:
        _check_stored_clashes(batch)
        raise BatchRejected(kind, batch.errors)
    inserts, updates = _plan(batch)
    pairs = _pairs(batch, [*inserts, *updates]) if target.tallied else set()
    written = _written(batch, inserts, updates)
    try:
        with (
            connection.begin_nested(),
            tallies.recounted(connection, tenant_id, pairs=pairs, written=written),
        ):
            bulk.insert_rows(connection, target.table, inserts)
            bulk.update_rows(connection, target.table, updates)
            if target.finish is not None:
                target.finish(batch)
    except sa.exc.IntegrityError:
        _check_stored_clashes(batch)
        if batch.errors:
            raise BatchRejected(kind, batch.errors) from None
        raise
    return batch.summary


def _pairs(batch: Batch, changed: list[dict[str, Any]]) -> set[tuple[int, int]]:
    """The (person, content) pairs of the records a batch changes, as they were and will be."""
    stored = [
        batch.existing[row["external_id"]]
        for row in changed
        if row["external_id"] in batch.existing
    ]
    return {(row["user_id"], row["content_id"]) for row in [*changed, *stored]}


def _written(
    batch: Batch, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]
) -> tallies.Written | None:
    """What a tallied batch writes, for the tallies to follow it, unless a hook writes more."""
    if not batch.target.tallied or batch.target.finish is not None:
        return None
    replaced = [batch.existing[row["external_id"]] for row in updates]
    return tallies.Written(
        batch.target.table,
        [*((None, row) for row in inserts), *zip(replaced, updates, strict=True)],
    )


def _to_rows(
    target: Target, structs: list[Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    table = target.table
    stamps = [c.name for c in table.columns if isinstance(c.type, Timestamp)]
    documents = [c.name for c in table.columns if c.type is JSONDocument]
    rows, nested = [], []
    for row in msgspec.to_builtins(structs):
        nested.append({name: row.pop(name) for name in target.nested})
        row["external_id"] = row.pop("id")
        if row.get("uuid"):
            row["uuid"] = row["uuid"].lower()
        for old, new in target.renamed.items():
            row[new] = row.pop(old)
        for name in stamps:
            value = row.get(name)
            if value is not None and (len(value) != 20 or value[-1] != "Z"):
                row[name] = canonical(value)
        for name in documents:
            if name in row:
                row[name] = bulk.dump_json(row[name])
        row.update(target.fixed)
        rows.append(row)
    return rows, nested


def _find_existing(batch: Batch) -> None:
    table = batch.target.table
    columns = [c for c in table.columns if c.name != "tenant_id"]
    keys = {row["external_id"] for row in batch.rows}
    query = sa.select(*columns).where(
        table.c.tenant_id == batch.tenant_id, bulk.among(table.c.external_id, keys)
    )
    for found in batch.connection.execute(query).mappings():
        batch.existing[found["external_id"]] = dict(found)
    wanted = batch.target.fixed.get("kind")
    if wanted is None:
        return
    for index, row in enumerate(batch.rows):
        stored = batch.existing.get(row["external_id"])
        if stored is not None and stored["kind"] != wanted:
            batch.error(index, "id", f"{row['external_id']!r} is already a {stored['kind']}")


def _check_duplicates(batch: Batch) -> None:
    """Refuse two records of one batch that would claim the same unique value."""
    unique_sets = [("external_id",), *_unique_sets(batch.target.table)]
    for names in unique_sets:
        key = operator.itemgetter(*names)
        if len({key(row) for row in batch.rows}) == len(batch.rows):
            continue
        seen: dict[tuple[Any, ...], int] = {}
        for index, row in enumerate(batch.rows):
            value = tuple(row.get(name) for name in names)
            if None in value:
                continue
            if value in seen:
                shown = "id" if names == ("external_id",) else ", ".join(map(_shown, names))
                first = batch.positions[seen[value]]
                batch.error(index, shown, f"duplicates record {first} of this batch")
            else:
                seen[value] = index


def _unique_sets(table: sa.Table) -> list[tuple[str, ...]]:
    """The tenant's unique keys of a table other than its external id."""
    return [
        tuple(c.name for c in constraint.columns if c.name != "tenant_id")
        for constraint in table.constraints
        if isinstance(constraint, sa.UniqueConstraint) and "external_id" not in constraint.columns
    ]


def _check_stored_clashes(batch: Batch) -> None:
    """Name each record that took a unique value (an email, a uuid, a user's attempt at a
    content) that a stored record of another id holds, once the database has refused the
    batch for it: looking every value up beforehand would cost more than the insert. A
    value moves from one record to another in two batches: the first frees it, the second
    takes it. A batch refused for other reasons is looked up too, so that its answer names
    every bad record at once."""
    table = batch.target.table
    for names in _unique_sets(table):
        wanted: dict[tuple[Any, ...], list[int]] = {}
        for index, row in enumerate(batch.rows):
            value = tuple(row.get(name) for name in names)
            if None not in value:
                wanted.setdefault(value, []).append(index)
        columns = [table.c[name] for name in names]
        key = sa.tuple_(*columns) if len(columns) > 1 else columns[0]
        for chunk in bulk.chunked(list(wanted)):
            values = chunk if len(columns) > 1 else [value[0] for value in chunk]
            query = sa.select(table.c.external_id, *columns).where(
                table.c.tenant_id == batch.tenant_id, key.in_(values)
            )
            for holder, *taken in batch.connection.execute(query):
                for index in wanted[tuple(taken)]:
                    if batch.rows[index]["external_id"] != holder:
                        shown = ", ".join(map(_shown, names))
                        batch.error(index, shown, f"is taken by the stored record {holder!r}")


def _shown(column: str) -> str:
    """A column's name as records spell it."""
    return "path_session_id" if column == "session_id" else column


def _check_within(batch: Batch) -> None:
    """A writer limited to some departments writes only records of their people: a user of
    theirs (or a new one), or a record about one. Others are refused by name, whoever holds
    them, so that nothing is written outside the departments."""
    column = batch.target.person
    if column is None:
        raise PermissionError(f"a writer limited to groups may not write {batch.kind}")
    people = {
        row[column]
        for row in batch.rows
        if row.get(column) is not None and (column != "id" or row["external_id"] in batch.existing)
    }
    seen = people_within(batch.connection, batch.tenant_id, batch.limited_to or (), people)
    for index, row in enumerate(batch.rows):
        person = row.get(column)
        if person in people and person not in seen:
            field_name = "id" if column == "id" else "user_id"
            batch.error(index, field_name, "is not a person of your departments")


def people_within(
    connection: sa.Connection, tenant_id: int, groups: Sequence[int], people: set[int]
) -> set[int]:
    """Those of `people` who belong to one of `groups` or a group below them."""
    seen: set[int] = set()
    for chunk in bulk.chunked(people):
        query = members_below(tenant_id, groups).where(memberships.c.user_id.in_(chunk))
        seen.update(connection.execute(query).scalars())
    return seen


def _assign_ids(batch: Batch) -> dict[str, int]:
    """Integer ids of every record: stored ones kept, new ones taken from the tenant's counter."""
    table = batch.target.table
    ids = {key: stored["id"] for key, stored in batch.existing.items()}
    new_keys = list(
        dict.fromkeys(r["external_id"] for r in batch.rows if r["external_id"] not in ids)
    )
    if new_keys:
        last = allocate(batch.connection, batch.tenant_id, table.name, len(new_keys))
        ids.update(zip(new_keys, range(last - len(new_keys) + 1, last + 1), strict=True))
    for row in batch.rows:
        row["id"] = ids[row["external_id"]]
    return ids


def allocate(connection: sa.Connection, tenant_id: int, name: str, count: int) -> int:
    """Reserve `count` ids for a table of a tenant; return the last one."""
    values = {"tenant_id": tenant_id, "name": name}
    return bulk.upsert_counter(connection, sequences, values, "last_id", count)


def _resolve_references(batch: Batch, batch_ids: dict[str, int]) -> None:
    for field_name, reference in batch.target.references.items():
        keys = {row[field_name] for row in batch.rows if row.get(field_name) is not None}
        found = batch.resolve(reference, keys)
        if reference.table is batch.target.table:
            found.update({key: (value, None) for key, value in batch_ids.items()})
        for index, row in enumerate(batch.rows):
            key = row.pop(field_name)
            row[reference.column] = None
            if key is None:
                continue
            hit = found.get(key)
            if hit is None:
                batch.error(index, field_name, f"no {reference.noun} with id {key!r}")
            elif reference.kinds and hit[1] not in reference.kinds:
                expected = " or ".join(reference.kinds)
                batch.error(index, field_name, f"{key!r} is a {hit[1]}; expected a {expected}")
            else:
                row[reference.column] = hit[0]
                if reference.kind_column:
                    row[reference.kind_column] = hit[1]


def lookup(
    connection: sa.Connection, tenant_id: int, reference: Reference, keys: set[str]
) -> dict[str, tuple[int, str | None]]:
    table = reference.table
    kind = table.c.kind if "kind" in table.c else sa.null()
    if not keys:
        return {}
    query = sa.select(table.c.external_id, table.c.id, kind).where(
        table.c.tenant_id == tenant_id, bulk.among(table.c.external_id, keys)
    )
    return {key: (id_, kind_) for key, id_, kind_ in connection.execute(query)}


_KEEP_ON_UPDATE = ("created_at", "uuid")


def _plan(batch: Batch) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows to insert and to update, counted in the batch's summary."""
    summary = batch.summary = Summary(batch.kind, received=len(batch.rows))
    table = batch.target.table
    has_uuid = "uuid" in table.c
    inserts, updates, unnamed = [], [], []
    for index, row in enumerate(batch.rows):
        row["tenant_id"] = batch.tenant_id
        stored = batch.existing.get(row["external_id"])
        if stored is None:
            if has_uuid and not row.get("uuid"):
                unnamed.append(row)
            row["created_at"] = row.get("created_at") or row.get("modified_at") or batch.now
            row["modified_at"] = row.get("modified_at") or batch.now
            inserts.append(row)
            batch.current.append(index)
            continue
        for name in _KEEP_ON_UPDATE:
            if name in stored and not row.get(name):
                row[name] = stored[name]
        if row.get("modified_at") is not None and row["modified_at"] < stored["modified_at"]:
            summary.skipped += 1
            continue
        batch.current.append(index)
        if row.get("modified_at") is not None:
            unchanged = row["modified_at"] == stored["modified_at"]
        else:
            batch._unstamped.add(index)
            unchanged = _same(row, stored)
            row["modified_at"] = stored["modified_at"] if unchanged else batch.now
        if unchanged:
            summary.unchanged += 1
            batch._unchanged.add(index)
        else:
            updates.append(row)
    for row, uuid in zip(unnamed, mint(len(unnamed)), strict=True):
        row["uuid"] = uuid
    summary.inserted, summary.updated = len(inserts), len(updates)
    return inserts, updates


def _same(row: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Whether a record without `modified_at` would change nothing in its stored row."""
    for name, value in row.items():
        if name in ("tenant_id", "modified_at", "created_at"):
            continue
        old = stored.get(name)
        if isinstance(old, dict | list):
            value = orjson.loads(value)
        if value != old:
            return False
    return True
