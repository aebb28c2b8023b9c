"""The write surface: `POST /api/v2/ingest/{kind}` and `DELETE /api/v2/ingest/users/{id}`.

A platform pushes its records here in the shape the native reports return them, keyed by
its own ids. Each request is one all-or-nothing batch through the one write path
(`learnreport.ingest.upsert`), so the rules of a batch (validation of every record,
idempotent upserts, older `modified_at` skipped) are the write path's, not this module's;
this module reads the body within its limits, checks who may write what, and answers.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from learnreport.api import app_state
from learnreport.api.auth import requires_token_or_key
from learnreport.api.errors import problem
from learnreport.api.responses import OrjsonResponse
from learnreport.domain.access import Principal
from learnreport.ingest import KINDS, PEOPLE_KINDS, BatchRejected, RecordError, Summary, upsert
from learnreport.ingest.erasure import erase_person
from learnreport.ingest.kinds import TARGETS
from learnreport.ingest.records import MembershipRecord
from learnreport.store.engine import writing

PREFIX = "/api/v2/ingest"
KEY_HEADER = "X-API-Key"
NDJSON = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")
JSON = "application/json"

router = APIRouter(prefix=PREFIX, tags=["Ingest"])


class TooLarge(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed `limit` bytes: from its declared
    length before a byte is read, or while it streams in."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"The batch is {declared} bytes; at most {limit} bytes are accepted.")
    parts, size = [], 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise TooLarge(f"The batch is over {limit} bytes; at most {limit} are accepted.")
        parts.append(part)
    return b"".join(parts)


@dataclass
class Batch:
    records: list[Any]
    lines: list[int] | None
    """For NDJSON, the line of each record (counting from 1), by which errors name it too."""


def _batch(body: bytes, media_type: str, limit: int) -> tuple[Batch, list[RecordError]]:
    """The records of a JSON array or NDJSON body, counted against `limit` before a record
    is parsed, and an error for each NDJSON line that is not JSON."""
    if media_type in NDJSON:
        numbered = [(n, line) for n, line in enumerate(body.splitlines(), 1) if line.strip()]
        if len(numbered) > limit:
            raise TooLarge(
                f"The batch holds {len(numbered)} records; at most {limit} are accepted."
            )
        batch, errors = Batch([], [number for number, _ in numbered]), []
        for index, (_, line) in enumerate(numbered):
            try:
                batch.records.append(orjson.loads(line))
            except orjson.JSONDecodeError as error:
                batch.records.append(None)
                errors.append(RecordError(index, None, f"not JSON: {error}"))
        return batch, errors
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        return Batch([], None), [RecordError(0, None, f"the body is not JSON: {error}")]
    if not isinstance(parsed, list):
        return Batch([], None), [RecordError(0, None, "expected a JSON array of records")]
    if len(parsed) > limit:
        raise TooLarge(f"The batch holds {len(parsed)} records; at most {limit} are accepted.")
    return Batch(parsed, None), []


def _invalid(kind: str, batch: Batch, errors: list[RecordError]) -> Response:
    if not batch.records:
        detail = f"{errors[0].reason}; nothing was written."
    else:
        bad = len({error.index for error in errors})
        received = len(batch.records)
        detail = f"{bad} of {received} {kind} record(s) are not valid; nothing was written."
    listed = []
    for error in errors:
        item: dict[str, Any] = {"index": error.index, "field": error.field, "reason": error.reason}
        if batch.lines is not None and batch.records:
            item["line"] = batch.lines[error.index]
        listed.append(item)
    return problem(422, detail, errors=listed)


def _write(engine: sa.Engine, principal: Principal, kind: str, batch: Batch) -> Summary | Response:
    try:
        with writing(engine) as connection:
            tenant, limited_to = principal.tenant_id, principal.groups
            return upsert(connection, tenant, kind, batch.records, limited_to=limited_to)
    except BatchRejected as rejected:
        return _invalid(kind, batch, rejected.errors)
    except sa.exc.IntegrityError:
        return problem(
            409,
            "Another batch wrote some of the same records at the same time; nothing of this "
            "one was written. Send it again.",
        )


def _post(kind: str) -> Callable[..., Any]:
    scope = f"write.{kind}"

    async def write_batch(
        request: Request,
        principal: Annotated[Principal, requires_token_or_key(scope, KEY_HEADER)],
    ) -> Response:
        engine = app_state.engine(request)
        settings = app_state.settings(request)
        if principal.limited and kind not in PEOPLE_KINDS:
            return problem(
                403,
                f"This credential is limited to departments, so it writes people's records "
                f"only ({', '.join(PEOPLE_KINDS)}), not {kind}.",
            )
        media_type = request.headers.get("content-type", JSON).partition(";")[0].strip().lower()
        if media_type not in (JSON, *NDJSON):
            return problem(
                415, f"Send a JSON array ({JSON}) or NDJSON ({NDJSON[0]}), not {media_type!r}."
            )
        try:
            body = await _body(request, settings.batch_max_bytes)
            batch, errors = _batch(body, media_type, settings.batch_max_records)
        except TooLarge as error:
            return problem(413, error.detail)
        if errors:
            return _invalid(kind, batch, errors)
        answer = await run_in_threadpool(_write, engine, principal, kind, batch)
        if isinstance(answer, Response):
            return answer
        return OrjsonResponse(
            {
                "kind": kind,
                "received": answer.received,
                "inserted": answer.inserted,
                "updated": answer.updated,
                "unchanged": answer.unchanged,
                "skipped": answer.skipped,
            }
        )

    return write_batch


def _erase(
    request: Request,
    principal: Annotated[Principal, requires_token_or_key("write.users", KEY_HEADER)],
    id: Annotated[str, Path(description="The platform's id of the person to erase.")],
) -> Response:
    engine = app_state.engine(request)
    with writing(engine) as connection:
        removed = erase_person(connection, principal.tenant_id, id, principal.groups)
    if removed is None:
        return problem(404, f"No user with id {id!r}.")
    return OrjsonResponse({"id": id, "removed": removed, "rows": sum(removed.values())})


RECORDS: dict[str, type[msgspec.Struct]] = {
    **{kind: target.record for kind, target in TARGETS.items()},
    "memberships": MembershipRecord,
}
SCHEMAS, COMPONENTS = msgspec.json.schema_components(
    [list[RECORDS[kind]] for kind in KINDS], ref_template="#/components/schemas/{name}"
)
"""The body of each kind's route, from the very structs that validate it, and the
definitions they refer to, which `openapi_components` adds to the document."""


def openapi_components() -> dict[str, Any]:
    return COMPONENTS


ANSWERS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid access token or API key."},
    403: {"description": "The credential lacks the kind's write scope, or may not write it."},
    413: {"description": "Over the record or byte limit; nothing was read or written."},
    415: {"description": "Neither JSON nor NDJSON."},
    422: {"description": "Some records are not valid; the problem lists each one (its index, "
          "field and reason) and nothing was written."},
}  # fmt: skip

for _kind, _schema in zip(KINDS, SCHEMAS, strict=True):
    router.add_api_route(
        f"/{_kind}",
        _post(_kind),
        methods=["POST"],
        name=f"ingest:{_kind}",
        summary=f"Write a batch of {_kind.replace('_', ' ')}",
        description=f"Requires the scope `write.{_kind}`, from a bearer token or an API key "
        f"in `{KEY_HEADER}`. The body is a JSON array, or NDJSON (`{NDJSON[0]}`), of records "
        "keyed by the platform's own ids; the batch is written whole or not at all. A record "
        "whose `modified_at` is older than the stored one is skipped; sending a batch again "
        "changes nothing.",
        response_model=None,
        responses={200: {"description": "What the batch did, by count."}, **ANSWERS},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    JSON: {"schema": _schema},
                    NDJSON[0]: {"schema": _schema["items"]},
                },
            }
        },
    )

router.add_api_route(
    "/users/{id}",
    _erase,
    methods=["DELETE"],
    name="ingest:erase",
    summary="Erase a person",
    description="Requires the scope `write.users`. Removes the person and every record about "
    "them (memberships, profile fields, enrollments, results, xAPI statements) in one "
    "transaction: the right to erasure. Answers the rows removed, by table.",
    response_model=None,
    responses={
        200: {"description": "The rows removed, by table."},
        404: {"description": "No such person that this credential may see."},
        **{status: ANSWERS[status] for status in (401, 403)},
    },
)
