"""RFC 9457 problem details for every error the native surface answers.

A client gets the same shape for a bad parameter, a missing route and a crash; a crash
says nothing about its cause (the server log has the traceback), and a bad request names
each parameter at fault. FastAPI's 422 for validation errors becomes 400, the status the
published reporting APIs use for a bad parameter (none of them uses 422).

What the database will get over by itself (it is down, a statement ran past its timeout,
another writer holds the lock too long) is a 503 with `Retry-After`, decided here alone
(`unavailable`) for every surface, so that a client retries rather than reports a bug.
"""

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any

import psycopg
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from learnreport.api.responses import OrjsonResponse

logger = logging.getLogger(__name__)


class ProblemResponse(OrjsonResponse):
    media_type = "application/problem+json"


class InvalidParameters(Exception):
    """Raised by any layer that reads request parameters: answered 400, naming each one."""

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        super().__init__(errors)
        self.errors = list(errors)

    @classmethod
    def one(cls, parameter: str, reason: str) -> "InvalidParameters":
        return cls([(parameter, reason)])


def problem(
    status: int,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    """A problem with `type` about:blank, whose `title` must then be the status phrase."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    body.update(extensions)
    return ProblemResponse(body, status_code=status, headers=headers)


ErrorWriter = Callable[[Request, Exception], Response]


def answering_errors_with(write: ErrorWriter) -> type[APIRoute]:
    """A route class whose errors, from whichever layer raised them (the credential check,
    the parameters, the report), are answered by `write` in a dialect's own shape instead of
    as problem details."""

    class DialectRoute(APIRoute):
        writer = staticmethod(write)
        """How errors are answered on this route, also for those raised before routing."""

        def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
            handler = super().get_route_handler()

            async def answer(request: Request) -> Response:
                try:
                    return await handler(request)
                except (HTTPException, InvalidParameters, RequestValidationError) as error:
                    return write(request, error)
                except sa.exc.SQLAlchemyError as error:
                    answer = unavailable(error)
                    if answer is None:
                        raise
                    return write(request, answer)

            return answer

    return DialectRoute


def install(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidParameters, _invalid_parameters)
    app.add_exception_handler(sa.exc.SQLAlchemyError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)


class Refusal(HTTPException):
    """An HTTP error whose problem details carry members of their own (a limit's name and
    value); a dialect's writer, which knows only status and detail, still answers it."""

    def __init__(self, status: int, detail: str, **extensions: Any) -> None:
        super().__init__(status, detail)
        self.extensions = extensions


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        exc = HTTPException(
            405, exc.detail, headers={**(exc.headers or {}), "Allow": _allowed(request)}
        )
    return answer_http_error(exc)


def _allowed(request: Request) -> str:
    """Every method of every route on the request's path: Starlette's 405 names those of the
    first route only, and several routes share a path, one per method (`/xapi/statements`)."""
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.router.routes):
        route = context.original_route
        if route.matches(request.scope)[0] is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def answer_http_error(exc: HTTPException) -> Response:
    """Problem details for an HTTP error raised anywhere outside a dialect's routes."""
    if exc.status_code in (204, 304) or exc.status_code < 200:
        return Response(status_code=exc.status_code, headers=exc.headers)
    detail = exc.detail if isinstance(exc.detail, str) else None
    extensions = exc.extensions if isinstance(exc, Refusal) else {}
    return problem(exc.status_code, detail, headers=exc.headers, **extensions)


RETRY_BUSY = 1
"""Seconds to wait when another writer held the lock: writes take turns in well under one."""
RETRY_DOWN = 5
"""Seconds to wait when the database cannot be reached: a restart or a failover."""
RETRY_SLOW = 30
"""Seconds to wait when a statement ran past its timeout: the same question asked at once
would most likely run as long again."""

_SQLITE_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_SQLITE_DOWN = {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL}


def unavailable(error: sa.exc.SQLAlchemyError) -> HTTPException | None:
    """The 503 for a database error that is no fault of the request or of the server's
    code, or None for one that is (a bug, answered 500 and logged)."""
    if isinstance(error, sa.exc.TimeoutError):
        return _unavailable("Every database connection is in use; try again shortly.", RETRY_BUSY)
    if not isinstance(error, sa.exc.DBAPIError):
        return None
    cause = error.orig
    if isinstance(cause, sqlite3.Error):
        code = getattr(cause, "sqlite_errorcode", 0) & 0xFF
        if code == sqlite3.SQLITE_INTERRUPT:
            return _too_slow()
        if code in _SQLITE_BUSY:
            return _busy()
        if code in _SQLITE_DOWN:
            return _down()
        return None
    if isinstance(cause, psycopg.errors.QueryCanceled):
        return _too_slow()
    if isinstance(cause, psycopg.errors.LockNotAvailable):
        return _busy()
    if error.connection_invalidated or isinstance(cause, psycopg.OperationalError):
        return _down()
    return None


def _too_slow() -> HTTPException:
    return _unavailable(
        "The query ran longer than the server's statement timeout and was stopped; narrow "
        "the filters, page by cursor, or use the export.",
        RETRY_SLOW,
    )


def _busy() -> HTTPException:
    return _unavailable(
        "The database was busy with another write for too long; nothing was written. Send "
        "the request again.",
        RETRY_BUSY,
    )


def _down() -> HTTPException:
    return _unavailable("The database cannot be reached; try again shortly.", RETRY_DOWN)


def _unavailable(detail: str, seconds: int) -> HTTPException:
    return HTTPException(503, detail, headers={"Retry-After": str(seconds)})


async def _database_error(request: Request, exc: Exception) -> Response:
    """503 for what `unavailable` recognises, logged in a line; anything else is a bug,
    logged with its traceback and answered as any crash is."""
    assert isinstance(exc, sa.exc.SQLAlchemyError)
    answer = unavailable(exc)
    if answer is None:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return await _unexpected_error(request, exc)
    cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    logger.warning("%s %s: database unavailable (%s)", request.method, request.url.path,
                   type(cause).__name__)  # fmt: skip
    return await _http_error(request, answer)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return bad_request(
        [
            ("body" if error["type"] == "json_invalid" else _parameter(error["loc"]), error["msg"])
            for error in exc.errors()
        ]
    )


async def _invalid_parameters(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidParameters)
    return bad_request(exc.errors)


def bad_request(errors: Sequence[tuple[str, str]]) -> ProblemResponse:
    """400 naming every parameter at fault, as `errors: [{parameter, reason}]`."""
    detail = (
        f"{errors[0][0]}: {errors[0][1]}"
        if len(errors) == 1
        else f"{len(errors)} parameters are not valid."
    )
    return problem(
        400,
        detail,
        errors=[{"parameter": parameter, "reason": reason} for parameter, reason in errors],
    )


async def _unexpected_error(_request: Request, _exc: Exception) -> Response:
    """Starlette re-raises the exception after this answers, so the server logs it."""
    return problem(500, "The server could not complete the request.")


def _parameter(location: Sequence[str | int]) -> str:
    """`("query", "pageSize")` -> `pageSize`; `("body", "filters", 0, "op")` -> `filters[0].op`;
    a bad key of a mapping is named as the key itself."""
    name = ""
    for part in location[1:]:
        if part == "[key]":
            continue
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else part
    return name or str(location[0])
