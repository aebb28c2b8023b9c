"""The groups report: one row per group, with the name of its parent.

TinQwise: "Use the GET /api/v2/reports/groups/ endpoint to retrieve a list of groups. [...]
In other endpoints you can use the group_name to filter on specific groups."
"""

import sqlalchemy as sa

from learnreport.reports.base import Column, Report
from learnreport.reports.filters import AnyOf, Between, Flag
from learnreport.store.schema import groups

g = groups.c
parent = groups.alias("parent")

COLUMNS = (
    Column("id", g.external_id, str, "The group's id."),
    Column("uuid", g.uuid, str, "Generated automatically when the group was created."),
    Column("name", g.name, str, "The unique identifier for this group."),
    Column("type", g.type, str, "The grouptype of this group."),
    Column("name_i18n", g.name_i18n, dict, "The internationalized (i18n) or translated name "
           "for this group."),
    Column("parent_name", parent.c.name, str, "The name of the parent of this group. Matches "
           "the name field of the parent group."),
    Column("external_name", g.external_name, str, "The optional id or name which the group "
           "is known by the customer."),
    Column("created_by_user_importer", g.created_by_user_importer, bool, "true when created "
           "by a user provisioning integration for importing users and groups."),
    Column("extra", g.extra, dict, "A JSON dictionary containing the information within the "
           "custom group fields of the platform."),
    Column("modified_at", g.modified_at, str, "When this group was last updated."),
)  # fmt: skip

SOURCE = groups.join(
    parent,
    sa.and_(parent.c.tenant_id == g.tenant_id, parent.c.id == g.parent_id),
    isouter=True,
)

REPORT = Report(
    name="groups",
    columns=COLUMNS,
    source=SOURCE,
    tenant=g.tenant_id,
    key=g.id,
    identity=g.external_id,
    filters=(
        AnyOf("name", g.name, "Only the group of this name."),
        AnyOf("type", g.type, "Only groups of this type."),
        AnyOf("parent_name", parent.c.name, "Only the groups directly below this group."),
        AnyOf("external_name", g.external_name, "Only the group known by this external name."),
        Flag(
            "created_by_user_importer",
            g.created_by_user_importer,
            "Only groups created (true) or not created (false) by a provisioning import.",
        ),
        Between("modified_at", g.modified_at, "last update"),
    ),
    group=g.id,
)
