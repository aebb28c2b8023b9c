"""`api.inline`: quick reads on the event loop, the rest in a worker thread."""

import asyncio
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from learnreport.api import inline, tokens
from learnreport.config import Settings
from learnreport.domain.access import Principal, Role, RoleName
from learnreport.store import credentials
from learnreport.store.engine import QUICK_CONNECTIONS, QuickReads
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

    def __call__(self, connection: sa.Connection) -> Any:
        self.threads.append(threading.get_ident())
        self.engines.append(connection.engine)
        return self.read(connection)


def run_on_a_loop(engine: sa.Engine, calls: Calls, shape: Hashable = None) -> tuple[Any, int]:
    """The read's answer through `inline.run`, and the event loop's thread."""

    async def main() -> tuple[Any, int]:
        return await inline.run(engine, calls, shape=shape), threading.get_ident()

    return asyncio.run(main())


def slow_read() -> Calls:
    return Calls(lambda connection: connection.execute(SLOW).scalar_one())


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
    calls = slow_read()

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
def test_a_quick_connection_stopped_by_the_budget_is_not_given_out_again(
    engine: sa.Engine,
) -> None:
    reads = QuickReads(engine.url)
    try:
        with reads.engine.connect() as connection:
            stopped = connection.connection.driver_connection
            with pytest.raises(sa.exc.OperationalError), reads.within(inline.BUDGET):
                connection.execute(SLOW)
        with reads.engine.connect() as connection:
            assert connection.connection.driver_connection is not stopped
            assert count_people(connection) == 0
    finally:
        reads.engine.dispose()


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


@SQLITE_ONLY
def test_a_shape_that_outran_the_budget_goes_straight_to_a_thread_the_next_time(
    engine: sa.Engine,
) -> None:
    shape = ("slow shape", uuid.uuid4())
    first, again = slow_read(), slow_read()

    run_on_a_loop(engine, first, shape)
    answer, loop = run_on_a_loop(engine, again, shape)

    assert len(first.threads) == 2
    assert answer == 3_000_000
    assert len(again.threads) == 1
    assert again.threads[0] != loop
    assert again.engines == [engine]


@SQLITE_ONLY
def test_a_shape_found_quick_in_a_thread_tries_the_loop_again(engine: sa.Engine) -> None:
    """One request that outran the budget (a cold cache, the collector running) must not
    send every request of its shape to threads for a minute."""
    shape = ("once slow", uuid.uuid4())
    run_on_a_loop(engine, slow_read(), shape)
    quick_in_a_thread, quick_again = Calls(count_people), Calls(count_people)

    _, loop = run_on_a_loop(engine, quick_in_a_thread, shape)
    _, loop_again = run_on_a_loop(engine, quick_again, shape)

    assert quick_in_a_thread.threads[0] != loop
    assert quick_again.threads == [loop_again]


@SQLITE_ONLY
def test_an_interruption_the_driver_raises_unwrapped_is_run_again_in_a_thread(
    engine: sa.Engine,
) -> None:
    """SQLAlchemy calls a connection's `begin` hooks (the quick reader's `BEGIN`) outside
    its error wrapping, so the driver's own error must count as giving up too."""

    def interrupted_on_the_loop(connection: sa.Connection) -> int:
        if len(calls.threads) == 1:
            error = sqlite3.OperationalError("interrupted")
            error.sqlite_errorcode = sqlite3.SQLITE_INTERRUPT  # type: ignore[attr-defined]
            raise error
        return count_people(connection)

    calls = Calls(interrupted_on_the_loop)
    answer, loop = run_on_a_loop(engine, calls)

    assert answer == 0
    assert len(calls.threads) == 2
    assert calls.threads[1] != loop


@SQLITE_ONLY
def test_a_read_of_no_shape_tries_the_loop_every_time(engine: sa.Engine) -> None:
    first, again = slow_read(), slow_read()

    run_on_a_loop(engine, first)
    run_on_a_loop(engine, again)

    assert len(first.threads) == len(again.threads) == 2


def request(query: str) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": "/api/v2/reports/modules/",
         "query_string": query.encode(), "headers": []}
    )  # fmt: skip


def principal(groups: tuple[int, ...] | None) -> Principal:
    return Principal(1, "acme", "acme.c_1", RoleName(Role.OWNER), frozenset(), groups)


def test_a_shape_is_the_same_wherever_a_client_is_in_the_listing() -> None:
    here = inline.shape_of(request("group_name=Sales&cursor=abc"), principal(None), "cursor")
    there = inline.shape_of(request("cursor=xyz&group_name=Sales"), principal(None), "cursor")

    assert here == there


@pytest.mark.parametrize(
    ("query", "groups"),
    [("group_name=Sales", None), ("group_name=Support", None), ("group_name=Sales", (7,))],
)
def test_a_shape_differs_by_filter_and_by_the_rows_its_caller_sees(
    query: str, groups: tuple[int, ...] | None
) -> None:
    reference = inline.shape_of(request("group_name=Sales"), principal((3,)), "cursor")

    assert inline.shape_of(request(query), principal(groups), "cursor") != reference


@SQLITE_ONLY
def test_a_read_may_hold_two_connections_at_once(engine: sa.Engine, tenant: Tenant) -> None:
    """As the token check does when it loads the signing keys of the connection's engine."""

    def nested(outer: sa.Connection) -> tuple[int, int]:
        with outer.engine.connect() as inner:
            return count_people(outer), count_people(inner)

    async def main() -> tuple[int, int]:
        return await inline.run(engine, nested)

    assert asyncio.run(main()) == (0, 0)


@SQLITE_ONLY
def test_with_every_quick_connection_taken_a_read_runs_in_a_worker_thread(
    engine: sa.Engine,
) -> None:
    reads = inline._quick_reads(engine)
    assert reads is not None
    taken = [reads.engine.connect() for _ in range(QUICK_CONNECTIONS)]
    try:
        calls = Calls(count_people)
        answer, loop = run_on_a_loop(engine, calls)
    finally:
        for connection in taken:
            connection.close()

    assert answer == 0
    assert calls.engines == [engine]
    assert calls.threads[0] != loop


@SQLITE_ONLY
def test_a_signing_key_removed_is_refused_on_the_event_loop_at_once(
    engine: sa.Engine, tenant: Tenant
) -> None:
    settings = Settings()
    with engine.begin() as connection:
        created = credentials.create(connection, tenant, "client", "owner")
        owner = credentials.load_principal(connection, created.credential.public_id)
    assert owner is not None
    old = tokens.issue(engine, settings, owner).token
    reads = inline._quick_reads(engine)
    assert reads is not None
    with reads.within(1.0) as quick:
        assert tokens.verify(quick, settings, old)

    tokens.rotate(engine)
    tokens.remove(engine, jwt.get_unverified_header(old)["kid"])

    with reads.within(1.0) as quick, pytest.raises(tokens.InvalidToken, match="unknown key"):
        tokens.verify(quick, settings, old)


def answer_one_request(engine: sa.Engine, steps: list[Callable[[], Any]]) -> list[Any]:
    """What each step of one HTTP request gave, the request answered through
    `inline.OneReadPerRequest`; a step is run after the answer has started once `START` is
    passed."""
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for step in steps:
            if step is START:
                await send({"type": "http.response.start", "status": 200, "headers": []})
                continue
            found = step()
            seen.append(await found if asyncio.iscoroutine(found) else found)
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    asyncio.run(inline.OneReadPerRequest(app)(scope, receive, send))
    return seen


def START() -> None:
    """Marks where the answer starts among a request's steps."""


@SQLITE_ONLY
def test_the_quick_reads_of_one_request_see_one_snapshot(engine: sa.Engine, tenant: Tenant) -> None:
    def add_someone() -> None:
        with engine.begin() as connection:
            connection.execute(
                users.insert().values(
                    tenant_id=tenant.id, id=1, external_id="u1", uuid=str(uuid.uuid4()),
                    status="active", created_at="2026-01-01T00:00:00Z",
                    modified_at="2026-01-01T00:00:00Z",
                )
            )  # fmt: skip

    seen = answer_one_request(
        engine,
        [
            lambda: inline.run(engine, count_people),
            add_someone,
            lambda: inline.run(engine, count_people),
        ],
    )

    assert seen == [0, None, 0]
    with engine.connect() as connection:
        assert count_people(connection) == 1


@SQLITE_ONLY
def test_a_request_gives_its_quick_connection_back_as_its_answer_starts(
    engine: sa.Engine,
) -> None:
    run_on_a_loop(engine, Calls(count_people))
    reads = inline._quick_reads(engine)
    assert reads is not None

    seen = answer_one_request(
        engine,
        [
            lambda: inline.run(engine, count_people),
            reads.engine.pool.checkedout,
            START,
            reads.engine.pool.checkedout,
        ],
    )

    assert seen == [0, 1, 0]
