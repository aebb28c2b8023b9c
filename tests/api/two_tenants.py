"""Two tenants built alike, and a credential of every kind that must see only part of them.

Acme and globex hold the same group tree, the same people (same ids, names and emails), the
same content and the same kinds of records on every surface, so that a record of one tenant
served to the other looks plausible. What tells them apart are markers: every record holds
a value of the form `zq<tenant><record>x` in a field some report shows (a last name, an
employee id, a grade, an identifier, an xAPI actor's name), and the uuids the database gave
each record. A response that holds a marker of a record its caller may not see has leaked.

    Company ── Sales ── Sales Benelux
            └── Engineering

u1 and u5 are in Sales, u2 in Sales Benelux, u3 in Engineering, u4 in no group; u5 and the
session s2 exist in acme only, so that an id can name a record of acme alone.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from learnreport.api import tokens
from learnreport.config import Settings
from learnreport.ingest import ingest, xapi
from learnreport.ingest.statements import store
from learnreport.store import credentials, signing_keys, tenants
from learnreport.store.schema import (
    content_items,
    contents,
    enrollments,
    groups,
    path_sessions,
    statements,
    users,
)
from learnreport.store.tenants import Tenant

SALES_PEOPLE = ("u1", "u2", "u4", "u5")
"""Everyone an administrator of Engineering, Sales' sibling, may not see (u4 is in no group)."""
NAMES = {"u1": "Ann", "u2": "Bob", "u3": "Cy", "u4": "Dee", "u5": "Eve"}
HIDDEN_GROUPS = ("g-root", "g-sales", "g-benelux")
"""The groups above or beside Engineering."""
DEPARTMENT = "g-eng"
OTHER_SCOPE = {"read.group.reports": "read.user.reports"}
"""The one scope a custom role without a route's scope holds: any scope but the route's."""
DEFAULT_OTHER_SCOPE = "read.group.reports"


def marker(slug: str, key: str) -> str:
    return f"zq{slug}{key}x"


def _records(slug: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """One tenant's records, alike in both tenants except for markers and acme's extras."""
    people_ids = [*NAMES] if slug == "acme" else [p for p in NAMES if p != "u5"]
    home = {"u1": "g-sales", "u2": "g-benelux", "u3": "g-eng", "u5": "g-sales"}
    sessions = ["s1", "s2"] if slug == "acme" else ["s1"]
    return [
        ("groups", [
            {"id": "g-root", "name": "Company", "external_name": marker(slug, "g-root")},
            {"id": "g-sales", "name": "Sales", "parent_id": "g-root",
             "external_name": marker(slug, "g-sales")},
            {"id": "g-benelux", "name": "Sales Benelux", "parent_id": "g-sales",
             "external_name": marker(slug, "g-benelux")},
            {"id": "g-eng", "name": "Engineering", "parent_id": "g-root",
             "external_name": marker(slug, "g-eng")},
        ]),
        ("users", [
            {"id": p, "email": f"{NAMES[p].lower()}@example.com", "first_name": NAMES[p],
             "last_name": marker(slug, p), "employee_id": marker(slug, p),
             "username": marker(slug, p), "custom_fields": {"badge": marker(slug, p)},
             "registration_date": "2025-01-10T08:00:00Z"}
            for p in people_ids
        ]),
        ("memberships", [{"user_id": p, "group_id": home[p]} for p in people_ids if p in home]),
        ("activities", [
            {"id": a, "name": name, "identifier": marker(slug, a), "type": "exam",
             "duration": 30, "training_type": "formal"}
            for a, name in (("a1", "Onboarding"), ("a2", "Safety"))
        ]),
        ("courses", [{"id": "c1", "name": "Compliance",
                      "items": [{"activity_id": "a1"}, {"activity_id": "a2"}]}]),
        ("journeys", [{"id": "j1", "name": "First year",
                       "sections": [{"id": "j1s1", "name": "Week one", "activity_ids": ["a1"]}]}]),
        ("programmes", [{"id": "p1", "title": "People Analytics", "sku": "PA",
                         "abbreviation": "PA", "duration": 60, "activity_ids": ["a1", "a2"]}]),
        ("skills", [{"id": "k1", "name": "Negotiation"}]),
        ("paths", [{"id": "pth1", "name": "Onboarding path", "steps": [{"activity_id": "a1"}]}]),
        ("path_sessions", [
            {"id": s, "path_id": "pth1", "name": "Spring", "starts_at": "2025-01-01T00:00:00Z",
             "ends_at": "2099-01-01T00:00:00Z"}
            for s in sessions
        ]),
        ("enrollments", [
            record
            for p in people_ids
            for record in (
                {"id": f"ec-{p}", "user_id": p, "content_id": "c1",
                 "access_at": "2025-01-05T00:00:00Z", "due_at": "2099-01-01T00:00:00Z"},
                {"id": f"ep-{p}", "user_id": p, "content_id": "p1"},
                *({"id": f"es-{p}-{s}", "user_id": p, "path_session_id": s,
                   "access_at": "2025-01-01T00:00:00Z"} for s in sessions),
            )
        ]),
        ("results", [
            record
            for p in people_ids
            for record in (
                {"id": f"r-{p}", "user_id": p, "content_id": "a1", "state": "completed",
                 "progress": 100, "grade": marker(slug, f"r-{p}"), "time_spent": 600,
                 "started_at": "2025-02-01T09:00:00Z", "completed_at": "2025-02-02T09:00:00Z",
                 "modified_at": "2025-02-02T09:00:00Z"},
                {"id": f"rj-{p}", "user_id": p, "content_id": "j1", "state": "in_progress",
                 "progress": 50, "grade": marker(slug, f"rj-{p}")},
                {"id": f"rp-{p}", "user_id": p, "content_id": "p1", "state": "in_progress",
                 "progress": 50, "grade": marker(slug, f"rp-{p}")},
                {"id": f"rk-{p}", "user_id": p, "content_id": "k1", "state": "completed",
                 "progress": 100, "grade": marker(slug, f"rk-{p}")},
            )
        ]),
    ]  # fmt: skip


def _statements(slug: str, people_ids: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, marker(slug, p))),
            "actor": {"objectType": "Agent", "name": marker(slug, p),
                      "mbox": f"mailto:{NAMES[p].lower()}@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": f"https://example.com/activities/{marker(slug, p)}"},
            "timestamp": "2025-03-01T10:00:00Z",
        }
        for p in people_ids
    ]  # fmt: skip


@dataclass
class Credentials:
    """How one identity calls: the headers of a bearer token, and of an API key."""

    token: str | None = None
    key: str | None = field(default=None, repr=False)


@dataclass
class World:
    acme: Tenant
    globex: Tenant
    markers: dict[str, set[str]]
    """Every marker, by the part of the world it belongs to: `acme`, `acme:sales` (the people
    and groups an Engineering administrator may not see, and their records) and `globex`."""
    identities: dict[str, Credentials]
    statement_ids: dict[str, list[str]]

    def hidden_from(self, identity: str) -> set[str]:
        """The markers of every record `identity` may not see."""
        if identity == "owner":
            return self.markers["globex"]
        if identity == "other_owner":
            return self.markers["acme"]
        if identity == "sibling_admin":
            return self.markers["globex"] | self.markers["acme:sales"]
        return self.markers["acme"] | self.markers["globex"]

    def seen_by(self, identity: str) -> set[str]:
        """The markers of records `identity` sees, so that a test knows the grep can match."""
        if identity == "other_owner":
            return self.markers["globex"]
        if identity == "sibling_admin":
            return self.markers["acme"] - self.markers["acme:sales"]
        return self.markers["acme"]


def build(engine: sa.Engine) -> World:
    with engine.begin() as connection:
        acme = tenants.create(connection, "acme", "Acme Corporation")
        globex = tenants.create(connection, "globex", "Globex Corporation")
        tenants.update(connection, "acme", training_types_enabled=True)
        tenants.update(connection, "globex", training_types_enabled=True)
    statement_ids: dict[str, list[str]] = {}
    for tenant in (acme, globex):
        people_ids = []
        for kind, records in _records(tenant.slug):
            ingest(engine, tenant.id, kind, records)
            if kind == "users":
                people_ids = [record["id"] for record in records]
        sent = _statements(tenant.slug, people_ids)
        statement_ids[tenant.slug] = [statement["id"] for statement in sent]
        with engine.begin() as connection:
            store(connection, tenant.id, xapi.parse(sent), authority=_authority(tenant))
    return World(
        acme,
        globex,
        _markers(engine, acme, globex),
        _identities(engine, acme, globex),
        statement_ids,
    )


def _authority(tenant: Tenant) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "account": {"homePage": "https://lr.example", "name": tenant.slug},
    }


def _markers(engine: sa.Engine, acme: Tenant, globex: Tenant) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    uuids = {tenant.slug: set(_uuids(engine, tenant)) for tenant in (acme, globex)}
    for tenant, other in ((acme, globex), (globex, acme)):
        tagged = {
            marker(tenant.slug, key)
            for _, records in _records(tenant.slug)
            for record in records
            for key in (record.get("id"), record.get("user_id"))
            if key is not None
        }
        # The write path derives uuids it is not given from external ids, so records with the
        # same id have the same uuid in both tenants: only the others tell tenants apart.
        found[tenant.slug] = tagged | (uuids[tenant.slug] - uuids[other.slug])
    sales = {marker("acme", p) for p in SALES_PEOPLE} | {marker("acme", g) for g in HIDDEN_GROUPS}
    sales |= {
        marker("acme", f"{prefix}-{p}") for p in SALES_PEOPLE for prefix in ["r", "rj", "rp", "rk"]
    }
    sales |= set(_uuids(engine, acme, SALES_PEOPLE, HIDDEN_GROUPS))
    found["acme:sales"] = sales & found["acme"]
    # Content is every viewer's within a tenant: its uuids only tell the tenants apart.
    found["acme:sales"] -= set(_content_uuids(engine, acme))
    return found


def _uuids(
    engine: sa.Engine,
    tenant: Tenant,
    persons: tuple[str, ...] | None = None,
    group_ids: tuple[str, ...] | None = None,
) -> Iterator[str]:
    """The uuids the database holds for the tenant's records, or for some people (with their
    enrollments and statements) and groups."""
    with engine.connect() as connection:
        person = sa.select(users.c.id).where(users.c.tenant_id == tenant.id)
        if persons is not None:
            person = person.where(users.c.external_id.in_(persons))
        queries = [
            sa.select(users.c.uuid).where(users.c.id.in_(person)),
            sa.select(enrollments.c.uuid).where(
                enrollments.c.tenant_id == tenant.id, enrollments.c.user_id.in_(person)
            ),
            sa.select(statements.c.statement_id).where(
                statements.c.tenant_id == tenant.id, statements.c.user_id.in_(person)
            ),
            sa.select(groups.c.uuid).where(
                groups.c.tenant_id == tenant.id,
                sa.true() if group_ids is None else groups.c.external_id.in_(group_ids),
            ),
        ]
        if persons is None:
            queries += [
                sa.select(table.c.uuid).where(table.c.tenant_id == tenant.id)
                for table in (contents, content_items, path_sessions)
            ]
        for query in queries:
            yield from (str(value) for value in connection.scalars(query) if value is not None)


def _content_uuids(engine: sa.Engine, tenant: Tenant) -> list[str]:
    with engine.connect() as connection:
        query = sa.select(contents.c.uuid).where(contents.c.tenant_id == tenant.id)
        return [str(value) for value in connection.scalars(query)]


def _identities(engine: sa.Engine, acme: Tenant, globex: Tenant) -> dict[str, Credentials]:
    """Each identity's token and key. `no_scope:<scope>` holds one scope that is not
    `<scope>`; `revoked` was revoked after its token was issued; `expired` holds a token
    signed with the server's key two hours ago, which lived its hour."""
    made = {
        "owner": _credentials(engine, acme, "owner"),
        "other_owner": _credentials(engine, globex, "owner"),
        "sibling_admin": _credentials(engine, acme, "department_admin", groups=[DEPARTMENT]),
        "revoked": _credentials(engine, acme, "owner", revoke=True),
        "expired": Credentials(token=_credentials(engine, acme, "owner", ago=7200).token),
    }
    for scope in (DEFAULT_OTHER_SCOPE, *OTHER_SCOPE.values()):
        made[f"holding:{scope}"] = _credentials(engine, acme, "custom:viewer", scopes=[scope])
    return made


def _credentials(
    engine: sa.Engine,
    tenant: Tenant,
    role: str,
    *,
    scopes: list[str] | None = None,
    groups: list[str] | None = None,
    revoke: bool = False,
    ago: int = 0,
) -> Credentials:
    with engine.begin() as connection:
        client = credentials.create(connection, tenant, "client", role, scopes=scopes,
                                    groups=groups)  # fmt: skip
        key = credentials.create(connection, tenant, "key", role, scopes=scopes, groups=groups)
    with engine.connect() as connection:
        principal = credentials.load_principal(connection, client.credential.public_id)
    assert principal is not None
    token = tokens.issue(engine, Settings(), principal).token
    if ago:
        token = _signed_earlier(engine, token, ago)
    if revoke:
        with engine.begin() as connection:
            credentials.revoke(connection, tenant, client.credential.public_id, "client")
            credentials.revoke(connection, tenant, key.credential.public_id, "key")
    return Credentials(token=token, key=key.secret)


def _signed_earlier(engine: sa.Engine, token: str, seconds: int) -> str:
    """The token as the server would have signed it `seconds` ago."""
    with engine.connect() as connection:
        newest = signing_keys.all_keys(connection)[0]
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update({name: claims[name] - seconds for name in ("iat", "nbf", "exp")})
    key = load_pem_private_key(newest.private_key.encode(), password=None)
    headers = {"kid": newest.kid, "typ": tokens.TYPE}
    return jwt.encode(claims, key, algorithm=tokens.ALGORITHM, headers=headers)  # type: ignore[arg-type]
