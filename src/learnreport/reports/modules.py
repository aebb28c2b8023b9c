"""The modules report: one row per person x activity x attempt.

TinQwise: "Use the GET api/v2/reports/modules/ to retrieve data on the progress of
activities in the platform. [...] You can filter activities within a certain timeframe on
completed_at, expires_at, failed_at, modified_at, started_at or filter on certain groups by
group_name."
"""

from learnreport.reports.base import Column
from learnreport.reports.filters import AnyOf, Between
from learnreport.reports.progress import (
    COMPLETED_AT,
    ID,
    IS_COMPLETED,
    IS_OPTIONAL,
    MODIFIED_AT,
    PROGRESS,
    STATE,
    USER_ID,
    c,
    progress_report,
    r,
)

COLUMNS = (
    ID,
    USER_ID,
    Column("module_uuid", c.uuid, str, "The unique identifier of the activity."),
    Column("module_name", c.name, str, "The name of the activity."),
    Column("module_identifier", c.identifier, str, "The internal label of the activity."),
    Column("module_type", c.type, str, "Type of activity like learning-bite, exam, session."),
    Column("module_duration", c.duration, int, "Theoretical duration of the activity, minutes."),
    PROGRESS,
    Column("started_at", r.started_at, str, "When the user started the activity."),
    COMPLETED_AT,
    Column("expires_at", r.expires_at, str, "When the activity will expire in the future."),
    Column("expired_at", r.expired_at, str, "When the activity expired in the past."),
    Column("graded_at", r.graded_at, str, "When the activity was graded by a manager or "
           "teacher."),
    Column("failed_at", r.failed_at, str, "When the activity was failed."),
    MODIFIED_AT,
    Column("is_completed", IS_COMPLETED, bool, "true if the activity is completed."),
    Column("grade", r.grade, str, "The grade of the activity (like good or excellent)."),
    Column("score", r.score, float, "The score of the activity."),
    Column("optional", IS_OPTIONAL, bool, "true if the activity is optional content."),
    Column("attempt", r.attempt, int, "Number of the attempt."),
    Column("accreditation_points", c.accreditation_points, float, "Accredited points for the "
           "activity."),
    STATE,
)  # fmt: skip

REPORT = progress_report(
    "modules",
    COLUMNS,
    (
        Between("completed_at", r.completed_at, "completion"),
        Between("expires_at", r.expires_at, "expiry"),
        Between("failed_at", r.failed_at, "failure"),
        Between("started_at", r.started_at, "start"),
        AnyOf("module_uuid", c.uuid, "Only the activity with this uuid.", normalise=str.lower),
        AnyOf("state", r.state, "Only attempts in this state."),
    ),
    ("activity",),
)
