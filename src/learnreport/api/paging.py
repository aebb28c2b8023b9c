"""Paging for every list: numbered pages for people, cursors for machines.

`page` and `page_size` give numbered pages with a `count`, the way a person browses and
the way Django REST framework clients expect (`count`, `next`, `previous`, `results`).
Their cost grows with depth, since the database skips every row before the page.

`cursor` gives keyset pages: the cursor holds the key of the last row sent, so the next
page starts with an index seek and costs the same a million rows deep as on the first
page. A request with an empty `cursor=` starts at the beginning; each answer's `next`
link carries the following cursor, and `page` is ignored. Cursors are signed
(HMAC-SHA256 with a server secret) and bound to the report, the tenant and the filters
they were made for, so that a client can neither forge one nor carry one over to another
query.
"""

import base64
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.datastructures import QueryParams

from learnreport.api.errors import InvalidParameters
from learnreport.reports.filters import Criteria

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
PARAMS = ("page", "page_size", "cursor")


@dataclass(frozen=True, slots=True)
class Paging:
    page_size: int
    page: int = 1
    cursor: bool = False
    after: tuple[Any, ...] | None = None
    """The key of the last row already sent, when paging by cursor."""

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def read(query: QueryParams, cursors: "Cursors", context: bytes) -> Paging:
    errors: list[tuple[str, str]] = []
    page_size = number(query, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, errors)
    page = number(query, "page", 1, None, errors)
    token = query.get("cursor")
    if errors:
        raise InvalidParameters(errors)
    if token is None:
        return Paging(page_size, page=page)
    return Paging(page_size, cursor=True, after=cursors.read(token, context) if token else None)


def number(
    query: QueryParams, name: str, default: int, most: int | None, errors: list[tuple[str, str]]
) -> int:
    """A whole number of at least 1 (and at most `most`), or `default` when absent; what is
    wrong with it joins `errors`, so that every bad parameter is named at once."""
    values = query.getlist(name)
    if not values:
        return default
    text = values[-1].strip()
    if len(values) > 1:
        errors.append((name, "given more than once; give it once"))
    elif not text.isdigit() or len(text) > 9 or int(text) < 1:
        errors.append((name, f"{text[:20]!r} is not a whole number of at least 1"))
    elif most is not None and int(text) > most:
        errors.append((name, f"{text} is more than the largest allowed, {most}"))
    else:
        return int(text)
    return default


def context(report: str, tenant_id: int, criteria: Criteria) -> bytes:
    """What a cursor is bound to: the report, the tenant and the filters."""
    return orjson.dumps([report, tenant_id, criteria], option=orjson.OPT_SORT_KEYS)


class Cursors:
    """Makes and checks signed cursors with one server secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def make(self, after: Sequence[Any], context: bytes) -> str:
        payload = _encode(orjson.dumps(list(after)))
        return f"{payload}.{_encode(self._sign(payload, context))}"

    def read(self, token: str, context: bytes, *, parameter: str = "cursor") -> tuple[Any, ...]:
        payload, _, signature = token.partition(".")
        expected = _encode(self._sign(payload, context))
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise InvalidParameters.one(
                parameter,
                "not a cursor of this report with these filters; start again with cursor= "
                "(empty) or follow the next link",
            )
        after = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return tuple(after)

    def _sign(self, payload: str, context: bytes) -> bytes:
        message = payload.encode() + b"\x00" + context
        return hmac.digest(self._secret, message, "sha256")[:16]


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
