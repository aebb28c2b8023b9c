"""The programmes report: one row per person x programme x attempt.

TinQwise: "Use the GET api/v2/reports/programmes/ to retrieve data on the progress of
programmes in the platform. [...] You can filter programmes within a certain timeframe on
completed_at or on programme id's."
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
    Column("programme_uuid", c.uuid, str, "The unique identifier of the programme."),
    Column("programme_title", c.name, str, "The name of the programme."),
    USER_ID,
    PROGRESS,
    COMPLETED_AT,
    MODIFIED_AT,
    STATE,
)

REPORT = progress_report(
    "programmes",
    COLUMNS,
    (
        Between("completed_at", r.completed_at, "completion"),
        AnyOf("programme_id", c.external_id, "Only the programme with this id."),
        AnyOf("programme_uuid", c.uuid, "Only the programme with this uuid.", normalise=str.lower),
    ),
    ("programme",),
)
