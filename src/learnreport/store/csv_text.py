"""CSV text, as Python writes it and as the database writes it, by the same rules.

The rules: RFC 4180 lines ending in `\\r\\n`; the csv module's QUOTE_MINIMAL (a field is
quoted when it holds a character of `QUOTED`, and `"` is doubled); None as an empty cell;
booleans `true`/`false`; floats as Python's `repr`; dicts and lists as compact JSON; and
text that a spreadsheet would run as a formula (one starting with a character of
`FORMULA_STARTS`) gets a leading `'` (OWASP CSV injection). `lines` applies them in Python;
`csv_field` compiles them into PostgreSQL's SQL, so that an export's lines can be written
by the database itself, and into SQLite's as the values Arrow joins into lines
(`store.csv_stream`).
"""

import csv
import io
import re
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any, Final

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement

from learnreport.store.types import canonical_text

FORMULA_STARTS: Final = frozenset("=+-@\t\r")
QUOTED: Final = frozenset(',"\r\n')
"""The delimiter, the quote character and the line breaks: what QUOTE_MINIMAL quotes for."""

_SURROGATES: Final = re.compile(r"[\ud800-\udfff]")


def lines(rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(map(cell, row) for row in rows)
    return encoded(buffer.getvalue())


def encoded(text: str) -> bytes:
    """UTF-8, with a lone surrogate (which no UTF-8 holds) replaced by U+FFFD."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text).encode()


def cell(value: Any) -> Any:
    """A value as the csv module should write it; `None` is left to the csv module, which
    writes an empty cell. Numbers are never text here, so `-3` stays a number."""
    kind = type(value)
    if kind is str:
        return "'" + value if value[:1] in FORMULA_STARTS else value
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


class Kind(Enum):
    """The Python type of a report column, as far as its CSV text is concerned."""

    TEXT = str
    INTEGER = int
    FLOAT = float
    BOOLEAN = bool


class csv_field(ColumnElement[str]):
    """One value as the text of its CSV field, written by PostgreSQL: the text before
    quoting, which `COPY ... (FORMAT csv)` quotes by the same rules as the csv module, and
    NULL for an empty cell, because COPY quotes an empty string. A value is read as its
    type has it read in a SELECT list (`store.types`' timestamps as canonical text).
    """

    inherit_cache = False
    type = sa.String()

    def __init__(self, expression: ColumnElement[Any], kind: Kind) -> None:
        as_selected = expression.type.column_expression(expression)
        self.value = expression if as_selected is None else as_selected
        self.canonical = isinstance(as_selected, canonical_text)
        self.kind = kind


def _literal(text: str) -> str:
    """An SQL list of `text`'s characters, control characters through `chr()`."""
    return ", ".join(
        f"chr({ord(c)})" if c < " " else "'" + c.replace("'", "''") + "'" for c in sorted(text)
    )


_FORMULA_POSTGRESQL: Final = _literal("".join(FORMULA_STARTS))


@compiles(csv_field, "postgresql")
def _csv_field_postgresql(element: csv_field, compiler: SQLCompiler, **kw: Any) -> str:
    value = f"({compiler.process(element.value, **kw)})"
    if element.canonical:
        # `to_char`'s canonical instant or date: never empty, never quoted, starting with a
        # digit. Read once, as `to_char` costs.
        return value
    if element.kind is Kind.TEXT:
        return (
            f"CASE WHEN left({value}, 1) IN ({_FORMULA_POSTGRESQL}) THEN '''' || {value} "
            f"ELSE NULLIF({value}, '') END"
        )
    if element.kind is Kind.INTEGER:
        return f"{value}::text"
    if element.kind is Kind.BOOLEAN:
        return f"CASE {value} WHEN true THEN 'true' WHEN false THEN 'false' END"
    # float8 text is the shortest decimal that gives the value back, as Python's repr, with
    # extra_float_digits = 1 (set by `store.csv_stream`). Only its layout differs: an integral
    # value has no `.0`, [1e15, 1e16) is written with an exponent, and the special values
    # have other names.
    digits = f"translate(split_part({value}::text, 'e', 1), '-.', '')"
    return (
        f"CASE WHEN abs({value}) < 1e15::float8 THEN CASE WHEN {value} = trunc({value}) "
        f"THEN {value}::text || '.0' ELSE {value}::text END "
        f"WHEN abs({value}) < 1e16::float8 THEN "
        f"CASE WHEN {value} < 0 THEN '-' ELSE '' END || CASE WHEN length({digits}) <= 16 "
        f"THEN rpad({digits}, 16, '0') || '.0' "
        f"ELSE left({digits}, 16) || '.' || substr({digits}, 17) END "
        f"WHEN {value} = 'NaN'::float8 THEN 'nan' "
        f"WHEN {value} = 'Infinity'::float8 THEN 'inf' "
        f"WHEN {value} = '-Infinity'::float8 THEN '-inf' "
        f"ELSE {value}::text END"
    )


_FORMULA_SQLITE: Final = ", ".join(
    f"char({ord(c)})" if c < " " else f"'{c}'" for c in sorted(FORMULA_STARTS)
)


@compiles(csv_field, "sqlite")
def _csv_field_sqlite(element: csv_field, compiler: SQLCompiler, **kw: Any) -> str:
    """The value as `store.csv_stream` reads it into Arrow: text with its formula guard,
    booleans as words and integers as text, NULL as an empty string; a float as a float,
    0.0 for NULL (`float_is_null` tells them apart).

    No column may hold NULL or change type, because the ADBC driver types each column by
    its first batch of rows, takes a column with no value there for integers and refuses a
    value of another type later. An empty string loses nothing, as the csv module writes
    None and "" alike; floats stay floats for Python's `repr` to write, as SQLite's text for
    a float is not always the shortest that gives it back.
    """
    value = f"({compiler.process(element.value, **kw)})"
    if element.kind is Kind.FLOAT:
        return f"coalesce(CAST({value} AS REAL), 0.0)"
    if element.kind is Kind.TEXT and not element.canonical:
        formula = f"substr({value}, 1, 1) IN ({_FORMULA_SQLITE})"
        return f"CASE WHEN {formula} THEN '''' || {value} ELSE coalesce({value}, '') END"
    if element.kind is Kind.BOOLEAN:
        return f"CASE {value} WHEN 1 THEN 'true' WHEN 0 THEN 'false' ELSE '' END"
    if element.kind is Kind.INTEGER:
        return f"coalesce(CAST({value} AS TEXT), '')"
    return f"coalesce({value}, '')"


def float_is_null(field: csv_field) -> ColumnElement[bool]:
    """Whether the value of a float field is NULL, which SQLite's form writes as 0.0."""
    return field.value.is_(None)
