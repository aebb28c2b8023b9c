"""RFC 9457 problem details for every error the native surface answers.

A client gets the same shape for a bad parameter, a missing route and a crash; a crash
says nothing about its cause (the server log has the traceback), and a bad request names
each parameter at fault. FastAPI's 422 for validation errors becomes 400, the status the
published reporting APIs use for a bad parameter (none of them uses 422).
"""

from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import Response

from learnreport.api.responses import OrjsonResponse


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
        def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
            handler = super().get_route_handler()

            async def answer(request: Request) -> Response:
                try:
                    return await handler(request)
                except (HTTPException, InvalidParameters, RequestValidationError) as error:
                    return write(request, error)

            return answer

    return DialectRoute


def install(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidParameters, _invalid_parameters)
    app.add_exception_handler(Exception, _unexpected_error)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304) or exc.status_code < 200:
        return Response(status_code=exc.status_code, headers=exc.headers)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(exc.status_code, detail, headers=exc.headers)


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
