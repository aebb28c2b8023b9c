"""Aggregates: `POST /analyse/statistics` for the whole tenant (by none, content and group)
and the first page of the training_time report, against plain SQL aggregates over the
tenant's results run by the database shell.

The references answer a simpler question than the API (a statistics row is a person x
content pair, showing its latest attempt, with enrollments and untouched pairs folded in):
they are what a count of the same table costs the database, so the ratio is the price of
the API's semantics and of HTTP together.
"""

import time

import httpx
import sqlalchemy as sa

from bench import databases, shell
from bench.figures import Check, Failed, Figure, percentiles
from bench.run_context import Run
from learnreport.reports import NATIVE, base
from learnreport.store.schema import contents, enrollments, results
from learnreport.store.tallies import LISTED_KINDS

MEASURE = "Aggregates"
TRAINING_TIME = "/api/v2/reports/training_time/?cursor=&page_size=100"
REFERENCE_REPEATS = 10
"""At most this many runs of a reference query."""
REFERENCE_BUDGET_S = 60.0
"""About how long the runs of one reference query may take: the shell has no budget of its
own, and over L's 10 million results one plain count took over a minute, so ten of each
took longer than the rest of the run."""


def _references(tenant: int) -> dict[str, str]:
    return {
        "none": f"SELECT state, count(*) FROM results WHERE tenant_id = {tenant} GROUP BY state",
        "content": f"SELECT content_id, state, count(*) FROM results WHERE tenant_id = {tenant} "
        "GROUP BY content_id, state",
        "group": "SELECT m.group_id, r.state, count(*) FROM results AS r JOIN memberships AS m "
        "ON m.tenant_id = r.tenant_id AND m.user_id = r.user_id "
        f"WHERE r.tenant_id = {tenant} GROUP BY m.group_id, r.state",
    }


def measure(run: Run) -> tuple[list[Figure], list[Check]]:
    repeats = 3 if run.quick else 20
    budget = 10.0 if run.quick else 60.0
    figures = []
    with run.client() as client:
        answered = client.post("/analyse/statistics", json={"groupBy": "none"})
        if answered.status_code != 200:
            raise Failed(f"/analyse/statistics answered {answered.status_code}")
        total, pairs = answered.json()["total"], _pairs(run)
        check = Check(
            "statistics total",
            total == pairs,
            f"/analyse/statistics counted {total:,} pairs, the store holds {pairs:,} person x "
            "content pairs with a result or a current enrollment",
        )
        for group_by, sql in _references(run.tenant_id).items():
            body = {"groupBy": group_by}
            timings = _time(client, "POST", "/analyse/statistics", body, repeats, budget)
            p50, p99 = percentiles(timings)
            ref50, _ = percentiles(_reference(run, sql, len(timings)))
            name = f"POST /analyse/statistics, groupBy {group_by}"
            figures.append(
                Figure(
                    MEASURE,
                    name,
                    p50,
                    "ms p50",
                    f"plain SQL: count(*) by {group_by} and state",
                    ref50,
                    "p50 ≤ 500 ms",
                    p50 <= 500,
                    {"p50": p50, "p99": p99},
                )
            )
        with run.client(run.admin_token) as admin:
            timings = _time(admin, "POST", "/analyse/statistics", {}, repeats, budget)
        p50, p99 = percentiles(timings)
        figures.append(
            Figure(
                MEASURE,
                "POST /analyse/statistics, groupBy none, department administrator",
                p50,
                "ms p50",
                "the owner's, from the tallies",
                figures[0].value,
                "p50 ≤ 500 ms",
                p50 <= 500,
                {"p50": p50, "p99": p99},
            )
        )
        page_repeats = 10 if run.quick else 100
        timings = _time(client, "GET", TRAINING_TIME, None, page_repeats, budget)
        p50, p99 = percentiles(timings)
    ref50, _ = percentiles(_reference(run, _training_time_sql(run), len(timings)))
    figures.append(
        Figure(
            MEASURE,
            "training_time report, first page (cursor, 100 rows)",
            p50,
            "ms p50",
            "the report's own SQL for that page",
            ref50,
            extra={"p50": p50, "p99": p99},
        )
    )
    return figures, [check]


def _pairs(run: Run) -> int:
    """The pairs the statistics count, counted from the results and enrollments themselves
    rather than from the tallies the statistics read."""
    engine = databases.engine(run.database_url)
    pairs = sa.union(
        sa.select(results.c.user_id, results.c.content_id).where(
            results.c.tenant_id == run.tenant_id
        ),
        sa.select(enrollments.c.user_id, enrollments.c.content_id).where(
            enrollments.c.tenant_id == run.tenant_id, enrollments.c.unenrolled_at.is_(None)
        ),
    ).subquery()
    query = (
        sa.select(sa.func.count())
        .select_from(pairs)
        .join(
            contents,
            sa.and_(contents.c.tenant_id == run.tenant_id, contents.c.id == pairs.c.content_id),
        )
        .where(contents.c.kind.in_(LISTED_KINDS))
    )
    with engine.connect() as connection:
        counted = int(connection.execute(query).scalar_one())
    engine.dispose()
    return counted


def _training_time_sql(run: Run) -> str:
    engine = databases.engine(run.database_url)
    with engine.connect() as connection:
        report = NATIVE["training_time"].define(connection, run.tenant_id)
    query = base.select(report, run.access.owner.principal, {})
    sql = shell.compile_sql(query.where(report.key > 0).order_by(*report.keys).limit(101), engine)
    engine.dispose()
    return sql


def _time(
    client: httpx.Client, method: str, path: str, body: object, repeats: int, budget: float
) -> list[float]:
    """Timings in ms of up to `repeats` sequential requests, after one untimed warm-up,
    stopping once `budget` seconds are spent (three at least): a slow aggregate on a large
    dataset would otherwise hold the run for many minutes."""
    timings: list[float] = []
    begun = time.perf_counter()
    for n in range(repeats + 1):
        started = time.perf_counter()
        answer = client.request(method, path, json=body)
        if answer.status_code != 200:
            raise Failed(f"{method} {path} answered {answer.status_code}: {answer.text[:300]}")
        if n:
            timings.append((time.perf_counter() - started) * 1000)
        if len(timings) >= 3 and time.perf_counter() - begun > budget:
            break
    return timings


def _reference(run: Run, sql: str, wanted: int) -> list[float]:
    """Timings of the plain `sql`, as many as learnreport's (at most `REFERENCE_REPEATS`)
    that fit in `REFERENCE_BUDGET_S` at the first run's pace, and one at least."""
    first = shell.timings_ms(run.database_url, sql, 1)
    fits = int(REFERENCE_BUDGET_S * 1000 / max(first[0], 1.0))
    more = min(wanted, REFERENCE_REPEATS, fits + 1) - 1
    return first + (shell.timings_ms(run.database_url, sql, more) if more > 0 else [])
