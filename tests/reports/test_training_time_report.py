"""The training time report sums in SQL what `domain.training_time` states in Python."""

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learnreport.domain.access import Principal, RoleName
from learnreport.domain.states import ResultState, TrainingType
from learnreport.domain.training_time import Attempt, training_time
from learnreport.ingest import ingest
from learnreport.reports import NATIVE, base
from learnreport.store import tenants
from learnreport.store.types import format_timestamp

START = datetime(2025, 1, 1, tzinfo=UTC)
_slugs = itertools.count()

activities = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(min_value=0, max_value=240)),
        st.sampled_from([None, *TrainingType]),
    ),
    min_size=1,
    max_size=4,
)
attempts = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),
        st.integers(min_value=0, max_value=3),
        st.sampled_from(list(ResultState)),
        st.one_of(st.none(), st.integers(min_value=0, max_value=60)),
    ),
    max_size=25,
)
bound = st.one_of(st.none(), st.integers(min_value=0, max_value=60))


def day(offset: int | None, *, end: bool = False) -> str | None:
    if offset is None:
        return None
    moment = START + timedelta(days=offset, hours=12)
    return format_timestamp(moment + timedelta(hours=11, minutes=59, seconds=59) if end else moment)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(catalog=activities, done=attempts, start=bound, end=bound)
def test_the_report_agrees_with_the_rule_for_any_results_and_period(
    engine: sa.Engine,
    catalog: list[tuple[int | None, str | None]],
    done: list[tuple[int, int, str, int | None]],
    start: int | None,
    end: int | None,
) -> None:
    with engine.begin() as connection:
        tenant = tenants.create(
            connection, f"t{next(_slugs)}", "Property", training_types_enabled=True
        )
    ingest(engine, tenant.id, "users", [{"id": f"u{n}"} for n in range(3)])
    ingest(
        engine,
        tenant.id,
        "activities",
        [
            {"id": f"a{n}", "name": f"A{n}", "duration": duration, "training_type": kind}
            for n, (duration, kind) in enumerate(catalog)
        ],
    )
    tries: dict[tuple[int, int], int] = defaultdict(int)
    records, expected = [], defaultdict(list)
    for user, activity, state, completed in done:
        activity %= len(catalog)
        tries[user, activity] += 1
        completed_at = day(completed)
        records.append(
            {
                "id": f"r{len(records)}",
                "user_id": f"u{user}",
                "content_id": f"a{activity}",
                "attempt": tries[user, activity],
                "state": state,
                "completed_at": completed_at,
            }
        )
        duration, kind = catalog[activity]
        expected[f"u{user}"].append(Attempt(state, completed_at, duration, kind))
    ingest(engine, tenant.id, "results", records)
    period = {"reporting_period_start": day(start), "reporting_period_end": day(end, end=True)}
    criteria = {name: value for name, value in period.items() if value is not None}

    who = Principal(tenant.id, tenant.slug, "test", RoleName.parse("owner"), frozenset())
    with engine.connect() as connection:
        report = NATIVE["training_time"].define(connection, tenant.id)
        rows = base.page(connection, report, who, criteria, offset=0, limit=10)
    found = {row[0]: tuple(row[1:4]) for row in rows}
    for user in ("u0", "u1", "u2"):
        rule = training_time(expected[user], day(start), day(end, end=True))
        assert found[user] == (rule.total, rule.formal, rule.informal)
