"""Timestamps and days read back as the same canonical text from SQLite and PostgreSQL.

Reports filter these columns with text bounds and show their text, so the text must be one
fixed-width UTC form whatever was written and whichever database answers. The expected text here is
built with `isoformat`, independently of the formatter under test.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learnreport.store.types import Day, Timestamp

scratch = sa.MetaData()
moments = sa.Table(
    "moments",
    scratch,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", Timestamp),
    sa.Column("day", Day),
)

offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
aware_datetimes = st.datetimes(
    # The day's margin keeps offsets in range.
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=offsets,
).map(lambda value: value.replace(microsecond=0))

# One database serves all of a test's examples: each example writes in a transaction that
# it rolls back, so examples never see each other's rows.
database_property = settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    scratch.create_all(engine)
    with engine.connect() as connection:
        yield connection


def test_timestamp_reads_back_any_offset_as_canonical_utc_text(
    connection: sa.Connection,
) -> None:
    written = [
        datetime(2025, 1, 31, 10, 30, tzinfo=timezone(timedelta(hours=2))),
        datetime(2025, 1, 30, 22, 30, tzinfo=timezone(timedelta(hours=-10))),
        datetime(2025, 1, 31, 8, 30, tzinfo=UTC),
        "2025-01-31T08:30:00Z",
    ]

    assert _round_trip(connection, "at", written) == ["2025-01-31T08:30:00Z"] * len(written)


def test_timestamp_takes_naive_datetimes_as_utc(connection: sa.Connection) -> None:
    assert _round_trip(connection, "at", [datetime(2025, 1, 31, 8, 30)]) == ["2025-01-31T08:30:00Z"]


def test_timestamp_drops_fractions_of_a_second(connection: sa.Connection) -> None:
    written = [datetime(2025, 1, 31, 8, 30, 59, 999_999, tzinfo=UTC)]

    assert _round_trip(connection, "at", written) == ["2025-01-31T08:30:59Z"]


def test_timestamp_keeps_null(connection: sa.Connection) -> None:
    assert _round_trip(connection, "at", [None]) == [None]


def test_timestamp_writes_years_before_1000_with_four_digits(connection: sa.Connection) -> None:
    """Such years are real input: .NET platforms send 0001-01-01 for 'no date'."""
    written = [datetime(1, 1, 1, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)]

    assert _round_trip(connection, "at", written) == [
        "0001-01-01T00:00:00Z",
        "0999-12-31T23:59:59Z",
    ]


@database_property
@given(value=aware_datetimes)
def test_timestamp_round_trips_every_aware_datetime(
    connection: sa.Connection, value: datetime
) -> None:
    assert _round_trip(connection, "at", [value]) == [_canonical(value)]


@database_property
@given(
    values=st.lists(aware_datetimes, min_size=1, max_size=8),
    bounds=st.lists(aware_datetimes, min_size=2, max_size=2),
)
def test_timestamp_text_bounds_select_and_order_as_instants_do(
    connection: sa.Connection, values: list[datetime], bounds: list[datetime]
) -> None:
    low, high = sorted(bound.astimezone(UTC) for bound in bounds)
    instants = [value.astimezone(UTC) for value in values]
    expected = sorted(
        (instant, number) for number, instant in enumerate(instants) if low <= instant < high
    )

    selected = _select_range(connection, "at", values, _canonical(low), _canonical(high))

    assert selected == [number for _, number in expected]


def test_day_reads_back_dates_and_canonical_text_alike(connection: sa.Connection) -> None:
    written = [date(2025, 1, 31), "2025-01-31", date(1, 1, 1), None]

    assert _round_trip(connection, "day", written) == [
        "2025-01-31",
        "2025-01-31",
        "0001-01-01",
        None,
    ]


@database_property
@given(
    values=st.lists(st.dates(), min_size=1, max_size=8),
    bounds=st.lists(st.dates(), min_size=2, max_size=2),
)
def test_day_round_trips_and_text_bounds_select_and_order_as_dates_do(
    connection: sa.Connection, values: list[date], bounds: list[date]
) -> None:
    low, high = sorted(bounds)
    expected = sorted((day, number) for number, day in enumerate(values) if low <= day < high)

    assert _round_trip(connection, "day", values) == [value.isoformat() for value in values]
    selected = _select_range(connection, "day", values, low.isoformat(), high.isoformat())
    assert selected == [number for _, number in expected]


def _canonical(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def _round_trip(connection: sa.Connection, column: str, values: list[object]) -> list[object]:
    """Write each value in its own row and read the column back, undoing the write after."""
    try:
        _insert(connection, column, values)
        return list(
            connection.execute(sa.select(moments.c[column]).order_by(moments.c.id)).scalars()
        )
    finally:
        connection.rollback()


def _select_range(
    connection: sa.Connection, column: str, values: list[object], low: str, high: str
) -> list[int]:
    """The numbers of the rows whose value lies in [low, high), in order of value then number."""
    selected = moments.c[column]
    try:
        _insert(connection, column, values)
        query = (
            sa.select(moments.c.id)
            .where(selected >= low, selected < high)
            .order_by(selected, moments.c.id)
        )
        return list(connection.execute(query).scalars())
    finally:
        connection.rollback()


def _insert(connection: sa.Connection, column: str, values: list[object]) -> None:
    rows = [{"id": number, column: value} for number, value in enumerate(values)]
    connection.execute(moments.insert(), rows)
