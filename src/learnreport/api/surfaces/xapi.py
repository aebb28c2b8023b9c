"""xAPI statements in and out: a Learning Record Store for the statements that feed reports.

xAPI 1.0.3 is the contract: `POST /xapi/statements` and `PUT /xapi/statements?statementId=`
store statements, `GET /xapi/statements` reads them back, `GET /xapi/about` names the
version. Statements are validated by `learnreport.ingest.xapi`, stored and folded into
results by `learnreport.ingest.statements`, and read by `learnreport.reports.statements`.
What the specification leaves to the LRS is decided here:

- **Credentials.** HTTP Basic with an API key holding `write.xapi`: the key's id as the user
  name, its secret as the password. The scope reads statements back too. `/xapi/about`
  needs none: "An LRS SHOULD allow unauthenticated access to this resource."
- **Versions.** "The LRS MUST reject requests without a version header", so every request
  but `/xapi/about` sends `X-Experience-API-Version` 1.0 or 1.0.x; every answer carries
  1.0.3, and the statement resource's answers `X-Experience-API-Consistent-Through`.
- **Bodies.** `application/json` at most 1 MiB ("The LRS MAY choose any Attachment, Statement
  and document size limits", with 413 beyond); attachments travel by `fileUrl` only.
- **Errors** are problem details: "An LRS SHOULD return a message in the response
  explaining the cause of the error". A refused statement is named in `errors` by its
  position in the request, the property's path and the reason; nothing of the request is
  stored then.
- **Queries.** `agent` (matching the actor), `verb`, `activity`, `registration`, `since`,
  `until`, `limit` (at most 500, and 0 means 500: "0 indicates return the maximum the
  server will allow"), `ascending`; `format=exact`, `attachments=false`,
  `related_activities=false` and `related_agents=false` are the only values taken. Any
  other parameter is a 400: "The LRS MUST reject with 400 Bad Request status any requests
  that use any parameters which the LRS does not recognize". `more` continues the query
  with a signed `cursor` bound to the tenant and the filters, which stays usable.
- **Groups.** A key limited to groups (a department administrator's) sends statements about
  the people in them only (403 naming the statement otherwise) and reads only theirs.

Beyond the specification, `GET /api/v2/ingest/statements/` counts the statements received,
matched to a person and an activity, still unmatched, and voided. It takes a bearer token or
an API key in `X-API-Key` with `write.xapi`, as the other ingest routes do.
"""

import re
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from learnreport.api import app_state
from learnreport.api.auth import requires_basic_key, requires_token_or_key
from learnreport.api.errors import (
    InvalidParameters,
    Refusal,
    answering_errors_with,
    bad_request,
    problem,
)
from learnreport.api.paging import context
from learnreport.domain.access import Principal
from learnreport.ingest import xapi
from learnreport.ingest.errors import BatchRejected
from learnreport.ingest.statements import Conflict, Forbidden, Stored, store
from learnreport.reports import statements as records
from learnreport.reports.statements import Filters
from learnreport.store.engine import writing
from learnreport.store.types import format_timestamp

VERSION = "1.0.3"
ACCEPTED_VERSIONS = re.compile(r"1\.0(?:\.\d+)?")
"""Communication 3.3: "The LRS MUST accept requests with a version header of 1.0 as if the
version header was 1.0.0" and "with a version header starting with 1.0."."""
SCOPE = "write.xapi"
INGEST_KEY_HEADER = "X-API-Key"
"""The header of an API key on the native ingest routes, beside a bearer token."""
MAX_BODY = 1024 * 1024
MAX_LIMIT = 500
SINGLE = ("statementId", "voidedStatementId")
WITH_SINGLE = ("format", "attachments")
"""Communication 2.1.3: requests with statementId or voidedStatementId "and also contain any
other parameter besides attachments or format" are rejected."""
QUERY = (
    "agent", "verb", "activity", "registration", "since", "until", "limit", "ascending",
    "format", "attachments", "related_activities", "related_agents", "cursor",
)  # fmt: skip
ONLY = {"format": "exact", "attachments": "false", "related_activities": "false",
        "related_agents": "false"}  # fmt: skip
"""Parameters of the specification that this LRS takes with one value only."""


class _Refused(HTTPException):
    """A 400 naming each refused statement, its property and why."""

    def __init__(self, rejected: BatchRejected) -> None:
        self.errors = [
            {"statement": error.index, "property": error.field, "reason": error.reason}
            for error in rejected.errors
        ]
        first = rejected.errors[0]
        where = f"statement {first.index}" + (f", {first.field}" if first.field else "")
        count = len(rejected.errors)
        more = f" ({count} statements are refused; see errors)" if count > 1 else ""
        super().__init__(400, f"{where}: {first.reason}{more}")


def _error(request: Request, error: Exception) -> Response:
    """Problem details, stamped like every answer of these routes."""
    if isinstance(error, HTTPException):
        detail = error.detail if isinstance(error.detail, str) else None
        extensions = error.extensions if isinstance(error, Refusal) else {}
        if isinstance(error, _Refused):
            extensions = {"errors": error.errors}
        answer: Response = problem(error.status_code, detail, headers=error.headers, **extensions)
    elif isinstance(error, InvalidParameters):
        answer = bad_request(error.errors)
    else:
        assert isinstance(error, RequestValidationError)
        answer = bad_request([(str(item["loc"][-1]), item["msg"]) for item in error.errors()])
    return _stamped(answer, request)


router = APIRouter(tags=["xAPI"], route_class=answering_errors_with(_error))

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A bad header, parameter or statement, named with the reason."},
    401: {"description": "No API key in HTTP Basic credentials, or not a valid one."},
    403: {"description": "The key lacks write.xapi, the tenant's API access is off, or a key "
          "limited to groups sent a statement about someone outside them."},
}  # fmt: skip


STATEMENT = {
    "type": "object",
    "description": "An xAPI 1.0.3 Statement (Data 2.4): actor, verb and object at least.",
    "required": ["actor", "verb", "object"],
    "properties": {name: {"type": "object"} for name in ("actor", "verb", "object")},
}


def _statements(*shapes: dict[str, Any]) -> dict[str, Any]:
    """The documented body of a route that reads it itself (`_body`), within `MAX_BODY`."""
    schema = shapes[0] if len(shapes) == 1 else {"oneOf": list(shapes)}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


VERSION_HEADER = {
    "name": "X-Experience-API-Version",
    "in": "header",
    "required": True,
    "description": "The xAPI version of the request, 1.0 or 1.0.x.",
    "schema": {"type": "string", "pattern": r"^1\.0(\.[0-9]+)?$", "examples": [VERSION]},
}
"""The header as documented: required, which `_version` checks itself so as to answer in
the page's words rather than FastAPI's."""


def _version(
    version: Annotated[
        str | None, Header(alias="X-Experience-API-Version", include_in_schema=False)
    ] = None,
) -> None:
    """Communication 3.3: "The LRS MUST make these rejects by responding with a 400 Bad
    Request error including a short description of the problem"."""
    if version is None or ACCEPTED_VERSIONS.fullmatch(version.strip()) is None:
        raise InvalidParameters.one(
            "X-Experience-API-Version", f"send the xAPI version, 1.0.x; this LRS speaks {VERSION}"
        )


async def _body(request: Request) -> bytes:
    """The request body, refused with 413 past `MAX_BODY` before it is all read."""
    media = request.headers.get("content-type", "application/json").partition(";")[0]
    if media.strip().lower() != "application/json":
        raise InvalidParameters.one(
            "Content-Type", "statements are taken as application/json, attachments by fileUrl"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _too_large()
    return bytes(body)


Versioned = Annotated[None, Depends(_version)]
"""Routes take it after their credentials: a request without them is a 401 whatever its
version header says, as on every other route."""
Key = Annotated[Principal, requires_basic_key(SCOPE)]
Body = Annotated[bytes, Depends(_body)]


@router.get("/xapi/about", summary="The xAPI versions this LRS speaks")
def about(request: Request) -> Response:
    """Communication 2.8: "An LRS MUST NOT reject requests based on their version header"
    here, so this route reads none."""
    return _json({"version": [VERSION]}, request)


@router.post(
    "/xapi/statements",
    summary="Store one statement or an array of them",
    description="Answers the statement ids, in the order sent.",
    responses={**ERRORS, 409: {"description": "A statement id is stored with other content."},
               413: {"description": "The body is larger than 1 MiB."}},
    openapi_extra={"parameters": [VERSION_HEADER],
                   "requestBody": _statements(STATEMENT, {"type": "array", "items": STATEMENT})},
)  # fmt: skip
def post_statements(request: Request, principal: Key, _version: Versioned, body: Body) -> Response:
    engine = app_state.engine(request)
    _parameters(request, ())
    stored = _store(engine, principal, _parse(body), request)
    return _json(stored.ids, request)


@router.put(
    "/xapi/statements",
    summary="Store one statement under the id statementId",
    status_code=204,
    responses={**ERRORS, 409: {"description": "The id is stored with other content."},
               413: {"description": "The body is larger than 1 MiB."}},
    openapi_extra={"parameters": [VERSION_HEADER, {
        "name": "statementId", "in": "query", "required": True,
        "description": "The statement's id, which the statement may also hold.",
        "schema": {"type": "string", "format": "uuid"}}],
        "requestBody": _statements(STATEMENT)},
)  # fmt: skip
def put_statement(request: Request, principal: Key, _version: Versioned, body: Body) -> Response:
    engine = app_state.engine(request)
    statement_id = _parameters(request, ("statementId",)).get("statementId")
    if statement_id is None or re.fullmatch(xapi.UUID, statement_id) is None:
        raise InvalidParameters.one("statementId", "give the statement's id, a UUID")
    _store(engine, principal, _parse(body, statement_id), request)
    return _stamped(Response(status_code=204), request)


@router.get(
    "/xapi/statements",
    summary="One statement by statementId or voidedStatementId, or a filtered page",
    responses={**ERRORS, 404: {"description": "No such statement in this tenant, or the "
               "statementId of a voided one."}},
    openapi_extra={"parameters": [VERSION_HEADER]},
)  # fmt: skip
def get_statements(
    request: Request,
    principal: Key,
    _version: Versioned,
) -> Response:
    engine = app_state.engine(request)
    cursors = app_state.cursors(request)
    if any(name in request.query_params for name in SINGLE):
        return _one(request, engine, principal)
    given = _parameters(request, QUERY)
    filters, limit = _filters(given)
    bound = context("xapi_statements", principal.tenant_id, asdict(filters))
    token = given.get("cursor")
    after = cursors.read(token, bound) if token else None
    with engine.connect() as connection:
        found, last = records.page(
            connection, principal, filters, after=(after[0], after[1]) if after else None,
            limit=limit,
        )  # fmt: skip
    more = ""
    if last is not None:
        following = {name: value for name, value in given.items() if name != "cursor"}
        following["cursor"] = cursors.make(last, bound)
        more = f"{request.url.path}?{urlencode(following)}"
    return _json({"statements": found, "more": more}, request)


@router.get(
    "/api/v2/ingest/statements/",
    summary="How many xAPI statements were received, matched, unmatched and voided",
    description="`matched` and `unmatched` count the statements about an activity: matched "
    "to a person and an activity, or still waiting for one of them to arrive.",
    tags=["Ingest"],
    responses={
        401: {"description": "No valid access token or API key."},
        403: {"description": "The credential lacks write.xapi, or the tenant's API access is off."},
    },
)
def statement_counts(
    request: Request,
    principal: Annotated[Principal, requires_token_or_key(SCOPE, INGEST_KEY_HEADER)],
) -> Response:
    engine = app_state.engine(request)
    with engine.connect() as connection:
        return _json(records.counts(connection, principal), request)


def _one(request: Request, engine: sa.Engine, principal: Principal) -> Response:
    """Communication 2.1.3: statementId and voidedStatementId exclude each other and every
    parameter besides attachments and format; 404 "the method to retrieve a single
    Statement" when there is no such statement, or when statementId names a voided one."""
    given = _parameters(request, (*SINGLE, *WITH_SINGLE))
    _only(given)
    named = [name for name in SINGLE if name in given]
    if len(named) > 1:
        raise InvalidParameters.one("voidedStatementId", "give statementId or voidedStatementId")
    name = named[0]
    if re.fullmatch(xapi.UUID, given[name]) is None:
        raise InvalidParameters.one(name, "is not a UUID")
    with engine.connect() as connection:
        found = records.one(connection, principal, given[name], voided=name == "voidedStatementId")
    if found is None:
        raise HTTPException(404, f"No statement {given[name]} is stored here.")
    return _json(found, request)


def _filters(given: dict[str, str]) -> tuple[Filters, int]:
    _only(given)
    errors: list[tuple[str, str]] = []
    checked: dict[str, Any] = {}
    for name, value in given.items():
        try:
            checked[name] = _checked(name, value)
        except xapi.Invalid as error:
            errors.append((name, error.reason))
    if errors:
        raise InvalidParameters(errors)
    limit = checked.get("limit") or MAX_LIMIT
    filters = Filters(
        actor=checked.get("agent"),
        verb=checked.get("verb"),
        activity=checked.get("activity"),
        registration=checked.get("registration"),
        since=checked.get("since"),
        until=checked.get("until"),
        ascending=checked.get("ascending", False),
    )
    return filters, min(limit, MAX_LIMIT)


def _checked(name: str, value: str) -> Any:
    """A query parameter's value, checked "to the same standards required for values of the
    same types in Statements" (Data 2.2)."""
    if name == "agent":
        return xapi.agent_key(value)
    if name in ("verb", "activity") and re.fullmatch(xapi.IRI, value) is None:
        raise xapi.Invalid(name, "is not an IRI: it starts with a scheme such as https:")
    if name == "registration":
        if re.fullmatch(xapi.UUID, value) is None:
            raise xapi.Invalid(name, "is not a UUID")
        return value.lower()
    if name in ("since", "until"):
        return xapi.instant(value, name)
    if name == "limit":
        if not value.isdigit() or len(value) > 9:
            raise xapi.Invalid(name, "is not a whole number of 0 or more")
        return int(value)
    if name == "ascending":
        if value not in ("true", "false"):
            raise xapi.Invalid(name, "is true or false")
        return value == "true"
    return value


def _only(given: dict[str, str]) -> None:
    refused = [
        (name, f"this LRS takes {name}={ONLY[name]} only")
        for name, value in given.items()
        if name in ONLY and value != ONLY[name]
    ]
    if refused:
        raise InvalidParameters(refused)


def _parameters(request: Request, allowed: tuple[str, ...]) -> dict[str, str]:
    """The query parameters, each once and each one this route knows."""
    errors, given = [], {}
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            errors.append((name, "is not a parameter of this resource"))
        elif name in given:
            errors.append((name, "is given more than once"))
        given[name] = value
    if errors:
        raise InvalidParameters(errors)
    return given


def _parse(body: bytes, statement_id: str | None = None) -> list[xapi.Statement]:
    try:
        return xapi.parse(xapi.decode(body), statement_id=statement_id)
    except xapi.InvalidBody as error:
        raise InvalidParameters.one("body", str(error)) from None
    except BatchRejected as rejected:
        raise _Refused(rejected) from None


def _store(
    engine: sa.Engine, principal: Principal, received: list[xapi.Statement], request: Request
) -> Stored:
    """Store the statements: one transaction, all or nothing. Only refused statements make
    a 400; a result the write path refuses clashed with a write made meanwhile (409)."""
    authority = {
        "objectType": "Agent",
        "account": {"homePage": str(request.base_url), "name": principal.credential},
    }
    try:
        with writing(engine) as connection:
            return store(
                connection, principal.tenant_id, received, authority=authority,
                limited_to=principal.groups,
            )  # fmt: skip
    except BatchRejected as rejected:
        if rejected.kind != "statements":
            raise HTTPException(
                409,
                f"A result these statements move was written meanwhile ({rejected}); nothing "
                "was stored. Send them again.",
            ) from None
        raise _Refused(rejected) from None
    except Conflict as conflict:
        raise HTTPException(409, f"{conflict} with other content; it was not changed.") from None
    except Forbidden as forbidden:
        raise HTTPException(403, str(forbidden)) from None


def _json(value: Any, request: Request) -> Response:
    """JSON of any depth and any integer (an extension may hold either)."""
    answer = Response(msgspec.json.encode(value), media_type="application/json")
    return _stamped(answer, request)


def _stamped(answer: Response, request: Request) -> Response:
    answer.headers["X-Experience-API-Version"] = VERSION
    if request.url.path == "/xapi/statements":
        answer.headers["X-Experience-API-Consistent-Through"] = format_timestamp(datetime.now(UTC))
    return answer


def _too_large() -> HTTPException:
    return HTTPException(413, f"The body is larger than {MAX_BODY} bytes; send fewer statements.")
