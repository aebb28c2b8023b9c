"""Learner module results: one row per enrollment x module of the enrolled course.

iSpring: "You can retrieve results for the entire account, for certain learners, courses,
and modules, specify the statuses of users and courses, start, completion, and due dates."
A course's modules are its course items, each an activity; an enrollment in an activity
itself (a training assigned outside any course) is a course of one module. A row shows
the learner's latest attempt at the module, the time and views of all their attempts, and
the enrollment's dates.
"""

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from learnreport.domain.states import (
    FINISHED_LEARNER_STATUSES,
    LEARNER_STATUSES,
    LearnerStatus,
    UserStatus,
)
from learnreport.reports.base import Column, Report
from learnreport.reports.filters import Span
from learnreport.reports.progress import in_words
from learnreport.reports.visibility import groups_below, members_below
from learnreport.store.schema import content_items, contents, enrollments, groups, results, users
from learnreport.store.types import Timestamp


@dataclass(frozen=True)
class Query:
    """What the caller asks for, parsed: ids are uuids, `None` means "not filtered"."""

    now: str
    user_ids: tuple[str, ...] | None = None
    course_ids: tuple[str, ...] | None = None
    module_ids: tuple[str, ...] | None = None
    course_item_ids: tuple[str, ...] | None = None
    enrollment_ids: tuple[str, ...] | None = None
    department_ids: tuple[str, ...] | None = None
    access: Span | None = None
    due: Span | None = None
    completion: Span | None = None
    statuses: tuple[LearnerStatus, ...] | None = None
    user_statuses: tuple[UserStatus, ...] = field(default=(UserStatus.ACTIVE,))


e, r, u = enrollments.c, results.c, users.c
course = contents.alias("course")
module = contents.alias("module")
item = content_items.alias("item")


IS_COURSE = course.c.kind == "course"
POSITION = sa.func.coalesce(item.c.position, 0)
"""An enrolled course's modules in course order; an enrolled activity is its only module."""
ITEM_UUID = sa.case((IS_COURSE, item.c.uuid), else_=course.c.uuid)
MODULE_ID = sa.case((IS_COURSE, item.c.child_id), else_=course.c.id)

MODULES = enrollments.join(
    course, sa.and_(course.c.tenant_id == e.tenant_id, course.c.id == e.content_id)
).join(
    item,
    sa.and_(item.c.tenant_id == e.tenant_id, item.c.parent_id == course.c.id, IS_COURSE),
    isouter=True,
)
"""Every (enrollment, module) pair, driven by the enrollments in id order, so that a page
of the report starts with an index seek on the enrollment's key, however deep it is."""


def report(tenant_id: int, query: Query) -> Report:
    latest = results.alias("latest")
    tried = sa.and_(r.tenant_id == e.tenant_id, r.user_id == e.user_id, r.content_id == MODULE_ID)
    last_attempt = sa.select(sa.func.max(r.attempt)).where(tried).scalar_subquery()
    source = (
        MODULES.join(users, sa.and_(u.tenant_id == e.tenant_id, u.id == e.user_id))
        .join(module, sa.and_(module.c.tenant_id == e.tenant_id, module.c.id == MODULE_ID))
        .join(
            latest,
            sa.and_(
                latest.c.tenant_id == e.tenant_id,
                latest.c.user_id == e.user_id,
                latest.c.content_id == MODULE_ID,
                latest.c.attempt == last_attempt,
            ),
            isouter=True,
        )
    )
    status = in_words(latest.c.state, LEARNER_STATUSES, LearnerStatus.NOT_STARTED)
    finished = status.in_(sorted(FINISHED_LEARNER_STATUSES))
    now = sa.literal(query.now, Timestamp)
    overdue = sa.case((sa.and_(e.due_at < now, sa.not_(finished)), 1), else_=0)
    spent = sa.select(sa.func.coalesce(sa.func.sum(r.time_spent), 0)).where(tried)
    views = sa.select(sa.func.coalesce(sa.func.sum(r.views), 0)).where(tried)
    completed_at = sa.case((finished, latest.c.completed_at))
    columns = (
        Column("userId", u.uuid, str, "The user ID."),
        Column("courseId", course.c.uuid, str, "The course ID."),
        Column("moduleTitle", module.c.name, str, "The module title."),
        Column("moduleId", module.c.uuid, str, "The module ID."),
        Column("courseItemId", ITEM_UUID, str, "The ID of the course item, or of the "
               "training assigned outside a course."),
        Column("enrollmentId", e.uuid, str, "The enrollment ID."),
        Column("accessDate", e.access_at, str, "When the learner started studying the course."),
        Column("dueDate", e.due_at, str, "Course due date, when one is set."),
        Column("expirationDate", e.expires_at, str, "When access to the course closes."),
        Column("completionDate", completed_at, str, "When the module was completed."),
        Column("timeSpent", spent.scalar_subquery(), int, "Seconds spent, all attempts."),
        Column("completionStatus", status, str, "not_started, in_progress, pending, complete, "
               "passed, accepted, incomplete, failed or declined."),
        Column("progress", latest.c.progress, float, "Progress of the latest attempt."),
        Column("isOverdue", overdue, int, "1 when the due date has passed and the module is "
               "not complete, passed or accepted."),
        Column("viewsCount", views.scalar_subquery(), int, "Views, all attempts."),
    )  # fmt: skip
    return Report(
        name="learner_results",
        columns=columns,
        source=source,
        tenant=e.tenant_id,
        key=e.id,
        more_keys=(POSITION,),
        identity=e.uuid,
        filters=(),
        person=e.user_id,
        where=(
            e.unenrolled_at.is_(None),
            course.c.kind.in_(("course", "activity")),
            module.c.kind == "activity",
            *_conditions(tenant_id, query, status, completed_at),
        ),
    )


def _conditions(
    tenant_id: int,
    query: Query,
    status: ColumnElement[str],
    completed_at: ColumnElement[str],
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        u.status.in_([chosen.value for chosen in query.user_statuses])
    ]
    chosen = (
        (u.uuid, query.user_ids),
        (course.c.uuid, query.course_ids),
        (module.c.uuid, query.module_ids),
        (ITEM_UUID, query.course_item_ids),
        (e.uuid, query.enrollment_ids),
    )
    for column, values in chosen:
        if values is not None:
            conditions.append(column.in_(values))
    if query.department_ids is not None:
        departments = sa.select(groups.c.id).where(
            groups.c.tenant_id == tenant_id, groups.c.uuid.in_(query.department_ids)
        )
        conditions.append(e.user_id.in_(members_below(tenant_id, departments)))
    for column, span in ((e.access_at, query.access), (e.due_at, query.due),
                         (completed_at, query.completion)):  # fmt: skip
        if span is not None:
            conditions.extend(span.clause(column))
    if query.statuses is not None:
        conditions.append(status.in_([chosen.value for chosen in query.statuses]))
    return conditions


def departments_outside(
    connection: sa.Connection, tenant_id: int, limited_to: tuple[int, ...], uuids: tuple[str, ...]
) -> list[str]:
    """The department uuids a principal limited to `limited_to` may not ask about: those
    not at or below one of its groups (including uuids of no group of the tenant)."""
    seen = connection.execute(
        sa.select(groups.c.uuid).where(
            groups.c.tenant_id == tenant_id,
            groups.c.uuid.in_(uuids),
            groups.c.id.in_(groups_below(tenant_id, limited_to)),
        )
    ).scalars()
    allowed = set(seen)
    return [uuid for uuid in uuids if uuid not in allowed]
