"""The Analyse dialect: `POST /analyse/results` and `POST /analyse/statistics`.

Skillhabit's page is the contract: a JSON body of targeting, states, enrollment types,
custom attributes and date ranges; `options` to page and order the results; statistics
"for high-level insights before fetching detailed results". Both endpoints read
`learnreport.reports.analyse` over exactly the same rows, so the statistics always agree
with the results. This module parses the body and shapes the answer, nothing more.
"""

from typing import Annotated, Any, Literal
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from learnreport.api import app_state, params
from learnreport.api.auth import requires
from learnreport.api.errors import InvalidParameters
from learnreport.api.responses import OrjsonResponse
from learnreport.domain.access import Principal
from learnreport.domain.states import AnalyseState, EnrollmentType
from learnreport.reports import analyse, base
from learnreport.reports.analyse import Query, Tally
from learnreport.reports.filters import Span

SCOPE = "read.analyse.reports"
MAX_IDS = 1000
MAX_LIMIT = 1000

router = APIRouter(prefix="/analyse", tags=["Analyse"])

Ids = Annotated[list[UUID], Field(max_length=MAX_IDS)]
Direction = Annotated[str, Field(pattern="^(?i:asc|desc)$")]
OrderField = Literal["updatedAt", "completedAt", "progress", "userName", "contentName"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomFieldFilter(Strict):
    customFieldId: UUID = Field(description="The custom attribute's id.")
    values: Annotated[list[Annotated[str, Field(max_length=1024)]], Field(min_length=1,
        max_length=MAX_IDS)] = Field(description="Any of these values matches.")  # fmt: skip


INSTANT: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "null"},
    ]
}
"""What `params.instant_bound` takes, as the document says it: a date or an RFC 3339 date-time."""


class DateRange(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: str | None = Field(
        None,
        alias="from",
        max_length=40,
        json_schema_extra=INSTANT,
        description="Inclusive; a date alone means the start of that day (UTC).",
        examples=["2025-01-01"],
    )
    to: str | None = Field(
        None,
        max_length=40,
        json_schema_extra=INSTANT,
        description="Inclusive; a date alone means the end of that day (UTC).",
        examples=["2025-06-30T23:59:59Z"],
    )


class Options(Strict):
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description="Results per request.")
    skip: int = Field(0, ge=0, le=2**31 - 1, description="Results to skip.")
    order: dict[OrderField, Direction] | None = Field(
        None,
        max_length=len(OrderField.__args__),
        description="Fields to order by, in this order, each ASC or DESC; ties are broken "
        "by person and content, so pages never repeat or drop a result.",
        examples=[{"updatedAt": "DESC"}],
    )


class Filters(Strict):
    groupIds: Ids | None = Field(None, description="People in these groups or below them.")
    userIds: Ids | None = None
    contentIds: Ids | None = None
    states: Annotated[list[AnalyseState], Field(max_length=5)] | None = None
    enrollmentTypes: Annotated[list[EnrollmentType], Field(max_length=3)] | None = Field(
        None,
        description="NOT_ENROLLED adds a row for every targeted person x content pair with "
        "neither an enrollment nor a result.",
    )
    customFields: Annotated[list[CustomFieldFilter], Field(max_length=50)] | None = Field(
        None, description="Every filter must match; within one, any value matches."
    )
    updatedAtDateRange: DateRange | None = None
    expiryDateRange: DateRange | None = None


class ResultsRequest(Filters):
    options: Options = Field(default_factory=Options)


class StatisticsRequest(Filters):
    groupBy: Literal["content", "group", "none"] = "none"


class ContentRef(BaseModel):
    id: str
    name: str
    type: str


class UserRef(BaseModel):
    id: str
    name: str | None
    email: str | None
    avatarUrl: str | None


class Result(BaseModel):
    content: ContentRef
    user: UserRef
    enrollmentType: EnrollmentType
    state: AnalyseState
    progress: float
    startedAt: str | None
    updatedAt: str | None
    completedAt: str | None
    expiresAt: str | None
    certificateIssuedAt: str | None


class ResultsPage(BaseModel):
    total: int
    limit: int
    skip: int
    results: list[Result]


class Figures(BaseModel):
    total: int
    states: dict[AnalyseState, int]
    enrollmentTypes: dict[EnrollmentType, int]
    completionRate: float = Field(description="APPROVED results over all results, 0 to 1.")
    averageProgress: float = Field(description="The mean progress, 0 to 100.")


class GroupFigures(Figures):
    id: str
    name: str


class Statistics(Figures):
    groupBy: Literal["content", "group", "none"]
    groups: list[GroupFigures]


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A field of the body is not valid; the problem names each one."},
    401: {"description": "No valid access token."},
    403: {"description": "The token lacks the scope, or the tenant's API access is off."},
}


@router.post("/results", response_model=ResultsPage, responses=ERRORS)
def results(
    request: Request,
    principal: Annotated[Principal, requires(SCOPE)],
    body: Annotated[ResultsRequest, Body()] = ResultsRequest(),  # noqa: B008
) -> OrjsonResponse:
    """Each person's latest state on each content, filtered, ordered and paged."""
    engine = app_state.engine(request)
    report = analyse.report(principal.tenant_id, _query(body), principal.groups)
    options = body.options
    order = [(name, direction.upper()) for name, direction in (options.order or {}).items()]
    with engine.connect() as connection:
        total = base.count(connection, report, principal, {})
        rows = base.page(
            connection,
            report,
            principal,
            {},
            offset=options.skip,
            limit=options.limit,
            order=analyse.ordering(report, order),  # type: ignore[arg-type]
        )
    return OrjsonResponse(
        {
            "total": total,
            "limit": options.limit,
            "skip": options.skip,
            "results": [_result(row) for row in rows],
        }
    )


@router.post("/statistics", response_model=Statistics, responses=ERRORS)
def statistics(
    request: Request,
    principal: Annotated[Principal, requires(SCOPE)],
    body: Annotated[StatisticsRequest, Body()] = StatisticsRequest(),  # noqa: B008
) -> OrjsonResponse:
    """The figures of the Analyse dashboard over the same rows as `/analyse/results`."""
    engine = app_state.engine(request)
    query = _query(body)
    with engine.connect() as connection:
        tallies = analyse.statistics(connection, query, principal, body.groupBy)
    keyed: dict[tuple[str, str], list[Tally]] = {}
    for tally in tallies:
        if tally.key is not None:
            keyed.setdefault(tally.key, []).append(tally)
    # Each row has one content, so the contents' figures add up to the whole; a person may
    # be in several groups or none, so the whole of a grouping by group is its own query.
    overall = tallies if body.groupBy != "group" else _overall(engine, query, principal)
    return OrjsonResponse(
        {
            **_figures(overall),
            "groupBy": body.groupBy,
            "groups": [
                {"id": key[0], "name": key[1], **_figures(found)}
                for key, found in sorted(keyed.items(), key=lambda item: (item[0][1], item[0][0]))
            ],
        }
    )


def _overall(engine: sa.Engine, query: Query, principal: Principal) -> list[Tally]:
    with engine.connect() as connection:
        return analyse.statistics(connection, query, principal, "none")


def _figures(tallies: list[Tally]) -> dict[str, Any]:
    total = sum(tally.rows for tally in tallies)
    states = dict.fromkeys((state.value for state in AnalyseState), 0)
    types = dict.fromkeys((kind.value for kind in EnrollmentType), 0)
    for tally in tallies:
        states[tally.state] += tally.rows
        types[tally.enrollment_type] += tally.rows
    progress = sum(tally.progress for tally in tallies)
    return {
        "total": total,
        "states": states,
        "enrollmentTypes": types,
        "completionRate": states[AnalyseState.APPROVED.value] / total if total else 0.0,
        "averageProgress": round(progress / total, 2) if total else 0.0,
    }


def _query(body: Filters) -> Query:
    def ids(values: list[UUID] | None) -> tuple[str, ...] | None:
        return None if values is None else tuple(str(value) for value in values)

    return Query(
        group_ids=ids(body.groupIds),
        user_ids=ids(body.userIds),
        content_ids=ids(body.contentIds),
        states=None if body.states is None else tuple(body.states),
        enrollment_types=None if body.enrollmentTypes is None else tuple(body.enrollmentTypes),
        custom_fields=tuple(
            (str(chosen.customFieldId), tuple(chosen.values)) for chosen in body.customFields or ()
        ),
        updated=_span("updatedAtDateRange", body.updatedAtDateRange),
        expiry=_span("expiryDateRange", body.expiryDateRange),
    )


def _span(name: str, given: DateRange | None) -> Span | None:
    if given is None:
        return None
    errors: list[tuple[str, str]] = []
    bounds: dict[str, str | None] = {"from": None, "to": None}
    for key, text, upper in (("from", given.start, False), ("to", given.to, True)):
        if text is None:
            continue
        try:
            bounds[key] = params.instant_bound(text.strip(), upper=upper)
        except ValueError as error:
            errors.append((f"{name}.{key}", str(error)))
    if errors:
        raise InvalidParameters(errors)
    return Span(bounds["from"], bounds["to"])


def _result(row: Any) -> dict[str, Any]:
    return {
        "content": {"id": row.contentId, "name": row.contentName, "type": row.contentType},
        "user": {
            "id": row.userId,
            "name": row.userName,
            "email": row.userEmail,
            "avatarUrl": row.userAvatarUrl,
        },
        "enrollmentType": row.enrollmentType,
        "state": row.state,
        "progress": row.progress,
        "startedAt": row.startedAt,
        "updatedAt": row.updatedAt,
        "completedAt": row.completedAt,
        "expiresAt": row.expiresAt,
        "certificateIssuedAt": row.certificateIssuedAt,
    }
