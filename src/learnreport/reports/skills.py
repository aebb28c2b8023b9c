"""The skills report: one row per person x skill (badge) x attempt.

TinQwise: "Use the GET api/v2/reports/skills/ to retrieve data on the progress of skills
and badges users are working on in the platform. [...] You can filter skills within a
certain timeframe on completed_at, expires_at, failed_at, modified_at or filter on certain
skill or user id's."
"""

from learnreport.reports.base import Column
from learnreport.reports.filters import AnyOf, Between
from learnreport.reports.progress import (
    COMPLETED_AT,
    ID,
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
    Column("skill_uuid", c.uuid, str, "The unique identifier of the skill the badge "
           "represents."),
    Column("skill_name", c.name, str, "The name of the skill the badge represents."),
    PROGRESS,
    Column("seen_at", r.seen_at, str, "When the user saw the badge."),
    Column("flagged", r.flagged, bool, "true if the user flagged the skill as one they no "
           "longer master."),
    Column("expires_at", r.expires_at, str, "When the badge will expire in the future."),
    COMPLETED_AT,
    Column("failed_at", r.failed_at, str, "When the badge was failed."),
    Column("last_nudged_at", r.last_nudged_at, str, "When a manager last nudged the user to "
           "complete the skill."),
    MODIFIED_AT,
    STATE,
)  # fmt: skip

REPORT = progress_report(
    "skills",
    COLUMNS,
    (
        Between("completed_at", r.completed_at, "completion"),
        Between("expires_at", r.expires_at, "expiry"),
        Between("failed_at", r.failed_at, "failure"),
        AnyOf("skill_id", c.external_id, "Only the skill with this id."),
        AnyOf("skill_uuid", c.uuid, "Only the skill with this uuid.", normalise=str.lower),
    ),
    ("skill",),
)
