"""The training time report: minutes of completed activities per person over a period.

TinQwise: "You can filter activities counting towards the training time must have been
completed within a certain timeframe on reporting_period_start and reporting_period_end
or filter on certain users or groups by user_id or group_name." The rule itself is
`learnreport.domain.training_time`; this module sums the same thing in one grouped query.
Every person the caller sees gets a row, with 0 minutes when nothing counted.
"""

import sqlalchemy as sa

from learnreport.domain.states import TrainingType
from learnreport.domain.training_time import COUNTED_STATES
from learnreport.reports.base import TENANT, Column, Report, within_tenant
from learnreport.reports.filters import AnyOf, Between, Bound, InGroups, Kind, Param
from learnreport.store.schema import contents, results, tenants, users
from learnreport.store.types import Timestamp

r, c, u = results.c, contents.c, users.c

START = Bound(
    Param(
        "reporting_period_start",
        Kind.FROM,
        "Count only activities completed at or after this date or instant.",
    ),
    default="0001-01-01T00:00:00Z",
)
END = Bound(
    Param(
        "reporting_period_end",
        Kind.UNTIL,
        "Count only activities completed at or before this date (to its end) or instant.",
    ),
    default="9999-12-31T23:59:59Z",
)

minutes = sa.func.coalesce(c.duration, 0)


def _minutes_of(training_type: TrainingType) -> sa.ColumnElement[int]:
    return sa.func.sum(sa.case((c.training_type == training_type.value, minutes), else_=0))


counted = (
    sa.select(
        r.tenant_id,
        r.user_id,
        sa.func.sum(minutes).label("total"),
        _minutes_of(TrainingType.FORMAL).label("formal"),
        _minutes_of(TrainingType.INFORMAL).label("informal"),
        sa.func.max(r.modified_at).label("modified_at"),
    )
    .select_from(within_tenant(results, contents, r.content_id))
    .where(
        r.tenant_id == sa.bindparam(TENANT, type_=sa.Integer),
        c.kind == "activity",
        r.state.in_(sorted(COUNTED_STATES)),
        r.completed_at >= sa.bindparam(START.param.name, type_=Timestamp),
        r.completed_at <= sa.bindparam(END.param.name, type_=Timestamp),
    )
    .group_by(r.tenant_id, r.user_id)
    .subquery("counted")
)

SOURCE = users.join(
    counted,
    sa.and_(counted.c.tenant_id == u.tenant_id, counted.c.user_id == u.id),
    isouter=True,
)

USER_ID = Column("user_id", u.external_id, str, "Matches the id field of the users report.")
TOTAL = Column(
    "total_training_time",
    sa.func.coalesce(counted.c.total, 0),
    int,
    "Minutes the user has spent on activities, based on the duration of the activities "
    "completed in the reporting period.",
)
MODIFIED_AT = Column(
    "modified_at",
    counted.c.modified_at,
    str,
    "When the newest of the records counted was last updated; empty when none counted.",
)
SPLIT = (
    Column(
        "formal_training_time",
        sa.func.coalesce(counted.c.formal, 0),
        int,
        "Minutes spent on formal activities (only when the Training Type Feature is on).",
    ),
    Column(
        "informal_training_time",
        sa.func.coalesce(counted.c.informal, 0),
        int,
        "Minutes spent on informal activities (only when the Training Type Feature is on).",
    ),
)

COLUMNS = (USER_ID, TOTAL, *SPLIT, MODIFIED_AT)

FILTERS = (
    START,
    END,
    AnyOf("user_id", u.external_id, "Only the user with this id."),
    InGroups(u.id),
    Between("modified_at", counted.c.modified_at, "newest counted record's last update"),
)


def report(connection: sa.Connection, tenant_id: int) -> Report:
    """The formal/informal split appears only for a tenant with training types enabled."""
    enabled = connection.execute(
        sa.select(tenants.c.training_types_enabled).where(tenants.c.id == tenant_id)
    ).scalar_one()
    return Report(
        name="training_time",
        columns=(USER_ID, TOTAL, *(SPLIT if enabled else ()), MODIFIED_AT),
        source=SOURCE,
        tenant=u.tenant_id,
        key=u.id,
        identity=u.external_id,
        filters=FILTERS,
        person=u.id,
    )
