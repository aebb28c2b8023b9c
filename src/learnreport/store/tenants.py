"""Tenants: the one table that is not itself keyed by tenant."""

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from learnreport.store.schema import tenants
from learnreport.store.types import format_timestamp


@dataclass(frozen=True, slots=True)
class Tenant:
    id: int
    slug: str
    name: str
    training_types_enabled: bool
    api_access_enabled: bool
    created_at: str


class TenantExists(Exception):
    pass


class TenantNotFound(Exception):
    pass


_COLUMNS = [tenants.c[name] for name in Tenant.__dataclass_fields__]


def create(
    connection: sa.Connection,
    slug: str,
    name: str,
    *,
    training_types_enabled: bool = False,
    api_access_enabled: bool = True,
) -> Tenant:
    if find(connection, slug) is not None:
        raise TenantExists(slug)
    connection.execute(
        tenants.insert().values(
            slug=slug,
            name=name,
            training_types_enabled=training_types_enabled,
            api_access_enabled=api_access_enabled,
            created_at=format_timestamp(datetime.now(UTC)),
        )
    )
    return get(connection, slug)


def find(connection: sa.Connection, slug: str) -> Tenant | None:
    row = connection.execute(sa.select(*_COLUMNS).where(tenants.c.slug == slug)).first()
    return Tenant(*row) if row is not None else None


def get(connection: sa.Connection, slug: str) -> Tenant:
    tenant = find(connection, slug)
    if tenant is None:
        raise TenantNotFound(slug)
    return tenant


def all_tenants(connection: sa.Connection) -> list[Tenant]:
    return [
        Tenant(*row) for row in connection.execute(sa.select(*_COLUMNS).order_by(tenants.c.slug))
    ]


def update(
    connection: sa.Connection,
    slug: str,
    *,
    name: str | None = None,
    training_types_enabled: bool | None = None,
    api_access_enabled: bool | None = None,
) -> Tenant:
    changes = {
        key: value
        for key, value in {
            "name": name,
            "training_types_enabled": training_types_enabled,
            "api_access_enabled": api_access_enabled,
        }.items()
        if value is not None
    }
    get(connection, slug)
    if changes:
        connection.execute(tenants.update().where(tenants.c.slug == slug).values(**changes))
    return get(connection, slug)


def delete(connection: sa.Connection, slug: str) -> None:
    """Remove a tenant and, through `ON DELETE CASCADE`, every record it owns."""
    get(connection, slug)
    connection.execute(tenants.delete().where(tenants.c.slug == slug))
