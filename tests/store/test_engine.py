"""The engine's protections against slow statements and long waits, on both databases.

A slow statement costs nothing to make: PostgreSQL sleeps, SQLite counts a recursive CTE.
"""

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from learnreport.store.engine import create_engine, exporting, writing

TIMEOUT_MS = 50
COUNT = 50_000_000
"""Rows of SQLite's recursive count: seconds of work, which the timeout must cut short."""


def slow(backend: str) -> sa.TextClause:
    if backend == "postgresql":
        return sa.text("SELECT pg_sleep(2)")
    return sa.text(
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {COUNT}) "
        "SELECT count(*) FROM n"
    )


def brief(backend: str) -> sa.TextClause:
    """A statement that outlives `TIMEOUT_MS` but not by much: 0.1 to 0.3 s."""
    if backend == "postgresql":
        return sa.text("SELECT pg_sleep(0.2)")
    return sa.text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) "
        "SELECT count(*) FROM n"
    )


@pytest.fixture
def timed(engine: sa.Engine) -> Iterator[sa.Engine]:
    """The test's database through an engine whose statements time out after 50 ms."""
    other = create_engine(engine.url, statement_timeout_ms=TIMEOUT_MS)
    yield other
    other.dispose()


@pytest.fixture
def impatient(engine: sa.Engine) -> Iterator[sa.Engine]:
    """The test's database through an engine whose statements wait 50 ms for a lock."""
    other = create_engine(engine.url, lock_timeout_ms=TIMEOUT_MS)
    yield other
    other.dispose()


def test_a_statement_past_the_statement_timeout_is_stopped_soon_after(
    timed: sa.Engine, backend: str
) -> None:
    started = time.monotonic()
    with pytest.raises(sa.exc.OperationalError) as raised, timed.connect() as connection:
        connection.execute(slow(backend)).scalar()
    assert time.monotonic() - started < 1.5
    assert "interrupted" in str(raised.value) or "statement timeout" in str(raised.value)


def test_the_timeout_is_per_statement_and_the_connection_serves_the_next(
    timed: sa.Engine, backend: str
) -> None:
    with timed.connect() as connection:
        with pytest.raises(sa.exc.OperationalError):
            connection.execute(slow(backend)).scalar()
        connection.rollback()
        for _ in range(3):
            time.sleep(TIMEOUT_MS / 1000)
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1


ROWS = sa.text(
    f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {COUNT}) "
    "SELECT i FROM n"
)
"""Rows enough to read for seconds: the timeout stops the statement while they are read."""


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_connection_whose_statement_was_stopped_midway_is_not_given_out_again(
    timed: sa.Engine,
) -> None:
    """The driver would prepare the stopped statement anew at each later execution on it."""
    with timed.connect() as connection:
        connection.execute(sa.text("SELECT 1")).scalar()
        kept = connection.connection.driver_connection
    with timed.connect() as connection:
        assert connection.connection.driver_connection is kept
        with pytest.raises(sa.exc.OperationalError, match="interrupted"):
            connection.execute(ROWS).all()
    with timed.connect() as connection:
        assert connection.connection.driver_connection is not kept
        assert connection.execute(sa.text("SELECT 1")).scalar() == 1


def test_an_export_connection_runs_past_the_statement_timeout(
    timed: sa.Engine, backend: str
) -> None:
    with timed.connect() as connection, pytest.raises(sa.exc.OperationalError):
        connection.execute(brief(backend)).scalar()
    with exporting(timed) as connection:
        connection.execute(brief(backend)).scalar()
    with timed.connect() as connection, pytest.raises(sa.exc.OperationalError):
        connection.execute(brief(backend)).scalar()


def test_without_a_statement_timeout_a_statement_runs_to_its_end(
    engine: sa.Engine, backend: str
) -> None:
    with engine.connect() as connection:
        connection.execute(brief(backend)).scalar()


def test_a_writer_waiting_past_the_lock_timeout_fails_instead_of_queueing_on(
    impatient: sa.Engine, backend: str
) -> None:
    lock = "SELECT pg_advisory_xact_lock(7)" if backend == "postgresql" else "SELECT 1"
    with writing(impatient) as holder:
        holder.execute(sa.text(lock))
        holder.execute(sa.text("UPDATE tenants SET name = name"))
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError) as raised, writing(impatient) as waiter:
            waiter.execute(sa.text(lock))
            waiter.execute(sa.text("UPDATE tenants SET name = name"))
        assert time.monotonic() - started < 1.5
    assert "locked" in str(raised.value) or "lock timeout" in str(raised.value)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_plans_every_execution_of_a_prepared_statement_for_its_own_values(
    engine: sa.Engine,
) -> None:
    query = sa.text("SELECT count(*) FROM users WHERE tenant_id = :tenant")
    with engine.connect() as connection:
        for tenant in range(20):
            connection.execute(query, {"tenant": tenant})
        plans = connection.exec_driver_sql(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
        ).all()
    assert plans, "psycopg prepared nothing: the test no longer sees the plans it checks"
    assert all(generic == 0 and custom > 0 for generic, custom in plans)
