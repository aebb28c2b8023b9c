"""The adoption report: each learner's activity on the programmes in scope.

AIHR: "Retrieves a paginated list of adoption reports based on specified criteria. This
endpoint allows you to filter reports by user or program." What the page leaves open is
decided here:

- **Programmes in scope** are the tenant's programmes (catalog entries of kind
  `programme`, published or not), or, when SKUs are given, those whose SKU is exactly one
  of them; an SKU that matches nothing narrows the scope, to nothing if no SKU matches.
- **A learner's activity on a programme** is every result (every attempt, in any state,
  not started included) on the programme itself and on the content listed in it. A
  learner without any is not listed: the report is about adoption, and someone who never
  touched a programme in scope has nothing to report.
- **Time** is the sum of `time_spent` over that activity. Per programme, content listed in
  two programmes counts for each; a learner's total counts each result once, so it may be
  less than the sum of the programmes' times, never more than what was really spent.
- **Completion** is the progress of the learner's latest attempt on the programme itself
  when there is one, otherwise the share of the programme's items the learner has
  completed or passed in any attempt (a later retake does not undo a completion); the
  rule is `learnreport.domain.adoption.completion`.
- **Duration** is the programme's own duration, or else the sum of its items' durations,
  or else 0; **date** is the newest `modified_at` of the activity.
- **The name** shown is the first and last name, or else the username, or else the email.
- **Order.** Learners by name, compared without regard to ASCII case and byte by byte on
  both databases (so SQLite and PostgreSQL answer the same pages whatever the server's
  collation), learners without any name last, ties broken by the learner's uuid so that
  pages never repeat or skip anyone; each learner's programmes by name the same way.

Everything is summed in the database: one query counts the learners, one reads a page of
them, one sums their activity per programme, one their total time, and, when SKUs are
given, one names the programmes in scope. The learners' visibility is applied once, by
`reports.base`, to the first two; the others read only the learners those returned.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from learnreport.domain.access import Principal
from learnreport.reports import base
from learnreport.reports.base import TENANT, Column, Report, Row
from learnreport.reports.filters import AnyOf
from learnreport.reports.progress import IS_COMPLETED
from learnreport.store.schema import content_items, contents, results, users

r, c, u, ci = results.c, contents.c, users.c, content_items.c


class _bytewise(FunctionElement[str]):
    """Text compared byte by byte (SQLite's only order; PostgreSQL's `C` collation), under
    which `lower` changes ASCII letters only on both databases."""

    inherit_cache = True
    type = sa.String()


@compiles(_bytewise)
def _bytewise_default(element: _bytewise, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(next(iter(element.clauses)), **kw))


@compiles(_bytewise, "postgresql")
def _bytewise_postgresql(element: _bytewise, compiler: Any, **kw: Any) -> str:
    return f'({compiler.process(next(iter(element.clauses)), **kw)}) COLLATE "C"'


def _folded(text: ColumnElement[Any]) -> ColumnElement[str]:
    return sa.func.lower(_bytewise(text))


def _given(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A blank name is no name, so that the next one in line is shown instead."""
    return sa.func.nullif(sa.func.trim(column), "")


NAME = sa.func.coalesce(
    _given(sa.func.coalesce(u.first_name, "") + " " + sa.func.coalesce(u.last_name, "")),
    _given(u.username),
    _given(u.email),
)

ORDER: tuple[ColumnElement[Any], ...] = (
    sa.case((NAME.is_(None), 1), else_=0),
    _folded(NAME),
    u.uuid,
)
"""userName ascending, as the page's `sort` says, then the uuid: unique, so pages are stable."""

COLUMNS = (
    Column("learner", u.id, int, "The learner's internal id, to read their programmes by."),
    Column("uuid", u.uuid, str, "A unique identifier for the learner."),
    Column("name", NAME, str, "The name of the learner."),
    Column("avatar_url", u.avatar_url, str, "A URL for the learner's profile picture."),
)

FILTERS = (AnyOf("user_uuid", u.uuid, "Only the learners with these uuids.", normalise=str.lower),)


@dataclass(frozen=True)
class Scope:
    """The programmes a request reports on; `skus` None means every programme."""

    skus: tuple[str, ...] | None = None

    def programmes(self, column: ColumnElement[Any] = c.id) -> sa.Select[Any]:
        query = sa.select(column).where(
            c.tenant_id == sa.bindparam(TENANT, type_=sa.Integer), c.kind == "programme"
        )
        return query if self.skus is None else query.where(c.sku.in_(sorted(set(self.skus))))

    def parts(self) -> sa.Subquery:
        """Each programme in scope with each content whose results count for it: itself
        and the content listed in it."""
        programmes = self.programmes().subquery("in_scope")
        itself = sa.select(programmes.c.id.label("programme_id"), programmes.c.id.label("part"))
        listed = sa.select(ci.parent_id, ci.child_id).where(
            ci.tenant_id == sa.bindparam(TENANT, type_=sa.Integer),
            ci.parent_id.in_(sa.select(programmes.c.id)),
        )
        return sa.union(itself, listed).subquery("parts")


def report(scope: Scope) -> Report:
    """The learners with activity in scope, one row each."""
    parts = scope.parts()
    active = sa.exists().where(
        r.tenant_id == u.tenant_id,
        r.user_id == u.id,
        r.content_id.in_(sa.select(parts.c.part)),
    )
    return Report(
        name="adoption",
        columns=COLUMNS,
        source=users,
        tenant=u.tenant_id,
        key=u.id,
        identity=u.uuid,
        filters=FILTERS,
        person=u.id,
        where=(active,),
    )


@dataclass(frozen=True)
class Listing:
    """A page as rows, for the surface to shape: the figures are derived there, per row."""

    count: int
    """The learners matching, across all pages."""
    learners: list[Row]
    """This page's learners, each with the values of `COLUMNS` in order."""
    seconds: dict[int, int]
    """Each learner's time in scope, each result counted once, by internal id."""
    programmes: dict[int, list[sa.Row[Any]]]
    """Each learner's programmes, by name: `name`, `abbreviation`, `own_progress`,
    `items_done`, `items_total`, `seconds`, `duration` (minutes) and `updated`."""


def read(
    connection: sa.Connection,
    principal: Principal,
    scope: Scope,
    user_uuids: Sequence[str] | None,
    *,
    offset: int,
    limit: int,
) -> Listing:
    """One page of the report, whatever its size in a fixed number of queries."""
    learners_report = report(scope)
    criteria = {} if user_uuids is None else {"user_uuid": list(user_uuids)}
    count = base.count(connection, learners_report, principal, criteria)
    learners = base.page(
        connection, learners_report, principal, criteria, offset=offset, limit=limit, order=ORDER
    )
    ids = [row[0] for row in learners]
    if not ids:
        return Listing(count, learners, {}, {})
    return Listing(
        count,
        learners,
        _seconds(connection, principal.tenant_id, scope, ids),
        _programmes(connection, principal.tenant_id, scope, ids),
    )


def _seconds(
    connection: sa.Connection, tenant_id: int, scope: Scope, learners: list[int]
) -> dict[int, int]:
    parts = scope.parts()
    query = (
        sa.select(r.user_id, sa.func.sum(r.time_spent))
        .where(
            r.tenant_id == sa.bindparam(TENANT, type_=sa.Integer),
            r.user_id.in_(learners),
            r.content_id.in_(sa.select(parts.c.part)),
        )
        .group_by(r.user_id)
        .params({TENANT: tenant_id})
    )
    return {user_id: int(seconds) for user_id, seconds in connection.execute(query)}


def _programmes(
    connection: sa.Connection, tenant_id: int, scope: Scope, learners: list[int]
) -> dict[int, list[sa.Row[Any]]]:
    tenant = sa.bindparam(TENANT, type_=sa.Integer)
    parts = scope.parts()
    own = parts.c.part == parts.c.programme_id
    activity = (
        sa.select(
            r.user_id,
            parts.c.programme_id,
            sa.func.sum(r.time_spent).label("seconds"),
            sa.func.max(r.modified_at).label("updated"),
            sa.func.max(sa.case((own, r.attempt))).label("latest"),
            sa.func.count(sa.distinct(sa.case((sa.and_(~own, IS_COMPLETED), r.content_id)))).label(
                "items_done"
            ),
        )
        .select_from(results.join(parts, parts.c.part == r.content_id))
        .where(r.tenant_id == tenant, r.user_id.in_(learners))
        .group_by(r.user_id, parts.c.programme_id)
        .subquery("activity")
    )
    items = _items(scope)
    programme = contents.alias("programme")
    latest = results.alias("latest")
    query = (
        sa.select(
            activity.c.user_id,
            programme.c.name,
            programme.c.abbreviation,
            latest.c.progress.label("own_progress"),
            activity.c.items_done,
            sa.func.coalesce(items.c.total, 0).label("items_total"),
            activity.c.seconds,
            sa.func.coalesce(programme.c.duration, items.c.minutes, 0).label("duration"),
            activity.c.updated,
        )
        .select_from(
            activity.join(
                programme,
                sa.and_(programme.c.tenant_id == tenant, programme.c.id == activity.c.programme_id),
            )
            .outerjoin(items, items.c.programme_id == activity.c.programme_id)
            .outerjoin(
                latest,
                sa.and_(
                    latest.c.tenant_id == tenant,
                    latest.c.user_id == activity.c.user_id,
                    latest.c.content_id == activity.c.programme_id,
                    latest.c.attempt == activity.c.latest,
                ),
            )
        )
        .order_by(activity.c.user_id, _folded(programme.c.name), programme.c.id)
        .params({TENANT: tenant_id})
    )
    found: dict[int, list[sa.Row[Any]]] = {}
    for row in connection.execute(query):
        found.setdefault(row.user_id, []).append(row)
    return found


def _items(scope: Scope) -> sa.Subquery:
    """Per programme in scope, how many distinct items it lists and their total minutes
    (None when no item has a duration)."""
    listed = (
        sa.select(ci.parent_id, ci.child_id)
        .distinct()
        .where(
            ci.tenant_id == sa.bindparam(TENANT, type_=sa.Integer),
            ci.parent_id.in_(scope.programmes()),
        )
        .subquery("listed")
    )
    item = contents.alias("item")
    return (
        sa.select(
            listed.c.parent_id.label("programme_id"),
            sa.func.count().label("total"),
            sa.func.sum(item.c.duration).label("minutes"),
        )
        .select_from(
            listed.join(
                item,
                sa.and_(
                    item.c.tenant_id == sa.bindparam(TENANT, type_=sa.Integer),
                    item.c.id == listed.c.child_id,
                ),
            )
        )
        .group_by(listed.c.parent_id)
        .subquery("items")
    )


def programme_names(connection: sa.Connection, tenant_id: int, scope: Scope) -> list[str]:
    """The names of the programmes in scope, in the order the learners' programmes take."""
    query = scope.programmes(c.name).order_by(_folded(c.name), c.id).params({TENANT: tenant_id})
    return list(connection.execute(query).scalars())
