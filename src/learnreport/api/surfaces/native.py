"""The native surface: Reporting API v2, `GET /api/v2/reports/{resource}/`.

TinQwise's page is the contract: seven resources, each readable with its own scope, as a
list, as one record (`/{id}/`), and here also as a full export (`/export/`) for the BI
tools and scripts that pull everything. This module only reads the request and shapes the
answer: the rows come from `learnreport.reports`, the access rules from `api.auth`, the
paging from `api.paging` and the formats from `api.render`.
"""

from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.responses import Response

from learnreport.api import app_state, inline, paging, params, render
from learnreport.api.auth import requires
from learnreport.api.errors import InvalidParameters, problem
from learnreport.api.streaming import ClosingStreamingResponse
from learnreport.domain.access import Principal
from learnreport.reports import NATIVE, base
from learnreport.reports.base import Report
from learnreport.reports.filters import Bound, Param
from learnreport.store.engine import exporting

PREFIX = "/api/v2/reports"
FORMAT = "format"


@dataclass(frozen=True)
class Resource:
    name: str
    scope: str
    title: str
    detail: str
    """What `/{id}/` identifies."""


RESOURCES = (
    Resource("users", "read.user.reports", "Users", "a user by its id"),
    Resource("groups", "read.group.reports", "Groups", "a group by its id"),
    Resource("modules", "read.modules.reports", "Modules (activities)",
             "one attempt of one user at one activity, by its id"),
    Resource("journeys", "read.journey.reports", "Journeys",
             "one user's journey or section record, by its id"),
    Resource("programmes", "read.programmes.reports", "Programmes",
             "one user's programme record, by its id"),
    Resource("skills", "read.skills.reports", "Skills",
             "one user's skill (badge) record, by its id"),
    Resource("training_time", "read.trainingtime.reports", "Training time",
             "the training time of a user, by the user's id"),
)  # fmt: skip

router = APIRouter(prefix=PREFIX)


def _report(engine: sa.Engine, resource: Resource, principal: Principal) -> Report:
    with engine.connect() as connection:
        return NATIVE[resource.name].define(connection, principal.tenant_id)


def _list(resource: Resource) -> Callable[..., Awaitable[Response]]:
    async def list_rows(
        request: Request,
        principal: Annotated[Principal, requires(resource.scope)],
    ) -> Response:
        engine = app_state.engine(request)
        shape = inline.shape_of(request, principal, "cursor", "page")
        return await inline.run(engine, _page, resource, request, principal, shape=shape)

    return list_rows


def _page(
    connection: sa.Connection,
    resource: Resource,
    request: Request,
    principal: Principal,
) -> Response:
    fmt = render.negotiate(request)
    cursors = app_state.cursors(request)
    total: int | None = None
    report = NATIVE[resource.name].define(connection, principal.tenant_id)
    criteria = params.parse(request.query_params, report.params, (*paging.PARAMS, FORMAT))
    context = paging.context(report.name, principal.tenant_id, criteria)
    page = paging.read(request.query_params, cursors, context)
    if page.cursor:
        rows, last = base.seek(
            connection, report, principal, criteria, after=page.after, limit=page.page_size
        )
        following = None if last is None else _link(request, cursor=cursors.make(last, context))
        preceding = None
    else:
        total = base.count(connection, report, principal, criteria)
        if page.page > 1 and page.offset >= total:
            raise InvalidParameters.one("page", f"page {page.page} is past the last page")
        rows = base.page(
            connection, report, principal, criteria, offset=page.offset, limit=page.page_size
        )
        following = _link(request, page=page.page + 1) if page.offset + len(rows) < total else None
        preceding = _link(request, page=page.page - 1) if page.page > 1 else None
    body = render.render_page(
        fmt, report.names, rows, count=total, next=following, previous=preceding
    )
    return Response(
        body,
        media_type=render.MEDIA_TYPES[fmt],
        headers=render.paging_headers(total, following, preceding),
    )


def _link(request: Request, **changes: Any) -> str:
    return str(request.url.include_query_params(**changes))


def _detail(resource: Resource) -> Callable[..., Awaitable[Response]]:
    async def get_one(
        request: Request,
        principal: Annotated[Principal, requires(resource.scope)],
        id: Annotated[str, Path(description=f"The id of {resource.detail}.")],
    ) -> Response:
        engine = app_state.engine(request)
        return await inline.run(engine, _record, resource, request, principal, id)

    return get_one


def _record(
    connection: sa.Connection, resource: Resource, request: Request, principal: Principal, id: str
) -> Response:
    fmt = render.negotiate(request)
    report = NATIVE[resource.name].define(connection, principal.tenant_id)
    criteria = params.parse(request.query_params, _bound(report), (FORMAT,))
    row = None if "\x00" in id else base.one(connection, report, principal, criteria, id)
    if row is None:
        return problem(404, f"No {resource.name} record with id {id!r}.")
    return Response(render.render_one(fmt, report.names, row), media_type=render.MEDIA_TYPES[fmt])


def _bound(report: Report) -> list[Param]:
    """The parameters that shape a record rather than filter a list (a reporting period)."""
    return [f.param for f in report.filters if isinstance(f, Bound)]


def _export(resource: Resource) -> Callable[..., Response]:
    def export_rows(
        request: Request,
        principal: Annotated[Principal, requires(resource.scope)],
    ) -> Response:
        engine = app_state.engine(request)
        fmt = render.negotiate(request)
        report = _report(engine, resource, principal)
        criteria = params.parse(request.query_params, report.params, (FORMAT,))

        def chunks() -> Generator[bytes, None, None]:
            with exporting(engine) as connection:
                if fmt == "csv":
                    yield from base.stream_csv(connection, report, principal, criteria)
                    return
                yield from render.stream(
                    fmt, report.names, base.stream(connection, report, principal, criteria)
                )

        return ClosingStreamingResponse(
            chunks(),
            media_type=render.MEDIA_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="{resource.name}.{fmt}"'},
        )

    return export_rows


PAGING = [
    {
        "name": "page",
        "in": "query",
        "required": False,
        "description": "The page to answer, counting from 1.",
        "schema": {"type": "integer", "minimum": 1, "default": 1},
    },
    {
        "name": "page_size",
        "in": "query",
        "required": False,
        "description": f"Rows per page, at most {paging.MAX_PAGE_SIZE}.",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": paging.MAX_PAGE_SIZE,
            "default": paging.DEFAULT_PAGE_SIZE,
        },
    },
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "Keyset paging, whose cost does not grow with depth: give it empty "
        "to start, then follow each answer's next link. With it, page is ignored and the "
        "answer has no count.",
        "schema": {"type": "string"},
        "allowEmptyValue": True,
    },
]


def _format(allowed: tuple[str, ...]) -> dict[str, Any]:
    return {
        "name": FORMAT,
        "in": "query",
        "required": False,
        "description": "The format of the answer; without it the Accept header decides, "
        "and JSON is the default.",
        "schema": {"type": "string", "enum": list(allowed)},
    }


def _row_model(resource: Resource) -> type[BaseModel]:
    definition = NATIVE[resource.name]
    fields: dict[str, Any] = {
        column.name: (
            (dict[str, Any] if column.type is dict else column.type) | None,
            Field(None, description=column.description),
        )
        for column in definition.columns
    }
    extra = "allow" if resource.name == "users" else "forbid"
    model: type[BaseModel] = create_model(
        "".join(part.title() for part in resource.name.split("_")) + "Row",
        __config__=ConfigDict(extra=extra),
        **fields,
    )
    return model


def _page_model(resource: Resource, row: type[BaseModel]) -> type[BaseModel]:
    model: type[BaseModel] = create_model(
        f"{row.__name__.removesuffix('Row')}Page",
        count=(int | None, Field(None, description="Rows matching, with page paging.")),
        next=(str | None, Field(None, description="The URL of the next page.")),
        previous=(str | None, Field(None, description="The URL of the previous page.")),
        results=(list[row], Field(description="The rows of this page.")),  # type: ignore[valid-type]
    )
    return model


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A parameter is not valid; the problem names each one."},
    401: {"description": "No valid access token."},
    403: {"description": "The token lacks this endpoint's scope."},
}


def _content(formats: tuple[str, ...]) -> dict[str, Any]:
    return {render.MEDIA_TYPES[fmt]: {} for fmt in formats if fmt != "json"}


def _install(resource: Resource) -> None:
    row = _row_model(resource)
    filters = [params.describe(p) for f in NATIVE[resource.name].filters for p in f.params()]
    bound = [
        params.describe(f.param) for f in NATIVE[resource.name].filters if isinstance(f, Bound)
    ]
    scope_note = f"Requires the scope `{resource.scope}`."
    tags = [resource.title]
    router.add_api_route(
        f"/{resource.name}/",
        _list(resource),
        methods=["GET"],
        name=f"{resource.name}:list",
        summary=f"List {resource.title.lower()}",
        description=f"{scope_note} Pages by `page` or by `cursor`.",
        tags=tags,
        response_model=None,
        responses={
            200: {"model": _page_model(resource, row), "content": _content(render.FORMATS)},
            **ERRORS,
        },
        openapi_extra={"parameters": [*filters, *PAGING, _format(render.FORMATS)]},
    )
    router.add_api_route(
        f"/{resource.name}/export/",
        _export(resource),
        methods=["GET"],
        name=f"{resource.name}:export",
        summary=f"Export every matching row of {resource.title.lower()}",
        description=f"{scope_note} Streams every matching row in one answer, in bounded "
        "memory: the route for BI tools and scripts that pull a whole report.",
        tags=tags,
        response_model=None,
        responses={200: {"model": list[row], "content": _content(render.FORMATS)}, **ERRORS},
        openapi_extra={"parameters": [*filters, _format(render.FORMATS)]},
    )
    router.add_api_route(
        f"/{resource.name}/{{id}}/",
        _detail(resource),
        methods=["GET"],
        name=f"{resource.name}:detail",
        summary=f"Get {resource.detail}",
        description=scope_note,
        tags=tags,
        response_model=None,
        responses={
            200: {"model": row, "content": _content(render.FORMATS)},
            404: {"description": "No such record that this token may see."},
            **ERRORS,
        },
        openapi_extra={"parameters": [*bound, _format(render.FORMATS)]},
    )


for _resource in RESOURCES:
    _install(_resource)
