"""Column types that read and write the same Python values on SQLite and PostgreSQL.

Timestamps travel through the store as canonical UTC strings, `2025-01-31T08:30:00Z`
(fixed width, second precision), and dates as `2025-01-31`. On SQLite they are stored as
that text, so ordering and range filters are plain string comparisons and a `sqlite3 -csv`
or Datasette reader sees the same values as the API. On PostgreSQL they are native
`timestamptz` and `date` columns, formatted back into the same text in the SELECT list, so
reports never need to know which database answered.
"""

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


def format_timestamp(value: datetime) -> str:
    """The canonical text of an aware datetime (naive ones are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
    )


class canonical_text(FunctionElement[str]):
    """Renders a timestamp or date column as canonical text on PostgreSQL; as-is elsewhere."""

    inherit_cache = True
    type = sa.String()

    def __init__(self, column: ColumnElement[Any], pattern: str) -> None:
        self.pattern = pattern
        super().__init__(column)


@compiles(canonical_text)
def _canonical_text_default(element: canonical_text, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(next(iter(element.clauses)), **kw))


@compiles(canonical_text, "postgresql")
def _canonical_text_postgresql(element: canonical_text, compiler: Any, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    if element.pattern == "date":
        return f"to_char({column}, 'YYYY-MM-DD')"
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"


class Timestamp(sa.types.TypeDecorator[str]):
    """A UTC instant: canonical text on SQLite, `timestamptz` on PostgreSQL."""

    impl = sa.String(20)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(sa.String(20))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime):
            return format_timestamp(value)
        return value

    def column_expression(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return canonical_text(column, "timestamp")


class Day(sa.types.TypeDecorator[str]):
    """A calendar date: `YYYY-MM-DD` text on SQLite, `date` on PostgreSQL."""

    impl = sa.String(10)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.Date())
        return dialect.type_descriptor(sa.String(10))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        return value

    def column_expression(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return canonical_text(column, "date")


JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
