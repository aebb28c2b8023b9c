"""The iSpring dialect: `GET /learners/modules/results`, and its token URL `POST /api/v3/token`.

iSpring's page is the contract: array parameters written `userIds[]`, one-sided date ranges
written `accessDate[startDate]`, `pageSize` and `pageToken` paging, XML answers, and an
`Authorization` header holding the bare token. The rows come from
`learnreport.reports.learner_results`; this module reads the parameters, checks the one
rule of this page that the report cannot (a department administrator may not ask about
someone else's department), and writes the page's XML or JSON.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.responses import Response

from learnreport.api import app_state, inline, oauth, paging, params, render
from learnreport.api.auth import requires
from learnreport.api.errors import InvalidParameters, answering_errors_with
from learnreport.domain.access import Principal
from learnreport.domain.states import LearnerStatus, UserStatus
from learnreport.reports import base, learner_results
from learnreport.reports.filters import Span
from learnreport.reports.learner_results import Query
from learnreport.store.types import format_timestamp

SCOPE = "read.learner.results"
MAX_PAGE_SIZE = 1000
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

ARRAYS = {
    "userIds": "user_ids",
    "courseIds": "course_ids",
    "moduleIds": "module_ids",
    "courseItemIds": "course_item_ids",
    "enrollmentIds": "enrollment_ids",
    "departmentIds": "department_ids",
}
RANGES = {"accessDate": "access", "dueDate": "due", "completionDate": "completion"}
USER_STATUSES = {"1": UserStatus.ACTIVE, "3": UserStatus.BLOCKED}
"""iSpring: "The user status. Possible values are: 1 — active, 3 — blocked."."""
OTHERS = ("completionStatuses", "completionStatus", "userStatuses", "pageSize", "pageToken")
KNOWN = (*ARRAYS, *(f"{name}[{end}]" for name in RANGES for end in ("startDate", "endDate")),
         *OTHERS)  # fmt: skip
DATES = ("accessDate", "dueDate", "expirationDate", "completionDate")


def _describe(name: str) -> dict[str, Any]:
    if name in ARRAYS or name in ("completionStatuses", "userStatuses"):
        schema: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
        note = f" Written {name}[]=a&{name}[]=b (or {name}=a&{name}=b)."
    elif "[" in name:
        schema = {"anyOf": [{"type": "string", "format": "date"},
                            {"type": "string", "format": "date-time"}]}  # fmt: skip
        note = ""
    elif name == "pageSize":
        schema, note = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}, ""
    else:
        schema, note = {"type": "string"}, ""
    if name in ARRAYS:
        schema["items"]["format"] = "uuid"
    descriptions = {
        "completionStatuses": "not_started, in_progress, pending, complete, passed, accepted, "
        "incomplete, failed or declined.",
        "completionStatus": "One completion status, as the page's example writes it.",
        "userStatuses": "1 (active) or 3 (blocked); active users only by default.",
        "pageSize": f"Results per page, 1 to {MAX_PAGE_SIZE} (default).",
        "pageToken": "The nextPageToken of the previous page.",
    }
    description = descriptions.get(name, "A date or date-time (ISO 8601), inclusive."
                                   if "[" in name else "An array of uuids.")  # fmt: skip
    return {
        "name": f"{name}[]" if name in ARRAYS else name,
        "in": "query",
        "required": False,
        "description": description + note,
        "schema": schema,
    }


CODES = {400: "bad_request", 401: "unauthorized", 403: "permission_denied", 404: "not_found"}


def _error(request: Request, error: Exception) -> Response:
    if isinstance(error, HTTPException):
        status, message, headers = error.status_code, str(error.detail), error.headers
    elif isinstance(error, InvalidParameters):
        status, headers = 400, None
        message = "; ".join(f"{name}: {reason}" for name, reason in error.errors)
    else:
        status, headers = 400, None
        message = "; ".join(str(item.get("msg")) for item in error.errors())  # type: ignore[attr-defined]
    code = CODES.get(status, "error")
    try:
        fmt = render.negotiate(request, ("xml", "json"), default="xml")
    except InvalidParameters:
        fmt = "xml"
    if fmt == "json":
        body = orjson.dumps({"code": code, "message": message})
        return Response(body, status, headers=headers, media_type=render.MEDIA_TYPES["json"])
    xml = (f"{XML_DECLARATION}<response>\n<code>{code}</code>\n"
           f"<message>{render.xml_text(message)}</message>\n</response>\n")  # fmt: skip
    return Response(xml.encode(), status, headers=headers, media_type="application/xml")


router = APIRouter(tags=["Learner results"], route_class=answering_errors_with(_error))
tokens = APIRouter(tags=["Learner results"])


@tokens.post(
    "/api/v3/token",
    summary="Get an access token (the URL iSpring clients call)",
    response_model=oauth.TokenResponse,
    responses=oauth.RESPONSES,
    openapi_extra=oauth.FORM_BODY,
)
async def token(request: Request) -> Response:
    """The same clients, checks and tokens as `POST /oauth/token`."""
    engine = app_state.engine(request)
    settings = app_state.settings(request)
    return await oauth.answer(request, engine, settings)


@router.get(
    "/learners/modules/results",
    summary="Learner module results",
    responses={
        200: {"content": {"application/xml": {}, "application/json": {}}},
        400: {"description": "A parameter is not valid."},
        401: {"description": "No valid access token."},
        403: {"description": "The token may not read these results."},
    },
    openapi_extra={"parameters": [_describe(name) for name in KNOWN]},
)
async def module_results(
    request: Request,
    principal: Annotated[Principal, requires(SCOPE, bare=True)],
) -> Response:
    """Each enrolled learner's result on each module of each course, `pageSize` at a time."""
    engine = app_state.engine(request)
    shape = inline.shape_of(request, principal, "pageToken")
    return await inline.run(engine, _module_results, request, principal, shape=shape)


def _module_results(connection: sa.Connection, request: Request, principal: Principal) -> Response:
    fmt = render.negotiate(request, ("xml", "json"), default="xml")
    cursors = app_state.cursors(request)
    query = _query(request.query_params)
    bound = paging.context("learner_results", principal.tenant_id, _fingerprint(query))
    token = request.query_params.get("pageToken")
    after = cursors.read(token, bound, parameter="pageToken") if token else None
    size = _page_size(request.query_params)
    report = learner_results.report(principal.tenant_id, query)
    if query.department_ids and principal.groups is not None:
        outside = learner_results.departments_outside(
            connection, principal.tenant_id, principal.groups, query.department_ids
        )
        if outside:
            raise HTTPException(403, f"departmentIds: not a department you manage: "
                                     f"{', '.join(outside)}")  # fmt: skip
    rows, last = base.seek(connection, report, principal, {}, after=after, limit=size)
    following = None if last is None else cursors.make(last, bound)
    results = [_result(dict(zip(report.names, row, strict=True))) for row in rows]
    if fmt == "json":
        body: dict[str, Any] = {"results": results}
        if following is not None:
            body["nextPageToken"] = following
        return Response(orjson.dumps(body), media_type=render.MEDIA_TYPES["json"])
    return Response(
        "".join(_xml(results, following)).encode(), media_type="application/xml; charset=UTF-8"
    )


def _query(query: QueryParams) -> Query:
    errors: list[tuple[str, str]] = []
    values: dict[str, list[str]] = {}
    for name, value in query.multi_items():
        plain = name.removesuffix("[]")
        if plain not in KNOWN:
            errors.append((name, "unknown parameter"))
            continue
        values.setdefault(plain, []).extend(part for part in value.split(",") if part.strip())
    chosen: dict[str, Any] = {}
    for name, field in ARRAYS.items():
        if name in values:
            chosen[field] = _uuids(name, values[name], errors)
    for name, field in RANGES.items():
        chosen[field] = _span(name, values, errors)
    statuses = values.get("completionStatuses", []) + values.get("completionStatus", [])
    if statuses:
        chosen["statuses"] = _choices("completionStatuses", statuses, LearnerStatus, errors)
    if "userStatuses" in values:
        unknown = [value for value in values["userStatuses"] if value not in USER_STATUSES]
        if unknown:
            errors.append(("userStatuses", f"{unknown[0][:20]!r} is not 1 (active) or 3 "
                                           "(blocked)"))  # fmt: skip
        chosen["user_statuses"] = tuple(
            dict.fromkeys(USER_STATUSES[value] for value in values["userStatuses"]
                          if value in USER_STATUSES)
        )  # fmt: skip
    if errors:
        raise InvalidParameters(errors)
    return Query(now=format_timestamp(datetime.now(UTC)), **chosen)


def _uuids(name: str, values: list[str], errors: list[tuple[str, str]]) -> tuple[str, ...]:
    found = []
    for value in values:
        try:
            found.append(str(UUID(value.strip())))
        except ValueError:
            errors.append((name, f"{value[:40]!r} is not a uuid"))
    if len(found) > params.MAX_VALUES:
        errors.append((name, f"at most {params.MAX_VALUES} values are allowed"))
    return tuple(found)


def _span(name: str, values: dict[str, list[str]], errors: list[tuple[str, str]]) -> Span | None:
    bounds: dict[str, str | None] = {"startDate": None, "endDate": None}
    for end in bounds:
        given = values.get(f"{name}[{end}]")
        if not given:
            continue
        try:
            bounds[end] = params.instant_bound(given[-1].strip(), upper=end == "endDate")
        except ValueError as error:
            errors.append((f"{name}[{end}]", str(error)))
    if bounds["startDate"] is None and bounds["endDate"] is None:
        return None
    return Span(bounds["startDate"], bounds["endDate"])


def _choices(
    name: str, values: list[str], kind: type[LearnerStatus], errors: list[tuple[str, str]]
) -> tuple[LearnerStatus, ...]:
    known = {member.value: member for member in kind}
    unknown = [value for value in values if value.strip() not in known]
    if unknown:
        errors.append((name, f"{unknown[0][:40]!r} is not one of {', '.join(known)}"))
    return tuple(dict.fromkeys(known[v.strip()] for v in values if v.strip() in known))


def _page_size(query: QueryParams) -> int:
    errors: list[tuple[str, str]] = []
    size = paging.number(query, "pageSize", MAX_PAGE_SIZE, MAX_PAGE_SIZE, errors)
    if errors:
        raise InvalidParameters(errors)
    return size


def _fingerprint(query: Query) -> dict[str, Any]:
    """What a page token is bound to: every filter, not the moment of the request."""
    return {name: repr(value) for name, value in vars(query).items() if name != "now"}


def _result(row: dict[str, Any]) -> dict[str, Any]:
    """The page's fields in the page's order, leaving out what the page leaves out: dates
    that are not set, and progress while not started."""
    shown: dict[str, Any] = {}
    for name, value in row.items():
        if value is None:
            continue
        if name == "progress" and row["completionStatus"] == LearnerStatus.NOT_STARTED:
            continue
        if name in DATES:
            value = value.removesuffix("Z") + "+00:00"
        elif name == "progress":
            value = int(value) if float(value).is_integer() else round(value, 2)
        shown[name] = value
    return shown


def _xml(results: list[dict[str, Any]], following: str | None) -> Iterator[str]:
    yield XML_DECLARATION
    yield "<response>\n<results>\n"
    for result in results:
        yield "<result>\n"
        for name, value in result.items():
            yield f"<{name}>{render.xml_text(str(value))}</{name}>\n"
        yield "</result>\n"
    yield "</results>\n"
    if following is not None:
        yield f"<nextPageToken>{following}</nextPageToken>\n"
    yield "</response>\n"
