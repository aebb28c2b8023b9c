"""Reports: one query module per report, each a `Report` the surfaces page, count and stream.

A report knows its columns, filters and whose rows it holds; it never knows which API
dialect asked or which format the rows will be rendered in.
"""

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from learnreport.reports import (
    groups,
    journeys,
    modules,
    programmes,
    skills,
    training_time,
    users,
)
from learnreport.reports.base import Column, Report
from learnreport.reports.filters import Filter


@dataclass(frozen=True)
class Definition:
    define: Callable[[sa.Connection, int], Report]
    """Builds the report for one tenant: some have tenant-specific columns (custom profile
    fields, the training-type split)."""
    columns: tuple[Column, ...]
    """Every column any tenant's report may have, for the API's documentation."""
    filters: tuple[Filter, ...]

    @classmethod
    def fixed(cls, report: Report) -> "Definition":
        """A report that is the same for every tenant."""
        return cls(lambda connection, tenant_id: report, report.columns, report.filters)


NATIVE: dict[str, Definition] = {
    "users": Definition(users.report, users.COLUMNS, users.FILTERS),
    "groups": Definition.fixed(groups.REPORT),
    "modules": Definition.fixed(modules.REPORT),
    "journeys": Definition.fixed(journeys.REPORT),
    "programmes": Definition.fixed(programmes.REPORT),
    "skills": Definition.fixed(skills.REPORT),
    "training_time": Definition(training_time.report, training_time.COLUMNS, training_time.FILTERS),
}
