"""Fixtures for the API tests: bearer tokens without a round trip through `/oauth/token`, and
forged ones that the server must refuse."""

import shutil
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fastapi.testclient import TestClient
from two_tenants import World
from two_tenants import build as build_two_tenants

from learnreport.api import tokens
from learnreport.api.app import create_app
from learnreport.config import Settings
from learnreport.store import credentials, signing_keys
from learnreport.store.engine import create_engine
from learnreport.store.tenants import Tenant

Token = Callable[..., str]
"""`token(tenant, role="owner", scopes=None, groups=None) -> str`."""

Forge = Callable[..., str]
"""`forge(token, claims={...}, header={...}) -> str`: the token's claims and header with
some changed (a value of `None` drops it), signed again with the server's newest key."""


@pytest.fixture
def client(engine: sa.Engine) -> Iterator[TestClient]:
    """The application on the test's database, with default settings."""
    app = create_app(Settings(database_url=engine.url.render_as_string(False)), engine)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def token(engine: sa.Engine) -> Token:
    """Issue a bearer token for a new client of a tenant, as `/oauth/token` would.

    The token holds every scope the client is granted and verifies against an application
    made with default token settings (`Settings(database_url=...)`) on the same engine.
    """

    def issue(
        tenant: Tenant,
        role: str = "owner",
        scopes: list[str] | None = None,
        groups: list[str] | None = None,
    ) -> str:
        with engine.begin() as connection:
            created = credentials.create(
                connection, tenant, "client", role, scopes=scopes, groups=groups
            )
        with engine.connect() as connection:
            principal = credentials.load_principal(connection, created.credential.public_id)
        assert principal is not None
        return tokens.issue(engine, Settings(), principal).token

    return issue


@pytest.fixture
def forge(engine: sa.Engine) -> Forge:
    def sign(
        token: str, claims: dict[str, Any] | None = None, header: dict[str, Any] | None = None
    ) -> str:
        with engine.connect() as connection:
            newest = signing_keys.all_keys(connection)[0]
        payload = {**jwt.decode(token, options={"verify_signature": False}), **(claims or {})}
        headers = {"kid": newest.kid, "typ": tokens.TYPE, **(header or {})}
        key = load_pem_private_key(newest.private_key.encode(), password=None)
        return jwt.encode(
            {name: value for name, value in payload.items() if value is not None},
            key,
            algorithm=tokens.ALGORITHM,
            headers={name: value for name, value in headers.items() if value is not None},
        )

    return sign


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    """A migrated database for a whole module of tests that only read: building a world
    per test would cost more than the tests themselves."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("shared") / "learnreport.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url: str | sa.URL = f"sqlite:///{path}"
    else:
        admin = request.getfixturevalue("postgres_admin")
        name = f"lr_m_{uuid4().hex}"
        template = request.getfixturevalue("postgres_template")
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = admin.url.set(database=name)
    engine = create_engine(url)
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def two_tenants(shared_engine: sa.Engine) -> World:
    """Acme and globex of `two_tenants.py`, with a credential of every kind, for tests that
    only read."""
    return build_two_tenants(shared_engine)


@pytest.fixture(scope="module")
def shared_client(shared_engine: sa.Engine, two_tenants: World) -> Iterator[TestClient]:
    app = create_app(
        Settings(database_url=shared_engine.url.render_as_string(False)), shared_engine
    )
    with TestClient(app) as client:
        yield client
