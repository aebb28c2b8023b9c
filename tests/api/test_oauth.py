"""`POST /oauth/token`: the client credentials grant as RFC 6749 describes it, and a clear
RFC 6749 error, never a 500, for whatever else arrives."""

import base64
import logging
from collections.abc import Callable, Iterator
from typing import Annotated, Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from clocks import Clock
from fastapi.testclient import TestClient
from httpx import Response

from learnreport.api import tokens
from learnreport.api.app import create_app
from learnreport.api.auth import requires
from learnreport.api.oauth import FailureThrottle
from learnreport.config import Settings
from learnreport.domain.access import SCOPES, Principal
from learnreport.store import credentials
from learnreport.store.credentials import Created
from learnreport.store.tenants import Tenant

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
"""For what no backend tells apart: the parsing of requests, and queries another test runs on
both."""

URL = "/oauth/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
GRANT = {"grant_type": "client_credentials"}
CLIENT_SIDE = ("httpx", "httpcore")
"""Loggers of the test's own HTTP client, which logs every URL it requests as it was sent."""


@pytest.fixture
def client(engine: sa.Engine) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=engine.url.render_as_string(False)), engine)

    @app.get("/probe")
    def probe(principal: Annotated[Principal, requires("read.user.reports")]) -> str:
        return principal.credential

    with TestClient(app) as client:
        yield client


def new_client(engine: sa.Engine, tenant: Tenant, role: str = "owner", **options: Any) -> Created:
    with engine.begin() as connection:
        return credentials.create(connection, tenant, "client", role, **options)


@pytest.fixture
def owner(engine: sa.Engine, tenant: Tenant) -> Created:
    return new_client(engine, tenant)


def basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{quote(client_id)}:{quote(secret)}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def error(answer: Response, status: int, code: str) -> str:
    """The RFC 6749 section 5.2 error of a refusal, once its shape is checked."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == code
    if status == 401:
        assert answer.headers["www-authenticate"] == 'Basic realm="learnreport"'
    return str(body["error_description"])


def test_a_client_authenticated_with_http_basic_gets_a_token_for_every_granted_scope(
    client: TestClient, engine: sa.Engine, owner: Created
) -> None:
    answer = client.post(URL, data=GRANT, headers=basic(owner.credential.public_id, owner.secret))

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert body["scope"] == " ".join(sorted(SCOPES))
    claims = tokens.verify(engine, Settings(), body["access_token"])
    assert claims.subject == owner.credential.public_id
    probe = client.get("/probe", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert probe.json() == owner.credential.public_id


@SQLITE_ONLY
def test_a_client_authenticated_in_the_form_gets_a_token(
    client: TestClient, owner: Created
) -> None:
    form = {**GRANT, "client_id": owner.credential.public_id, "client_secret": owner.secret}

    answer = client.post(URL, data=form)

    assert answer.status_code == 200
    assert answer.json()["token_type"] == "Bearer"


@SQLITE_ONLY
def test_basic_credentials_are_form_decoded(
    client: TestClient, engine: sa.Engine, owner: Created
) -> None:
    escaped = owner.credential.public_id.replace(".", "%2E")
    encoded = base64.b64encode(f"{escaped}:{owner.secret}".encode()).decode()

    answer = client.post(URL, data=GRANT, headers={"Authorization": f"basic {encoded}"})

    assert answer.status_code == 200


@SQLITE_ONLY
def test_basic_with_the_same_client_id_in_the_form_is_accepted(
    client: TestClient, owner: Created
) -> None:
    form = {**GRANT, "client_id": owner.credential.public_id}

    answer = client.post(URL, data=form, headers=basic(owner.credential.public_id, owner.secret))

    assert answer.status_code == 200


@SQLITE_ONLY
def test_a_token_for_some_of_the_granted_scopes_holds_only_those(
    client: TestClient, engine: sa.Engine, tenant: Tenant
) -> None:
    created = new_client(
        engine, tenant, "custom:bi", scopes=["read.user.reports", "read.group.reports"]
    )
    form = {**GRANT, "scope": "read.user.reports"}

    answer = client.post(
        URL, data=form, headers=basic(created.credential.public_id, created.secret)
    )

    assert answer.json()["scope"] == "read.user.reports"
    claims = tokens.verify(engine, Settings(), answer.json()["access_token"])
    assert claims.scopes == {"read.user.reports"}


@SQLITE_ONLY
@pytest.mark.parametrize(
    "scope", ["write.users", "read.user.reports write.users", "read.nothing", 'read."x"']
)
def test_a_scope_beyond_the_granted_ones_is_refused(
    client: TestClient, engine: sa.Engine, tenant: Tenant, scope: str
) -> None:
    created = new_client(engine, tenant, "custom:bi", scopes=["read.user.reports"])

    answer = client.post(
        URL,
        data={**GRANT, "scope": scope},
        headers=basic(created.credential.public_id, created.secret),
    )

    description = error(answer, 400, "invalid_scope")
    assert '"' not in description
    assert "\\" not in description


@SQLITE_ONLY
def test_an_empty_scope_means_every_granted_scope(client: TestClient, owner: Created) -> None:
    answer = client.post(
        URL, data={**GRANT, "scope": ""}, headers=basic(owner.credential.public_id, owner.secret)
    )

    assert answer.json()["scope"] == " ".join(sorted(SCOPES))


@SQLITE_ONLY
@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "refresh_token"])
def test_another_grant_type_is_unsupported(
    client: TestClient, owner: Created, grant_type: str
) -> None:
    answer = client.post(
        URL,
        data={"grant_type": grant_type},
        headers=basic(owner.credential.public_id, owner.secret),
    )

    error(answer, 400, "unsupported_grant_type")


@SQLITE_ONLY
def test_a_wrong_secret_an_unknown_client_or_a_revoked_one_is_an_invalid_client(
    client: TestClient, engine: sa.Engine, tenant: Tenant, owner: Created
) -> None:
    public_id = owner.credential.public_id

    for headers in (
        basic(public_id, "wrong"),
        basic("acme.c_0000000000000000", owner.secret),
        basic("globex" + public_id[4:], owner.secret),
    ):
        error(client.post(URL, data=GRANT, headers=headers), 401, "invalid_client")
    with engine.begin() as connection:
        credentials.revoke(connection, tenant, public_id, "client")
    answer = client.post(URL, data=GRANT, headers=basic(public_id, owner.secret))
    error(answer, 401, "invalid_client")
    form = {**GRANT, "client_id": public_id, "client_secret": owner.secret}
    error(client.post(URL, data=form), 401, "invalid_client")


GUESSES = Settings(token_failures_per_client=3, token_failures_per_address=5)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guessed(engine: sa.Engine, clock: Clock) -> Iterator[Callable[[str], TestClient]]:
    """`guessed(address)`: a client of one application, allowing 3 failures per client id
    and 5 per address a minute, on a clock the test moves, calling from `address`."""
    settings = GUESSES.model_copy(update={"database_url": engine.url.render_as_string(False)})
    app = create_app(settings, engine)
    app.state.token_failures = FailureThrottle.from_settings(settings, clock=clock)
    with TestClient(app):
        yield lambda address: TestClient(app, client=(address, 50000))


def throttled(answer: Response) -> int:
    """The seconds to wait of RFC 6749's error answered 429, once its shape is checked."""
    assert answer.status_code == 429, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert set(answer.json()) == {"error", "error_description"}
    assert answer.json()["error"] == "temporarily_unavailable"
    return int(answer.headers["retry-after"])


@SQLITE_ONLY
def test_guessing_a_clients_secret_is_throttled_from_every_address_until_a_guess_is_due(
    guessed: Callable[[str], TestClient], clock: Clock, owner: Created
) -> None:
    public_id = owner.credential.public_id
    attacker, owner_address = guessed("203.0.113.7"), guessed("198.51.100.2")
    for guess in range(3):
        answer = attacker.post(URL, data=GRANT, headers=basic(public_id, f"guess-{guess}"))
        error(answer, 401, "invalid_client")

    refused = [
        attacker.post(URL, data=GRANT, headers=basic(public_id, "guess-3")),
        owner_address.post(URL, data=GRANT, headers=basic(public_id, owner.secret)),
    ]

    assert [throttled(answer) for answer in refused] == [20, 20]
    clock.now += 20
    answer = owner_address.post(URL, data=GRANT, headers=basic(public_id, owner.secret))
    assert answer.status_code == 200


@SQLITE_ONLY
def test_an_unknown_client_id_is_throttled_like_a_known_one(
    guessed: Callable[[str], TestClient],
) -> None:
    attacker = guessed("203.0.113.7")
    unknown = "acme.c_0123456789abcdef"

    answers = [attacker.post(URL, data=GRANT, headers=basic(unknown, "x")) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [401, 401, 401, 429]


@SQLITE_ONLY
def test_failures_from_one_address_throttle_it_whatever_ids_it_names_and_no_other_address(
    guessed: Callable[[str], TestClient], engine: sa.Engine, tenant: Tenant, owner: Created
) -> None:
    attacker = guessed("203.0.113.7")
    other = new_client(engine, tenant)
    for number in range(5):
        headers = basic(f"acme.c_{number:016x}", "guess")
        error(attacker.post(URL, data=GRANT, headers=headers), 401, "invalid_client")

    from_attacker = attacker.post(
        URL, data=GRANT, headers=basic(other.credential.public_id, other.secret)
    )
    elsewhere = guessed("198.51.100.2").post(
        URL, data=GRANT, headers=basic(owner.credential.public_id, owner.secret)
    )

    assert throttled(from_attacker) == 12
    assert elsewhere.status_code == 200


@SQLITE_ONLY
def test_missing_or_malformed_credentials_count_as_failures_of_the_address(
    guessed: Callable[[str], TestClient],
) -> None:
    attacker = guessed("203.0.113.7")

    answers = [
        attacker.post(URL, data=GRANT, headers={"Authorization": "Basic !!!!"}) for _ in range(6)
    ]

    assert [answer.status_code for answer in answers] == [401] * 5 + [429]


@SQLITE_ONLY
def test_successes_count_nothing_and_forgive_nothing(
    guessed: Callable[[str], TestClient], owner: Created
) -> None:
    public_id = owner.credential.public_id
    caller = guessed("198.51.100.2")
    good = basic(public_id, owner.secret)

    assert all(caller.post(URL, data=GRANT, headers=good).status_code == 200 for _ in range(6))
    for _ in range(3):
        caller.post(URL, data=GRANT, headers=basic(public_id, "wrong"))
    throttled(caller.post(URL, data=GRANT, headers=good))


@SQLITE_ONLY
def test_an_api_key_is_not_a_client(client: TestClient, engine: sa.Engine, tenant: Tenant) -> None:
    with engine.begin() as connection:
        key = credentials.create(connection, tenant, "key", "owner")
    key_id, _, secret = key.secret.rpartition(".")

    error(client.post(URL, data=GRANT, headers=basic(key_id, secret)), 401, "invalid_client")


@SQLITE_ONLY
@pytest.mark.parametrize(
    "form",
    [
        {},
        {"client_id": "{id}"},
        {"client_secret": "{secret}"},
        {"client_id": "{id}", "client_secret": ""},
    ],
)
def test_missing_client_credentials_are_an_invalid_client(
    client: TestClient, owner: Created, form: dict[str, str]
) -> None:
    filled = {
        name: value.format(id=owner.credential.public_id, secret=owner.secret)
        for name, value in form.items()
    }

    error(client.post(URL, data={**GRANT, **filled}), 401, "invalid_client")


@SQLITE_ONLY
@pytest.mark.parametrize(
    "authorization",
    [
        "Basic",
        "Basic !!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(),
        "Basic " + base64.b64encode(b"acme.c_1:%ff").decode(),
        "Bearer abc",
    ],
)
def test_malformed_http_basic_credentials_are_an_invalid_client(
    client: TestClient, authorization: str
) -> None:
    answer = client.post(URL, data=GRANT, headers={"Authorization": authorization})

    error(answer, 401, "invalid_client")


@SQLITE_ONLY
def test_basic_and_form_credentials_together_are_an_invalid_request(
    client: TestClient, owner: Created
) -> None:
    headers = basic(owner.credential.public_id, owner.secret)

    for extra in (
        {"client_secret": owner.secret},
        {"client_id": "acme.c_0000000000000000"},
    ):
        answer = client.post(URL, data={**GRANT, **extra}, headers=headers)
        error(answer, 400, "invalid_request")


@SQLITE_ONLY
@pytest.mark.parametrize(
    "content, content_type, reason",
    [
        (b"", FORM["Content-Type"], "grant_type"),
        (b"scope=read.user.reports", FORM["Content-Type"], "grant_type"),
        (b"grant_type=", FORM["Content-Type"], "grant_type"),
        (
            b"grant_type=client_credentials&grant_type=client_credentials",
            FORM["Content-Type"],
            "grant_type given more than once",
        ),
        (
            b"grant_type=client_credentials&scope=a&scope=b",
            FORM["Content-Type"],
            "scope given more than once",
        ),
        (b'{"grant_type": "client_credentials"}', "application/json", "x-www-form-urlencoded"),
        (b"grant_type=client_credentials", "", "x-www-form-urlencoded"),
        (b"grant_type=client_credentials", "text/plain", "x-www-form-urlencoded"),
        (b"grant_type=client_credentials", "multipart/form-data; boundary=x", "urlencoded"),
        (b"grant_type=client_%ff", FORM["Content-Type"], "not a valid form"),
        (b"grant_type=\xff\xfe", FORM["Content-Type"], "not a valid form"),
        (b"a=1&" * 40 + b"grant_type=client_credentials", FORM["Content-Type"], "valid form"),
        (b"grant_type=client_credentials&x=" + b"y" * 10_000, FORM["Content-Type"], "too large"),
    ],
)
def test_a_request_that_is_not_a_proper_form_is_an_invalid_request(
    client: TestClient, owner: Created, content: bytes, content_type: str, reason: str
) -> None:
    headers = basic(owner.credential.public_id, owner.secret)
    if content_type:
        headers["Content-Type"] = content_type

    answer = client.post(URL, content=content, headers=headers)

    assert reason in error(answer, 400, "invalid_request")


@SQLITE_ONLY
def test_unknown_parameters_are_ignored(client: TestClient, owner: Created) -> None:
    form = {**GRANT, "audience": "x", "resource": "y"}

    answer = client.post(URL, data=form, headers=basic(owner.credential.public_id, owner.secret))

    assert answer.status_code == 200


@SQLITE_ONLY
@pytest.mark.parametrize(
    "content, headers",
    [
        (b"", {}),
        (b"\x00\x01\x02", FORM),
        (b"%", FORM),
        (b"&&&===&&", FORM),
        (b"grant_type=client_credentials&client_id=%00&client_secret=%00", FORM),
        (b"grant_type=client_credentials", {**FORM, "Authorization": "Basic ===="}),
        (b"grant_type=client_credentials", {**FORM, "Authorization": "Basic " + "A" * 4000}),
        (
            b"grant_type=client_credentials",
            {**FORM, "Content-Type": "application/x-www-form-urlencoded; charset=latin-1"},
        ),
    ],
)
def test_no_input_gets_a_server_error(
    client: TestClient, content: bytes, headers: dict[str, str]
) -> None:
    answer = client.post(URL, content=content, headers=headers)

    assert answer.status_code in (400, 401)
    assert answer.json()["error"]


@SQLITE_ONLY
def test_a_get_is_not_a_token_request(client: TestClient) -> None:
    assert client.get(URL).status_code == 405


@SQLITE_ONLY
def test_no_secret_reaches_the_log_or_the_audit_log(
    client: TestClient,
    engine: sa.Engine,
    tenant: Tenant,
    owner: Created,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    with engine.begin() as connection:
        key = credentials.create(connection, tenant, "key", "owner").secret
    credentials.authenticate_key(engine, key)
    public_id = owner.credential.public_id

    client.post(URL, data=GRANT, headers=basic(public_id, owner.secret))
    client.post(URL, data=GRANT, headers=basic(public_id, owner.secret + "x"))
    client.post(URL, data={**GRANT, "client_id": owner.secret, "client_secret": public_id})
    form = {**GRANT, "client_id": public_id, "client_secret": owner.secret}
    token = client.post(URL, data=form).json()["access_token"]
    client.get("/probe", headers={"Authorization": f"Bearer {token}"})
    client.get("/probe", headers={"Authorization": f"Bearer {token}x"})
    client.get(f"/probe?access_token={token}")
    client.post("/api/v2/ingest/users", json=[{"id": "u1"}], headers={"X-API-Key": key})
    client.post("/api/v2/ingest/users", json=[], headers={"X-API-Key": key + "x"})
    client.get("/api/v1/paths/sessions/s1/stats", params={"company": "acme", "apiKey": key})
    client.get("/xapi/statements", auth=tuple(key.rsplit(".", 1)),
               headers={"X-Experience-API-Version": "1.0.3"})  # fmt: skip

    server = [record for record in caplog.records if not record.name.startswith(CLIENT_SIDE)]
    assert sum(record.name == "learnreport.audit" for record in server) >= 8
    logged = (
        " ".join(record.getMessage() for record in server)
        + " ".join(str(record.args) for record in server)
        + capsys.readouterr().err
    )
    assert owner.secret not in logged
    assert key.rpartition(".")[2] not in logged
    assert token not in logged
    assert token.split(".")[2] not in logged


@SQLITE_ONLY
def test_the_token_endpoint_is_documented(client: TestClient) -> None:
    operation = client.get("/api/v2/public/openapi.json").json()["paths"][URL]["post"]

    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["grant_type"]
    assert set(operation["responses"]) >= {"200", "400", "401"}
