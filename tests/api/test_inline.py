"""`api.inline`: quick reads on the event loop, the rest in a worker thread."""

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from learnreport.api import inline
from learnreport.store.engine import QuickReads
from learnreport.store.schema import users
from learnreport.store.tenants import Tenant

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])

SLOW = sa.text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
    "SELECT count(*) FROM n"
)
"""Three million steps of the SQLite virtual machine: about a second, far past the budget."""


class Calls:
    """Where and with which engine each call of a read ran."""

    def __init__(self, read: Callable[[sa.Connection], Any]) -> None:
        self.read = read
        self.threads: list[int] = []
        self.engines: list[sa.Engine] = []

    def __call__(self, engine: sa.Engine) -> Any:
        self.threads.append(threading.get_ident())
        self.engines.append(engine)
        with engine.connect() as connection:
            return self.read(connection)


def run_on_a_loop(engine: sa.Engine, calls: Calls) -> tuple[Any, int]:
    """The read's answer through `inline.run`, and the event loop's thread."""

    async def main() -> tuple[Any, int]:
        return await inline.run(engine, calls), threading.get_ident()

    return asyncio.run(main())


def count_people(connection: sa.Connection) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())


@SQLITE_ONLY
def test_a_quick_read_on_sqlite_runs_on_the_event_loop_with_the_quick_reader(
    engine: sa.Engine, tenant: Tenant
) -> None:
    calls = Calls(count_people)

    answer, loop = run_on_a_loop(engine, calls)

    assert answer == 0
    assert calls.threads == [loop]
    assert calls.engines[0] is not engine
    assert calls.engines[0].url == engine.url


@SQLITE_ONLY
def test_a_read_past_the_budget_is_stopped_and_run_again_in_a_worker_thread(
    engine: sa.Engine,
) -> None:
    calls = Calls(lambda connection: connection.execute(SLOW).scalar_one())

    answer, loop = run_on_a_loop(engine, calls)

    assert answer == 3_000_000
    assert calls.threads[0] == loop
    assert calls.threads[1] != loop
    assert calls.engines == [calls.engines[0], engine]


@SQLITE_ONLY
def test_a_read_past_the_budget_leaves_the_loop_within_a_few_budgets(engine: sa.Engine) -> None:
    reads = QuickReads(engine.url)
    try:
        with (
            pytest.raises(sa.exc.OperationalError, match="interrupted"),
            reads.within(inline.BUDGET) as quick,
            quick.connect() as connection,
        ):
            started = time.monotonic()
            connection.execute(SLOW)
        spent = time.monotonic() - started
    finally:
        reads.engine.dispose()
    assert spent < 50 * inline.BUDGET


@SQLITE_ONLY
def test_the_quick_reader_writes_nothing_and_its_refusal_is_not_retried(
    engine: sa.Engine, tenant: Tenant
) -> None:
    def write(connection: sa.Connection) -> None:
        connection.execute(users.insert().values(tenant_id=tenant.id, id=1, external_id="u1"))
        connection.commit()

    calls = Calls(write)

    with pytest.raises(sa.exc.OperationalError, match="readonly"):
        run_on_a_loop(engine, calls)

    assert len(calls.threads) == 1
    with engine.connect() as connection:
        assert count_people(connection) == 0


@SQLITE_ONLY
def test_an_error_of_the_read_itself_is_raised_at_once(engine: sa.Engine) -> None:
    calls = Calls(lambda connection: connection.execute(sa.text("SELECT * FROM nowhere")))

    with pytest.raises(sa.exc.OperationalError, match="no such table"):
        run_on_a_loop(engine, calls)

    assert len(calls.threads) == 1


@pytest.mark.parametrize("backend", ["postgresql"])
def test_on_postgresql_every_read_runs_in_a_worker_thread_with_the_engine_given(
    engine: sa.Engine, tenant: Tenant
) -> None:
    calls = Calls(count_people)

    answer, loop = run_on_a_loop(engine, calls)

    assert answer == 0
    assert calls.threads != [loop]
    assert calls.engines == [engine]


@SQLITE_ONLY
def test_the_quick_reader_is_closed_with_its_engine(engine: sa.Engine) -> None:
    run_on_a_loop(engine, Calls(count_people))
    reads = inline._quick_reads(engine)
    assert reads is not None
    used = reads.engine.pool

    engine.dispose()

    assert reads.engine.pool is not used
