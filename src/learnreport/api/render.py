"""Report rows as JSON, CSV, XML or NDJSON: a page of a list, one record, or a whole export.

Rows come straight from the database as column names and tuples, and go out without a
pass through pydantic: the database has typed them already, and an export holds millions.
In JSON and NDJSON each row becomes a struct of its columns (`_record_type`), filled in C
from the tuple and encoded by msgspec, with no dict in between.
One renderer per format knows its opening, its rows and its closing: an export is those
parts in turn, and a page or a record the same rows in the format's envelope, if it has one.
"""

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any, ClassVar, Final

import msgspec
from starlette.requests import Request

from learnreport.api.errors import InvalidParameters
from learnreport.store import csv_text

Row = Sequence[Any]

FORMATS: Final = ("json", "csv", "xml", "ndjson")


def negotiate(
    request: Request, allowed: Sequence[str] = FORMATS, default: str | None = None
) -> str:
    """The format to answer in: `?format=` if given, else the best the `Accept` header takes.

    `?format=` wins because a link must give the same answer in a browser, a spreadsheet's
    import dialog and a script. The `Accept` header counts q-values and the wildcards
    `*/*`, `text/*` and `application/*`; among equal q-values the more specific range, then
    the range listed first, then the order of `allowed` decides. An `Accept` header that
    takes none of the formats (BI tools send odd ones) gets JSON, or the first allowed
    format if JSON is not allowed, rather than 406: a report in the default format is more
    use to such a client than an error. A dialect whose page answers in another format by
    default names it as `default`, which also serves a request without an `Accept` header.
    """
    given = request.query_params.getlist("format")
    if len(given) > 1:
        raise InvalidParameters.one("format", "given more than once; give it once")
    if given:
        if given[0] not in allowed:
            raise InvalidParameters.one(
                "format",
                f"{given[0][:20]!r} is not offered here; expected one of {', '.join(allowed)}",
            )
        return given[0]
    if default is None:
        default = "json" if "json" in allowed else allowed[0]
    accept = ",".join(request.headers.getlist("accept"))
    return _from_accept(accept, allowed) or default


def render_page(
    fmt: str,
    columns: Sequence[str],
    rows: Sequence[Row],
    *,
    count: int | None,
    next: str | None,
    previous: str | None,
) -> bytes:
    """A page of a list; CSV and NDJSON carry the paging only in `paging_headers`."""
    return _RENDERERS[fmt].page(columns, rows, count, next, previous)


def render_one(fmt: str, columns: Sequence[str], row: Row) -> bytes:
    return _RENDERERS[fmt].one(columns, row)


def stream(fmt: str, columns: Sequence[str], batches: Iterable[Sequence[Row]]) -> Iterator[bytes]:
    """An export in bounded memory: the opening, one chunk per batch of rows, the closing.

    The opening goes out before the first batch is read, so an export without rows is still
    a whole document (a CSV header, `[]`, an empty `<results>`). Empty batches yield nothing.
    """
    renderer = _RENDERERS[fmt]
    if opening := renderer.opening(columns):
        yield opening
    first = True
    for rows in batches:
        if rows:
            yield renderer.rows(columns, rows, first=first)
            first = False
    if closing := renderer.closing():
        yield closing


def paging_headers(count: int | None, next: str | None, previous: str | None) -> dict[str, str]:
    """RFC 8288 `Link` and `X-Total-Count`: the paging of a format that has no envelope for it.

    Set for every format all the same, so a client can page the same way whatever it reads.
    """
    links = [f'<{url}>; rel="{rel}"' for url, rel in ((next, "next"), (previous, "prev")) if url]
    headers = {"Link": ", ".join(links)} if links else {}
    if count is not None:
        headers["X-Total-Count"] = str(count)
    return headers


class _Renderer(ABC):
    """One format. Without an envelope, paging travels in the HTTP headers alone."""

    media_type: ClassVar[str]

    def opening(self, columns: Sequence[str]) -> bytes:
        return b""

    @abstractmethod
    def rows(self, columns: Sequence[str], rows: Sequence[Row], *, first: bool) -> bytes:
        """`first` tells the batch that no other came before it, for formats with separators."""

    def closing(self) -> bytes:
        return b""

    def page(
        self,
        columns: Sequence[str],
        rows: Sequence[Row],
        count: int | None,
        next: str | None,
        previous: str | None,
    ) -> bytes:
        return self.opening(columns) + self.rows(columns, rows, first=True) + self.closing()

    def one(self, columns: Sequence[str], row: Row) -> bytes:
        return self.opening(columns) + self.rows(columns, [row], first=True) + self.closing()


class _Json(_Renderer):
    media_type = "application/json"

    def opening(self, columns: Sequence[str]) -> bytes:
        return b"["

    def rows(self, columns: Sequence[str], rows: Sequence[Row], *, first: bool) -> bytes:
        items = _ENCODER.encode(_records(columns, rows))[1:-1]
        return items if first else b"," + items

    def closing(self) -> bytes:
        return b"]"

    def page(
        self,
        columns: Sequence[str],
        rows: Sequence[Row],
        count: int | None,
        next: str | None,
        previous: str | None,
    ) -> bytes:
        """Without `count` under cursor paging, which does not count the rows."""
        body: dict[str, Any] = {} if count is None else {"count": count}
        body.update(next=next, previous=previous, results=_records(columns, rows))
        return _ENCODER.encode(body)

    def one(self, columns: Sequence[str], row: Row) -> bytes:
        return _ENCODER.encode(_records(columns, [row])[0])


class _Ndjson(_Renderer):
    media_type = "application/x-ndjson"

    def rows(self, columns: Sequence[str], rows: Sequence[Row], *, first: bool) -> bytes:
        return _ENCODER.encode_lines(_records(columns, rows))


class _Csv(_Renderer):
    """RFC 4180: `\\r\\n` ends each line, as the csv module's default and spreadsheets expect.

    The header row is the column names, neutralised like any other text. No byte-order
    mark: the media type names the charset, and many readers other than Excel take
    a mark for part of the first column's name.
    """

    media_type = "text/csv; charset=utf-8"

    def opening(self, columns: Sequence[str]) -> bytes:
        return csv_text.lines([columns])

    def rows(self, columns: Sequence[str], rows: Sequence[Row], *, first: bool) -> bytes:
        return csv_text.lines(rows)


class _Xml(_Renderer):
    media_type = "application/xml"

    def opening(self, columns: Sequence[str]) -> bytes:
        return _XML_DECLARATION + b"<results>"

    def rows(self, columns: Sequence[str], rows: Sequence[Row], *, first: bool) -> bytes:
        elements = [_element(column) for column in columns]
        parts: list[str] = []
        for row in rows:
            parts.append("<result>")
            for element, value in zip(elements, row, strict=True):
                _write(parts, element, value)
            parts.append("</result>")
        return "".join(parts).encode()

    def closing(self) -> bytes:
        return b"</results>"

    def page(
        self,
        columns: Sequence[str],
        rows: Sequence[Row],
        count: int | None,
        next: str | None,
        previous: str | None,
    ) -> bytes:
        parts = ["<response>"]
        if count is not None:
            _write(parts, _element("count"), count)
        _write(parts, _element("next"), next)
        _write(parts, _element("previous"), previous)
        parts.append("<results>")
        head = _XML_DECLARATION + "".join(parts).encode()
        return head + self.rows(columns, rows, first=True) + b"</results></response>"

    def one(self, columns: Sequence[str], row: Row) -> bytes:
        return _XML_DECLARATION + self.rows(columns, [row], first=True)


_RENDERERS: Final[dict[str, _Renderer]] = {
    "json": _Json(),
    "csv": _Csv(),
    "xml": _Xml(),
    "ndjson": _Ndjson(),
}

MEDIA_TYPES: Final = {fmt: renderer.media_type for fmt, renderer in _RENDERERS.items()}

_ACCEPTED: Final = {
    "json": ("application/json",),
    "csv": ("text/csv",),
    "xml": ("application/xml", "text/xml"),
    "ndjson": ("application/x-ndjson",),
}


def _from_accept(accept: str, allowed: Sequence[str]) -> str | None:
    ranges = _media_ranges(accept)
    candidates = [
        (preference, -rank, fmt)
        for rank, fmt in enumerate(allowed)
        for media_type in _ACCEPTED[fmt]
        if (preference := _preference(ranges, media_type)) is not None and preference[0] > 0
    ]
    return max(candidates)[2] if candidates else None


def _media_ranges(accept: str) -> list[tuple[str, str, float]]:
    """(type, subtype, q) of each range; one with a q that is not a number in [0, 1] is left out."""
    ranges = []
    for item in accept.split(","):
        media_range, *params = item.split(";")
        kind, _, subtype = media_range.strip().lower().partition("/")
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if kind and subtype and 0 <= q <= 1:
            ranges.append((kind, subtype, q))
    return ranges


def _preference(
    ranges: Sequence[tuple[str, str, float]], media_type: str
) -> tuple[float, int, int] | None:
    """(q, specificity, -position) of the most specific range that takes `media_type`.

    RFC 9110 gives the most specific range the say, so `text/csv;q=0, */*` refuses CSV.
    """
    kind, _, subtype = media_type.partition("/")
    found: tuple[int, int, float] | None = None
    for position, (range_kind, range_subtype, q) in enumerate(ranges):
        if (range_kind, range_subtype) == (kind, subtype):
            specificity = 2
        elif range_subtype == "*" and range_kind in (kind, "*"):
            specificity = 0 if range_kind == "*" else 1
        else:
            continue
        if found is None or specificity > found[0]:
            found = (specificity, -position, q)
    return None if found is None else (found[2], found[0], found[1])


_ENCODER: Final = msgspec.json.Encoder()


def _records(columns: Sequence[str], rows: Iterable[Row]) -> list[Any]:
    """Each row as a struct of `columns`, which encodes as a JSON object.

    A page of 100 rows of 22 columns took 111 microseconds to build as dicts and encode
    with orjson, and 31 as structs encoded with msgspec (CPython 3.11, orjson 3.13, msgspec
    0.23): a struct is filled from the tuple in C, without hashing a key. Columns that no
    struct can be named by (`_record_type`) go out as dicts, encoded alike.
    """
    record = _record_type(tuple(columns))
    if record is None:
        return [dict(zip(columns, row, strict=True)) for row in rows]
    return [record(*row) for row in rows]


@lru_cache(maxsize=1024)
def _record_type(columns: tuple[str, ...]) -> type[msgspec.Struct] | None:
    """A struct with a field per column, `c0`, `c1`, ..., encoded under the column's name,
    which need not be a Python identifier; None when msgspec refuses a name, as it does one
    holding a quote, a backslash or a control character (a tenant's custom profile field
    becomes a column of the users report under its own key)."""
    fields = [f"c{position}" for position in range(len(columns))]
    try:
        return msgspec.defstruct("Record", fields, rename=dict(zip(fields, columns, strict=True)))
    except ValueError:
        return None


_XML_DECLARATION: Final = b'<?xml version="1.0" encoding="utf-8"?>'
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")
_NOT_XML_CHAR: Final = r"\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_TEXT_SPECIAL: Final = re.compile(rf"[&<>\r{_NOT_XML_CHAR}]")
_ATTRIBUTE_SPECIAL: Final = re.compile(rf'[&<>"\t\n\r{_NOT_XML_CHAR}]')
_ENTITIES: Final = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\t": "&#9;",
    "\n": "&#10;",
    "\r": "&#13;",
}

_Tags = tuple[str, str, str]
"""The opening, closing and empty tags of one key."""

_ITEM: Final[_Tags] = ("<item>", "</item>", "<item/>")


@lru_cache(maxsize=4096)
def _element(name: str) -> _Tags:
    """`<name>`, or `<field name="...">` for a key that is no safe element name.

    Safe names are ASCII, without `:` (a namespace prefix to a namespace-aware parser) and
    not starting with `xml` (reserved): every parser agrees on those, whereas parsers differ
    on which other characters XML 1.0 allows in names. The cache is bounded because dict
    keys come from the data.
    """
    if _NAME.fullmatch(name) and name[:3].lower() != "xml":
        return f"<{name}>", f"</{name}>", f"<{name}/>"
    attribute = _escape(name, _ATTRIBUTE_SPECIAL)
    return f'<field name="{attribute}">', "</field>", f'<field name="{attribute}"/>'


def xml_text(text: str) -> str:
    """`text` safe as the content of an XML element, whatever characters it holds."""
    return _escape(text, _TEXT_SPECIAL)


def _escape(text: str, special: re.Pattern[str]) -> str:
    """Markup escaped, and characters XML 1.0 forbids replaced by U+FFFD.

    `\\r` is written as a reference, and in attributes tab and `\\n` too, because parsers
    normalise them when they stand as they are and would not give the text back.
    """
    if special.search(text) is None:
        return text
    return special.sub(lambda match: _ENTITIES.get(match.group(), "\ufffd"), text)


def _write(parts: list[str], element: _Tags, value: Any) -> None:
    """`value` as `element`: a dict as child elements, a list as repeated `<item>`."""
    opening, closing, empty = element
    kind = type(value)
    if kind is str:
        parts += (opening, _escape(value, _TEXT_SPECIAL), closing)
    elif value is None:
        parts.append(empty)
    elif kind is bool:
        parts += (opening, "true" if value else "false", closing)
    elif kind is int or kind is float:
        parts += (opening, repr(value), closing)
    elif isinstance(value, dict):
        parts.append(opening)
        for key, item in value.items():
            _write(parts, _element(key), item)
        parts.append(closing)
    elif isinstance(value, list):
        parts.append(opening)
        for item in value:
            _write(parts, _ITEM, item)
        parts.append(closing)
    else:
        parts += (opening, _escape(str(value), _TEXT_SPECIAL), closing)
