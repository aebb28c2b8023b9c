"""Who is calling: a bearer token on every guarded route, checked the same way everywhere.

A route names the scope it needs in its signature,
`principal: Annotated[Principal, requires("read.user.reports")]`, which also lists the
scope on the operation in the OpenAPI document. A request then costs one or two small
queries: the credential (refused once revoked) and, for a limited one, its groups; the
signing keys are cached per process. Refusals follow RFC 6750: 401 with a `Bearer`
challenge (`error="invalid_token"`) for a token that is missing or not good, 403
`insufficient_scope` naming the scope for a good token that lacks it.

Every credential, once known, passes one step (`_admit`), whichever way it came: it is
counted against its rate limit (429 beyond it, before its scope is looked at) and named
for the audit log.

API keys, for the surfaces whose pages use them, are checked the same way by
`requires_key(scope, header)`, each surface naming the header its page uses, or by
`requires_basic_key(scope)` in HTTP Basic credentials, as xAPI clients send them; a bearer
token is no key, so it opens none of those routes. The tenant's API access switch and the
scope are checked alike for both kinds of credential.
"""

import re
from collections.abc import Sequence
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBasicCredentials, OAuth2, SecurityScopes
from starlette.exceptions import HTTPException

from learnreport.api import app_state, audit, inline, ratelimit, tokens
from learnreport.config import Settings
from learnreport.domain.access import SCOPES, Principal
from learnreport.store.credentials import authenticate_key as authenticate_key
from learnreport.store.credentials import load_principal

TOKEN_URL = "/oauth/token"
REALM = "learnreport"
TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
"""RFC 6750 section 2.1: a token is made of b64token characters."""
KEY = re.compile(r"[A-Za-z0-9\-._~+/=]{1,512}")
"""Wider than the keys this server issues (`acme.k_<hex>.<base64url>`), narrow enough that a
value no key can be is refused before the database is asked."""

scheme = OAuth2(
    flows={"clientCredentials": {"tokenUrl": TOKEN_URL, "scopes": SCOPES}},
    scheme_name="OAuth2",
    description="OAuth2 client credentials: exchange a client id and secret at "
    f"`{TOKEN_URL}` for a bearer token holding the scopes the client needs.",
    auto_error=False,
)


def requires(scope: str, *, bare: bool = False) -> Any:
    """A dependency giving the request's `Principal` once its token holds `scope`.

    With `bare`, the `Authorization` header may also hold the token alone, without the
    `Bearer` scheme, as iSpring's page sends it.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return Security(_bare_principal if bare else _principal, scopes=[scope])


async def _principal(
    request: Request,
    security_scopes: SecurityScopes,
    authorization: Annotated[str | None, Depends(scheme)],
) -> Principal:
    engine = app_state.engine(request)
    settings = app_state.settings(request)
    token = _bearer_token(request, authorization)
    return await inline.run(engine, _authorize, request, security_scopes, settings, token)


async def _bare_principal(
    request: Request,
    security_scopes: SecurityScopes,
    authorization: Annotated[str | None, Depends(scheme)],
) -> Principal:
    engine = app_state.engine(request)
    settings = app_state.settings(request)
    _refuse_query_token(request)
    scheme_name, space, token = (authorization or "").strip(" ").partition(" ")
    if not space:
        token = scheme_name
    elif scheme_name.lower() != "bearer":
        raise _invalid_token("send Authorization: TOKEN or Authorization: Bearer TOKEN")
    if not token:
        raise _invalid_token("an access token is required: send Authorization: TOKEN")
    return await inline.run(engine, _authorize, request, security_scopes, settings, token)


def _bearer_token(request: Request, authorization: str | None) -> str:
    _refuse_query_token(request)
    scheme_name, _, token = (authorization or "").partition(" ")
    if scheme_name.lower() != "bearer":
        # RFC 6750 section 3.1 would send a bare challenge here; `invalid_token` is sent
        # instead so that every refusal of a request without a usable token reads alike.
        raise _invalid_token("an access token is required: send Authorization: Bearer TOKEN")
    return token


def _refuse_query_token(request: Request) -> None:
    """RFC 6750 section 2.3 allows a token in the query string; it ends up in logs and
    browser histories, so no route here takes one."""
    if "access_token" in request.query_params:
        raise _invalid_token("send the access token in the Authorization header only")


def _authorize(
    connection: sa.Connection,
    request: Request,
    security_scopes: SecurityScopes,
    settings: Settings,
    token: str,
) -> Principal:
    """The token's principal once it holds the scopes; on the event loop or in a thread
    (`inline.run`), counted (`_admit`) only after its last query."""
    token = token.strip(" ")
    if TOKEN.fullmatch(token) is None:
        raise _invalid_token("the token is malformed")
    try:
        claims = tokens.verify(connection.engine, settings, token)
    except tokens.InvalidToken as error:
        raise _invalid_token(str(error)) from None
    principal = load_principal(connection, claims.subject, claims.scopes)
    if principal is None:
        raise _invalid_token("the token's client is unknown or revoked")
    _admit(request, principal, security_scopes.scopes)
    _check_api_access(principal)
    missing = [scope for scope in security_scopes.scopes if scope not in principal.scopes]
    if missing:
        wanted = " ".join(security_scopes.scopes)
        raise HTTPException(
            403,
            f"The access token lacks the scope {' '.join(missing)}.",
            headers={
                "WWW-Authenticate": _challenge(
                    error="insufficient_scope",
                    error_description="the token lacks a required scope",
                    scope=wanted,
                )
            },
        )
    return principal


def requires_key(scope: str, header: str) -> Any:
    """A dependency giving the request's `Principal` once the API key sent in `header` holds
    `scope`. The header is an API-key security scheme of the OpenAPI document, so the
    interactive documentation can send it.

    Refusals: 401 for a key that is missing, malformed, unknown, revoked or wrong (all alike,
    so that the answer does not tell which ids exist), 403 for a tenant whose API access is
    off and for a key without the scope.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    key_scheme = _key_scheme(header)

    def key_principal(
        request: Request,
        key: Annotated[str | None, Depends(key_scheme)],
    ) -> Principal:
        engine = app_state.engine(request)
        if not key:
            bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
            raise _invalid_key(
                header,
                f"this route takes an API key in the {header} header, not a bearer token"
                if bearer
                else f"an API key is required in the {header} header",
            )
        return _key_principal(request, engine, key, header, scope)

    return Security(key_principal, scopes=[scope])


def requires_token_or_key(scope: str, header: str) -> Any:
    """A dependency for routes that platforms call from their own servers, where an API key
    in `header` is as usual as a bearer token: either opens the route, with the same scope."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    key_scheme = _key_scheme(header)

    def token_or_key_principal(
        request: Request,
        security_scopes: SecurityScopes,
        key: Annotated[str | None, Depends(key_scheme)],
        authorization: Annotated[str | None, Depends(scheme)],
    ) -> Principal:
        engine = app_state.engine(request)
        settings = app_state.settings(request)
        if key:
            return _key_principal(request, engine, key, header, scope)
        token = _bearer_token(request, authorization)
        with engine.connect() as connection:
            return _authorize(connection, request, security_scopes, settings, token)

    return Security(token_or_key_principal, scopes=[scope])


def _key_scheme(header: str) -> APIKeyHeader:
    return APIKeyHeader(
        name=header,
        scheme_name=header,
        description=f"An API key (`learnreport keys create`) sent in the `{header}` header.",
        auto_error=False,
    )


def _key_principal(
    request: Request, engine: sa.Engine, key: str, header: str, scope: str
) -> Principal:
    principal = authenticate_key(engine, key) if KEY.fullmatch(key) else None
    if principal is None:
        raise _invalid_key(header, "the key is unknown, revoked or wrong")
    _admit(request, principal, [scope])
    _check_api_access(principal)
    if scope not in principal.scopes:
        raise HTTPException(403, f"The API key lacks the scope {scope}.")
    return principal


def requires_basic_key(scope: str) -> Any:
    """A dependency giving the request's `Principal` once the API key sent as HTTP Basic
    credentials holds `scope`: the key's id as the user name and its secret as the
    password. xAPI's LRSs take "HTTP Basic Authentication" (Communication 4.0), and its
    clients hold a user name and a password.

    Refusals: 401 with a `Basic` challenge for anything else (no credentials, another
    scheme, a client id, a wrong secret, all alike), 403 for a tenant whose API access is
    off and for a key without the scope.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    basic = HTTPBasic(
        scheme_name="HTTPBasic",
        realm=REALM,
        description="An API key (`learnreport keys create`): its id, `SLUG.k_HEX`, as the "
        "user name, and the part after the last dot as the password.",
        auto_error=False,
    )

    def basic_principal(
        request: Request,
        credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)],
    ) -> Principal:
        engine = app_state.engine(request)
        key = f"{credentials.username}.{credentials.password}" if credentials else ""
        principal = authenticate_key(engine, key) if KEY.fullmatch(key) else None
        if principal is None:
            raise HTTPException(
                401,
                "The credentials are not valid: send an API key's id as the user name and its "
                "secret as the password, with HTTP Basic authentication.",
                headers={"WWW-Authenticate": f'Basic realm="{REALM}"'},
            )
        _admit(request, principal, [scope])
        _check_api_access(principal)
        if scope not in principal.scopes:
            raise HTTPException(403, f"The API key lacks the scope {scope}.")
        return principal

    return Security(basic_principal, scopes=[scope])


def requires_company_key(scope: str) -> Any:
    """A dependency for 360Learning's page, which authenticates with `company` and `apiKey`.

    The key may come as query parameters, as the page documents (the one route that takes
    a credential in the query string, which is why access logs mask `apiKey`), or as the
    headers `X-company-id` and `X-apiKey`; a bearer token from `/oauth/token` works too.
    `company` is the tenant's slug or id and must be the key's own tenant.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    key_scheme = APIKeyHeader(
        name="X-apiKey",
        scheme_name="X-apiKey",
        description="An API key (`learnreport keys create`), with the tenant in X-company-id.",
        auto_error=False,
    )

    def company_principal(
        request: Request,
        security_scopes: SecurityScopes,
        header_key: Annotated[str | None, Depends(key_scheme)],
        authorization: Annotated[str | None, Depends(scheme)],
    ) -> Principal:
        engine = app_state.engine(request)
        settings = app_state.settings(request)
        key = request.query_params.get("apiKey") or header_key
        if key:
            company = request.query_params.get("company") or request.headers.get("x-company-id")
            principal = authenticate_key(engine, key) if KEY.fullmatch(key) else None
            if principal is None or company not in (None, principal.tenant,
                                                    str(principal.tenant_id)):  # fmt: skip
                raise HTTPException(401, "The company or API key is not valid.")
            _admit(request, principal, [scope])
            _check_api_access(principal)
            if scope not in principal.scopes:
                raise HTTPException(403, f"The API key lacks the scope {scope}.")
            return principal
        token = _bearer_token(request, authorization)
        with engine.connect() as connection:
            return _authorize(connection, request, security_scopes, settings, token)

    return Security(company_principal, scopes=[scope])


def _admit(request: Request, principal: Principal, scopes: Sequence[str]) -> None:
    """The one step every credential passes once it is known, whichever way it came: the
    request is counted against the credential's rate limit and named in the audit log."""
    audit.authenticated(request, principal.tenant, principal.credential, scopes)
    ratelimit.admit(request, principal.credential)


def _check_api_access(principal: Principal) -> None:
    if not principal.api_access:
        raise HTTPException(
            403, f"API access must be enabled for the tenant {principal.tenant} to use the API."
        )


def _invalid_key(header: str, description: str) -> HTTPException:
    """RFC 9110 wants a challenge with every 401; API keys have no registered scheme, so the
    challenge names the header the key goes in."""
    return HTTPException(
        401,
        f"The API key is not valid: {description}.",
        headers={"WWW-Authenticate": f'ApiKey realm="{REALM}", header="{header}"'},
    )


def _invalid_token(description: str) -> HTTPException:
    return HTTPException(
        401,
        f"The access token is not valid: {description}.",
        headers={
            "WWW-Authenticate": _challenge(error="invalid_token", error_description=description)
        },
    )


def _challenge(**parameters: str) -> str:
    """A `Bearer` challenge; the values never hold a quote or a backslash."""
    return "Bearer " + ", ".join(
        f'{name}="{value}"' for name, value in {"realm": REALM, **parameters}.items()
    )
