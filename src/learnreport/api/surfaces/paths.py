"""The 360Learning dialect: `GET /api/v1/paths/sessions/{sessionId}/stats/{userEmailOrId}`.

360Learning's page is the contract: one learner's progress, time, score, status, detailed
status and result in one path session, with its errors in a fixed order of precedence. The
standing is computed by `learnreport.domain.paths` from the records that
`learnreport.reports.path_stats` fetches. Beyond the page, `.../stats` lists every enrolled
learner of a session, so that a BI tool needs one call per session rather than one per
learner.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from learnreport.api import app_state
from learnreport.api.auth import requires_company_key
from learnreport.api.errors import InvalidParameters, answering_errors_with
from learnreport.api.paging import context
from learnreport.domain.access import Principal
from learnreport.domain.paths import PathStats, path_stats
from learnreport.reports import path_stats as records
from learnreport.reports.path_stats import Learner, SessionRecord
from learnreport.store.types import format_timestamp

SCOPE = "read.path.stats"
MAX_PAGE_SIZE = 1000


def _error(request: Request, error: Exception) -> Response:
    """The page's error body, `{"error": "..."}`, for every error of these routes."""
    if isinstance(error, HTTPException):
        status, headers = error.status_code, error.headers
        code = {401: "unauthorized", 403: "forbidden"}.get(status, "error")
        if status == 404 and isinstance(error.detail, str):
            code = error.detail
        body: dict[str, Any] = {"error": code}
    else:
        status, headers = 400, None
        reasons = (
            error.errors
            if isinstance(error, InvalidParameters)
            else [(str(item["loc"][-1]), item["msg"]) for item in error.errors()]  # type: ignore[attr-defined]
        )
        body = {"error": "bad_request", "message": "; ".join(f"{n}: {m}" for n, m in reasons)}
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


router = APIRouter(
    prefix="/api/v1/paths/sessions",
    tags=["Path sessions"],
    route_class=answering_errors_with(_error),
)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": '`{"error": "bad_request", "message": ...}`: a parameter is not valid.'},
    401: {"description": '`{"error": "unauthorized"}`: no valid company and API key or token.'},
    403: {"description": "The credential lacks the scope, or the tenant's API access is off."},
    404: {"description": '`{"error": "path_session_not_found"}`, `"user_not_found"` or '
          '`"user_not_enrolled"`, in that order of precedence.'},
}  # fmt: skip
CREDENTIALS = [
    {"name": "company", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "The tenant's slug or id, with apiKey (or the X-company-id header)."},
    {"name": "apiKey", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "An API key; the X-apiKey header or a bearer token is safer."},
]  # fmt: skip


@router.get(
    "/{sessionId}/stats/{userEmailOrId}",
    summary="A learner's statistics in a path session",
    responses=ERRORS,
    openapi_extra={"parameters": CREDENTIALS},
)
def learner_stats(
    request: Request,
    principal: Annotated[Principal, requires_company_key(SCOPE)],
    session_id: Annotated[str, Path(alias="sessionId", description="The path session's id.")],
    user: Annotated[
        str, Path(alias="userEmailOrId", description="The enrolled user's id or email.")
    ],
) -> Response:
    engine = app_state.engine(request)
    with engine.connect() as connection:
        session = _session(connection, principal, session_id)
        user_key = records.find_person(connection, principal, user) if "\x00" not in user else None
        if user_key is None:
            raise HTTPException(404, "user_not_found")
        found = records.learners(connection, principal, session.key, user_key=user_key)
        if not found:
            raise HTTPException(404, "user_not_enrolled")
        attempts = records.attempts(connection, principal.tenant_id, [user_key], session.steps)
    stats = path_stats(session.session, session.steps, found[0].enrollment,
                       attempts.get(user_key, []), _now())  # fmt: skip
    return Response(orjson.dumps(_shown(stats)), media_type="application/json")


@router.get(
    "/{sessionId}/stats",
    summary="Every enrolled learner's statistics in a path session",
    description="Not on the page: the same object for each enrolled learner, with `userId` "
    "and `email`, `pageSize` at a time; follow `nextPageToken`.",
    responses=ERRORS,
    openapi_extra={"parameters": CREDENTIALS},
)
def session_stats(
    request: Request,
    principal: Annotated[Principal, requires_company_key(SCOPE)],
    session_id: Annotated[str, Path(alias="sessionId", description="The path session's id.")],
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=MAX_PAGE_SIZE)] = 100,
    page_token: Annotated[str | None, Query(alias="pageToken", max_length=200)] = None,
) -> Response:
    engine = app_state.engine(request)
    cursors = app_state.cursors(request)
    with engine.connect() as connection:
        session = _session(connection, principal, session_id)
        bound = context("path_stats", principal.tenant_id, {"session": session.key})
        after = cursors.read(page_token, bound, parameter="pageToken") if page_token else None
        found = records.learners(
            connection, principal, session.key, after=after[0] if after else None,
            limit=page_size + 1,
        )  # fmt: skip
        page = found[:page_size]
        keys = [learner.user_key for learner in page]
        attempts = records.attempts(connection, principal.tenant_id, keys, session.steps)
    now = _now()
    body: dict[str, Any] = {"stats": [_listed(session, learner, attempts, now) for learner in page]}
    if len(found) > page_size:
        body["nextPageToken"] = cursors.make([page[-1].enrollment_key], bound)
    return Response(orjson.dumps(body), media_type="application/json")


def _session(connection: Any, principal: Principal, ref: str) -> SessionRecord:
    """The page: "If both the session and the user are incorrect, return
    path_session_not_found", so the session is looked up first."""
    session = (
        records.find_session(connection, principal.tenant_id, ref) if "\x00" not in ref else None
    )
    if session is None:
        raise HTTPException(404, "path_session_not_found")
    return session


def _listed(
    session: SessionRecord, learner: Learner, attempts: dict[int, Any], now: str
) -> dict[str, Any]:
    stats = path_stats(session.session, session.steps, learner.enrollment,
                       attempts.get(learner.user_key, []), now)  # fmt: skip
    return {"userId": learner.user_id, "email": learner.email, **_shown(stats)}


def _shown(stats: PathStats) -> dict[str, Any]:
    """The page's fields; `reason`, `completedAt`, `result` and `archivedAt` only when they
    apply, and `score` only once a step has one."""
    shown: dict[str, Any] = {"progress": stats.progress, "globalTime": stats.global_time_ms}
    if stats.score is not None:
        shown["score"] = stats.score
    shown["status"] = stats.status.value
    if stats.completed_at is not None:
        shown["completedAt"] = stats.completed_at
    detailed: dict[str, str] = {"type": stats.detailed_type.value}
    if stats.reason is not None:
        detailed["reason"] = stats.reason.value
    shown["detailedStatus"] = detailed
    if stats.result is not None:
        shown["result"] = stats.result.value
    if stats.archived_at is not None:
        shown["archivedAt"] = stats.archived_at
    return shown


def _now() -> str:
    return format_timestamp(datetime.now(UTC))
