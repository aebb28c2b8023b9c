"""The users report: one row per person, with the tenant's custom profile fields.

TinQwise: "You can use a number of filters to find users within a certain timeframe based
on contract_start_date, contract_end_date, last_seen, registration_date, filter on a
specific user by email, uuid or employee_id, or filter on certain groups by group_name."
"""

import sqlalchemy as sa

from learnreport.reports.base import Column, Report
from learnreport.reports.filters import AnyOf, Between, InGroups
from learnreport.store.schema import custom_fields, user_field_values, users

u = users.c

COLUMNS = (
    Column("id", u.external_id, str, "Users are uniquely identified by their id; other "
           "reports refer to it as user_id."),
    Column("uuid", u.uuid, str, "Generated automatically when the user was created."),
    Column("username", u.username, str, "The username of the user."),
    Column("email", u.email, str, "The unique email address of the user."),
    Column("first_name", u.first_name, str, "The user's first name."),
    Column("last_name", u.last_name, str, "The user's last name."),
    Column("registration_date", u.registration_date, str, "When the user registered."),
    Column("last_seen", u.last_seen, str, "When the user last logged in."),
    Column("contract_start_date", u.contract_start_date, str, "Start of the user's contract."),
    Column("contract_end_date", u.contract_end_date, str, "End of the user's contract."),
    Column("status", u.status, str, "active, pending, suspended or blocked."),
    Column("employee_id", u.employee_id, str, "A customer-specific unique identifier."),
    Column("saml_username", u.saml_username, str, "The username used with SAML2 single sign-on."),
    Column("modified_at", u.modified_at, str, "When this user was last updated."),
)  # fmt: skip

FLEXIBLE_PREFIX = "flexible_"
"""Custom profile fields appear under their own key; one whose key a standard field already
uses appears as `flexible_<key>` instead, so that it can never shadow one."""

FILTERS = (
    Between("contract_start_date", u.contract_start_date, "contract start date", day=True),
    Between("contract_end_date", u.contract_end_date, "contract end date", day=True),
    Between("last_seen", u.last_seen, "last login"),
    Between("registration_date", u.registration_date, "registration date"),
    Between("modified_at", u.modified_at, "last update"),
    AnyOf("email", u.email, "Only the user with this email address.", normalise=str.lower),
    AnyOf("uuid", u.uuid, "Only the user with this uuid.", normalise=str.lower),
    AnyOf("employee_id", u.employee_id, "Only the user with this employee id."),
    AnyOf("status", u.status, "Only users in this status: active, pending, suspended, blocked."),
    InGroups(u.id),
)


def report(connection: sa.Connection, tenant_id: int) -> Report:
    """The report for one tenant: its custom profile fields are columns of their own."""
    fields = connection.execute(
        sa.select(custom_fields.c.id, custom_fields.c.key)
        .where(custom_fields.c.tenant_id == tenant_id)
        .order_by(custom_fields.c.key)
    ).all()
    standard = {column.name for column in COLUMNS}
    flexible = tuple(
        Column(
            f"{FLEXIBLE_PREFIX}{key}" if key in standard else key,
            _field_value(field_id),
            str,
            f"The custom profile field {key}.",
        )
        for field_id, key in fields
    )
    return Report(
        name="users",
        columns=COLUMNS + flexible,
        source=users,
        tenant=u.tenant_id,
        key=u.id,
        identity=u.external_id,
        filters=FILTERS,
        person=u.id,
    )


def _field_value(field_id: int) -> sa.ScalarSelect[str]:
    values = user_field_values.c
    return (
        sa.select(values.value)
        .where(
            values.tenant_id == u.tenant_id,
            values.user_id == u.id,
            values.field_id == field_id,
        )
        .scalar_subquery()
    )
