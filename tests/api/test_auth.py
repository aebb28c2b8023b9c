"""Guarded routes: a good bearer token holding the route's scope gets through as its principal;
anything else is refused with RFC 6750's challenge and a problem document."""

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from typing import Annotated

import jwt
import orjson
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from fastapi.testclient import TestClient
from httpx import Response

from learnreport.api.app import create_app
from learnreport.api.auth import requires
from learnreport.config import Settings
from learnreport.domain.access import Principal
from learnreport.ingest import ingest
from learnreport.store import credentials, signing_keys, tenants
from learnreport.store.schema import groups
from learnreport.store.tenants import Tenant

Token = Callable[..., str]
Forge = Callable[..., str]

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
"""For what no backend tells apart: refusals decided before the database is asked, and queries
another test runs on both."""

PROBLEM = "application/problem+json"
NEEDED = "read.user.reports"


@pytest.fixture
def client(engine: sa.Engine) -> Iterator[TestClient]:
    """The application with one extra route, guarded by `requires`, echoing the principal."""
    app = create_app(Settings(database_url=engine.url.render_as_string(False)), engine)

    @app.get("/probe")
    def probe(principal: Annotated[Principal, requires(NEEDED)]) -> dict[str, object]:
        return {
            "tenant_id": principal.tenant_id,
            "tenant": principal.tenant,
            "credential": principal.credential,
            "role": str(principal.role),
            "scopes": sorted(principal.scopes),
            "groups": principal.groups,
        }

    with TestClient(app) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def invalid_token(answer: Response) -> str:
    """The refusal's description, once the refusal is checked to be RFC 6750's 401."""
    assert answer.status_code == 401
    assert answer.headers["content-type"] == PROBLEM
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="learnreport", error="invalid_token", ')
    assert answer.json()["status"] == 401
    return challenge


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_good_token_gets_through_as_its_principal(
    client: TestClient, tenant: Tenant, token: Token
) -> None:
    answer = client.get("/probe", headers=bearer(token(tenant, "admin")))

    assert answer.status_code == 200
    body = answer.json()
    assert (body["tenant_id"], body["tenant"], body["role"]) == (tenant.id, "acme", "admin")
    assert body["credential"].startswith("acme.c_")
    assert NEEDED in body["scopes"]
    assert body["groups"] is None


@SQLITE_ONLY
def test_the_bearer_scheme_is_case_insensitive(
    client: TestClient, tenant: Tenant, token: Token
) -> None:
    headers = {"Authorization": f"bearer {token(tenant)}"}

    assert client.get("/probe", headers=headers).status_code == 200


def test_a_department_admin_gets_through_limited_to_its_groups(
    client: TestClient, engine: sa.Engine, tenant: Tenant, token: Token
) -> None:
    ingest(engine, tenant.id, "groups", [{"id": "g1", "name": "Sales"}, {"id": "g2", "name": "HR"}])
    with engine.connect() as connection:
        sales = connection.execute(
            sa.select(groups.c.id).where(groups.c.tenant_id == tenant.id, groups.c.name == "Sales")
        ).scalar_one()

    answer = client.get("/probe", headers=bearer(token(tenant, "department_admin", groups=["g1"])))

    assert answer.status_code == 200
    assert answer.json()["groups"] == [sales]


@SQLITE_ONLY
@pytest.mark.parametrize("authorization", [None, "Basic YTpi", "Token abc", ""])
def test_a_request_without_a_bearer_token_is_refused_as_an_invalid_token(
    client: TestClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    answer = client.get("/probe", headers=headers)

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith(
        'Bearer realm="learnreport", error="invalid_token"'
    )
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["title"] == "Unauthorized"


@SQLITE_ONLY
@pytest.mark.parametrize(
    "authorization", ["Bearer", "Bearer ", "Bearer a b", "Bearer abc", "Bearer a.b.c", "Bearer {"]
)
def test_a_malformed_token_is_refused(client: TestClient, authorization: str) -> None:
    answer = client.get("/probe", headers={"Authorization": authorization})

    assert 'error_description="the token is malformed"' in invalid_token(answer)


@SQLITE_ONLY
@pytest.mark.parametrize(
    "claims, header, reason",
    [
        ({"exp": -120}, {}, "expired"),
        ({"nbf": 120}, {}, "not valid yet"),
        ({"aud": "another-api"}, {}, "another audience"),
        ({"iss": "someone-else"}, {}, "another issuer"),
        ({"exp": None}, {}, "lacks a required claim"),
        ({}, {"kid": "20200101T000000000000-deadbeef"}, "unknown key"),
        ({"tenant": "globex"}, {}, "another tenant"),
    ],
)
def test_a_token_with_bad_claims_or_an_unknown_key_is_refused(
    client: TestClient,
    tenant: Tenant,
    token: Token,
    forge: Forge,
    claims: dict[str, object],
    header: dict[str, object],
    reason: str,
) -> None:
    """`exp` and `nbf` are seconds from now, made absolute only when the test runs: taken at
    collection, a token "not valid yet" became valid in a suite that ran long."""
    now = int(time.time())
    claims = {
        name: now + value if name in ("exp", "nbf") and isinstance(value, int) else value
        for name, value in claims.items()
    }
    forged = forge(token(tenant), claims, header)

    assert reason in invalid_token(client.get("/probe", headers=bearer(forged)))


@SQLITE_ONLY
def test_a_badly_signed_token_is_refused(client: TestClient, tenant: Tenant, token: Token) -> None:
    head, payload, signature = token(tenant).split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "==")) | {"role": "owner"}
    claims["scope"] += " write.users"
    tampered = f"{head}.{b64(orjson.dumps(claims))}.{signature}"

    assert "signature" in invalid_token(client.get("/probe", headers=bearer(tampered)))


@SQLITE_ONLY
def test_an_unsigned_token_is_refused(client: TestClient, tenant: Tenant, token: Token) -> None:
    _, payload, _ = token(tenant).split(".")
    none = b64(orjson.dumps({"alg": "none", "typ": "at+jwt"}))

    answer = client.get("/probe", headers=bearer(f"{none}.{payload}."))

    assert "ES256" in invalid_token(answer)


@SQLITE_ONLY
def test_a_token_signed_with_hs256_and_the_public_key_is_refused(
    client: TestClient, engine: sa.Engine, tenant: Tenant, token: Token
) -> None:
    _, payload, _ = token(tenant).split(".")
    with engine.connect() as connection:
        key = signing_keys.all_keys(connection)[0]
    private = load_pem_private_key(key.private_key.encode(), password=None)
    public = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    head = b64(orjson.dumps({"alg": "HS256", "typ": "at+jwt", "kid": key.kid}))
    mac = hmac.new(public, f"{head}.{payload}".encode(), hashlib.sha256).digest()

    answer = client.get("/probe", headers=bearer(f"{head}.{payload}.{b64(mac)}"))

    assert "ES256" in invalid_token(answer)


@SQLITE_ONLY
def test_a_token_of_a_revoked_client_is_refused_at_once(
    client: TestClient, engine: sa.Engine, tenant: Tenant, token: Token
) -> None:
    issued = token(tenant)
    assert client.get("/probe", headers=bearer(issued)).status_code == 200
    client_id = jwt.decode(issued, options={"verify_signature": False})["sub"]

    with engine.begin() as connection:
        credentials.revoke(connection, tenant, client_id, "client")

    assert "unknown or revoked" in invalid_token(client.get("/probe", headers=bearer(issued)))


@SQLITE_ONLY
def test_a_token_of_a_tenant_whose_api_access_is_off_is_forbidden_saying_so(
    client: TestClient, engine: sa.Engine, tenant: Tenant, token: Token
) -> None:
    issued = token(tenant)
    with engine.begin() as connection:
        tenants.update(connection, "acme", api_access_enabled=False)

    answer = client.get("/probe", headers=bearer(issued))

    assert answer.status_code == 403
    assert "API access must be enabled" in answer.json()["detail"]


@SQLITE_ONLY
def test_a_token_naming_a_client_of_another_tenant_is_refused(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, token: Token, forge: Forge
) -> None:
    theirs = jwt.decode(token(other_tenant), options={"verify_signature": False})["sub"]
    claimed = "acme." + theirs.partition(".")[2]

    answer = client.get("/probe", headers=bearer(forge(token(tenant), {"sub": claimed})))

    assert "unknown or revoked" in invalid_token(answer)


@SQLITE_ONLY
def test_a_token_in_the_query_string_is_refused_even_with_a_good_header(
    client: TestClient, tenant: Tenant, token: Token
) -> None:
    issued = token(tenant)

    for headers in ({}, bearer(issued)):
        answer = client.get("/probe", params={"access_token": issued}, headers=headers)
        assert "Authorization header only" in invalid_token(answer)


@SQLITE_ONLY
def test_a_token_without_the_routes_scope_is_forbidden(
    client: TestClient, tenant: Tenant, token: Token
) -> None:
    issued = token(tenant, "custom:groups-only", scopes=["read.group.reports"])

    answer = client.get("/probe", headers=bearer(issued))

    assert answer.status_code == 403
    assert answer.headers["content-type"] == PROBLEM
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="learnreport", error="insufficient_scope"')
    assert f'scope="{NEEDED}"' in challenge
    assert NEEDED in answer.json()["detail"]


def test_a_request_costs_at_most_two_small_queries(
    client: TestClient, engine: sa.Engine, tenant: Tenant, token: Token
) -> None:
    ingest(engine, tenant.id, "groups", [{"id": "g1", "name": "Sales"}])
    whole, limited = token(tenant), token(tenant, "department_admin", groups=["Sales"])
    client.get("/probe", headers=bearer(whole))
    seen: list[str] = []

    def count(*args: object) -> None:
        if str(args[2]) != "BEGIN":  # SQLite's explicit transaction start, not a query
            seen.append(str(args[2]))

    # Every engine: on SQLite the credential is read on the event loop, by its own engine.
    sa.event.listen(sa.Engine, "before_cursor_execute", count)
    try:
        assert client.get("/probe", headers=bearer(whole)).status_code == 200
        assert len(seen) == 1
        assert client.get("/probe", headers=bearer(limited)).status_code == 200
        assert len(seen) == 3
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", count)


@SQLITE_ONLY
def test_the_openapi_document_offers_the_client_credentials_flow_and_lists_the_scope(
    client: TestClient,
) -> None:
    document = client.get("/api/v2/public/openapi.json").json()

    scheme = document["components"]["securitySchemes"]["OAuth2"]
    flow = scheme["flows"]["clientCredentials"]
    assert scheme["type"] == "oauth2"
    assert flow["tokenUrl"] == "/oauth/token"
    assert NEEDED in flow["scopes"]
    assert "write.users" in flow["scopes"]
    assert document["paths"]["/probe"]["get"]["security"] == [{"OAuth2": [NEEDED]}]


def test_requiring_an_unknown_scope_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match=r"read\.nothing"):
        requires("read.nothing")
