"""xAPI statements into the store, and the results they make through the one write path.

Storing
    A request's statements are stored in one transaction, all or none: "The LRS MUST reject
    a batch of statements if any Statement within that batch is rejected" (Communication
    3.2). A statement whose id is stored already changes nothing when it is the same
    statement ("An LRS MUST NOT make any modifications to its state based on receiving a
    Statement with a statementId that it already has a Statement for", 2.1.1) and refuses
    the request with `Conflict` when it is not. Transactions that store statements take
    the tenant's statement counter first, which serialises them per tenant on both
    databases: two requests never fold the same pair from two different views of it.

Matching
    A statement is about a person when its actor is an Agent whose mbox is a user's email,
    or whose account name is a user's username (one user only) or else a user's id; it is
    about an activity when its object's id is a content's `identifier` (one content only)
    or is `urn:uuid:` and a content's uuid. The account's homePage is not compared: the
    platform's accounts are the tenant's users. Groups, `mbox_sha1sum` and `openid` actors
    match no one. A statement that matches nothing is stored all the same and matched by
    `match_pending`, which the write path calls when it writes people or content.

Results
    Each pair of a person and a content with statements has one result, folded by
    `learnreport.domain.xapi.result_of` from all its non-voided statements and written with
    `learnreport.ingest.upsert`. Its id, `xapi:` and a UUID 5 of the pair's external ids,
    is the same whenever it is folded again. Its attempt is one more than the highest the
    pair had when the result was first written, so that it takes no attempt the platform
    already sent, and is kept thereafter. When no statement of the pair has an effect any
    more (its last ones were voided), the result goes back to not started.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa

from learnreport.domain.states import ResultState
from learnreport.domain.xapi import VERBS, VOIDED, Standing, result_of
from learnreport.ingest.batches import allocate, people_within, write
from learnreport.ingest.errors import BatchRejected, RecordError
from learnreport.ingest.kinds import TARGETS
from learnreport.ingest.records import ResultRecord
from learnreport.ingest.xapi import GROUP, Statement, same_statement
from learnreport.store import bulk
from learnreport.store.schema import contents, results, statements, users
from learnreport.store.types import format_timestamp

RESULTS = uuid.UUID("6f1d3c0e-8a41-5b7e-9c2d-4e5f60718293")
"""The namespace of the UUID 5 in the id of every result that statements make."""

Pair = tuple[int, int]
"""A person's and a content's integer ids."""

URN_UUID = "urn:uuid:"


@dataclass(frozen=True, slots=True)
class Stored:
    ids: list[str]
    """The statement ids, in the order received."""
    inserted: int
    unchanged: int
    unmatched: int
    """Inserted statements about an activity whose person or activity is not known yet."""


class Conflict(Exception):
    """A statement whose id is stored already, with other content."""

    def __init__(self, statement: Statement) -> None:
        super().__init__(
            f"statement {statement.index}: another statement with the id {statement.id} "
            "is stored already"
        )
        self.statement = statement


class Forbidden(Exception):
    """A statement the credential may not send."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"statement {index}: {reason}")


def store(
    connection: sa.Connection,
    tenant_id: int,
    received: Sequence[Statement],
    *,
    authority: dict[str, Any],
    limited_to: tuple[int, ...] | None = None,
) -> Stored:
    """Store valid statements in the caller's transaction and fold the results they touch.

    `authority` is the Agent that sends them: "The LRS SHOULD overwrite the authority on
    all Statements it stores, based on the credentials used to send those Statements"
    (Data 2.4.9). A principal limited to groups (`limited_to`) may only send statements
    about the people in them. Raises `Forbidden`, `BatchRejected` or `Conflict`, having
    written nothing the caller's rollback would not undo.
    """
    _serialize(connection, tenant_id)
    existing = _existing(connection, tenant_id, [statement.id for statement in received])
    people = _resolve_actors(connection, tenant_id, {statement.actor for statement in received})
    activities = _resolve_activities(
        connection, tenant_id, {s.activity for s in received if s.activity is not None}
    )
    targets = _targets(connection, tenant_id, received)
    if limited_to is not None:
        _check_departments(connection, tenant_id, limited_to, received, people, targets)
    _check_voiding(received, targets)
    for statement in received:
        if statement.id in existing and not same_statement(
            existing[statement.id], statement.document
        ):
            raise Conflict(statement)
    new = [statement for statement in received if statement.id not in existing]
    stored_at = format_timestamp(datetime.now(UTC))
    rows = _rows(connection, tenant_id, new, people, activities, authority, stored_at)
    if rows:
        connection.execute(statements.insert(), rows)
    pairs = {
        (row["user_id"], row["content_id"])
        for row in rows
        if _matched(row) and not row["voided"] and row["verb"] in VERBS
    }
    pairs |= _void(connection, tenant_id, {s.voids for s in new if s.voids is not None})
    _refold(connection, tenant_id, pairs)
    return Stored(
        ids=[statement.id for statement in received],
        inserted=len(rows),
        unchanged=len(received) - len(rows),
        unmatched=sum(1 for row in rows if row["activity"] is not None and not _matched(row)),
    )


def _matched(row: dict[str, Any]) -> bool:
    return row["user_id"] is not None and row["content_id"] is not None


def match_pending(connection: sa.Connection, tenant_id: int) -> None:
    """Match the stored statements whose person or activity has arrived since, and fold the
    results of the pairs that are complete now.

    Its cost grows with the statements still unmatched (each distinct actor and activity
    among them is looked up once), not with all the tenant's statements.
    """
    _serialize(connection, tenant_id)
    unknown_people = sa.select(statements.c.actor).where(
        statements.c.tenant_id == tenant_id, statements.c.user_id.is_(None)
    )
    unknown_activities = sa.select(statements.c.activity).where(
        statements.c.tenant_id == tenant_id,
        statements.c.content_id.is_(None),
        statements.c.activity.is_not(None),
    )
    people = _resolve_actors(
        connection, tenant_id, connection.execute(unknown_people.distinct()).scalars()
    )
    activities = _resolve_activities(
        connection, tenant_id, connection.execute(unknown_activities.distinct()).scalars()
    )
    for column, key, found in (
        (statements.c.user_id, statements.c.actor, people),
        (statements.c.content_id, statements.c.activity, activities),
    ):
        if found:
            connection.execute(
                statements.update()
                .where(
                    statements.c.tenant_id == tenant_id,
                    key == sa.bindparam("key"),
                    column.is_(None),
                )
                .values({column.name: sa.bindparam("value")}),
                [{"key": name, "value": value} for name, value in found.items()],
            )
    pairs: set[Pair] = set()
    for key, found in ((statements.c.actor, people), (statements.c.activity, activities)):
        for chunk in bulk.chunked(found):
            query = sa.select(statements.c.user_id, statements.c.content_id).where(
                statements.c.tenant_id == tenant_id,
                key.in_(chunk),
                statements.c.user_id.is_not(None),
                statements.c.content_id.is_not(None),
                sa.not_(statements.c.voided),
            )
            pairs.update(map(tuple, connection.execute(query.distinct())))
    _refold(connection, tenant_id, pairs)


def _serialize(connection: sa.Connection, tenant_id: int) -> None:
    """Take the tenant's statement counter (adding nothing): a row lock until commit on
    PostgreSQL, the write lock on SQLite, so that statement writers of a tenant queue."""
    allocate(connection, tenant_id, statements.name, 0)


def _existing(
    connection: sa.Connection, tenant_id: int, ids: list[str]
) -> dict[str, dict[str, Any]]:
    found = {}
    for chunk in bulk.chunked(ids):
        query = sa.select(statements.c.statement_id, statements.c.document).where(
            statements.c.tenant_id == tenant_id, statements.c.statement_id.in_(chunk)
        )
        found.update(map(tuple, connection.execute(query)))
    return found


@dataclass(frozen=True, slots=True)
class _Target:
    """A stored statement that a received one voids."""

    voiding: bool
    voided: bool
    user_id: int | None
    content_id: int | None


def _targets(
    connection: sa.Connection, tenant_id: int, received: Sequence[Statement]
) -> dict[str, _Target]:
    ids = [statement.voids for statement in received if statement.voids is not None]
    found = {}
    for chunk in bulk.chunked(ids):
        query = sa.select(
            statements.c.statement_id,
            statements.c.verb,
            statements.c.voided,
            statements.c.user_id,
            statements.c.content_id,
        ).where(statements.c.tenant_id == tenant_id, statements.c.statement_id.in_(chunk))
        for statement_id, verb, voided, user_id, content_id in connection.execute(query):
            found[statement_id] = _Target(verb == VOIDED, voided, user_id, content_id)
    return found


def _check_voiding(received: Sequence[Statement], targets: dict[str, _Target]) -> None:
    """Data 2.3.2: "Any Statement that voids another cannot itself be voided"."""
    voiding = {s.id for s in received if s.voids is not None} | {
        statement_id for statement_id, target in targets.items() if target.voiding
    }
    errors = [
        RecordError(statement.index, "object.id", "names a voiding statement, which cannot "
                    "itself be voided")
        for statement in received
        if statement.voids in voiding
    ]  # fmt: skip
    if errors:
        raise BatchRejected("statements", errors)


def _check_departments(
    connection: sa.Connection,
    tenant_id: int,
    groups: tuple[int, ...],
    received: Sequence[Statement],
    people: dict[str, int],
    targets: dict[str, _Target],
) -> None:
    """A principal limited to groups sends statements about their people only, and voids
    only stored statements about them: "the LRS SHOULD reject the entire request which
    includes the voiding Statement with HTTP 403 'Forbidden' if the request is not from a
    source authorized to void Statements" (Data 2.3.2). Without the target at hand, whom
    it is about cannot be told, so voiding it is refused too."""
    candidates = set(people.values()) | {t.user_id for t in targets.values() if t.user_id}
    seen = people_within(connection, tenant_id, groups, candidates)
    for statement in received:
        if people.get(statement.actor) not in seen:
            raise Forbidden(
                statement.index, "its actor is not a person in the groups this key manages"
            )
        target = targets.get(statement.voids) if statement.voids else None
        if statement.voids is not None and (target is None or target.user_id not in seen):
            raise Forbidden(
                statement.index,
                "it voids a statement that is not stored about a person in the groups this "
                "key manages",
            )


def _rows(
    connection: sa.Connection,
    tenant_id: int,
    new: Sequence[Statement],
    people: dict[str, int],
    activities: dict[str, int],
    authority: dict[str, Any],
    stored_at: str,
) -> list[dict[str, Any]]:
    """The rows of new statements, each document completed as an LRS completes it: the
    `timestamp` "set by the LRS to the value of the stored property if not provided" (Data
    2.4.7), `stored`, `authority`, and the version, which "If they lack a version, [...]
    MUST be set to 1.0.0" (2.4.10). A statement that a stored or received voiding statement
    names is voided from the start, unless it voids itself."""
    if not new:
        return []
    voided = _voided_already(connection, tenant_id, [s.id for s in new])
    voided |= {s.voids for s in new if s.voids is not None}
    last = allocate(connection, tenant_id, statements.name, len(new))
    rows = []
    for row_id, statement in enumerate(new, start=last - len(new) + 1):
        document = {
            **statement.document,
            "timestamp": statement.document.get("timestamp", stored_at),
            "stored": stored_at,
            "authority": authority,
            "version": statement.document.get("version", "1.0.0"),
        }
        rows.append(
            {
                "tenant_id": tenant_id,
                "id": row_id,
                "statement_id": statement.id,
                "actor": statement.actor,
                "verb": statement.verb,
                "activity": statement.activity,
                "registration": statement.registration,
                "voids": statement.voids,
                "voided": statement.voids is None and statement.id in voided,
                "user_id": people.get(statement.actor),
                "content_id": activities.get(statement.activity or ""),
                "timestamp": statement.timestamp or stored_at,
                "stored": stored_at,
                "document": document,
            }
        )
    return rows


def _voided_already(connection: sa.Connection, tenant_id: int, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in bulk.chunked(ids):
        query = sa.select(statements.c.voids).where(
            statements.c.tenant_id == tenant_id, statements.c.voids.in_(chunk)
        )
        found.update(connection.execute(query).scalars())
    return found


def _void(connection: sa.Connection, tenant_id: int, ids: set[str]) -> set[Pair]:
    """Mark the stored statements that `ids` names voided; the pairs whose fold changes."""
    pairs: set[Pair] = set()
    for chunk in bulk.chunked(ids):
        condition = sa.and_(
            statements.c.tenant_id == tenant_id,
            statements.c.statement_id.in_(chunk),
            statements.c.verb != VOIDED,
            sa.not_(statements.c.voided),
        )
        query = sa.select(statements.c.user_id, statements.c.content_id).where(
            condition, statements.c.user_id.is_not(None), statements.c.content_id.is_not(None)
        )
        pairs.update(map(tuple, connection.execute(query)))
        connection.execute(statements.update().where(condition).values(voided=True))
    return pairs


def _resolve_actors(
    connection: sa.Connection, tenant_id: int, actors: Iterable[str]
) -> dict[str, int]:
    """The users that actor identifiers name: `mailto:` by email, an account by username
    when one user has it, else by the user's id."""
    emails: dict[str, str] = {}
    accounts: dict[str, list[str]] = defaultdict(list)
    for actor in actors:
        if actor.startswith("mailto:"):
            emails[actor.removeprefix("mailto:")] = actor
        elif not actor.startswith((GROUP, "sha1:", "openid:")) and "|" in actor:
            accounts[actor.partition("|")[2]].append(actor)
    found = {
        emails[email]: user_id
        for email, user_id in _lookup(connection, tenant_id, users.c.email, emails)
    }
    holders: dict[str, list[int]] = defaultdict(list)
    for name, user_id in _lookup(connection, tenant_id, users.c.username, accounts):
        holders[name].append(user_id)
    named = {name: ids[0] for name, ids in holders.items() if len(ids) == 1}
    rest = [name for name in accounts if name not in named]
    named.update(_lookup(connection, tenant_id, users.c.external_id, rest))
    for name, user_id in named.items():
        found.update(dict.fromkeys(accounts[name], user_id))
    return found


def _resolve_activities(
    connection: sa.Connection, tenant_id: int, ids: Iterable[str]
) -> dict[str, int]:
    """The contents that activity ids name: by `identifier` when one content has it, else
    `urn:uuid:UUID` by the content's uuid."""
    wanted = list(ids)
    holders: dict[str, list[int]] = defaultdict(list)
    for identifier, content_id in _lookup(connection, tenant_id, contents.c.identifier, wanted):
        holders[identifier].append(content_id)
    found = {name: ids[0] for name, ids in holders.items() if len(ids) == 1}
    by_uuid = {
        name[len(URN_UUID) :].lower(): name
        for name in wanted
        if name not in found and name[: len(URN_UUID)].lower() == URN_UUID
    }
    for content_uuid, content_id in _lookup(connection, tenant_id, contents.c.uuid, by_uuid):
        found[by_uuid[content_uuid]] = content_id
    return found


def _lookup(
    connection: sa.Connection, tenant_id: int, column: sa.Column[Any], keys: Iterable[str]
) -> list[tuple[str, int]]:
    table = column.table
    found = []
    for chunk in bulk.chunked(keys):
        query = sa.select(column, table.c.id).where(
            table.c.tenant_id == tenant_id, column.in_(chunk)
        )
        found.extend(map(tuple, connection.execute(query)))
    return found


def _refold(connection: sa.Connection, tenant_id: int, pairs: set[Pair]) -> None:
    """Fold each pair's non-voided statements into its result and write them all in one
    batch of the write path."""
    if not pairs:
        return
    folded: dict[Pair, list[dict[str, Any]]] = defaultdict(list)
    attempts: dict[Pair, dict[str, int]] = defaultdict(dict)
    ordered = sorted(pairs)
    for chunk in bulk.chunked(ordered):
        pair = sa.tuple_(statements.c.user_id, statements.c.content_id)
        query = sa.select(statements.c.user_id, statements.c.content_id, statements.c.document)
        query = query.where(
            statements.c.tenant_id == tenant_id,
            pair.in_(chunk),
            sa.not_(statements.c.voided),
            statements.c.verb.in_(list(VERBS)),
        )
        for user_id, content_id, document in connection.execute(query):
            folded[user_id, content_id].append(document)
        pair = sa.tuple_(results.c.user_id, results.c.content_id)
        query = sa.select(
            results.c.user_id, results.c.content_id, results.c.external_id, results.c.attempt
        ).where(results.c.tenant_id == tenant_id, pair.in_(chunk))
        for user_id, content_id, external_id, attempt in connection.execute(query):
            attempts[user_id, content_id][external_id] = attempt
    user_keys = dict(_external_ids(connection, tenant_id, users, {p[0] for p in ordered}))
    content_keys = dict(_external_ids(connection, tenant_id, contents, {p[1] for p in ordered}))
    records = []
    for user_id, content_id in ordered:
        person, thing = user_keys[user_id], content_keys[content_id]
        result_id = "xapi:" + str(uuid.uuid5(RESULTS, f"{person}\n{thing}"))
        stored = attempts[user_id, content_id]
        standing = result_of(folded[user_id, content_id])
        if standing is None and result_id not in stored:
            continue
        attempt = stored.get(result_id, max(stored.values(), default=0) + 1)
        records.append(_record(result_id, person, thing, attempt, standing))
    if records:
        write(connection, tenant_id, "results", TARGETS["results"], records)


def _external_ids(
    connection: sa.Connection, tenant_id: int, table: sa.Table, ids: set[int]
) -> list[tuple[int, str]]:
    found = []
    for chunk in bulk.chunked(ids):
        query = sa.select(table.c.id, table.c.external_id).where(
            table.c.tenant_id == tenant_id, table.c.id.in_(chunk)
        )
        found.extend(map(tuple, connection.execute(query)))
    return found


NOT_STARTED = Standing(ResultState.NOT_STARTED, 0.0, None, 0, 0, None, None, None)
"""A result whose statements were all voided: as if none had been sent."""


def _record(
    result_id: str, person: str, thing: str, attempt: int, standing: Standing | None
) -> ResultRecord:
    fields = asdict(standing or NOT_STARTED)
    return msgspec.convert(
        {"id": result_id, "user_id": person, "content_id": thing, "attempt": attempt, **fields},
        ResultRecord,
    )
