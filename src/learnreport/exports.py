"""Writing a report or a kind's records to a file: CSV, NDJSON or Parquet, a batch at a time.

A report's file holds what its HTTP export answers: the same columns read the same way,
through `reports.base.stream`, rendered by `api.render` (CSV formula neutralisation
included), as the tenant's owner sees them. A kind's file holds every record in the write
path's shape (`reports.records`) and imports again unchanged, its CSV text kept exact by
the rule of `ingest.files`. Parquet columns are typed (text, 64-bit integers and floats,
booleans); instants, dates and nested parts are text, the canonical text the store reads
back and compact JSON, so that a file's values are the same in every format. Each batch
becomes a Parquet row group as it arrives, so memory holds one batch.
"""

import csv
import io
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO

import msgspec.inspect as types
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from starlette.datastructures import QueryParams

from learnreport.api import params, render
from learnreport.domain.access import SCOPES, Principal, Role, RoleName
from learnreport.ingest.files import STRUCTS, field_names, text_cell
from learnreport.reports import NATIVE, base, records
from learnreport.reports.base import Report
from learnreport.reports.filters import Criteria
from learnreport.store.tenants import Tenant

Row = Sequence[Any]
Batches = Iterable[Sequence[Row]]
Reading = Generator[Sequence[Row]]
"""Batches read through a cursor: close it while its connection is open."""

_ARROW: dict[type, pa.DataType] = {
    types.StrType: pa.string(),
    types.EnumType: pa.string(),
    types.IntType: pa.int64(),
    types.FloatType: pa.float64(),
    types.BoolType: pa.bool_(),
}
_PYTHON: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
}


@dataclass(frozen=True)
class Layout:
    """The columns of a file, with their Parquet types, and how its CSV is written: from the
    batches, or for a report by the database (`reports.base.stream_csv`), told the rows of
    each chunk, as its HTTP export is written."""

    names: tuple[str, ...]
    arrow: tuple[pa.DataType, ...]
    csv: Callable[[Sequence[str], Batches], Iterator[bytes]]
    written: Callable[[Callable[[int], None]], Iterator[bytes]] | None = None


def kind(connection: sa.Connection, tenant_id: int, name: str) -> tuple[Layout, Reading]:
    """Every record of a kind, in the write path's shape."""
    info: Any = types.type_info(STRUCTS[name])
    fields = {field.name: field.type for field in info.fields}
    names = field_names(name)
    layout = Layout(names, tuple(_arrow_type(fields[n]) for n in names), _exact_csv)
    return layout, records.read(connection, tenant_id, name)


def report(
    connection: sa.Connection, tenant: Tenant, name: str, filters: Sequence[tuple[str, str]]
) -> tuple[Layout, Reading]:
    """A native report as the tenant's owner sees it, filtered as its HTTP export would be;
    raises `api.errors.InvalidParameters` naming each bad filter."""
    found: Report = NATIVE[name].define(connection, tenant.id)
    criteria = params.parse(QueryParams(list(filters)), found.params, ())
    arrow = tuple(_PYTHON.get(column.type, pa.string()) for column in found.columns)
    owner = _owner(tenant)

    def written(counted: Callable[[int], None]) -> Iterator[bytes]:
        return base.stream_csv(connection, found, owner, criteria, counted=counted)

    layout = Layout(tuple(found.names), arrow, partial(render.stream, "csv"), written)
    return layout, _rows(connection, found, owner, criteria)


def _rows(
    connection: sa.Connection, found: Report, principal: Principal, criteria: Criteria
) -> Reading:
    """The report's stream as a generator, whose closing closes the stream's cursor."""
    yield from base.stream(connection, found, principal, criteria)


def _owner(tenant: Tenant) -> Principal:
    return Principal(
        tenant_id=tenant.id,
        tenant=tenant.slug,
        credential="command line",
        role=RoleName(Role.OWNER),
        scopes=frozenset(SCOPES),
    )


def write(out: BinaryIO, fmt: str, layout: Layout, batches: Batches) -> Iterator[int]:
    """Write every batch to `out`, yielding the rows of each once written. A report's CSV
    is written by the database, as over HTTP, and leaves `batches` unread: the rows through
    Python made `learnreport export` of 817,676 modules 0.30x the `sqlite3` shell, the
    database's CSV 0.75-0.81x."""
    if fmt == "parquet":
        yield from _parquet(out, layout, batches)
        return
    sizes: deque[int] = deque()
    if fmt == "csv" and layout.written is not None:
        for chunk in layout.written(sizes.append):
            out.write(chunk)
            while sizes:
                yield sizes.popleft()
        return

    def counted() -> Batches:
        for rows in batches:
            sizes.append(len(rows))
            yield rows

    chunks = layout.csv if fmt == "csv" else partial(render.stream, fmt)
    for chunk in chunks(layout.names, counted()):
        out.write(chunk)
        while sizes:
            yield sizes.popleft()


def _exact_csv(names: Sequence[str], batches: Batches) -> Iterator[bytes]:
    """A kind's CSV, text kept exact (`ingest.files.text_cell`); RFC 4180 line ends, as the
    report's CSV has them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    for rows in batches:
        writer.writerows(map(text_cell, row) for row in rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _parquet(out: BinaryIO, layout: Layout, batches: Batches) -> Iterator[int]:
    schema = pa.schema(list(zip(layout.names, layout.arrow, strict=True)))
    text = [index for index, kind in enumerate(layout.arrow) if kind == pa.string()]
    with pq.ParquetWriter(out, schema) as writer:
        for rows in batches:
            if not rows:
                continue
            columns = [list(column) for column in zip(*rows, strict=True)]
            for index in text:
                columns[index] = [_as_text(value) for value in columns[index]]
            arrays = [pa.array(c, type=t) for c, t in zip(columns, layout.arrow, strict=True)]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
            yield len(rows)


def _as_text(value: Any) -> Any:
    """Nested parts as compact JSON; every other value of a text column is text already."""
    return orjson.dumps(value).decode() if isinstance(value, dict | list) else value


def _arrow_type(annotation: types.Type) -> pa.DataType:
    options = annotation.types if isinstance(annotation, types.UnionType) else (annotation,)
    found = [option for option in options if not isinstance(option, types.NoneType)]
    return _ARROW.get(type(found[0]), pa.string()) if len(found) == 1 else pa.string()
