"""The filters a report accepts, declared once and turned into SQL conditions.

A filter names its parameters and what kind of value each takes; the surface that reads
a request parses the text into those kinds (`Criteria`), and the filter turns the parsed
values into a condition. Ranges are inclusive at both ends and either end may be left
out: `completed_at_after` / `completed_at_before` everywhere.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from learnreport.reports.visibility import ByRow, named_groups, people_among

Criteria = Mapping[str, Any]
"""Parsed parameter values by parameter name; a parameter left out is absent."""


class Kind(StrEnum):
    """What a parameter's text means, which decides how it is parsed."""

    FROM = "from"
    """An instant or date, inclusive lower bound: a date alone means the start of that day."""
    UNTIL = "until"
    """An instant or date, inclusive upper bound: a date alone means the end of that day."""
    DAY_FROM = "day_from"
    """A calendar date, inclusive lower bound."""
    DAY_UNTIL = "day_until"
    """A calendar date, inclusive upper bound."""
    TEXT = "text"
    """One or more values, repeated or comma-separated; a row matching any of them passes."""
    FLAG = "flag"
    """true or false."""


@dataclass(frozen=True, slots=True)
class Span:
    """An inclusive range of canonical UTC text, as a dialect's body or query gave it;
    either end may be open."""

    start: str | None = None
    end: str | None = None

    def clause(self, column: ColumnElement[Any]) -> list[ColumnElement[bool]]:
        bounds = []
        if self.start is not None:
            bounds.append(column >= self.start)
        if self.end is not None:
            bounds.append(column <= self.end)
        return bounds


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: Kind
    description: str


class Filter(Protocol):
    def params(self) -> Iterator[Param]: ...

    def clause(self, criteria: Criteria, tenant_id: int) -> ColumnElement[bool] | None: ...


@dataclass(frozen=True)
class Between:
    """`{name}_after` and `{name}_before`, both inclusive, on a timestamp or date column."""

    name: str
    column: ColumnElement[Any]
    what: str
    day: bool = False

    def params(self) -> Iterator[Param]:
        low, high = (Kind.DAY_FROM, Kind.DAY_UNTIL) if self.day else (Kind.FROM, Kind.UNTIL)
        yield Param(f"{self.name}_after", low, f"Only rows whose {self.what} is at or after this.")
        yield Param(
            f"{self.name}_before", high, f"Only rows whose {self.what} is at or before this."
        )

    def clause(self, criteria: Criteria, tenant_id: int) -> ColumnElement[bool] | None:
        conditions = []
        if (after := criteria.get(f"{self.name}_after")) is not None:
            conditions.append(self.column >= after)
        if (before := criteria.get(f"{self.name}_before")) is not None:
            conditions.append(self.column <= before)
        return sa.and_(*conditions) if conditions else None


@dataclass(frozen=True)
class AnyOf:
    """Rows whose column equals one of the given values."""

    name: str
    column: ColumnElement[Any]
    description: str
    normalise: Callable[[str], str] = str

    def params(self) -> Iterator[Param]:
        yield Param(self.name, Kind.TEXT, self.description)

    def clause(self, criteria: Criteria, tenant_id: int) -> ColumnElement[bool] | None:
        values = criteria.get(self.name)
        if values is None:
            return None
        return self.column.in_(sorted({self.normalise(value) for value in values}))


@dataclass(frozen=True)
class Flag:
    name: str
    column: ColumnElement[bool]
    description: str

    def params(self) -> Iterator[Param]:
        yield Param(self.name, Kind.FLAG, self.description)

    def clause(self, criteria: Criteria, tenant_id: int) -> ColumnElement[bool] | None:
        value = criteria.get(self.name)
        if value is None:
            return None
        return self.column.is_(sa.true()) if value else self.column.is_(sa.false())


@dataclass(frozen=True)
class InGroups:
    """`group_name`: people who are members of a named group or of any group below it.

    Sub-groups are included because a group in these reports is a department: asking for
    "Sales" means everyone in Sales, whichever team inside Sales they sit in.
    """

    person: ColumnElement[int]
    name: str = "group_name"

    def params(self) -> Iterator[Param]:
        yield Param(
            self.name,
            Kind.TEXT,
            "Only people in the group of this name or in any group below it.",
        )

    def clause(self, criteria: Criteria, tenant_id: int) -> ColumnElement[bool] | None:
        return self.by_row(criteria, tenant_id, None)

    def by_row(
        self, criteria: Criteria, tenant_id: int, by_row: ByRow | None
    ) -> ColumnElement[bool] | None:
        """`clause` in the form `by_row` asks for, as `visibility.people_seen` gives it, for
        a keyset walk in key order."""
        groups = self.groups(criteria, tenant_id)
        return None if groups is None else people_among(self.person, tenant_id, groups, by_row)

    def groups(self, criteria: Criteria, tenant_id: int) -> sa.Select[tuple[int]] | None:
        """The groups named, whose people and those of the groups below them pass."""
        names = criteria.get(self.name)
        return None if names is None else named_groups(tenant_id, names)


@dataclass(frozen=True)
class Bound:
    """A parameter that feeds a bound parameter of the same name inside the report's
    source instead of filtering its rows, such as the reporting period of the training
    time report, which decides what is summed rather than which people are listed."""

    param: Param
    default: Any

    def value(self, criteria: Criteria) -> Any:
        return criteria.get(self.param.name, self.default)

    def params(self) -> Iterator[Param]:
        yield self.param

    def clause(self, criteria: Criteria, tenant_id: int) -> ColumnElement[bool] | None:
        return None
