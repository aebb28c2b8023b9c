"""Fixtures for the API tests: bearer tokens without a round trip through `/oauth/token`, and
forged ones that the server must refuse."""

from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fastapi.testclient import TestClient

from learnreport.api import tokens
from learnreport.api.app import create_app
from learnreport.config import Settings
from learnreport.store import credentials, signing_keys
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
