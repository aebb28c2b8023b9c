"""Reading a report's filter parameters from a query string, and describing them in OpenAPI.

One parser for every report: each parameter's `Kind` decides how its text is read. Every
problem is collected and answered at once as a 400 naming each parameter, and a parameter
the report does not know is an error rather than silently ignored, so that a misspelt
filter can never return the unfiltered report.
"""

from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.datastructures import QueryParams

from learnreport.api.errors import InvalidParameters
from learnreport.reports.filters import Criteria, Kind, Param
from learnreport.store.types import format_timestamp

MAX_VALUES = 100
"""Values one list parameter may hold."""
MAX_LENGTH = 255
"""Characters one value may hold: as long as the longest identifier the store keeps."""

_LOWER = {Kind.FROM, Kind.DAY_FROM}
_UPPER = {Kind.UNTIL, Kind.DAY_UNTIL}


def parse(query: QueryParams, params: Iterable[Param], reserved: Collection[str]) -> Criteria:
    """The criteria in `query`; names in `reserved` (paging, format) are someone else's."""
    known = {param.name: param for param in params}
    criteria: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for name in dict.fromkeys(query.keys()):
        if name in reserved:
            continue
        param = known.get(name)
        if param is None:
            errors.append((name, f"unknown parameter; this report accepts {_names(known)}"))
            continue
        try:
            criteria[name] = _read(param, query.getlist(name))
        except ValueError as error:
            errors.append((name, str(error)))
    errors.extend(_inverted_ranges(criteria, known))
    if errors:
        raise InvalidParameters(errors)
    return criteria


def _names(known: dict[str, Param]) -> str:
    return ", ".join(sorted(known)) if known else "no filters"


def _read(param: Param, values: list[str]) -> Any:
    if param.kind is Kind.TEXT:
        return _texts(values)
    if len(values) > 1:
        raise ValueError("given more than once; give it once")
    text = values[0].strip()
    if param.kind is Kind.FLAG:
        return _flag(text)
    if param.kind in (Kind.DAY_FROM, Kind.DAY_UNTIL):
        return _day(text).isoformat()
    return instant_bound(text, upper=param.kind is Kind.UNTIL)


def _texts(values: list[str]) -> list[str]:
    items = [item.strip() for value in values for item in value.split(",")]
    items = [item for item in items if item]
    if not items:
        raise ValueError("needs a value")
    if len(items) > MAX_VALUES:
        raise ValueError(f"holds {len(items)} values; at most {MAX_VALUES} are allowed")
    if any(len(item) > MAX_LENGTH for item in items):
        raise ValueError(f"a value is longer than {MAX_LENGTH} characters")
    if any("\x00" in item for item in items):
        raise ValueError("a value holds a NUL character")
    return items


def _flag(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(f"{text[:40]!r} is not true or false")


def _day(text: str) -> date:
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return _aware(datetime.fromisoformat(text)).astimezone(UTC).date()
    except (ValueError, OverflowError):
        raise ValueError(f"{text[:40]!r} is not an ISO 8601 date such as 2025-01-31") from None


def instant_bound(text: str, *, upper: bool) -> str:
    """Canonical UTC text of the bound. A date alone covers its whole day; an instant with a
    fraction of a second is rounded outwards, as stored instants have whole seconds."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.max if upper else time.min, UTC)
        else:
            moment = _aware(datetime.fromisoformat(text))
        if moment.microsecond and not upper:
            moment += timedelta(seconds=1)
        return format_timestamp(moment.replace(microsecond=0))
    except (ValueError, OverflowError):
        raise ValueError(
            f"{text[:40]!r} is not an ISO 8601 date or date-time such as 2025-01-31 or "
            "2025-01-31T08:30:00Z"
        ) from None


def _aware(moment: datetime) -> datetime:
    """A date-time without an offset is taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _inverted_ranges(criteria: Criteria, known: dict[str, Param]) -> list[tuple[str, str]]:
    """A range whose end comes before its start matches nothing: surely a mistake."""
    errors = []
    lows = {name: value for name, value in criteria.items() if known[name].kind in _LOWER}
    for name, value in criteria.items():
        if known[name].kind not in _UPPER:
            continue
        for low_name in _partners(name):
            low = lows.get(low_name)
            if low is not None and value < low:
                errors.append((name, f"is earlier than {low_name}"))
    return errors


def _partners(name: str) -> list[str]:
    if name.endswith("_before"):
        return [name.removesuffix("_before") + "_after"]
    if name.endswith("_end"):
        return [name.removesuffix("_end") + "_start"]
    return []


def describe(param: Param) -> dict[str, Any]:
    """The OpenAPI parameter object of a filter."""
    schema: dict[str, Any]
    if param.kind is Kind.TEXT:
        item = {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH, "pattern": r"[^,\s]"}
        schema = {"type": "array", "items": item}
        schema["maxItems"] = MAX_VALUES
        note = " Repeat the parameter or separate values with commas; any value matches."
    elif param.kind is Kind.FLAG:
        schema, note = {"type": "boolean"}, ""
    elif param.kind in (Kind.DAY_FROM, Kind.DAY_UNTIL):
        schema, note = {"type": "string", "format": "date"}, " An ISO 8601 date; inclusive."
    else:
        schema = {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ],
            "examples": ["2025-01-31", "2025-01-31T08:30:00Z"],
        }
        note = (
            " An ISO 8601 date or date-time (UTC unless it has an offset); inclusive, and a "
            "date alone covers the whole day."
        )
    return {
        "name": param.name,
        "in": "query",
        "required": False,
        "description": param.description + note,
        "schema": schema,
        "style": "form",
        "explode": True,
    }
