"""The journeys report: a row per person x journey and per person x section of a journey.

TinQwise: "journey_uuid the unique identifier of the journey. When the result is a section,
this field contains the uuid of the journey the section is part of. [...] section_uuid the
unique identifier of the section. This fields is empty when the result is a journey."
"""

import sqlalchemy as sa

from learnreport.reports.base import Column, within_tenant
from learnreport.reports.filters import AnyOf, Between
from learnreport.reports.progress import (
    COMPLETED_AT,
    ID,
    MODIFIED_AT,
    PROGRESS,
    SOURCE,
    STATE,
    USER_ID,
    c,
    progress_report,
    r,
)
from learnreport.store.schema import content_items, contents

journey = contents.alias("journey")
placement = content_items.alias("placement")

IS_SECTION = c.kind == "section"

JOURNEY_UUID = sa.case((IS_SECTION, journey.c.uuid), else_=c.uuid)

COLUMNS = (
    ID,
    USER_ID,
    Column("journey_uuid", JOURNEY_UUID, str, "The uuid of the journey, or for a section, of "
           "the journey the section is part of."),
    Column("journey_name", sa.case((IS_SECTION, journey.c.name), else_=c.name), str,
           "The name of the journey, or for a section, of the journey it is part of."),
    Column("section_uuid", sa.case((IS_SECTION, c.uuid)), str, "The uuid of the section; "
           "empty when the row is a journey."),
    Column("section_name", sa.case((IS_SECTION, c.name)), str, "The name of the section; "
           "empty when the row is a journey."),
    PROGRESS,
    Column("created_at", r.created_at, str, "When this person's journey (or section) record "
           "was created."),
    MODIFIED_AT,
    COMPLETED_AT,
    STATE,
)  # fmt: skip

# A section sits in exactly one journey (the write path keeps section ids to their journey).
SOURCE_WITH_JOURNEY = within_tenant(
    SOURCE.join(
        placement,
        sa.and_(placement.c.tenant_id == r.tenant_id, placement.c.child_id == c.id, IS_SECTION),
        isouter=True,
    ),
    journey,
    placement.c.parent_id,
    outer=True,
)

REPORT = progress_report(
    "journeys",
    COLUMNS,
    (
        Between("created_at", r.created_at, "creation"),
        Between("completed_at", r.completed_at, "completion"),
        AnyOf(
            "journey_uuid", JOURNEY_UUID, "Only this journey and its sections.", normalise=str.lower
        ),
    ),
    ("journey", "section"),
    SOURCE_WITH_JOURNEY,
)
