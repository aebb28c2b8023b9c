"""What each verb does to a result, and the laws of the fold over a pair's statements."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from learnreport.domain.states import ResultState
from learnreport.domain.xapi import (
    ADL,
    MAX_SECONDS,
    PROGRESS,
    VERBS,
    VOIDED,
    duration_seconds,
    result_of,
)

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def said(verb: str, minute: int = 0, *, stored_minute: int = 600, **result: Any) -> dict[str, Any]:
    """A stored statement with an ADL verb (or any IRI), `minute` minutes after START."""
    document: dict[str, Any] = {
        "id": str(UUID(int=minute * 1000 + len(verb))),
        "actor": {"mbox": "mailto:ann@acme.example"},
        "verb": {"id": verb if ":" in verb else ADL + verb},
        "object": {"id": "https://acme.example/courses/safety"},
        "timestamp": (START + timedelta(minutes=minute)).isoformat(),
        "stored": (START + timedelta(minutes=stored_minute)).isoformat(),
    }
    if result:
        document["result"] = result
    return document


def progress(value: Any) -> dict[str, Any]:
    return {"extensions": {PROGRESS: value}}


def at(minute: int) -> str:
    return (START + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_launched_starts_the_result_and_counts_a_view() -> None:
    standing = result_of([said("launched", 5)])
    assert standing is not None
    assert (standing.state, standing.views, standing.started_at) == (
        ResultState.IN_PROGRESS,
        1,
        at(5),
    )


def test_a_cmi5_session_launched_and_initialized_is_one_view_and_two_sessions_are_two() -> None:
    one = result_of([said("launched", 0), said("initialized", 1)])
    two = result_of(
        [said("launched", 0), said("initialized", 1), said("launched", 60), said("initialized", 61)]
    )
    only_initialized = result_of([said("initialized", 0), said("initialized", 60)])
    assert one is not None and two is not None and only_initialized is not None
    assert (one.views, two.views, only_initialized.views) == (1, 2, 2)


def test_initialized_starts_the_result_at_its_first_statement() -> None:
    standing = result_of([said("initialized", 9), said("initialized", 3)])
    assert standing is not None
    assert (standing.state, standing.started_at) == (ResultState.IN_PROGRESS, at(3))


def test_progressed_takes_the_cmi5_progress_extension_of_the_latest_statement() -> None:
    latest, earlier = said("progressed", 2, **progress(60)), said("progressed", 1, **progress(30))
    standing = result_of([latest, earlier])
    assert standing is not None
    assert (standing.state, standing.progress) == (ResultState.IN_PROGRESS, 60.0)


def test_progress_is_kept_within_0_and_100_and_a_value_that_is_no_number_is_ignored() -> None:
    high = result_of([said("progressed", 1, **progress(150))])
    low = result_of([said("progressed", 1, **progress(-5))])
    text = result_of(
        [said("progressed", 1, **progress(40)), said("progressed", 2, **progress("x"))]
    )
    flag = result_of([said("progressed", 1, **progress(True))])
    assert high is not None and low is not None and text is not None and flag is not None
    assert (high.progress, low.progress, text.progress, flag.progress) == (100.0, 0.0, 40.0, 0.0)


def test_progressed_without_the_extension_starts_the_result_and_leaves_progress_alone() -> None:
    standing = result_of([said("progressed", 1)])
    assert standing is not None
    assert (standing.state, standing.progress) == (ResultState.IN_PROGRESS, 0.0)


def test_completed_is_progress_100_dated_at_the_first_completion() -> None:
    standing = result_of([said("completed", 7), said("completed", 9)])
    assert standing is not None
    assert (standing.state, standing.progress, standing.completed_at) == (
        ResultState.COMPLETED,
        100.0,
        at(7),
    )


def test_progress_after_a_completion_does_not_undo_it() -> None:
    standing = result_of(
        [said("completed", 1), said("progressed", 2, **progress(10)), said("launched", 3)]
    )
    assert standing is not None
    assert (standing.state, standing.progress) == (ResultState.COMPLETED, 100.0)


def test_passed_is_passed_with_its_scaled_score_as_a_percentage() -> None:
    standing = result_of([said("passed", 4, score={"scaled": 0.875})])
    assert standing is not None
    assert (standing.state, standing.score, standing.progress, standing.completed_at) == (
        ResultState.PASSED,
        87.5,
        100.0,
        at(4),
    )


def test_passed_after_completed_stays_passed_and_keeps_the_completion_date() -> None:
    standing = result_of([said("completed", 1), said("passed", 5, score={"scaled": 0.9})])
    assert standing is not None
    assert (standing.state, standing.completed_at) == (ResultState.PASSED, at(1))


def test_completed_after_passed_stays_passed() -> None:
    standing = result_of([said("passed", 1), said("completed", 5)])
    assert standing is not None
    assert (standing.state, standing.completed_at) == (ResultState.PASSED, at(1))


def test_failed_is_failed_dated_at_the_latest_failure_with_its_score() -> None:
    standing = result_of(
        [said("failed", 2, score={"scaled": 0.3}), said("failed", 8, score={"scaled": 0.4})]
    )
    assert standing is not None
    assert (standing.state, standing.failed_at, standing.score) == (ResultState.FAILED, at(8), 40.0)


def test_failed_then_passed_on_a_retry_is_passed_with_the_passing_score() -> None:
    standing = result_of(
        [said("failed", 1, score={"scaled": 0.4}), said("passed", 30, score={"scaled": 0.8})]
    )
    assert standing is not None
    assert (standing.state, standing.score, standing.failed_at, standing.completed_at) == (
        ResultState.PASSED,
        80.0,
        at(1),
        at(30),
    )


def test_a_pass_is_final_a_later_failure_or_score_changes_neither_state_nor_score() -> None:
    standing = result_of(
        [
            said("passed", 1, score={"scaled": 0.8}),
            said("failed", 5, score={"scaled": 0.2}),
            said("scored", 6, score={"scaled": 0.1}),
            said("passed", 7, score={"scaled": 0.95}),
        ]
    )
    assert standing is not None
    assert (standing.state, standing.score, standing.failed_at) == (ResultState.PASSED, 80.0, None)


def test_a_failure_outranks_a_completion_whichever_came_first() -> None:
    before = result_of([said("failed", 1), said("completed", 2)])
    after = result_of([said("completed", 1), said("failed", 2)])
    assert before is not None and after is not None
    assert (before.state, before.completed_at, before.progress) == (
        ResultState.FAILED,
        at(2),
        100.0,
    )
    assert (after.state, after.completed_at, after.failed_at) == (ResultState.FAILED, at(1), at(2))


def test_scored_sets_the_score_only() -> None:
    standing = result_of([said("scored", 3, score={"raw": 15, "min": 0, "max": 20})])
    assert standing is not None
    assert (standing.state, standing.score, standing.started_at) == (
        ResultState.NOT_STARTED,
        75.0,
        None,
    )


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        ({"scaled": -0.5}, 0.0),
        ({"scaled": 0.57}, 57.0),
        ({"raw": 7, "max": 10}, 70.0),
        ({"raw": 0, "min": -10, "max": 10}, 50.0),
        ({"raw": 7}, None),
        ({"raw": 7, "max": 0}, None),
    ],
)
def test_a_score_is_the_scaled_score_or_raw_between_min_and_max_as_a_percentage(
    score: dict[str, float], expected: float | None
) -> None:
    standing = result_of([said("scored", 1, score=score)])
    assert standing is not None
    assert standing.score == expected


def test_a_statement_without_a_score_leaves_the_score_unchanged() -> None:
    standing = result_of([said("scored", 1, score={"scaled": 0.6}), said("failed", 2)])
    assert standing is not None
    assert standing.score == 60.0


def test_terminated_ends_a_session_whose_durations_add_up() -> None:
    standing = result_of(
        [
            said("initialized", 0),
            said("terminated", 20, duration="PT20M"),
            said("initialized", 60),
            said("terminated", 75, duration="PT15M"),
        ]
    )
    assert standing is not None
    assert (standing.state, standing.time_spent) == (ResultState.IN_PROGRESS, 35 * 60)


def test_a_completion_inside_a_session_is_not_counted_on_top_of_the_session() -> None:
    standing = result_of(
        [
            said("initialized", 0),
            said("completed", 10, duration="PT10M"),
            said("terminated", 12, duration="PT12M"),
        ]
    )
    assert standing is not None
    assert standing.time_spent == 12 * 60


def test_without_a_terminated_session_time_spent_is_the_longest_duration() -> None:
    standing = result_of(
        [
            said("progressed", 5, duration="PT5M"),
            said("passed", 30, duration="PT30M"),
            said("terminated", 31),
        ]
    )
    assert standing is not None
    assert standing.time_spent == 30 * 60


def test_time_spent_stops_at_the_largest_number_a_result_holds() -> None:
    standing = result_of([said("terminated", 1, duration="P99999999Y")])
    assert standing is not None
    assert standing.time_spent == MAX_SECONDS


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1H30M", 5400),
        ("PT1234S", 1234),
        ("PT4H35M59.14S", 16559.14),
        ("P1DT1S", 86401),
        ("P4W", 28 * 86400),
        ("P1Y", 365 * 86400),
        ("P1M", 30 * 86400),
        ("PT0,5S", 0.5),
    ],
)
def test_durations_are_iso_8601_with_a_year_of_365_days_and_a_month_of_30(
    text: str, seconds: float
) -> None:
    assert duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "P4W1D", "P16559.14S", "PT1H2", "1H", "pt1h"])
def test_what_is_not_an_iso_8601_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        duration_seconds(text)


def test_a_verb_outside_the_table_changes_nothing_whatever_its_result_says() -> None:
    attempted = said(
        "attempted", 1, completion=True, success=True, score={"scaled": 0.95}, duration="PT1234S"
    )
    assert result_of([attempted]) is None
    with_it = result_of([said("launched", 0), attempted])
    without_it = result_of([said("launched", 0)])
    assert with_it == without_it


def test_the_voiding_verb_does_nothing_to_a_result_itself() -> None:
    assert VERBS[VOIDED] is None
    assert result_of([said(VOIDED, 1)]) is None


def test_the_order_is_timestamp_then_stored_then_id_whatever_zone_the_timestamp_is_in() -> None:
    paris = timezone(timedelta(hours=1))
    early = said("progressed", 10, **progress(20))
    early["timestamp"] = (START + timedelta(minutes=10)).astimezone(paris).isoformat()
    late = said("progressed", 5, **progress(80))
    late["timestamp"] = (START + timedelta(minutes=11)).isoformat()
    standing = result_of([late, early])
    tie_first = said("progressed", 20, stored_minute=100, **progress(10))
    tie_second = said("progressed", 20, stored_minute=200, **progress(90))
    tied = result_of([tie_second, tie_first])
    assert standing is not None and tied is not None
    assert (standing.progress, tied.progress) == (80.0, 90.0)


VERB_NAMES = [verb.removeprefix(ADL) for verb in VERBS if verb != VOIDED] + ["attempted"]

results = st.fixed_dictionaries(
    {},
    optional={
        "duration": st.sampled_from(["PT30S", "PT5M", "PT1H", "P1D", "PT0S"]),
        "score": st.one_of(
            st.fixed_dictionaries({"scaled": st.floats(-1, 1)}),
            st.fixed_dictionaries(
                {"raw": st.integers(0, 50), "min": st.just(0), "max": st.just(50)}
            ),
        ),
        "extensions": st.fixed_dictionaries(
            {PROGRESS: st.one_of(st.integers(-50, 150), st.floats(0, 100), st.just("70%"))}
        ),
    },
)


@st.composite
def statements(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 12))
    made = []
    for n in range(count):
        document = said(
            draw(st.sampled_from(VERB_NAMES)),
            draw(st.integers(0, 30)),
            stored_minute=draw(st.integers(600, 603)),
            **draw(results),
        )
        document["id"] = str(UUID(int=n))
        made.append(document)
    return made


@given(statements(), st.randoms())
def test_the_fold_does_not_depend_on_the_order_statements_arrive_in(
    received: list[dict[str, Any]], random: Any
) -> None:
    shuffled = list(received)
    random.shuffle(shuffled)
    assert result_of(shuffled) == result_of(received)


@given(statements())
def test_every_figure_stays_within_its_range(received: list[dict[str, Any]]) -> None:
    standing = result_of(received)
    if standing is None:
        return
    assert 0 <= standing.progress <= 100
    assert standing.score is None or 0 <= standing.score <= 100
    assert 0 <= standing.time_spent <= MAX_SECONDS
    assert standing.views >= 0


@given(statements())
def test_the_state_is_the_strongest_outcome_among_the_verbs(
    received: list[dict[str, Any]],
) -> None:
    verbs = {statement["verb"]["id"].removeprefix(ADL) for statement in received}
    standing = result_of(received)
    if "passed" in verbs:
        expected = ResultState.PASSED
    elif "failed" in verbs:
        expected = ResultState.FAILED
    elif "completed" in verbs:
        expected = ResultState.COMPLETED
    elif verbs & {"launched", "initialized", "progressed", "terminated"}:
        expected = ResultState.IN_PROGRESS
    else:
        expected = ResultState.NOT_STARTED
    assert (standing.state if standing else ResultState.NOT_STARTED) == expected
    assert (
        (standing.progress == 100)
        if expected in (ResultState.PASSED, ResultState.COMPLETED)
        else True
    )
