"""Requests per credential: with `rate_limit` set, every surface counts each credential's
requests where the credential is checked, tells the count in the RateLimit header fields,
and answers 429 with Retry-After beyond it; without it, nothing is counted or told."""

from collections.abc import Callable, Iterator

import httpx
import pytest
import sqlalchemy as sa
from clocks import Clock
from fastapi.testclient import TestClient

from learnreport.api.app import create_app
from learnreport.api.throttle import Limiter
from learnreport.config import Settings
from learnreport.store import credentials
from learnreport.store.tenants import Tenant

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
"""The counting is in the process, not the database."""

Token = Callable[..., str]
Call = Callable[[TestClient, str], httpx.Response]
"""`call(client, key)`: one request of a surface, made with an owner's API key."""

VERSION = {"X-Experience-API-Version": "1.0.3"}
SURFACES: dict[str, Call] = {
    "AIHR key header": lambda client, key: client.post(
        "/external/api/reports?api-version=1.0", json={}, headers={"X-AIHR-API-Key": key}
    ),
    "xAPI HTTP Basic": lambda client, key: client.get(
        "/xapi/statements", auth=tuple(key.rsplit(".", 1)), headers=VERSION
    ),
    "360Learning query": lambda client, key: client.get(
        "/api/v1/paths/sessions/s1/stats", params={"company": "acme", "apiKey": key}
    ),
    "ingest key header": lambda client, key: client.get(
        "/api/v2/ingest/statements/", headers={"X-API-Key": key}
    ),
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limited(engine: sa.Engine, clock: Clock) -> Iterator[TestClient]:
    """The application allowing 3 requests a minute per credential, on the test's clock."""
    url = engine.url.render_as_string(False)
    app = create_app(Settings(database_url=url, rate_limit=3, rate_limit_period=60), engine)
    app.state.rate_limiter = Limiter(3, 60, clock=clock)
    with TestClient(app) as client:
        yield client


def new_key(engine: sa.Engine, tenant: Tenant) -> str:
    with engine.begin() as connection:
        return credentials.create(connection, tenant, "key", "owner").secret


def told(answer: httpx.Response) -> tuple[str, str, str]:
    return (
        answer.headers["ratelimit-limit"],
        answer.headers["ratelimit-remaining"],
        answer.headers["ratelimit-reset"],
    )


@SQLITE_ONLY
def test_a_tokens_requests_are_told_and_the_one_beyond_the_limit_is_a_429_problem(
    limited: TestClient, clock: Clock, tenant: Tenant, token: Token
) -> None:
    bearer = {"Authorization": f"Bearer {token(tenant)}"}

    answers = [limited.get("/api/v2/reports/users/", headers=bearer) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [told(answer) for answer in answers] == [
        ("3", "2", "20"),
        ("3", "1", "40"),
        ("3", "0", "60"),
        ("3", "0", "60"),
    ]
    refused = answers[3]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "20"
    assert refused.json()["status"] == 429
    clock.now += 20
    assert limited.get("/api/v2/reports/users/", headers=bearer).status_code == 200


@SQLITE_ONLY
@pytest.mark.parametrize("surface", SURFACES)
def test_every_kind_of_credential_on_every_surface_is_counted(
    limited: TestClient, engine: sa.Engine, tenant: Tenant, surface: str
) -> None:
    key, call = new_key(engine, tenant), SURFACES[surface]

    answers = [call(limited, key) for _ in range(4)]

    assert [answer.status_code == 429 for answer in answers] == [False, False, False, True]
    assert [told(answer)[1] for answer in answers] == ["2", "1", "0", "0"]
    assert answers[3].headers["retry-after"] == "20"


@SQLITE_ONLY
def test_credentials_are_counted_apart_and_a_request_without_one_is_not_told(
    limited: TestClient, tenant: Tenant, token: Token
) -> None:
    first, second = ({"Authorization": f"Bearer {token(tenant)}"} for _ in range(2))
    for _ in range(3):
        limited.get("/api/v2/reports/users/", headers=first)

    assert limited.get("/api/v2/reports/users/", headers=second).status_code == 200
    anonymous = limited.get("/api/v2/reports/users/")
    assert anonymous.status_code == 401
    assert "ratelimit-limit" not in anonymous.headers


@SQLITE_ONLY
def test_over_the_limit_a_credential_is_refused_before_its_scope_is_looked_at(
    limited: TestClient, tenant: Tenant, token: Token
) -> None:
    bearer = {"Authorization": f"Bearer {token(tenant, 'custom:x', ['read.group.reports'])}"}

    statuses = [limited.get("/api/v2/reports/users/", headers=bearer).status_code for _ in range(4)]

    assert statuses == [403, 403, 403, 429]


@SQLITE_ONLY
def test_without_a_limit_nothing_is_counted_or_told(
    client: TestClient, tenant: Tenant, token: Token
) -> None:
    bearer = {"Authorization": f"Bearer {token(tenant)}"}

    answers = [client.get("/api/v2/reports/users/", headers=bearer) for _ in range(20)]

    assert all(answer.status_code == 200 for answer in answers)
    assert not any("ratelimit-limit" in answer.headers for answer in answers)
    assert client.app.state.rate_limiter is None  # type: ignore[attr-defined]
