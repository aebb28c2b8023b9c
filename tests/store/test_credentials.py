"""Clients and API keys: the role rules, secrets stored only hashed, and the principal a
credential acts as, never across tenants."""

import re
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from learnreport.domain import access
from learnreport.domain.access import SCOPES, InvalidRole, Principal, Role, RoleName
from learnreport.ingest import ingest
from learnreport.store import credentials, tenants
from learnreport.store.credentials import Created, CredentialError, CredentialNotFound, Kind
from learnreport.store.schema import credentials as credentials_table
from learnreport.store.schema import groups
from learnreport.store.tenants import Tenant

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
"""For what no backend tells apart: rules checked before any query, and queries whose every
part another test runs on both."""

GROUPS = [
    {"id": "g-sales", "name": "Sales"},
    {"id": "g-benelux", "name": "Sales Benelux", "parent_id": "g-sales"},
    {"id": "g-eng", "name": "Engineering"},
]


@pytest.fixture
def with_groups(engine: sa.Engine, tenant: Tenant, other_tenant: Tenant) -> Tenant:
    """Acme's groups, and globex's with the same ids under other names."""
    ingest(engine, tenant.id, "groups", GROUPS)
    ingest(engine, other_tenant.id, "groups", [{"id": "g-sales", "name": "Globex Sales"}])
    return tenant


def create(
    engine: sa.Engine, tenant: Tenant, kind: Kind = "client", role: str = "owner", **options: Any
) -> Created:
    with engine.begin() as connection:
        return credentials.create(connection, tenant, kind, role, **options)


def group_ids(engine: sa.Engine, tenant: Tenant, *names: str) -> tuple[int, ...]:
    query = sa.select(groups.c.id).where(groups.c.tenant_id == tenant.id, groups.c.name.in_(names))
    with engine.connect() as connection:
        return tuple(sorted(connection.execute(query).scalars()))


def principal(engine: sa.Engine, public_id: str, scopes: list[str] | None = None) -> Any:
    with engine.connect() as connection:
        return credentials.load_principal(connection, public_id, scopes)


@SQLITE_ONLY
def test_a_client_id_names_its_tenant_and_its_secret_is_long_and_random(
    engine: sa.Engine, tenant: Tenant
) -> None:
    first, second = create(engine, tenant), create(engine, tenant)

    assert re.fullmatch(r"acme\.c_[0-9a-f]{16}", first.credential.public_id)
    assert credentials.tenant_slug(first.credential.public_id) == "acme"
    assert len(first.secret) >= 43
    assert first.credential.public_id != second.credential.public_id
    assert first.secret != second.secret


@SQLITE_ONLY
def test_an_api_key_is_its_id_a_dot_and_a_secret(engine: sa.Engine, tenant: Tenant) -> None:
    created = create(engine, tenant, "key")

    key_id, _, secret = created.secret.rpartition(".")
    assert key_id == created.credential.public_id
    assert re.fullmatch(r"acme\.k_[0-9a-f]{16}", key_id)
    assert len(secret) >= 43


@SQLITE_ONLY
def test_secrets_are_stored_only_hashed(engine: sa.Engine, tenant: Tenant) -> None:
    client, key = create(engine, tenant), create(engine, tenant, "key")

    with engine.connect() as connection:
        stored = [
            str(value) for row in connection.execute(sa.select(credentials_table)) for value in row
        ]
    everything = " ".join(stored)
    assert client.secret not in everything
    assert key.secret not in everything
    assert key.secret.rpartition(".")[2] not in everything
    assert "$argon2id$" in everything
    assert client.secret not in repr(client)
    assert key.secret not in repr(key)


def test_listing_shows_every_credential_of_the_tenant_but_no_secret(
    engine: sa.Engine, tenant: Tenant, other_tenant: Tenant
) -> None:
    client = create(engine, tenant, description="BI dashboard")
    create(engine, tenant, "key")
    create(engine, other_tenant)

    with engine.connect() as connection:
        listed = credentials.list_credentials(connection, tenant, "client")

    assert listed == [client.credential]
    assert client.secret not in repr(listed)
    assert listed[0].description == "BI dashboard"


def test_the_right_client_secret_authenticates(engine: sa.Engine, tenant: Tenant) -> None:
    created = create(engine, tenant, role="admin")

    found = credentials.authenticate_client(engine, created.credential.public_id, created.secret)

    assert found is not None
    assert (found.tenant_id, found.tenant, found.credential) == (
        tenant.id,
        "acme",
        created.credential.public_id,
    )
    assert found.role == RoleName(Role.ADMIN)
    assert found.scopes == frozenset(SCOPES)
    assert found.groups is None


@SQLITE_ONLY
@pytest.mark.parametrize(
    "client_id, secret",
    [
        ("{id}", "wrong"),
        ("{id}", ""),
        ("acme.c_0000000000000000", "{secret}"),
        ("nobody.c_0000000000000000", "{secret}"),
        ("no-dot-at-all", "{secret}"),
        ("", ""),
    ],
)
def test_a_wrong_secret_or_unknown_client_does_not_authenticate(
    engine: sa.Engine, tenant: Tenant, client_id: str, secret: str
) -> None:
    created = create(engine, tenant)
    client_id = client_id.format(id=created.credential.public_id)
    secret = secret.format(secret=created.secret)

    assert credentials.authenticate_client(engine, client_id, secret) is None


@SQLITE_ONLY
def test_an_unknown_client_costs_an_argon2_check_like_a_known_one(
    engine: sa.Engine, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = create(engine, tenant)
    checked: list[str] = []
    verify = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str, password: str) -> bool:
        checked.append(hash)
        return verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    credentials.authenticate_client(engine, "acme.c_0000000000000000", created.secret)
    credentials.authenticate_client(engine, "nobody.c_0000000000000000", created.secret)
    credentials.authenticate_client(engine, created.credential.public_id, "wrong")

    assert len(checked) == 3
    assert all(hash.startswith("$argon2id$") for hash in checked)


def test_a_revoked_client_does_not_authenticate(engine: sa.Engine, tenant: Tenant) -> None:
    created = create(engine, tenant)
    with engine.begin() as connection:
        revoked = credentials.revoke(connection, tenant, created.credential.public_id, "client")

    assert revoked.revoked_at is not None
    assert credentials.authenticate_client(engine, revoked.public_id, created.secret) is None
    assert principal(engine, revoked.public_id) is None


@SQLITE_ONLY
def test_revoking_twice_keeps_the_first_time(engine: sa.Engine, tenant: Tenant) -> None:
    public_id = create(engine, tenant).credential.public_id
    with engine.begin() as connection:
        first = credentials.revoke(connection, tenant, public_id, "client")
        connection.execute(credentials_table.update().values(revoked_at="2000-01-01T00:00:00Z"))
        second = credentials.revoke(connection, tenant, public_id, "client")

    assert first.revoked_at is not None
    assert second.revoked_at == "2000-01-01T00:00:00Z"


@SQLITE_ONLY
def test_revoking_an_unknown_id_another_kind_or_another_tenants_id_fails(
    engine: sa.Engine, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = create(engine, other_tenant).credential.public_id
    key = create(engine, tenant, "key").credential.public_id

    for public_id in ["acme.c_0000000000000000", theirs, key]:
        with pytest.raises(CredentialNotFound), engine.begin() as connection:
            credentials.revoke(connection, tenant, public_id, "client")
    assert principal(engine, theirs) is not None


@SQLITE_ONLY
def test_a_principal_says_whether_its_tenant_has_api_access(
    engine: sa.Engine, tenant: Tenant
) -> None:
    created = create(engine, tenant)
    found = principal(engine, created.credential.public_id)
    assert found is not None and found.api_access
    with engine.begin() as connection:
        tenants.update(connection, "acme", api_access_enabled=False)

    found = principal(engine, created.credential.public_id)
    assert found is not None and not found.api_access


def test_credentials_of_one_tenant_never_act_for_another(
    engine: sa.Engine, tenant: Tenant, other_tenant: Tenant
) -> None:
    client, key = create(engine, tenant), create(engine, tenant, "key")
    moved_id = "globex." + client.credential.public_id.partition(".")[2]
    moved_key = "globex." + key.secret.partition(".")[2]

    assert credentials.authenticate_client(engine, moved_id, client.secret) is None
    assert principal(engine, moved_id) is None
    assert credentials.authenticate_key(engine, moved_key) is None
    found = credentials.authenticate_key(engine, key.secret)
    assert found is not None
    assert (found.tenant_id, found.tenant) == (tenant.id, "acme")


def test_an_api_key_authenticates_until_revoked(engine: sa.Engine, tenant: Tenant) -> None:
    created = create(engine, tenant, "key", role="custom:hr", scopes=["read.user.reports"])

    with engine.connect() as connection:
        found = credentials.authenticate_key(connection, created.secret)
    assert found is not None
    assert found.scopes == {"read.user.reports"}
    assert str(found.role) == "custom:hr"

    wrong = created.secret[:-1] + ("A" if created.secret[-1] != "A" else "B")
    assert credentials.authenticate_key(engine, wrong) is None
    assert credentials.authenticate_key(engine, created.credential.public_id) is None
    assert credentials.authenticate_key(engine, "") is None
    with engine.begin() as connection:
        credentials.revoke(connection, tenant, created.credential.public_id, "key")
    assert credentials.authenticate_key(engine, created.secret) is None


@SQLITE_ONLY
def test_a_client_secret_is_not_an_api_key_nor_the_other_way(
    engine: sa.Engine, tenant: Tenant
) -> None:
    client, key = create(engine, tenant), create(engine, tenant, "key")

    assert (
        credentials.authenticate_key(engine, f"{client.credential.public_id}.{client.secret}")
        is None
    )
    assert credentials.authenticate_client(engine, key.credential.public_id, key.secret) is None


@SQLITE_ONLY
def test_use_is_recorded(engine: sa.Engine, tenant: Tenant) -> None:
    client, key = create(engine, tenant), create(engine, tenant, "key")

    credentials.authenticate_client(engine, client.credential.public_id, client.secret)
    credentials.authenticate_key(engine, key.secret)

    with engine.connect() as connection:
        for kind in ("client", "key"):
            (found,) = credentials.list_credentials(connection, tenant, kind)
            assert found.last_used_at is not None


def test_without_a_scope_list_a_credential_holds_every_scope_its_role_allows_even_new_ones(
    engine: sa.Engine, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    public_id = create(engine, tenant, role="admin").credential.public_id
    with engine.connect() as connection:
        stored = connection.execute(
            sa.select(credentials_table.c.scopes.is_(None)).where(
                credentials_table.c.public_id == public_id
            )
        ).scalar_one()
    assert stored is True

    monkeypatch.setitem(access.SCOPES, "read.new.reports", "A report added later.")

    assert "read.new.reports" in principal(engine, public_id).scopes


def test_an_explicit_scope_list_is_kept_sorted_and_limits_the_principal(
    engine: sa.Engine, tenant: Tenant
) -> None:
    created = create(
        engine, tenant, role="admin", scopes=["read.user.reports", "read.group.reports"]
    )

    assert created.credential.scopes == ("read.group.reports", "read.user.reports")
    assert principal(engine, created.credential.public_id).scopes == {
        "read.group.reports",
        "read.user.reports",
    }
    narrowed = principal(engine, created.credential.public_id, ["read.user.reports", "write.users"])
    assert narrowed.scopes == {"read.user.reports"}


@SQLITE_ONLY
def test_unknown_scopes_are_refused_by_name(engine: sa.Engine, tenant: Tenant) -> None:
    with pytest.raises(CredentialError, match=r"unknown scopes: read\.bogus, write\.nothing"):
        create(engine, tenant, scopes=["read.user.reports", "write.nothing", "read.bogus"])


@SQLITE_ONLY
def test_an_empty_scope_list_is_refused(engine: sa.Engine, tenant: Tenant) -> None:
    with pytest.raises(CredentialError, match="at least one scope"):
        create(engine, tenant, scopes=[])


@SQLITE_ONLY
def test_a_custom_role_needs_its_scopes(engine: sa.Engine, tenant: Tenant) -> None:
    with pytest.raises(CredentialError, match="custom:auditor"):
        create(engine, tenant, role="custom:auditor")


@SQLITE_ONLY
def test_an_unknown_role_is_refused(engine: sa.Engine, tenant: Tenant) -> None:
    with pytest.raises(InvalidRole):
        create(engine, tenant, role="superuser")


@SQLITE_ONLY
def test_a_department_admin_needs_groups(engine: sa.Engine, with_groups: Tenant) -> None:
    with pytest.raises(CredentialError, match="at least one group"):
        create(engine, with_groups, role="department_admin")
    with pytest.raises(CredentialError, match="at least one group"):
        create(engine, with_groups, role="department_admin", groups=[])


@SQLITE_ONLY
@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_cannot_be_limited_to_groups(
    engine: sa.Engine, with_groups: Tenant, role: str
) -> None:
    with pytest.raises(CredentialError, match="whole tenant"):
        create(engine, with_groups, role=role, groups=["Sales"])


def test_groups_are_given_by_name_or_by_id_and_limit_the_principal(
    engine: sa.Engine, with_groups: Tenant
) -> None:
    created = create(
        engine, with_groups, role="department_admin", groups=["Sales Benelux", "g-eng"]
    )

    assert created.credential.groups == ("Engineering", "Sales Benelux")
    found = principal(engine, created.credential.public_id)
    assert found.groups == group_ids(engine, with_groups, "Sales Benelux", "Engineering")
    assert found.limited
    with engine.connect() as connection:
        assert credentials.find(connection, created.credential.public_id) == created.credential


@SQLITE_ONLY
def test_a_custom_role_may_be_limited_to_groups_or_not(
    engine: sa.Engine, with_groups: Tenant
) -> None:
    scopes = ["read.user.reports"]
    limited = create(engine, with_groups, role="custom:hr", scopes=scopes, groups=["g-sales"])
    whole = create(engine, with_groups, role="custom:hr", scopes=scopes)

    assert principal(engine, limited.credential.public_id).groups == group_ids(
        engine, with_groups, "Sales"
    )
    assert principal(engine, whole.credential.public_id).groups is None


@SQLITE_ONLY
@pytest.mark.parametrize("wanted", [["Sales", "Marketing"], ["Globex Sales"]])
def test_an_unknown_group_is_refused_by_name(
    engine: sa.Engine, with_groups: Tenant, wanted: list[str]
) -> None:
    with pytest.raises(CredentialError, match=repr(wanted[-1])):
        create(engine, with_groups, role="department_admin", groups=wanted)


@SQLITE_ONLY
def test_a_value_naming_one_group_and_the_id_of_another_is_refused(
    engine: sa.Engine, with_groups: Tenant
) -> None:
    ingest(engine, with_groups.id, "groups", [{"id": "Sales", "name": "Sales (old)"}])

    with pytest.raises(CredentialError, match="'Sales' names one group"):
        create(engine, with_groups, role="department_admin", groups=["Sales"])


def test_a_limited_credential_whose_groups_are_all_gone_sees_nothing(
    engine: sa.Engine, with_groups: Tenant
) -> None:
    created = create(
        engine, with_groups, role="custom:hr", scopes=["read.user.reports"], groups=["g-eng"]
    )
    with engine.begin() as connection:
        connection.execute(
            groups.delete().where(
                groups.c.tenant_id == with_groups.id, groups.c.name == "Engineering"
            )
        )

    assert principal(engine, created.credential.public_id).groups == ()


@SQLITE_ONLY
def test_a_too_long_description_is_refused(engine: sa.Engine, tenant: Tenant) -> None:
    with pytest.raises(CredentialError, match="at most 255"):
        create(engine, tenant, description="x" * 256)


@SQLITE_ONLY
def test_find_answers_none_for_ids_no_tenant_has(engine: sa.Engine, tenant: Tenant) -> None:
    created = create(engine, tenant)

    with engine.connect() as connection:
        assert credentials.find(connection, created.credential.public_id) == created.credential
        assert credentials.find(connection, "acme.c_0000000000000000") is None
        assert credentials.find(connection, "nodot") is None
        assert credentials.find(connection, "globex" + created.credential.public_id[4:]) is None


@SQLITE_ONLY
def test_a_principal_keeps_the_credentials_role_and_tenant(
    engine: sa.Engine, tenant: Tenant
) -> None:
    created = create(engine, tenant, role="custom:auditor", scopes=["read.skills.reports"])

    assert principal(engine, created.credential.public_id) == Principal(
        tenant_id=tenant.id,
        tenant="acme",
        credential=created.credential.public_id,
        role=RoleName(Role.CUSTOM, "auditor"),
        scopes=frozenset({"read.skills.reports"}),
        groups=None,
    )
