"""What a report is, and the few queries every report answers.

A report is a SELECT over the store: its columns (each with the name clients see and
the sentence that documents it), its source, the key that orders it, the filters it
accepts, and how the principal's visibility applies to it. This module turns one into
the queries the surfaces need: a page by offset, a page after a key (keyset paging, whose
cost does not grow with depth), a count, one record by id, and a stream of every row.

Every query is limited to the principal's tenant and visibility here, once, so that no
report and no surface can forget it.
"""

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from learnreport.domain.access import Principal
from learnreport.reports.filters import Bound, Criteria, Filter, InGroups, Param
from learnreport.reports.visibility import ByRow, groups_seen, people_seen
from learnreport.store import csv_stream, csv_text
from learnreport.store.engine import reading_through
from learnreport.store.tree import Groups, members_below

Row = Sequence[Any]

TENANT = "report_tenant"
"""The name of the bound parameter that carries the tenant into a report's subqueries,
which the outer `WHERE` cannot reach."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    expression: ColumnElement[Any]
    type: type
    description: str


@dataclass(frozen=True)
class Report:
    name: str
    columns: tuple[Column, ...]
    source: sa.FromClause
    tenant: ColumnElement[int]
    key: ColumnElement[int]
    """A positive per-tenant integer (an id) that, with `more_keys`, is unique: the order
    of every listing and the keyset cursor."""
    identity: ColumnElement[str]
    """What `/{id}/` matches."""
    filters: tuple[Filter, ...]
    person: ColumnElement[int] | None = None
    """The person a row is about, for visibility; None for the groups report."""
    group: ColumnElement[int] | None = None
    """The group a row is, for the groups report's visibility."""
    where: tuple[ColumnElement[bool], ...] = field(default=())
    more_keys: tuple[ColumnElement[Any], ...] = field(default=())
    """Further key columns, for reports whose rows a single integer does not identify."""

    @property
    def keys(self) -> tuple[ColumnElement[Any], ...]:
        return (self.key, *self.more_keys)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @cached_property
    def params(self) -> tuple[Param, ...]:
        """Kept with the report: every page of it parses its query against them."""
        return tuple(param for report_filter in self.filters for param in report_filter.params())


def within_tenant(
    source: sa.FromClause,
    table: sa.Table,
    reference: ColumnElement[int],
    *,
    outer: bool = False,
    on: ColumnElement[bool] | None = None,
) -> sa.Join:
    """Join `table` by its id to `reference`, on the same tenant (every key leads with it)."""
    condition = sa.and_(
        table.c.tenant_id == reference.table.c.tenant_id,  # type: ignore[attr-defined]
        table.c.id == reference,
        *(() if on is None else (on,)),
    )
    return source.join(table, condition, isouter=outer)


def select(
    report: Report, principal: Principal, criteria: Criteria, *, by_row: ByRow | None = None
) -> sa.Select[Any]:
    """The report's rows the principal may see that match the criteria, unordered.

    With `by_row`, the conditions on people (visibility, `group_name`) check each row's
    person rather than list the people, for a walk in key order; the rows are the same.
    """
    query = (
        sa.select(*(column.expression.label(column.name) for column in report.columns))
        .select_from(report.source)
        .where(report.tenant == principal.tenant_id, *report.where)
        .params({TENANT: principal.tenant_id})
    )
    for condition in _visibility(report, principal, by_row=by_row):
        query = query.where(condition)
    for report_filter in report.filters:
        if by_row is not None and isinstance(report_filter, InGroups):
            condition = report_filter.by_row(criteria, principal.tenant_id, by_row)
        else:
            condition = report_filter.clause(criteria, principal.tenant_id)
        if condition is not None:
            query = query.where(condition)
        if isinstance(report_filter, Bound):
            query = query.params({report_filter.param.name: report_filter.value(criteria)})
    return query


def _visibility(
    report: Report, principal: Principal, *, by_row: ByRow | None = None
) -> Iterator[ColumnElement[bool]]:
    if report.person is not None:
        seen = people_seen(report.person, principal.tenant_id, principal.groups, by_row=by_row)
        if seen is not None:
            yield seen
    if report.group is not None:
        seen = groups_seen(report.group, principal.tenant_id, principal.groups)
        if seen is not None:
            yield seen
    if report.person is None and report.group is None:
        raise TypeError(f"report {report.name} says nothing about whose rows it holds")


def count(
    connection: sa.Connection, report: Report, principal: Principal, criteria: Criteria
) -> int:
    query = select(report, principal, criteria).with_only_columns(sa.func.count())
    return int(connection.execute(query.order_by(None)).scalar_one())


def page(
    connection: sa.Connection,
    report: Report,
    principal: Principal,
    criteria: Criteria,
    *,
    offset: int,
    limit: int,
    order: Sequence[ColumnElement[Any]] = (),
) -> list[Row]:
    """A page in the report's key order, or in `order` (which must end in something
    unique, such as the key, so that pages never repeat or skip a row)."""
    query = select(report, principal, criteria).order_by(*(order or report.keys))
    return list(connection.execute(query.offset(offset).limit(limit)).all())


def seek(
    connection: sa.Connection,
    report: Report,
    principal: Principal,
    criteria: Criteria,
    *,
    after: Sequence[Any] | None,
    limit: int,
) -> tuple[list[Row], tuple[Any, ...] | None]:
    """Up to `limit` rows after the key `after`, and the key of the last one: the cursor of
    the next page, or None when this page is the last."""
    found = None
    if connection.dialect.name == "sqlite" and _walks(report, principal, criteria):
        found = _walk(connection, report, principal, criteria, after, limit + 1)
    if found is None:
        found = _listed(connection, report, principal, criteria, after, limit + 1)
    width = len(report.columns)
    rows = [row[:width] for row in found[:limit]]
    last = tuple(found[limit - 1][width:]) if len(found) > limit else None
    return rows, last


WINDOW = 100
"""How many of the report's rows, per row of a page, a walk that probes each row's person
(`ByRow.PROBE`) reads before it turns to the visible people's rows (`_walk`): the walk
pays when at least one row in 100 is visible."""

LIST_WINDOW = 400
"""The same for a walk that looks each row's person up in the list of visible people
(`ByRow.LIST`), which costs a quarter as much a row."""

LIST_AT_MOST = 5_000
"""The most people a walk lists (`ByRow.LIST`), about 4 ms of listing on SQLite; a walk
among more probes each row, and finds its page within a few thousand rows."""

LISTED_AT_MOST = 50
"""Up to this many people, a page starts from their rows and does not walk: a few
thousand rows at most, fewer than a walk would read to find a page of theirs."""

LISTED, WALK, WALK_UNTIL, LAST_KEY, PEOPLE = (
    "listed", "walk", "walk until", "last key", "people")  # fmt: skip
"""The keyset queries `_seek_query` builds: rows after a key with people as a list, the
walk in key order checking each row's person (unbounded, or up to a key), the tenant's
last key, and how many people each limit on them lets through, counted up to `_at_most`
(memberships, so that a person in two of the groups counts twice)."""


def _walks(report: Report, principal: Principal, criteria: Criteria) -> bool:
    """Whether a keyset page of the report is limited to some people's rows (a principal
    limited to groups, or `group_name`), so that `_walk` chooses how to find them."""
    if (
        report.person is None
        or report.more_keys
        or not isinstance(getattr(report.key, "table", None), sa.Table)
    ):
        return False
    return bool(_limiting_groups(report, principal, criteria))


def _limiting_groups(report: Report, principal: Principal, criteria: Criteria) -> list[Groups]:
    """The groups whose people alone the rows are of: the principal's, and those named by
    `group_name`."""
    limits: list[Groups] = [] if principal.groups is None else [principal.groups]
    for report_filter in report.filters:
        if isinstance(report_filter, InGroups):
            named = report_filter.groups(criteria, principal.tenant_id)
            if named is not None:
                limits.append(named)
    return limits


def _walk(
    connection: sa.Connection,
    report: Report,
    principal: Principal,
    criteria: Criteria,
    after: Sequence[Any] | None,
    wanted: int,
) -> list[Row] | None:
    """`wanted` rows after `after` of a report limited to some people, found at the cost of
    a page however many people that is; None when the people are so few that the page is
    best started from their rows.

    Started from the list of visible people, a page reads and sorts every row of theirs:
    38.6 ms for a department of 2,098 people (42,000 results of 1,000,000) on SQLite, 3 s
    as the administrator of the root group, growing with the department. Walking the
    report in key order and checking each row's person stops at the page's end, 2 ms for
    that department, but reads the whole tenant for a department of five people (1 s). So
    the walk reads at most a window of rows per row wanted, which a department of one person
    in 100 (in 400 when listed) fills; when it falls short, the rows after its window come
    from the list of people, whose rows are then few. The window is a range of keys: a
    tenant's ids of a table are handed out one after the other (`store.sequences`), so a
    range holds at most as many rows as keys. Finding the key a window of rows ahead with
    `OFFSET` cost 3 to 7 ms of a 16 ms page at 10,000,000 results; the tenant's last key,
    which tells whether the window reaches the end, costs one index search.

    The people are counted first, up to `LIST_AT_MOST` (0.4 to 1 ms at 10,000,000 results):
    few enough, they are listed once and each row's person is looked up in that list
    (`ByRow.LIST`); more, each row's memberships are probed (`ByRow.PROBE`), which a big
    department's page needs for few rows. A department of 504 people of 50,000 walked 10,100
    rows in 8.7 ms by probing; a page of a department of 4,503 people of 200,000, whose 50
    results each lie together, fell short of the window and sorted the department's rows,
    about 225,000 (229 ms at 10,000,000 results).

    On SQLite only: PostgreSQL ran the per-row check as a subplan at about 6 microseconds a
    row, slower than its own plan from the list for departments of 1% of the tenant.
    """
    counts = _seeking(report, principal, criteria, PEOPLE, resumed=False)
    people = min(connection.execute(counts, {"_at_most": LIST_AT_MOST + 1}).one())
    if people <= LISTED_AT_MOST:
        return None
    if people <= LIST_AT_MOST:
        by_row, window_rows = ByRow.LIST, LIST_WINDOW
    else:
        by_row, window_rows = ByRow.PROBE, WINDOW
    resumed = after is not None
    values = {"_after0": after[0]} if resumed else {}
    end: int | None = (after[0] if resumed else 0) + window_rows * wanted
    last = connection.execute(_seeking(report, principal, criteria, LAST_KEY, resumed=False))
    if end >= (last.scalar() or 0):
        end = None
    plan = WALK if end is None else WALK_UNTIL
    walk = _seeking(report, principal, criteria, plan, resumed=resumed, by_row=by_row)
    found = list(connection.execute(walk, {**values, "_until": end, "_limit": wanted}).all())
    if end is not None and len(found) < wanted:
        found += _listed(connection, report, principal, criteria, (end,), wanted - len(found))
    return found


def _listed(
    connection: sa.Connection,
    report: Report,
    principal: Principal,
    criteria: Criteria,
    after: Sequence[Any] | None,
    wanted: int,
) -> list[Row]:
    query = _seeking(report, principal, criteria, LISTED, resumed=after is not None)
    values = {f"_after{n}": value for n, value in enumerate(after or ())}
    return list(connection.execute(query, {**values, "_limit": wanted}).all())


_SEEKS: "OrderedDict[Hashable, tuple[Report, sa.Select[Any]]]" = OrderedDict()
_SEEKS_KEPT = 256
_seeks_lock = threading.Lock()


def _seeking(
    report: Report,
    principal: Principal,
    criteria: Criteria,
    plan: str,
    *,
    resumed: bool,
    by_row: ByRow | None = None,
) -> sa.Select[Any]:
    """The keyset query `plan`, built once for each report, visibility and criteria, with the
    key and the page size left as parameters.

    A client paging through a report asks the same query again and again: built anew, it
    took 250 of the 500 microseconds a page of 100 modules cost on SQLite, and 250 of 310
    for a page of one. The report itself is held with its query, so that an id of a report
    gone cannot be taken for a new one's.
    """
    try:
        key: Hashable = (id(report), principal.tenant_id, principal.groups, plan, resumed,
                         by_row, _frozen(criteria))  # fmt: skip
        hash(key)
    except TypeError:
        return _seek_query(report, principal, criteria, plan, resumed=resumed, by_row=by_row)
    with _seeks_lock:
        kept = _SEEKS.get(key)
        if kept is not None and kept[0] is report:
            _SEEKS.move_to_end(key)
            return kept[1]
    query = _seek_query(report, principal, criteria, plan, resumed=resumed, by_row=by_row)
    with _seeks_lock:
        _SEEKS[key] = (report, query)
        if len(_SEEKS) > _SEEKS_KEPT:
            _SEEKS.popitem(last=False)
    return query


def _seek_query(
    report: Report,
    principal: Principal,
    criteria: Criteria,
    plan: str,
    *,
    resumed: bool,
    by_row: ByRow | None,
) -> sa.Select[Any]:
    keys = report.keys
    # From the start too the first key is a range (ids are positive), so that the planner
    # walks its index in order and stops at the page's end instead of sorting every row,
    # as SQLite otherwise may.
    after = [sa.bindparam(f"_after{n}") for n in range(len(keys))]
    start = _after(keys, after) if resumed else keys[0] > 0
    if plan == LAST_KEY:
        return sa.select(sa.func.max(report.key)).where(report.tenant == principal.tenant_id)
    if plan == PEOPLE:
        at_most = sa.bindparam("_at_most")
        return sa.select(
            *(
                sa.select(sa.func.count())
                .select_from(members_below(principal.tenant_id, groups).limit(at_most).subquery())
                .scalar_subquery()
                for groups in _limiting_groups(report, principal, criteria)
            )
        )
    query = select(report, principal, criteria, by_row=by_row).add_columns(
        *(key.label(f"_key{n}") for n, key in enumerate(keys))
    )
    query = query.where(start)
    if plan == WALK_UNTIL:
        query = query.where(keys[0] <= sa.bindparam("_until"))
    return query.order_by(*keys).limit(sa.bindparam("_limit"))


def _frozen(value: Any) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((name, _frozen(item)) for name, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value


def _after(keys: Sequence[ColumnElement[Any]], after: Sequence[Any]) -> ColumnElement[bool]:
    """Rows after `after` in key order, written so that both databases seek on the first
    key's index: `k1 >= a AND (k1 > a OR (k2, ...) after (b, ...))`."""
    first, *rest = keys
    if not rest:
        return first > after[0]
    return sa.and_(first >= after[0], sa.or_(first > after[0], _after(rest, after[1:])))


def one(
    connection: sa.Connection,
    report: Report,
    principal: Principal,
    criteria: Criteria,
    identity: str,
) -> Row | None:
    query = select(report, principal, criteria).where(report.identity == identity).limit(1)
    return connection.execute(query).first()


def stream(
    connection: sa.Connection,
    report: Report,
    principal: Principal,
    criteria: Criteria,
    *,
    batch: int = 2000,
) -> Iterator[Sequence[Row]]:
    """Every matching row, in order, in batches, through a server-side cursor where the
    database has one, so memory holds one batch whatever the size of the export; on SQLite
    with a small page cache meanwhile (`store.engine.reading_through`). The cursor is the
    statement's alone: set on the connection, it would serve the connection's next ones."""
    with reading_through(connection):
        result = connection.execute(
            in_key_order(report, principal, criteria), execution_options={"yield_per": batch}
        )
        try:
            yield from result.partitions(batch)
        finally:
            result.close()


def stream_csv(
    connection: sa.Connection,
    report: Report,
    principal: Principal,
    criteria: Criteria,
    *,
    counted: csv_stream.Counted | None = None,
) -> Iterator[bytes]:
    """`stream` as CSV, the header line first: byte for byte what `csv_text.lines` writes
    for `stream`'s rows, with as much of the writing as it can left to the database.
    `counted` is told the rows of each chunk.

    PostgreSQL writes every line itself with `COPY`. SQLite puts each value in a form of
    fixed type (the formula guard, booleans as words, integers as text), which the ADBC
    driver reads as Arrow columns and Arrow joins into lines; writing whole lines in SQL was
    slower there, as testing every text for characters to quote costs SQLite more than the
    csv module. A report with JSON columns, whose text only Python writes the same way, or
    with a single column, which the csv module and COPY treat apart, or an SQLite database
    in memory, which no second connection sees, takes the rows as `stream` gives them.
    """
    yield csv_text.lines([report.names])
    fields = csv_fields(report)
    if fields is None or not csv_stream.writes(connection):
        for rows in stream(connection, report, principal, criteria):
            if rows:
                if counted is not None:
                    counted(len(rows))
                yield csv_text.lines(rows)
        return
    query = in_key_order(report, principal, criteria)
    yield from csv_stream.by_database(connection, query, fields, counted)


def in_key_order(report: Report, principal: Principal, criteria: Criteria) -> sa.Select[Any]:
    """Every row in key order, with the first key a range as in `seek`: without it SQLite
    chose to sort the whole export, in memory, and a server exporting 817,676 modules held
    280 MB more than at rest until the last row went out."""
    query = select(report, principal, criteria).where(report.keys[0] > 0)
    return query.order_by(*report.keys)


def csv_fields(report: Report) -> list[csv_text.csv_field] | None:
    """The report's columns as the text of their CSV fields, which the database writes for
    `stream_csv`; None for a report whose CSV only Python writes the same way."""
    if len(report.columns) < 2:
        return None
    try:
        kinds = [csv_text.Kind(column.type) for column in report.columns]
    except ValueError:
        return None
    return [
        csv_text.csv_field(column.expression, kind)
        for column, kind in zip(report.columns, kinds, strict=True)
    ]
