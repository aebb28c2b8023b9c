"""Every route x every format it offers x every kind of caller, against two look-alike tenants.

DESIGN: a record of another tenant is 404, never 403; outside a department administrator's
groups is 404; a missing or bad credential is 401 and a missing scope 403. Each cell checks
the exact status, and that no marker of a record outside the caller's view
(`two_tenants.World.hidden_from`) appears anywhere in the answer: its status line,
headers, body, links and the cursors in them, decoded. The routes come from the
application itself, so a new route joins the matrix, or fails `test_every_route_joins_the_
matrix` saying what to add here.
"""

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from two_tenants import DEFAULT_OTHER_SCOPE, OTHER_SCOPE, World

from learnreport.api.app import create_app
from learnreport.config import Settings
from learnreport.ingest import KINDS, PEOPLE_KINDS
from learnreport.reports import NATIVE

XAPI = {"X-Experience-API-Version": "1.0.3"}
REFUSED = {"anonymous": 401, "expired": 401, "revoked": 401, "no_scope": 403}
"""The callers every guarded route refuses, and how; a key never expires, so keys have no
`expired`."""
ALLOWED = ("owner", "other_owner", "sibling_admin")
PUBLIC = {
    "GET /api/v2/public/openapi.json": "the API's description",
    "GET /api/v2/public/docs/": "the interactive documentation",
    "GET /api/v2/public/docs/oauth2-redirect": "the documentation's OAuth2 redirect page",
    "GET /health": "probes of load balancers",
    "POST /oauth/token": "where credentials are exchanged for tokens",
    "POST /api/v3/token": "iSpring's URL for the same exchange",
    "GET /xapi/about": 'xAPI: "An LRS SHOULD allow unauthenticated access to this resource"',
}
"""Routes that take no credential, and why; every other route must name one."""
SCHEMES = {
    frozenset({"OAuth2"}): "token",
    frozenset({"X-AIHR-API-Key"}): "key",
    frozenset({"HTTPBasic"}): "basic",
    frozenset({"OAuth2", "X-API-Key"}): "token_or_key",
    frozenset({"OAuth2", "X-apiKey"}): "token_or_key",
}
"""The credentials a route takes, by the security schemes its operation names."""


@dataclass(frozen=True)
class Call:
    """One request of a route, and what each caller allowed on it must get."""

    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    expect: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ALLOWED, 200))
    shows: bool = True
    """Whether a 200 shows records, so that it must hold a marker its caller may see."""
    check: "Check | None" = None


def _acme_only(path: dict[str, str], **others: Any) -> Call:
    """A record only acme has, in Sales: other tenants and Engineering's administrator get 404."""
    return Call(path, expect={"owner": 200, "other_owner": 404, "sibling_admin": 404}, **others)


def _shared(path: dict[str, str], **others: Any) -> Call:
    """An id both tenants have, of someone in Sales: each owner sees its own record."""
    return Call(path, expect={"owner": 200, "other_owner": 200, "sibling_admin": 404}, **others)


Check = Callable[[TestClient, dict[str, str], str, httpx.Response], None]
"""Checks an allowed caller's answer further, given the client and the caller's headers."""


def _statement_counts(
    client: TestClient, headers: dict[str, str], identity: str, response: httpx.Response
) -> None:
    received = {"owner": 5, "other_owner": 4, "sibling_admin": 1}[identity]
    assert response.json()["received"] == received


def _statistics_agree(
    client: TestClient, headers: dict[str, str], identity: str, response: httpx.Response
) -> None:
    """The figures count exactly the rows the same caller may list."""
    listed = client.post("/analyse/results", json={"options": {"limit": 1000}}, headers=headers)
    assert response.json()["total"] == listed.json()["total"]


def _one_row_per_person(
    client: TestClient, headers: dict[str, str], identity: str, response: httpx.Response
) -> None:
    """For a report whose rows show nothing but ids both tenants have."""
    people = {"owner": 5, "other_owner": 4, "sibling_admin": 1}[identity]
    assert response.json()["count"] == people


SHOWN = set(NATIVE) - {"training_time"}
"""The native reports whose rows hold a marker; training time shows only user ids."""
DETAIL_IDS = {
    "users": ("u5", "u1"),
    "groups": (None, "g-sales"),
    "modules": ("r-u5", "r-u1"),
    "journeys": ("rj-u5", "rj-u1"),
    "programmes": ("rp-u5", "rp-u1"),
    "skills": ("rk-u5", "rk-u1"),
    "training_time": ("u5", "u1"),
}
"""Per native resource: the id of a record of acme alone, and of one both tenants have."""
INGEST = {
    f"POST /api/v2/ingest/{kind}": [
        Call(
            body=[],
            expect={"owner": 200, "other_owner": 200,
                    "sibling_admin": 200 if kind in PEOPLE_KINDS else 403},
            shows=False,
        )
    ]
    for kind in KINDS
}  # fmt: skip
"""An empty batch: allowed callers pass every check and write nothing."""

CALLS: dict[str, list[Call]] = {
    **{f"GET /api/v2/reports/{name}/": [
        Call(query={"page_size": "1000"}, shows=name in SHOWN,
             check=None if name in SHOWN else _one_row_per_person),
        Call(query={"cursor": "", "page_size": "2"}, shows=name in SHOWN)]
       for name in NATIVE},
    **{f"GET /api/v2/reports/{name}/export/": [Call(shows=name in SHOWN)] for name in NATIVE},
    **{f"GET /api/v2/reports/{name}/{{id}}/": [
        *([_acme_only({"id": only}, shows=name in SHOWN)] if only else []),
        _shared({"id": both}, shows=name in SHOWN)]
       for name, (only, both) in DETAIL_IDS.items()},
    "POST /analyse/results": [Call(body={"options": {"limit": 1000}})],
    "POST /analyse/statistics": [
        Call(body={"groupBy": by}, shows=by == "group", check=_statistics_agree)
        for by in ("none", "group", "content")
    ],
    "POST /external/api/reports": [Call(query={"api-version": "1.0"}, body={"pageSize": 500})],
    "GET /learners/modules/results": [Call(query={"pageSize": "1000"}),
                                      Call(query={"pageSize": "2"})],
    "GET /api/v1/paths/sessions/{sessionId}/stats/{userEmailOrId}": [
        _acme_only({"sessionId": "s1", "userEmailOrId": "u5"}, shows=False),
        _acme_only({"sessionId": "s1", "userEmailOrId": "eve@example.com"}, shows=False),
        _acme_only({"sessionId": "s2", "userEmailOrId": "u1"}, shows=False),
        _shared({"sessionId": "s1", "userEmailOrId": "u1"}, shows=False),
    ],
    "GET /api/v1/paths/sessions/{sessionId}/stats": [
        Call({"sessionId": "s1"}, query={"pageSize": "2"}, shows=False),
        Call({"sessionId": "s2"}, expect={"owner": 200, "other_owner": 404, "sibling_admin": 200},
             shows=False),
    ],
    "GET /xapi/statements": [Call(), Call(query={"limit": "2"})],
    "POST /xapi/statements": [Call(body={}, expect=dict.fromkeys(ALLOWED, 400), shows=False)],
    "PUT /xapi/statements": [
        Call(query={"statementId": "00000000-0000-4000-8000-000000000000"}, body={},
             expect=dict.fromkeys(ALLOWED, 400), shows=False)
    ],
    "GET /api/v2/ingest/statements/": [Call(shows=False, check=_statement_counts)],
    "DELETE /api/v2/ingest/users/{id}": [
        Call({"id": "u5"}, expect={"other_owner": 404, "sibling_admin": 404}),
        Call({"id": "nobody"}, expect=dict.fromkeys(ALLOWED, 404)),
    ],
    **INGEST,
}  # fmt: skip
"""How to call each guarded route; an allowed caller missing from a call's `expect` (an
owner erasing its own person) is not sent it, since the matrix shares one world."""


@dataclass(frozen=True)
class Route:
    label: str
    method: str
    path: str
    kind: str
    scope: str | None
    formats: tuple[str, ...]
    by_accept: bool


def _application() -> FastAPI:
    return create_app(Settings(database_url="sqlite://"), sa.create_engine("sqlite://"))


def _routes(app: FastAPI) -> tuple[list[Route], list[str]]:
    """Every route of `app` the matrix can call, and what is missing for the others."""
    document = app.openapi()
    routes, problems = [], []
    for context in iter_route_contexts(app.routes):
        for method in sorted((context.methods or set()) - {"HEAD"}):
            label = f"{method} {context.path}"
            if label in PUBLIC:
                continue
            if not isinstance(context.original_route, APIRoute):
                problems.append(f"{label}: not an API route; add it to PUBLIC with why")
                continue
            operation = document["paths"].get(context.path, {}).get(method.lower(), {})
            security = operation.get("security", [])
            kind = SCHEMES.get(frozenset(name for need in security for name in need))
            if kind is None:
                problems.append(
                    f"{label}: takes no credential the matrix knows ({security}); add its "
                    "schemes to SCHEMES, or the route to PUBLIC with why"
                )
                continue
            if label not in CALLS:
                problems.append(f"{label}: no sample requests; add them to CALLS")
                continue
            missing = set(re.findall(r"{(\w+)}", context.path)) - {
                name for call in CALLS[label] for name in call.path
            }
            if missing:
                problems.append(f"{label}: no sample for {sorted(missing)}; add it to CALLS")
                continue
            scopes = [scope for need in security for scope in next(iter(need.values()))]
            formats, by_accept = _formats(operation)
            routes.append(
                Route(label, method, context.path, kind, scopes[0] if scopes else None,
                      formats, by_accept)
            )  # fmt: skip
    return routes, problems


def _formats(operation: dict[str, Any]) -> tuple[tuple[str, ...], bool]:
    """The formats an operation offers: its `format` parameter's, else the media types of
    its answer (chosen by `Accept`)."""
    for parameter in operation.get("parameters", []):
        if parameter["name"] == "format":
            return tuple(parameter["schema"]["enum"]), False
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    media = [m.partition(";")[0].rpartition("/")[2] for m in content] or ["json"]
    return tuple(media), len(media) > 1


ACCEPT = {"json": "application/json", "xml": "application/xml"}


def _identities(kind: str) -> list[str]:
    tokens = [*REFUSED, *ALLOWED]
    keys = [f"key:{name}" for name in (*REFUSED, *ALLOWED) if name not in ("anonymous", "expired")]
    return {"token": tokens, "key": ["anonymous", *keys], "basic": ["anonymous", *keys],
            "token_or_key": tokens + keys}[kind]  # fmt: skip


def _cells() -> Iterator[Any]:
    for route in _routes(_application())[0]:
        for identity in _identities(route.kind):
            yield pytest.param(route, identity, id=f"{route.label} {identity}")


def _headers(world: World, route: Route, identity: str) -> dict[str, str]:
    by_key = identity.startswith("key:")
    name = identity.removeprefix("key:")
    if name == "anonymous":
        return {}
    if name == "no_scope":
        held = OTHER_SCOPE.get(route.scope or "", DEFAULT_OTHER_SCOPE)
        name = f"holding:{held}"
    credentials = world.identities[name]
    if not by_key:
        return {"Authorization": f"Bearer {credentials.token}"}
    assert credentials.key is not None
    if route.kind == "basic":
        user, _, password = credentials.key.rpartition(".")
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}
    header = {"key": "X-AIHR-API-Key", "token_or_key": None}[route.kind]
    if header is None:
        header = "X-apiKey" if route.path.startswith("/api/v1/paths") else "X-API-Key"
    return {header: credentials.key}


@pytest.mark.parametrize(("route", "identity"), list(_cells()))
def test_each_caller_gets_its_status_and_nothing_outside_its_view(
    shared_engine: sa.Engine,
    shared_client: TestClient,
    two_tenants: World,
    route: Route,
    identity: str,
) -> None:
    """Every format for the callers that get rows, on SQLite; a refusal comes before any
    rendering, and PostgreSQL answers the same SQL, so there the route's default format
    suffices, which keeps the matrix's share of the suite's time small."""
    every = shared_engine.dialect.name == "sqlite" and identity.removeprefix("key:") in ALLOWED
    for fmt in route.formats if every else route.formats[:1]:
        _cell(shared_client, two_tenants, route, fmt, identity)


def _cell(client: TestClient, world: World, route: Route, fmt: str, identity: str) -> None:
    caller = identity.removeprefix("key:")
    headers = {**XAPI, "Content-Type": "application/json", **_headers(world, route, identity)}
    if route.by_accept:
        headers["Accept"] = ACCEPT[fmt]
    calls = CALLS[route.label] if caller in ALLOWED else CALLS[route.label][:1]
    for call in calls:
        if caller in ALLOWED and caller not in call.expect:
            continue
        query = {**call.query, **({} if route.by_accept or len(route.formats) == 1 else
                                  {"format": fmt})}  # fmt: skip
        response = client.request(
            route.method,
            route.path.format(**call.path),
            params=query,
            headers=headers,
            content=None if call.body is None else orjson.dumps(call.body),
        )
        where = f"{route.method} {response.request.url} as {identity}"
        wanted = call.expect[caller] if caller in ALLOWED else REFUSED[caller]
        assert response.status_code == wanted, f"{where}: {response.status_code} {response.text}"
        text = _haystack(response)
        leaked = sorted(m for m in world.hidden_from(caller) if m.lower() in text)
        assert not leaked, f"{where} shows records it may not see: {leaked}\n{text[:2000]}"
        if response.status_code == 200 and caller in ALLOWED:
            if call.shows:
                seen = world.seen_by(caller)
                assert any(m.lower() in text for m in seen), f"{where}: no record it may see"
            if fmt == "json":
                _counts_agree(response)
                if call.check is not None:
                    call.check(client, headers, caller, response)


TOKEN = re.compile(r"([A-Za-z0-9_-]{2,})\.[A-Za-z0-9_-]{16,}")
"""A signed cursor or page token: base64url of JSON, a dot, a signature."""


def _haystack(response: httpx.Response) -> str:
    """Everything the answer says, lowercased, with URLs unquoted and cursors decoded."""
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    text = unquote(f"{response.status_code} {response.reason_phrase}\n{headers}\n{response.text}")
    decoded = []
    for payload in TOKEN.findall(text):
        try:
            decoded.append(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode())
        except (binascii.Error, UnicodeDecodeError):
            continue
    return "\n".join([text, *decoded]).lower()


def _counts_agree(response: httpx.Response) -> None:
    """A count over rows the caller may not see would differ from the rows it got."""
    body = response.json()
    if not isinstance(body, dict):
        return
    for count, rows, whole in (
        ("count", "results", body.get("next") is None and "cursor" not in str(response.url)),
        ("total", "results", body.get("total", 0) <= body.get("limit", 0)),
        ("count", "data", body.get("count", 0) <= body.get("pageSize", 0)),
    ):
        if count in body and rows in body and whole:
            assert body[count] == len(body[rows]), f"{count} {body[count]} != {len(body[rows])}"
    if "x-total-count" in response.headers:
        assert response.headers["x-total-count"] == str(body["count"])


def test_every_route_joins_the_matrix() -> None:
    assert _routes(_application())[1] == []


def test_a_route_the_matrix_cannot_call_fails_it_saying_what_to_add() -> None:
    app = _application()

    def unknown(id: str) -> None:
        """A route no one told the matrix about."""

    app.add_api_route("/api/v2/reports/new/{id}/", unknown, methods=["GET"])
    problems = _routes(app)[1]
    assert problems == [
        "GET /api/v2/reports/new/{id}/: takes no credential the matrix knows ([]); add its "
        "schemes to SCHEMES, or the route to PUBLIC with why"
    ]
