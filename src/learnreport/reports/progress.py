"""What the reports on people's progress share: a result joined to its person and content.

Modules, journeys, programmes and skills are each one kind of content in the same
`results` table, one row per person x content x attempt; each report picks its kinds and
columns from this one source.
"""

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from learnreport.domain.states import DONE_STATES, EnrollmentType
from learnreport.reports.base import Column, Report, within_tenant
from learnreport.reports.filters import AnyOf, Between, Filter, InGroups
from learnreport.store.schema import contents, results, users

r = results.c
c = contents.c

SOURCE = within_tenant(
    within_tenant(results, users, r.user_id, outer=True), contents, r.content_id, outer=True
)
"""Each result with its person and its content. Outer joins, though every result has both,
so that SQLite walks the results in key order and looks each row's person and content up:
with inner joins and nothing asked of people or content, its planner may start from the
catalog instead, as it did at 10,000,000 results, where a first page then ran past the
statement timeout (30 s) instead of 0.33 ms. A condition on the person or the content
(`user_id`, `module_uuid`) makes the join inner again for both databases' planners, which
may then start from it."""

ID = Column("id", r.external_id, str, "Unique for the person and the attempt: when the "
            "content is reset, the new attempt has a new id.")  # fmt: skip
USER_ID = Column("user_id", users.c.external_id, str, "Matches the id field of the users report.")
PROGRESS = Column("progress", r.progress, float, "Percentage between 0 and 100 indicating how "
                  "far along the user is.")  # fmt: skip
STATE = Column("state", r.state, str, "not_started, in_progress, awaiting_correction, "
               "completed, passed, failed or expired.")  # fmt: skip
MODIFIED_AT = Column("modified_at", r.modified_at, str, "When this record was last updated.")
COMPLETED_AT = Column("completed_at", r.completed_at, str, "When the user completed it.")

IS_COMPLETED = sa.or_(*(r.state == state for state in sorted(DONE_STATES)))
"""`domain.results.is_completed` in SQL. Not `IN`: SQLAlchemy expands the list of an `IN`
again at each execution, 2.5% of the instructions of a first page of modules."""


IS_OPTIONAL = r.enrollment_type == EnrollmentType.OPTIONAL.value
"""`domain.results.is_optional` in SQL, from the pair's enrollment type that the write path
keeps on each result (`store.tallies`)."""


def in_words(
    state: ColumnElement[str], words: Mapping[str, str], missing: str
) -> ColumnElement[str]:
    """A dialect's word for a canonical state, from its mapping in `domain.states`; `missing`
    when there is no result at all."""
    return sa.case(
        *((state == canonical, word) for canonical, word in words.items()), else_=missing
    )


def of_kind(*kinds: str) -> sa.ColumnElement[bool]:
    """Asked of the result's own copy of its content's kind: asked of the catalog, SQLite
    builds a filter of every content of those kinds in the tenant for each query, so that a
    page's cost grew with the catalog (1.98 ms for a first page instead of 0.41 with
    20,000 more activities at M)."""
    return sa.or_(*(r.content_kind == kind for kind in kinds))


PERSON_FILTERS = (
    AnyOf("user_id", users.c.external_id, "Only the records of the user with this id."),
    InGroups(r.user_id),
    Between("modified_at", r.modified_at, "last update"),
)
"""Filters every report on people's progress accepts."""


def progress_report(
    name: str,
    columns: tuple[Column, ...],
    filters: tuple[Filter, ...],
    kinds: tuple[str, ...],
    source: sa.FromClause = SOURCE,
) -> Report:
    """A report of results of some kinds of content, one row per person x content x attempt,
    ordered by result and found by the result's id."""
    return Report(
        name=name,
        columns=columns,
        source=source,
        tenant=r.tenant_id,
        key=r.id,
        identity=r.external_id,
        filters=(*filters, *PERSON_FILTERS),
        person=r.user_id,
        where=(of_kind(*kinds),),
    )
