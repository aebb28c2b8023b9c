"""Files of one kind of record, in CSV, NDJSON or Parquet: their columns, cells and reading.

A file holds records in exactly the shape the write path accepts (`ingest.records`), so a
kind's export imports again unchanged. Reading is a stream, a line or a row group at a time,
so a file of any size reads in bounded memory. Each record comes out paired with its line
(its row, in Parquet) as the write path's struct, validated by msgspec, or as a `LineError`
naming the line, the field and the reason: the importer decides what to do with either.
Problems with the file as a whole (an unknown, missing or repeated column) raise
`FileRejected` before the first record comes out.

CSV cells are text, so a kind's CSV follows one rule both ways to keep text exact: text that
is empty or starts with `=`, `+`, `-`, `@`, tab, carriage return or `'` is written with a
leading `'` (so a spreadsheet never runs it as a formula), and reading strips exactly one
leading `'` from a text field. An empty cell is therefore always a missing value, never
empty text. Nested parts (lists and objects) are compact JSON in their cell; numbers,
booleans (`true`, `false`) and instants are read as msgspec reads strings (`strict=False`).
"""

import csv
import io
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
import msgspec.inspect as types
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from learnreport.ingest.errors import from_validation
from learnreport.ingest.kinds import KINDS, TARGETS
from learnreport.ingest.records import MembershipRecord, Record

FORMATS = ("csv", "ndjson", "parquet")
SUFFIXES = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".parquet": "parquet"}

STRUCTS: dict[str, type[msgspec.Struct]] = {
    kind: TARGETS[kind].record if kind in TARGETS else MembershipRecord for kind in KINDS
}
"""The struct of each kind's records, in the order of `ingest.KINDS`."""

QUOTED = frozenset("=+-@\t\r'")
"""Text starting with one of these gets a leading `'` in a kind's CSV."""


class Cell(Enum):
    """How a field's CSV cell is read."""

    TEXT = "text"
    NESTED = "nested"
    PLAIN = "plain"


@dataclass(frozen=True, slots=True)
class LineError:
    """Why the record at a line (a row, in Parquet) cannot be imported."""

    line: int
    field: str | None
    reason: str


class FileRejected(Exception):
    """The file cannot be read as the kind's records at all; nothing was written."""


Entry = tuple[int, Any]
"""A record's line and its struct, or the `LineError` that says why there is none."""


def format_of(path: Path) -> str:
    """The format a file's suffix names."""
    found = SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise ValueError(
            f"cannot tell the format of {path.name} from its suffix "
            f"({', '.join(SUFFIXES)}); name it with --format"
        )
    return found


def unit(fmt: str) -> str:
    """What a position in a file of this format counts: Parquet has rows, not lines."""
    return "row" if fmt == "parquet" else "line"


def field_names(kind: str) -> tuple[str, ...]:
    """A kind's columns: the struct's fields, with the stamps every record shares last."""
    names = STRUCTS[kind].__struct_fields__
    shared = Record.__struct_fields__
    return (*(name for name in names if name not in shared), *(n for n in names if n in shared))


def _cells(kind: str) -> dict[str, Cell]:
    """How each field's cell is read, from the struct's annotations."""
    found = {}
    info: Any = types.type_info(STRUCTS[kind])
    for field in info.fields:
        options = field.type.types if isinstance(field.type, types.UnionType) else (field.type,)
        if any(isinstance(option, types.ListType | types.DictType) for option in options):
            found[field.name] = Cell.NESTED
        elif any(isinstance(option, types.StrType | types.EnumType) for option in options):
            found[field.name] = Cell.TEXT
        else:
            found[field.name] = Cell.PLAIN
    return found


def text_cell(value: Any) -> Any:
    """A value as a kind's CSV cell; `None` is left to the csv module, which writes nothing.

    Applied to every `str`: besides text, only instants and dates are strings, and they
    start with a digit, so the rule never touches them and never needs undoing.
    """
    kind = type(value)
    if kind is str:
        return "'" + value if not value or value[0] in QUOTED else value
    if kind is bool:
        return "true" if value else "false"
    if kind is dict or kind is list:
        return orjson.dumps(value).decode()
    return value


@contextmanager
def opened(path: Path, fmt: str, kind: str) -> Iterator[Iterator[Entry]]:
    """The file's entries, read as they are consumed; the file closes on leaving."""
    if fmt == "parquet" and not path.is_file():
        raise FileRejected(f"{path} is not a regular file: a Parquet file is read from its end")
    with path.open("rb") as stream:
        entries = _READERS[fmt](stream, kind)
        try:
            yield entries
        finally:
            entries.close()


def _ndjson(stream: BinaryIO, kind: str) -> Generator[Entry]:
    decoder = msgspec.json.Decoder(STRUCTS[kind])
    for number, line in enumerate(stream, start=1):
        if line.isspace():
            continue
        try:
            yield number, decoder.decode(line)
        except msgspec.ValidationError as error:
            yield number, _invalid(number, error)
        except msgspec.DecodeError as error:
            yield number, LineError(number, None, f"not a JSON object: {error}")


def _csv(stream: BinaryIO, kind: str) -> Generator[Entry]:
    with io.TextIOWrapper(stream, encoding="utf-8-sig", newline="") as text:
        yield from _csv_rows(csv.reader(text, strict=True), kind)


def _csv_rows(rows: Any, kind: str) -> Iterator[Entry]:
    try:
        header = next(rows)
    except StopIteration:
        raise FileRejected(
            "line 1: the file is empty; a CSV file starts with a header row"
        ) from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise FileRejected(f"line 1: not a CSV header: {error}") from None
    _check_columns(kind, header, "line 1 (the header)")
    reading = [_cells(kind)[name] for name in header]
    end = rows.line_num
    while True:
        start = end + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            end = rows.line_num
            yield start, LineError(start, None, f"not CSV: {error}")
            continue
        except UnicodeDecodeError as error:
            yield start, LineError(start, None, f"not UTF-8, so nothing after it is read: {error}")
            return
        end = rows.line_num
        if not row:
            continue
        if len(row) != len(header):
            reason = f"has {len(row)} cells where the header has {len(header)}"
            yield start, LineError(start, None, reason)
            continue
        yield start, _from_cells(start, kind, header, reading, row)


def _from_cells(
    line: int, kind: str, header: Sequence[str], reading: Sequence[Cell], row: Sequence[str]
) -> Any:
    record: dict[str, Any] = {}
    for name, how, cell in zip(header, reading, row, strict=True):
        if not cell:
            continue
        if how is Cell.TEXT:
            record[name] = cell[1:] if cell[0] == "'" else cell
        elif how is Cell.NESTED:
            try:
                record[name] = orjson.loads(cell)
            except orjson.JSONDecodeError as error:
                return LineError(line, name, f"not JSON: {error}")
        else:
            record[name] = cell
    try:
        return msgspec.convert(record, STRUCTS[kind], strict=False)
    except msgspec.ValidationError as error:
        return _invalid(line, error)


def _parquet(stream: BinaryIO, kind: str) -> Generator[Entry]:
    try:
        parquet = pq.ParquetFile(stream)
    except (pa.ArrowException, OSError) as error:
        raise FileRejected(f"not a Parquet file: {error}") from None
    _check_columns(kind, parquet.schema_arrow.names, "the file's columns")
    nested = {name for name, how in _cells(kind).items() if how is Cell.NESTED}
    struct = STRUCTS[kind]
    number = 0
    for batch in parquet.iter_batches():
        for values in batch.to_pylist():
            number += 1
            yield number, _from_row(number, struct, nested, values)


def _from_row(
    line: int, struct: type[msgspec.Struct], nested: set[str], values: dict[str, Any]
) -> Any:
    """A Parquet row: typed already, with nested parts as JSON text (or as lists and maps,
    as other tools may write them)."""
    record = {name: value for name, value in values.items() if value is not None}
    for name in nested & record.keys():
        if isinstance(record[name], str):
            try:
                record[name] = orjson.loads(record[name])
            except orjson.JSONDecodeError as error:
                return LineError(line, name, f"not JSON: {error}")
    try:
        return msgspec.convert(record, struct)
    except msgspec.ValidationError as error:
        return _invalid(line, error)


def _check_columns(kind: str, names: Sequence[str], where: str) -> None:
    known = field_names(kind)
    required = [field.name for field in msgspec.structs.fields(STRUCTS[kind]) if field.required]
    problems = []
    if unknown := [name for name in names if name not in known]:
        problems.append(
            f"unknown column {', '.join(map(repr, unknown))}; "
            f"{kind} have the columns {', '.join(known)}"
        )
    if missing := [name for name in required if name not in names]:
        problems.append(f"missing the required column {', '.join(map(repr, missing))}")
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        problems.append(f"the column {', '.join(map(repr, repeated))} appears more than once")
    if problems:
        raise FileRejected(f"{where}: {'; '.join(problems)}")


def _invalid(line: int, error: msgspec.ValidationError) -> LineError:
    found = from_validation(line, error)
    return LineError(line, found.field, found.reason)


_READERS = {"csv": _csv, "ndjson": _ndjson, "parquet": _parquet}
