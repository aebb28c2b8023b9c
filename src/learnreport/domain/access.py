"""Who may read what: scopes, roles and the principal a credential acts as.

The rules here are the same on every surface. A credential belongs to one tenant and has
one role; the role decides which scopes it may hold and whether its view of the tenant is
limited to some groups (a department administrator's departments, a custom role's groups)
and everything below them.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

NATIVE_READ_SCOPES = {
    "read.user.reports": "Read the users report.",
    "read.group.reports": "Read the groups report.",
    "read.modules.reports": "Read the modules (activities) report.",
    "read.journey.reports": "Read the journeys report.",
    "read.programmes.reports": "Read the programmes report.",
    "read.skills.reports": "Read the skills report.",
    "read.trainingtime.reports": "Read the training time report.",
}
"""TinQwise: "There is only one scope for each endpoint, which is the 'read' scope required
for GET requests." The seven scopes are the page's, spelled as it spells them."""

WRITE_KINDS = (
    "users",
    "groups",
    "memberships",
    "activities",
    "courses",
    "journeys",
    "programmes",
    "skills",
    "paths",
    "path_sessions",
    "enrollments",
    "results",
)

WRITE_SCOPES = {
    **{f"write.{kind}": f"Write {kind.replace('_', ' ')}." for kind in WRITE_KINDS},
    "write.xapi": "Send xAPI statements (POST and PUT /xapi/statements) and read them back.",
}
"""One write scope per kind of record the write path accepts, and one for xAPI statements;
a read scope never writes."""

DIALECT_READ_SCOPES = {
    "read.analyse.reports": "Read the Analyse results and statistics (POST /analyse/...).",
    "read.adoption.reports": "Read the adoption report (POST /external/api/reports).",
    "read.learner.results": "Read learner module results (GET /learners/modules/results).",
    "read.path.stats": "Read path session statistics (GET /api/v1/paths/sessions/...).",
}

SCOPES: dict[str, str] = {**NATIVE_READ_SCOPES, **DIALECT_READ_SCOPES, **WRITE_SCOPES}
"""Every scope the server knows, with what it allows. A scope added here is granted at once
to every credential whose role allows it and that was created without an explicit list."""


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    DEPARTMENT_ADMIN = "department_admin"
    CUSTOM = "custom"


CUSTOM_PREFIX = "custom:"


class InvalidRole(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RoleName:
    """A role as spelled on the command line and stored: `owner`, `admin`,
    `department_admin` or `custom:NAME`."""

    role: Role
    name: str | None = None

    @classmethod
    def parse(cls, text: str) -> "RoleName":
        if text.startswith(CUSTOM_PREFIX):
            name = text.removeprefix(CUSTOM_PREFIX)
            if not name or len(name) > 63 or not name.replace("_", "").replace("-", "").isalnum():
                raise InvalidRole(
                    f"a custom role is spelled custom:NAME, NAME being 1 to 63 letters, digits, "
                    f"'-' or '_': {text!r}"
                )
            return cls(Role.CUSTOM, name)
        try:
            role = Role(text)
        except ValueError:
            raise InvalidRole(
                f"unknown role {text!r}: expected owner, admin, department_admin or custom:NAME"
            ) from None
        if role is Role.CUSTOM:
            raise InvalidRole("a custom role needs a name: custom:NAME")
        return cls(role)

    def __str__(self) -> str:
        return f"{CUSTOM_PREFIX}{self.name}" if self.role is Role.CUSTOM else self.role.value


def allowed_scopes(role: Role) -> frozenset[str]:
    """The scopes a role may hold. A custom role may hold any scope it is given; owners and
    administrators hold every one; a department administrator every one too, each limited to
    its departments."""
    return frozenset(SCOPES)


def needs_groups(role: Role) -> bool:
    """A department administrator without departments would see nothing, so it must name them."""
    return role is Role.DEPARTMENT_ADMIN


def may_limit_to_groups(role: Role) -> bool:
    """Owners and administrators see their whole tenant; the other roles may be limited."""
    return role in (Role.DEPARTMENT_ADMIN, Role.CUSTOM)


def granted_scopes(role: Role, chosen: Iterable[str] | None) -> frozenset[str]:
    """What a credential holds: the scopes it was created with, or, when created without a
    list, every scope its role allows, now and as new scopes are added."""
    allowed = allowed_scopes(role)
    if chosen is None:
        return allowed
    return frozenset(chosen) & allowed


@dataclass(frozen=True, slots=True)
class Principal:
    """The identity a request acts as, checked and loaded once per request.

    `groups` holds the internal ids of the groups whose subtrees limit what the principal
    sees; `None` means the whole tenant, and an empty tuple means nothing at all (for
    example a department administrator whose departments were all deleted).
    """

    tenant_id: int
    tenant: str
    credential: str
    role: RoleName
    scopes: frozenset[str]
    groups: tuple[int, ...] | None = None
    api_access: bool = True
    """Whether the tenant lets its credentials call the APIs at all (Skillhabit: "API
    access must be enabled"); a tenant can switch it off without revoking anything."""

    @property
    def limited(self) -> bool:
        return self.groups is not None
