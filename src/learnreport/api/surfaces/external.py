"""The adoption dialect: `POST /external/api/reports?api-version=1.0`.

AIHR's page is the contract: an API key in `X-AIHR-API-Key`, a `GetExternalAdoptionsQuery`
body, an `AdoptionListResponse` answer. This module reads the request and shapes the
answer; the learners and their sums come from `learnreport.reports.adoption`, the figures
from `learnreport.domain.adoption`. What the page leaves open is decided here:

- **The body.** An empty body is every default. `programSKUs` is "a comma-separated list of
  program SKUs": blanks and spaces around each SKU are ignored, and a list of blanks alone,
  like null, filters nothing. `userIds` null or empty filters nothing either. A field the
  page does not name is a 400 naming it, never ignored, because a misspelt filter would
  otherwise answer every learner as if filtered; the page's spelling is the only one.
  Numbers must be JSON integers and text JSON strings: `"page": "2"` is a 400.
- **Pages** count from 1. A page past the last is empty, with the `count` of all pages.
- **`api-version`** defaults to 1.0, "the requested API version"; any other value is a 400
  whose reason lists the supported versions, also sent in `api-supported-versions` with
  every answer, as ASP.NET API versioning does.
- **`filter`** echoes what was applied, always as strings, as the page's example does:
  `program` the names of the programmes the SKUs chose (empty when none matched), or,
  without `programSKUs`, of the programmes this page shows, as in the page's example;
  comma-separated, by name. `userIds` the uuids asked for, comma-separated (empty when
  none were).
"""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from learnreport.api import app_state
from learnreport.api.auth import requires_key
from learnreport.api.errors import InvalidParameters
from learnreport.api.responses import OrjsonResponse
from learnreport.domain import adoption as rules
from learnreport.domain.access import Principal
from learnreport.reports import adoption
from learnreport.reports.adoption import Listing, Scope

SCOPE = "read.adoption.reports"
HEADER = "X-AIHR-API-Key"
VERSIONS = ("1.0",)
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 500
MAX_PAGE = 2**31 - 1
MAX_IDS = 1000
MAX_SKUS_TEXT = 65_536

SORT = {"sorts": [{"direction": "asc", "property": "userName"}]}

router = APIRouter(prefix="/external/api", tags=["Adoption"])


class GetExternalAdoptionsQuery(BaseModel):
    """This object defines the filters and pagination for your report request."""

    model_config = ConfigDict(extra="forbid")

    programSKUs: StrictStr | None = Field(
        None,
        max_length=MAX_SKUS_TEXT,
        pattern="^[^\x00]*$",
        description="A comma-separated list of program SKUs to filter the report; spaces "
        "around each SKU and empty entries are ignored.",
        examples=["PA, HRBP"],
    )
    userIds: list[UUID] | None = Field(
        None,
        max_length=MAX_IDS,
        description=f"An array of user IDs (UUIDs) to filter the report, at most {MAX_IDS}.",
    )
    pageSize: StrictInt = Field(
        DEFAULT_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"The number of items to return per page, at most {MAX_PAGE_SIZE}.",
    )
    page: StrictInt = Field(
        1, ge=1, le=MAX_PAGE, description="The page number to retrieve, counting from 1."
    )


class AdoptionProgressViewModel(BaseModel):
    """Details the progress for a specific program."""

    programName: str = Field(description="The full name of the program.")
    abbreviation: str | None = Field(description="The abbreviated name of the program.")
    value: float = Field(description="The completion percentage of the program (e.g., 75).")
    timeSpentInMinutes: int = Field(description="The total time spent on the program.")
    timeLeftInMinutes: int = Field(description="The remaining time to complete the program.")
    totalDuration: str = Field(
        description="The total duration of the program, ISO 8601.", examples=["PT20H"]
    )
    date: str = Field(
        description="When the progress was last updated, ISO 8601 in UTC.",
        examples=["2025-10-03T14:30:00Z"],
    )


class AdoptionViewModel(BaseModel):
    """A learner and their progress on each program in scope."""

    userId: UUID = Field(description="A unique identifier for the learner.")
    userName: str | None = Field(description="The name of the learner.")
    userAvatarUrl: str | None = Field(description="A URL for the learner's profile picture.")
    totalHoursStudied: float = Field(
        description="The cumulative time the learner has spent on the programs, in hours."
    )
    progress: list[AdoptionProgressViewModel]


class AdoptionSort(BaseModel):
    direction: Literal["asc", "desc"]
    property: str


class AdoptionSorting(BaseModel):
    sorts: list[AdoptionSort] = Field(description="The order applied, first key first.")


class AdoptionFilter(BaseModel):
    program: str = Field(description="The names of the programs in scope, comma-separated.")
    userIds: str = Field(description="The user IDs asked for, comma-separated.")


class AdoptionListResponse(BaseModel):
    """The top-level response object containing the report data and pagination details."""

    pageSize: int
    page: int
    count: int = Field(description="The learners matching, across all pages.")
    data: list[AdoptionViewModel]
    sort: AdoptionSorting
    filter: AdoptionFilter


def api_version(
    version: Annotated[
        str,
        Query(
            alias="api-version",
            description="The requested API version.",
            json_schema_extra={"enum": list(VERSIONS)},
        ),
    ] = VERSIONS[0],
) -> str:
    if version not in VERSIONS:
        raise InvalidParameters.one(
            "api-version",
            f"{version[:20]!r} is not supported; the supported versions are " + ", ".join(VERSIONS),
        )
    return version


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The request parameters are invalid; the problem names each one."},
    401: {"description": "Authentication failed (e.g., invalid API key)."},
    403: {
        "description": "The API key does not have the necessary permissions, or the "
        "tenant's API access is off."
    },
}


@router.post(
    "/reports",
    response_model=AdoptionListResponse,
    responses=ERRORS,
    summary="Retrieve a paginated list of adoption reports",
    description=f"Requires an API key holding the scope `{SCOPE}`. Filters by user or "
    "program; learners are ordered by name.",
)
def reports(
    request: Request,
    principal: Annotated[Principal, requires_key(SCOPE, HEADER)],
    _version: Annotated[str, Depends(api_version)],
    body: Annotated[GetExternalAdoptionsQuery, Body()] = GetExternalAdoptionsQuery(),  # noqa: B008
) -> OrjsonResponse:
    engine = app_state.engine(request)
    skus = _skus(body.programSKUs)
    scope = Scope(skus)
    user_ids = None if not body.userIds else list(dict.fromkeys(str(u) for u in body.userIds))
    with engine.connect() as connection:
        listing = adoption.read(
            connection,
            principal,
            scope,
            user_ids,
            offset=(body.page - 1) * body.pageSize,
            limit=body.pageSize,
        )
        chosen = (
            None
            if skus is None
            else adoption.programme_names(connection, principal.tenant_id, scope)
        )
    data = _learners(listing)
    shown = {entry["programName"] for learner in data for entry in learner["progress"]}
    names = chosen if chosen is not None else sorted(shown)
    return OrjsonResponse(
        {
            "pageSize": body.pageSize,
            "page": body.page,
            "count": listing.count,
            "data": data,
            "sort": SORT,
            "filter": {
                "program": ",".join(names),
                "userIds": ",".join(user_ids or ()),
            },
        },
        headers={"api-supported-versions": ", ".join(VERSIONS)},
    )


def _skus(text: str | None) -> tuple[str, ...] | None:
    skus = tuple(dict.fromkeys(s for part in (text or "").split(",") if (s := part.strip())))
    if len(skus) > MAX_IDS:
        raise InvalidParameters.one("programSKUs", f"at most {MAX_IDS} SKUs")
    return skus or None


def _learners(listing: Listing) -> list[dict[str, Any]]:
    return [
        {
            "userId": uuid,
            "userName": name,
            "userAvatarUrl": avatar_url,
            "totalHoursStudied": rules.hours_studied(listing.seconds.get(learner, 0)),
            "progress": [_progress(row) for row in listing.programmes.get(learner, [])],
        }
        for learner, uuid, name, avatar_url in listing.learners
    ]


def _progress(row: Any) -> dict[str, Any]:
    spent = rules.minutes_spent(int(row.seconds))
    duration = int(row.duration)
    return {
        "programName": row.name,
        "abbreviation": row.abbreviation,
        "value": rules.completion(row.own_progress, int(row.items_done), int(row.items_total)),
        "timeSpentInMinutes": spent,
        "timeLeftInMinutes": rules.time_left(duration, spent),
        "totalDuration": rules.iso_duration(duration),
        "date": row.updated,
    }
