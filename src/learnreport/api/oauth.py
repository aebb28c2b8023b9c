"""`POST /oauth/token`: the OAuth2 client credentials grant (RFC 6749 section 4.4).

A client authenticates with HTTP Basic or with `client_id` and `client_secret` in the form,
and gets a bearer token for the scopes it asks for, or all it is granted. Errors are the
JSON of RFC 6749 section 5.2, not problem details, since that is what OAuth2 libraries read;
no input, however broken, gets a 500. `grant` and `answer` serve any other token URL with
the same form (a dialect's own), so every URL issues the same tokens.

Guessing a secret is throttled: each failed client authentication is counted against the
client id (from any address) and against the address (whatever id it names), and once
either has used up its failures for the period the URL answers 429 with `Retry-After`,
before any secret is checked. A success counts nothing and forgives nothing, so a client
whose secret is being guessed elsewhere is refused only while its own id is over the
limit, and the guessing cannot go on under cover of its successes. The 429's error code is
RFC 6749's `temporarily_unavailable`, the nearest of its codes. Behind a reverse proxy, the
address is the client's only when uvicorn is told to trust the proxy's forwarding headers.
"""

import base64
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote_plus

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from learnreport.api import app_state, audit, tokens
from learnreport.api.auth import REALM, TOKEN_URL
from learnreport.api.responses import OrjsonResponse
from learnreport.api.throttle import Clock, Limiter
from learnreport.config import Settings
from learnreport.store.credentials import authenticate_client, tenant_slug

FORM = "application/x-www-form-urlencoded"
GRANT_TYPE = "client_credentials"
MAX_BODY = 8192
"""Bytes: far more than a token request needs, and little enough to read whole."""
PARAMETERS = ("grant_type", "scope", "client_id", "client_secret")
"""The parameters read; others are ignored, as RFC 6749 section 3.2 asks."""
MAX_FIELDS = 32
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
SCOPE_CHARACTERS = frozenset(chr(code) for code in range(0x21, 0x7F)) - {'"', "\\"}
"""RFC 6749 section 3.3: what a scope token is made of."""
CLIENT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\.c_[0-9a-f]{16}")
"""The shape of the client ids this server issues. A value of another shape names no
client, so it is throttled by address only, and it may be a secret sent in the wrong field,
so it is never written to the audit log."""

ErrorCode = Literal[
    "invalid_request",
    "invalid_client",
    "invalid_scope",
    "unsupported_grant_type",
    "temporarily_unavailable",
]
STATUSES: dict[ErrorCode, int] = {"invalid_client": 401, "temporarily_unavailable": 429}

router = APIRouter(tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class TokenError(BaseModel):
    error: ErrorCode
    error_description: str


class OAuthError(Exception):
    """A refused token request; the description quotes no secret."""

    def __init__(self, error: ErrorCode, description: str, retry_after: int = 0) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        return STATUSES.get(self.error, 400)


@dataclass(frozen=True, slots=True)
class FailureThrottle:
    """Failed client authentications, counted by client id and by address."""

    by_client: Limiter
    by_address: Limiter

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = time.monotonic) -> "FailureThrottle":
        period = settings.token_failures_period
        return cls(
            Limiter(settings.token_failures_per_client, period, clock=clock),
            Limiter(settings.token_failures_per_address, period, clock=clock),
        )

    def refuse_if_over(self, client_id: str | None, address: str) -> None:
        """Raise the 429 if the address, or the client id when given, has no failure left."""
        waits = [self.by_address.check(address).retry_after]
        if (shaped := _shaped(client_id)) is not None:
            waits.append(self.by_client.check(shaped).retry_after)
        wait = max(waits)
        if wait:
            raise OAuthError(
                "temporarily_unavailable",
                f"too many failed client authentications; retry after {wait} seconds",
                retry_after=wait,
            )

    def failed(self, client_id: str | None, address: str) -> None:
        self.by_address.spend(address)
        if (shaped := _shaped(client_id)) is not None:
            self.by_client.spend(shaped)


def install(app: FastAPI, settings: Settings) -> None:
    app.state.token_failures = FailureThrottle.from_settings(settings)


def grant(
    engine: sa.Engine, settings: Settings, client_id: str, client_secret: str, scope: str | None
) -> tokens.AccessToken:
    """Authenticate a client and issue a token for `scope` (space-separated), or for every
    scope it is granted when `None`; raises `OAuthError`."""
    principal = authenticate_client(engine, client_id, client_secret)
    if principal is None:
        raise OAuthError("invalid_client", "client authentication failed")
    requested = frozenset(scope.split(" ")) - {""} if scope is not None else frozenset()
    if any(not set(token) <= SCOPE_CHARACTERS for token in requested):
        raise OAuthError("invalid_scope", "the scope parameter is malformed")
    refused = requested - principal.scopes
    if refused:
        raise OAuthError("invalid_scope", f"the client is not granted {' '.join(sorted(refused))}")
    held = requested or principal.scopes
    return tokens.issue(engine, settings, replace(principal, scopes=held))


async def answer(request: Request, engine: sa.Engine, settings: Settings) -> Response:
    """The whole exchange for a token URL: read the form, authenticate, issue or refuse."""
    throttle: FailureThrottle = request.app.state.token_failures
    address = request.client.host if request.client is not None else ""
    client_id: str | None = None
    try:
        throttle.refuse_if_over(None, address)
        form = await _form(request)
        grant_type = form.get("grant_type")
        if grant_type is None:
            raise OAuthError("invalid_request", "the grant_type parameter is missing")
        if grant_type != GRANT_TYPE:
            raise OAuthError("unsupported_grant_type", f"only {GRANT_TYPE} is supported")
        client_id, client_secret = _client(request.headers.get("authorization"), form)
        throttle.refuse_if_over(client_id, address)
        token = await run_in_threadpool(
            grant, engine, settings, client_id, client_secret, form.get("scope")
        )
    except OAuthError as error:
        if error.error == "invalid_client":
            throttle.failed(client_id, address)
        _note(request, client_id, "token.refused")
        headers = dict(NO_STORE)
        if error.status == 401:
            headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
        if error.retry_after:
            headers["Retry-After"] = str(error.retry_after)
        body = {"error": error.error, "error_description": error.description}
        return OrjsonResponse(body, status_code=error.status, headers=headers)
    _note(request, client_id, "token.issued")
    body = {
        "access_token": token.token,
        "token_type": "Bearer",
        "expires_in": token.expires_in,
        "scope": token.scope,
    }
    return OrjsonResponse(body, headers=NO_STORE)


FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": [GRANT_TYPE]},
                        "scope": {
                            "type": "string",
                            "description": "Scopes separated by spaces; by default every "
                            "scope the client is granted.",
                        },
                        "client_id": {
                            "type": "string",
                            "description": "Unless sent with HTTP Basic.",
                        },
                        "client_secret": {
                            "type": "string",
                            "description": "Unless sent with HTTP Basic.",
                        },
                    },
                }
            }
        },
    }
}
"""The token request's form, for the OpenAPI document of every token URL."""


RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": TokenError, "description": "A bad request, grant type or scope."},
    401: {"model": TokenError, "description": "Client authentication failed."},
    429: {
        "model": TokenError,
        "description": "Too many failed authentications of the client id or from the "
        "address; retry after the seconds in Retry-After.",
    },
}
"""The refusals of every token URL."""


@router.post(
    TOKEN_URL,
    summary="Get an access token",
    response_model=TokenResponse,
    responses=RESPONSES,
    openapi_extra=FORM_BODY,
)
async def token(request: Request) -> Response:
    """The client credentials grant. Authenticate with HTTP Basic
    (`base64(client_id:client_secret)`) or with `client_id` and `client_secret` in the form;
    use the token as `Authorization: Bearer TOKEN` until it expires, then ask for another."""
    engine = app_state.engine(request)
    settings = app_state.settings(request)
    return await answer(request, engine, settings)


def _shaped(client_id: str | None) -> str | None:
    return client_id if client_id is not None and CLIENT_ID.fullmatch(client_id) else None


def _note(request: Request, client_id: str | None, event: str) -> None:
    shaped = _shaped(client_id)
    audit.note(request, tenant_slug(shaped) if shaped else None, shaped, event)


async def _form(request: Request) -> dict[str, str]:
    """The form's parameters, each given at most once; an empty one counts as absent."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM:
        raise OAuthError("invalid_request", f"send the parameters as {FORM}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise OAuthError("invalid_request", "the request body is too large")
    try:
        pairs = parse_qsl(
            body.decode(), keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS
        )
    except ValueError:
        raise OAuthError("invalid_request", "the request body is not a valid form") from None
    known = [(name, value) for name, value in pairs if name in PARAMETERS]
    repeated = [name for name, count in Counter(name for name, _ in known).items() if count > 1]
    if repeated:
        raise OAuthError("invalid_request", f"{', '.join(repeated)} given more than once")
    return {name: value for name, value in known if value}


def _client(authorization: str | None, form: Mapping[str, str]) -> tuple[str, str]:
    """The client id and secret, from HTTP Basic or from the form but never both."""
    if authorization is None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if client_id is None or client_secret is None:
            raise OAuthError(
                "invalid_client", "authenticate with HTTP Basic or client_id and client_secret"
            )
        return client_id, client_secret
    client_id, client_secret = _basic(authorization)
    if "client_secret" in form or form.get("client_id", client_id) != client_id:
        raise OAuthError(
            "invalid_request", "authenticate with HTTP Basic or with the form, not both"
        )
    return client_id, client_secret


def _basic(authorization: str) -> tuple[str, str]:
    """RFC 6749 section 2.3.1: both parts are form-encoded before the Basic encoding."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_client", "client authentication supports HTTP Basic only")
    malformed = OAuthError("invalid_client", "the HTTP Basic credentials are malformed")
    try:
        decoded = base64.b64decode(credentials.strip(" "), validate=True).decode()
        client_id, colon, client_secret = decoded.partition(":")
        pair = (
            unquote_plus(client_id, errors="strict"),
            unquote_plus(client_secret, errors="strict"),
        )
    except ValueError:
        raise malformed from None
    if not colon:
        raise malformed
    return pair
