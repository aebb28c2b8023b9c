"""The one write path into the store.

The demo generator, the HTTP batch API and the file importer all call `upsert` (inside a
transaction they own) or `ingest` (which makes one transaction per batch). See
`learnreport.ingest.batches` for the rules a batch follows.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from learnreport.ingest import batches, statements
from learnreport.ingest.batches import Converted, Summary, write
from learnreport.ingest.errors import BatchRejected, RecordError
from learnreport.ingest.kinds import KINDS, PEOPLE_KINDS, TARGETS
from learnreport.ingest.people import write_memberships
from learnreport.store import bulk
from learnreport.store.engine import writing

__all__ = [
    "KINDS",
    "PEOPLE_KINDS",
    "BatchRejected",
    "Converted",
    "RecordError",
    "Summary",
    "convert",
    "ingest",
    "upsert",
]


MATCHED_KINDS = ("users", "activities", "courses", "journeys", "programmes", "skills", "paths")
"""The kinds xAPI statements name (their actor, their object): writing one may match
statements that waited for it, whose results are then folded in the same transaction."""


class UnknownKind(ValueError):
    pass


def convert(kind: str, records: Sequence[Any]) -> Converted:
    """`records` validated and turned into stored rows, for `upsert` to write: the write
    path's work that needs no database, which a bulk load can do in another process while
    its writer writes. Every kind but memberships, which are written as they come."""
    target = TARGETS.get(kind)
    if target is None:
        raise UnknownKind(f"{kind!r} is not converted ahead; expected one of {', '.join(TARGETS)}")
    return batches.convert(kind, target, records)


def upsert(
    connection: sa.Connection,
    tenant_id: int,
    kind: str,
    records: Sequence[Any] | Converted,
    *,
    now: str | None = None,
    limited_to: tuple[int, ...] | None = None,
) -> Summary:
    """Write one batch in the caller's transaction, or raise `BatchRejected` having written
    nothing the caller's rollback would not undo.

    `limited_to` holds the writer to the people of those groups and the groups below them,
    as a department administrator is held; such a writer may write only `PEOPLE_KINDS`.
    """
    if limited_to is not None and kind not in PEOPLE_KINDS:
        raise PermissionError(f"a writer limited to groups may not write {kind}")
    if kind == "memberships":
        if isinstance(records, Converted):
            raise UnknownKind("memberships are written as they come, not converted ahead")
        return write_memberships(connection, tenant_id, records, limited_to)
    target = TARGETS.get(kind)
    if target is None:
        raise UnknownKind(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    summary = write(connection, tenant_id, kind, target, records, now=now, limited_to=limited_to)
    if kind in MATCHED_KINDS and (summary.inserted or summary.updated):
        statements.match_pending(connection, tenant_id)
    return summary


def ingest(
    engine: sa.Engine,
    tenant_id: int,
    kind: str,
    records: Iterable[Any],
    *,
    batch_size: int = 10_000,
    now: str | None = None,
) -> Summary:
    """Write records in batches of `batch_size`, each in its own transaction."""
    if isinstance(records, Mapping | str | bytes):
        raise BatchRejected(kind, [RecordError(0, None, "expected an array of records")])
    total = Summary(kind)
    for chunk in bulk.chunked(records, batch_size):
        with writing(engine) as connection:
            total.add(upsert(connection, tenant_id, kind, chunk, now=now))
    return total
