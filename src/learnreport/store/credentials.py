"""OAuth2 clients and API keys: their role, scopes and groups, and the checking of secrets.

A client id or key id starts with its tenant's slug (`acme.c_3f9a1b2c4d5e6f70`), so the
server finds the tenant from the id alone, with no index across tenants. An API key is its
id, a dot and a secret (`acme.k_9f8e7d6c5b4a3f21.<secret>`).

Client secrets are hashed with Argon2id, whose cost is paid once per token. API keys are
checked on every request, so they get SHA-256: they carry 256 random bits, which leaves
nothing for a slow hash to protect against. Both are compared in constant time, and an
unknown id costs as much as a wrong secret, so timing does not tell which ids exist.
Secrets appear in no message and no `repr`.
"""

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from learnreport.domain.access import (
    SCOPES,
    Principal,
    Role,
    RoleName,
    granted_scopes,
    may_limit_to_groups,
    needs_groups,
)
from learnreport.store import bulk
from learnreport.store.schema import credential_groups, credentials, groups, sequences, tenants
from learnreport.store.tenants import Tenant
from learnreport.store.types import format_timestamp

Kind = Literal["client", "key"]

PREFIXES: dict[Kind, str] = {"client": "c_", "key": "k_"}

KEY_HASH = "sha256$"

DESCRIPTION_LENGTH = credentials.c.description.type.length

TOUCH_EVERY = timedelta(hours=1)
"""How stale `last_used_at` may get before an API key's use writes it again: often enough to
tell an unused key, rarely enough that requests do not queue behind the write."""

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
"""OWASP's Argon2id parameters: 19 MiB, two passes, one lane."""


class CredentialError(ValueError):
    """A credential that breaks a rule; the message names the rule and the value at fault."""


class CredentialNotFound(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Credential:
    tenant: str
    public_id: str
    kind: Kind
    role: RoleName
    scopes: tuple[str, ...] | None
    """The scopes it was created with; `None` for every scope its role allows."""
    groups: tuple[str, ...] | None
    """Names of the groups limiting it; `None` when it sees its whole tenant."""
    description: str | None
    created_at: str
    revoked_at: str | None
    last_used_at: str | None

    @property
    def granted(self) -> frozenset[str]:
        return granted_scopes(self.role.role, self.scopes)


@dataclass(frozen=True, slots=True)
class Created:
    credential: Credential
    secret: str = field(repr=False)
    """The client secret, or the whole API key: shown once, stored only hashed."""


def create(
    connection: sa.Connection,
    tenant: Tenant,
    kind: Kind,
    role: RoleName | str,
    *,
    scopes: Iterable[str] | None = None,
    groups: Iterable[str] | None = None,
    description: str | None = None,
) -> Created:
    """Create a client or an API key; raises `CredentialError` or `InvalidRole`."""
    role = role if isinstance(role, RoleName) else RoleName.parse(role)
    if description is not None and len(description) > DESCRIPTION_LENGTH:
        raise CredentialError(f"a description has at most {DESCRIPTION_LENGTH} characters")
    chosen = _check_scopes(role, scopes)
    wanted = list(dict.fromkeys(groups)) if groups is not None else []
    _check_groups(role, wanted)
    limits = _groups(connection, tenant.id, wanted)

    public_id = f"{tenant.slug}.{PREFIXES[kind]}{secrets.token_hex(8)}"
    if kind == "client":
        secret = secrets.token_urlsafe(32)
        secret_hash = _hasher.hash(secret)
    else:
        secret = f"{public_id}.{secrets.token_urlsafe(32)}"
        secret_hash = _key_hash(secret)
    created_at = format_timestamp(datetime.now(UTC))
    values = {"tenant_id": tenant.id, "name": credentials.name}
    credential_id = bulk.upsert_counter(connection, sequences, values, "last_id", 1)
    connection.execute(
        credentials.insert().values(
            tenant_id=tenant.id,
            id=credential_id,
            public_id=public_id,
            kind=kind,
            secret_hash=secret_hash,
            role=str(role),
            scopes=sa.null() if chosen is None else list(chosen),
            limited_to_groups=bool(wanted),
            description=description,
            created_at=created_at,
        )
    )
    if limits:
        connection.execute(
            credential_groups.insert(),
            [
                {"tenant_id": tenant.id, "credential_id": credential_id, "group_id": group_id}
                for group_id in limits
            ],
        )
    credential = Credential(
        tenant=tenant.slug,
        public_id=public_id,
        kind=kind,
        role=role,
        scopes=chosen,
        groups=tuple(sorted(limits.values())) if wanted else None,
        description=description,
        created_at=created_at,
        revoked_at=None,
        last_used_at=None,
    )
    return Created(credential, secret)


def list_credentials(connection: sa.Connection, tenant: Tenant, kind: Kind) -> list[Credential]:
    """A tenant's clients or keys, revoked ones included, oldest first."""
    return _credentials(
        connection,
        credentials.c.tenant_id == tenant.id,
        credentials.c.kind == kind,
    )


def find(connection: sa.Connection, public_id: str) -> Credential | None:
    """A client or key by its id, revoked or not; `None` if no tenant has it."""
    slug = tenant_slug(public_id)
    if slug is None:
        return None
    found = _credentials(connection, tenants.c.slug == slug, credentials.c.public_id == public_id)
    return found[0] if found else None


def revoke(connection: sa.Connection, tenant: Tenant, public_id: str, kind: Kind) -> Credential:
    """Revoke a tenant's client or key at once: its tokens are refused from the next request.

    Revoking it again keeps the first revocation time.
    """
    connection.execute(
        credentials.update()
        .where(
            credentials.c.tenant_id == tenant.id,
            credentials.c.public_id == public_id,
            credentials.c.kind == kind,
            credentials.c.revoked_at.is_(None),
        )
        .values(revoked_at=format_timestamp(datetime.now(UTC)))
    )
    credential = find(connection, public_id)
    if credential is None or credential.tenant != tenant.slug or credential.kind != kind:
        raise CredentialNotFound(public_id)
    return credential


def tenant_slug(public_id: str) -> str | None:
    """The slug a client id or key id starts with; slugs never contain a dot."""
    slug, dot, rest = public_id.rpartition(".")
    return slug if dot and slug and rest else None


def load_principal(
    connection: sa.Connection,
    public_id: str,
    scopes: Iterable[str] | None = None,
    *,
    kind: Kind = "client",
) -> Principal | None:
    """Who an active credential acts as, holding `scopes` as far as it is granted them
    (every granted scope when `None`); `None` for an unknown or revoked credential. One
    query, and a second for a limited one."""
    row = _active(connection, public_id, kind)
    return None if row is None else _principal(connection, row, scopes)


def authenticate_client(engine: sa.Engine, client_id: str, secret: str) -> Principal | None:
    """The principal of a client whose secret matches, with every scope it is granted.

    The hash is checked outside any transaction, and the use is recorded in a transaction
    of its own, so that a slow hash never holds a database lock.
    """
    with engine.connect() as connection:
        row = _active(connection, client_id, "client")
        if row is None:
            _verify(_dummy_hash(), secret)
            return None
        principal = _principal(connection, row, None)
    if not _verify(row.secret_hash, secret):
        return None
    rehash = _hasher.check_needs_rehash(row.secret_hash)
    _touch(engine, row, secret_hash=_hasher.hash(secret) if rehash else None)
    return principal


def authenticate_key(connectable: sa.Engine | sa.Connection, key: str) -> Principal | None:
    """The principal of an API key, with every scope it is granted; `None` if it is unknown,
    revoked or wrong. Call it before writing in a transaction: a use is recorded, at most
    hourly, in a transaction of its own."""
    key_id = key.rpartition(".")[0]
    if isinstance(connectable, sa.Engine):
        with connectable.connect() as connection:
            row = _active(connection, key_id, "key")
            principal = _key_principal(connection, row, key)
        engine = connectable
    else:
        row = _active(connectable, key_id, "key")
        principal = _key_principal(connectable, row, key)
        engine = connectable.engine
    if principal is not None and row is not None and _stale(row.last_used_at):
        _touch(engine, row)
    return principal


def _key_principal(connection: sa.Connection, row: Any, key: str) -> Principal | None:
    stored = row.secret_hash if row is not None else _key_hash("")
    if not hmac.compare_digest(_key_hash(key).encode(), stored.encode()) or row is None:
        return None
    return _principal(connection, row, None)


_ACTIVE = (
    sa.select(
        tenants.c.id.label("tenant_id"),
        tenants.c.slug,
        tenants.c.api_access_enabled,
        credentials.c.id,
        credentials.c.public_id,
        credentials.c.secret_hash,
        credentials.c.role,
        credentials.c.scopes,
        credentials.c.limited_to_groups,
        credentials.c.last_used_at,
    )
    .join_from(credentials, tenants, credentials.c.tenant_id == tenants.c.id)
    .where(
        tenants.c.slug == sa.bindparam("slug"),
        credentials.c.public_id == sa.bindparam("public_id"),
        credentials.c.kind == sa.bindparam("kind"),
        credentials.c.revoked_at.is_(None),
    )
)
"""Built once, because every request runs it: building it anew took 125 of the 147
microseconds a lookup cost on SQLite."""


def _active(connection: sa.Connection, public_id: str, kind: Kind) -> Any:
    slug = tenant_slug(public_id)
    if slug is None:
        return None
    values = {"slug": slug, "public_id": public_id, "kind": kind}
    return connection.execute(_ACTIVE, values).first()


def _principal(connection: sa.Connection, row: Any, scopes: Iterable[str] | None) -> Principal:
    role = RoleName.parse(row.role)
    granted = granted_scopes(role.role, row.scopes)
    held = granted if scopes is None else granted & frozenset(scopes)
    group_ids: tuple[int, ...] | None = None
    if row.limited_to_groups:
        query = (
            sa.select(credential_groups.c.group_id)
            .where(
                credential_groups.c.tenant_id == row.tenant_id,
                credential_groups.c.credential_id == row.id,
            )
            .order_by(credential_groups.c.group_id)
        )
        group_ids = tuple(connection.execute(query).scalars())
    return Principal(
        tenant_id=row.tenant_id,
        tenant=row.slug,
        credential=row.public_id,
        role=role,
        scopes=held,
        groups=group_ids,
        api_access=row.api_access_enabled,
    )


def _touch(engine: sa.Engine, row: Any, *, secret_hash: str | None = None) -> None:
    changes: dict[str, str] = {"last_used_at": format_timestamp(datetime.now(UTC))}
    if secret_hash is not None:
        changes["secret_hash"] = secret_hash
    with engine.begin() as connection:
        connection.execute(
            credentials.update()
            .where(credentials.c.tenant_id == row.tenant_id, credentials.c.id == row.id)
            .values(**changes)
        )


def _stale(last_used_at: str | None) -> bool:
    return last_used_at is None or last_used_at < format_timestamp(datetime.now(UTC) - TOUCH_EVERY)


def _verify(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    """A hash no secret matches, checked for unknown ids so that they cost a real check."""
    return _hasher.hash(secrets.token_urlsafe(32))


def _key_hash(key: str) -> str:
    return KEY_HASH + hashlib.sha256(key.encode()).hexdigest()


def _check_scopes(role: RoleName, scopes: Iterable[str] | None) -> tuple[str, ...] | None:
    if scopes is None:
        if role.role is Role.CUSTOM:
            raise CredentialError(f"the custom role {role} is a set of scopes: name its scopes")
        return None
    chosen = tuple(sorted(set(scopes)))
    if not chosen:
        raise CredentialError("give at least one scope, or none at all for every scope")
    unknown = [scope for scope in chosen if scope not in SCOPES]
    if unknown:
        raise CredentialError(f"unknown scope{_s(unknown)}: {', '.join(unknown)}")
    refused = [scope for scope in chosen if scope not in granted_scopes(role.role, None)]
    if refused:
        raise CredentialError(f"the role {role} may not hold {', '.join(refused)}")
    return chosen


def _check_groups(role: RoleName, wanted: Sequence[str]) -> None:
    if needs_groups(role.role) and not wanted:
        raise CredentialError(f"a {role} must be limited to at least one group")
    if wanted and not may_limit_to_groups(role.role):
        raise CredentialError(f"an {role} sees the whole tenant and cannot be limited to groups")


def _groups(connection: sa.Connection, tenant_id: int, wanted: Sequence[str]) -> dict[int, str]:
    """The groups given by name or by the platform's id, each naming one group: their
    internal ids and names."""
    if not wanted:
        return {}
    query = sa.select(groups.c.id, groups.c.name, groups.c.external_id).where(
        groups.c.tenant_id == tenant_id,
        sa.or_(groups.c.name.in_(wanted), groups.c.external_id.in_(wanted)),
    )
    matches: dict[str, set[int]] = {value: set() for value in wanted}
    names: dict[int, str] = {}
    for group_id, name, external_id in connection.execute(query):
        names[group_id] = name
        for value in {name, external_id} & matches.keys():
            matches[value].add(group_id)
    unknown = [value for value, found in matches.items() if not found]
    if unknown:
        raise CredentialError(f"no group named or with id {', '.join(map(repr, unknown))}")
    ambiguous = [value for value, found in matches.items() if len(found) > 1]
    if ambiguous:
        raise CredentialError(
            f"{', '.join(map(repr, ambiguous))} names one group and is the id of another: "
            "give the other group's name or id instead"
        )
    return {group_id: names[group_id] for found in matches.values() for group_id in found}


def _credentials(connection: sa.Connection, *conditions: Any) -> list[Credential]:
    query = (
        sa.select(
            credentials.c.tenant_id,
            credentials.c.id,
            tenants.c.slug,
            credentials.c.public_id,
            credentials.c.kind,
            credentials.c.role,
            credentials.c.scopes,
            credentials.c.limited_to_groups,
            credentials.c.description,
            credentials.c.created_at,
            credentials.c.revoked_at,
            credentials.c.last_used_at,
        )
        .join_from(credentials, tenants, credentials.c.tenant_id == tenants.c.id)
        .where(*conditions)
        .order_by(credentials.c.tenant_id, credentials.c.id)
    )
    rows = connection.execute(query).all()
    names = _group_names(connection, [(row.tenant_id, row.id) for row in rows])
    return [
        Credential(
            tenant=row.slug,
            public_id=row.public_id,
            kind=row.kind,
            role=RoleName.parse(row.role),
            scopes=None if row.scopes is None else tuple(row.scopes),
            groups=tuple(names.get((row.tenant_id, row.id), ())) if row.limited_to_groups else None,
            description=row.description,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )
        for row in rows
    ]


def _group_names(
    connection: sa.Connection, keys: list[tuple[int, int]]
) -> dict[tuple[int, int], list[str]]:
    if not keys:
        return {}
    query = (
        sa.select(credential_groups.c.tenant_id, credential_groups.c.credential_id, groups.c.name)
        .join_from(
            credential_groups,
            groups,
            sa.and_(
                groups.c.tenant_id == credential_groups.c.tenant_id,
                groups.c.id == credential_groups.c.group_id,
            ),
        )
        .where(
            credential_groups.c.tenant_id.in_({tenant_id for tenant_id, _ in keys}),
            credential_groups.c.credential_id.in_({credential_id for _, credential_id in keys}),
        )
        .order_by(groups.c.name)
    )
    names: dict[tuple[int, int], list[str]] = {}
    for tenant_id, credential_id, name in connection.execute(query):
        names.setdefault((tenant_id, credential_id), []).append(name)
    return names


def _s(items: Sequence[object]) -> str:
    return "s" if len(items) > 1 else ""
