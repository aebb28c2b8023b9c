"""A learner's standing in a path session, as 360Learning's path statistics page states it:
one test per row of the decision table, the derivations the rows read, and the invariants
that hold for any path, session and record."""

import itertools
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from learnreport.domain.paths import (
    LATEST,
    RULES,
    Attempt,
    DetailedType,
    Enrollment,
    Facts,
    PathResult,
    PathStats,
    PathStatus,
    Reason,
    Session,
    Step,
    decide,
    learner_start,
    path_stats,
    step_due_at,
)
from learnreport.domain.states import ResultState

PATH = 1
QUIZ = Step(PATH, 1, content_id=10, mandatory=True)
ESSAY = Step(PATH, 2, content_id=20, mandatory=True, needs_correction=True)
EXTRA = Step(PATH, 3, content_id=30, mandatory=False)
STEPS = (QUIZ, ESSAY, EXTRA)


def at(day: int, hour: int = 0) -> str:
    return f"2025-03-{day:02d}T{hour:02d}:00:00Z"


SESSION = Session(PATH, starts_at=at(1), ends_at=at(31))
ENROLLED = Enrollment(access_at=at(1))


def done(
    content_id: int,
    day: int,
    *,
    attempt: int = 1,
    state: ResultState = ResultState.PASSED,
    score: float | None = None,
    time_spent: int = 0,
) -> Attempt:
    return Attempt(
        content_id,
        attempt,
        state,
        modified_at=at(day),
        progress=100.0,
        score=score,
        time_spent=time_spent,
        completed_at=at(day) if state in (ResultState.COMPLETED, ResultState.PASSED) else None,
    )


def begun(content_id: int, day: int, *, attempt: int = 1, progress: float = 40.0) -> Attempt:
    return Attempt(content_id, attempt, ResultState.IN_PROGRESS, at(day), progress=progress)


def awaiting(content_id: int, day: int) -> Attempt:
    return Attempt(content_id, 1, ResultState.AWAITING_CORRECTION, at(day), progress=100.0)


def stats(
    attempts: list[Attempt],
    now: str,
    *,
    session: Session = SESSION,
    steps: tuple[Step, ...] = STEPS,
    enrollment: Enrollment = ENROLLED,
) -> PathStats:
    return path_stats(session, steps, enrollment, attempts, now)


def outcome(result: PathStats) -> tuple[DetailedType, Reason | None, PathStatus, PathResult | None]:
    return result.detailed_type, result.reason, result.status, result.result


# One test per row of the decision table, in the table's order.


def test_the_decision_table_has_the_rows_these_tests_cover_in_this_order() -> None:
    assert [rule.name for rule in RULES] == [
        "session not opened",
        "awaiting correction",
        "successful",
        "out of attempts",
        "retake cut short by the end",
        "replay owed",
        "to retake",
        "unfinished when the session ended",
        "not yet started",
        "late",
        "on time",
    ]


def test_no_row_of_the_decision_table_is_hidden_by_the_rows_above_it() -> None:
    reached = {decide(Facts(*flags)).name for flags in itertools.product([False, True], repeat=9)}
    assert reached == {rule.name for rule in RULES}


def test_a_session_that_has_not_opened_is_session_not_opened_whatever_was_done_before() -> None:
    before = [done(QUIZ.content_id, 1), done(ESSAY.content_id, 1)]
    session = replace(SESSION, starts_at=at(10))
    result = stats(before, at(5), session=session)
    assert outcome(result) == (DetailedType.SESSION_NOT_OPENED, None, PathStatus.ON_TIME, None)
    assert (result.progress, result.global_time_ms, result.score) == (0, 0, None)


def test_a_mandatory_step_awaiting_correction_makes_the_learner_awaiting_correction() -> None:
    record = [done(QUIZ.content_id, 3), awaiting(ESSAY.content_id, 4)]
    expected = (DetailedType.AWAITING_CORRECTION, None, PathStatus.AWAITING_CORRECTION, None)
    assert outcome(stats(record, at(10))) == expected
    assert outcome(stats(record, "2025-04-10T00:00:00Z")) == expected


def test_every_mandatory_step_done_with_its_conditions_met_is_successful() -> None:
    record = [done(QUIZ.content_id, 3, score=80), done(ESSAY.content_id, 6, score=90)]
    result = stats(record, at(10))
    assert outcome(result) == (
        DetailedType.SUCCESSFUL,
        None,
        PathStatus.COMPLETED,
        PathResult.SUCCESSFUL,
    )
    assert result.completed_at == at(6)


def test_a_completed_path_short_of_a_minimum_score_with_no_attempt_left_is_unsuccessful() -> None:
    quiz = replace(QUIZ, min_score=70, max_attempts=2)
    record = [
        done(quiz.content_id, 3, score=50),
        done(quiz.content_id, 4, attempt=2, score=60),
        done(ESSAY.content_id, 6),
    ]
    expected = (DetailedType.UNSUCCESSFUL, None, PathStatus.COMPLETED, PathResult.UNSUCCESSFUL)
    result = stats(record, at(10), steps=(quiz, ESSAY))
    assert outcome(result) == expected
    assert result.completed_at is None
    assert outcome(stats(record, at(31, 1), steps=(quiz, ESSAY))) == expected


def test_a_learner_to_retake_when_the_session_ends_is_unsuccessful_as_the_session_ended() -> None:
    quiz = replace(QUIZ, min_score=70, max_attempts=3)
    record = [done(quiz.content_id, 3, score=50), done(ESSAY.content_id, 6)]
    steps = (quiz, ESSAY)
    assert stats(record, at(30), steps=steps).detailed_type is DetailedType.TO_RETAKE
    assert outcome(stats(record, at(31), steps=steps)) == (
        DetailedType.UNSUCCESSFUL,
        Reason.SESSION_ENDED,
        PathStatus.COMPLETED,
        PathResult.UNSUCCESSFUL,
    )


def test_a_mandatory_step_completed_outside_a_mandatory_replay_path_is_to_retake_for_replay() -> (
    None
):
    session = replace(SESSION, starts_at=at(5), mandatory_replay=True)
    record = [done(QUIZ.content_id, 2), done(ESSAY.content_id, 6)]
    assert outcome(stats(record, at(10), session=session)) == (
        DetailedType.TO_RETAKE,
        Reason.MANDATORY_REPLAY,
        PathStatus.COMPLETED,
        PathResult.RETAKE,
    )


def test_a_completed_path_short_of_a_minimum_score_with_attempts_left_is_to_retake() -> None:
    quiz = replace(QUIZ, min_score=70, max_attempts=2)
    record = [done(quiz.content_id, 3, score=50), done(ESSAY.content_id, 6)]
    assert outcome(stats(record, at(10), steps=(quiz, ESSAY))) == (
        DetailedType.TO_RETAKE,
        None,
        PathStatus.COMPLETED,
        PathResult.RETAKE,
    )


@pytest.mark.parametrize("record", [[], [begun(QUIZ.content_id, 3)], [done(QUIZ.content_id, 3)]])
def test_a_learner_who_had_not_finished_when_the_session_ended_is_unsuccessful_as_it_ended(
    record: list[Attempt],
) -> None:
    assert outcome(stats(record, at(31, 1))) == (
        DetailedType.UNSUCCESSFUL,
        Reason.SESSION_ENDED,
        PathStatus.LATE,
        None,
    )


def test_an_enrolled_learner_without_a_start_in_an_ongoing_session_is_not_yet_started() -> None:
    assert outcome(stats([], at(10))) == (
        DetailedType.NOT_YET_STARTED,
        None,
        PathStatus.ON_TIME,
        None,
    )
    untouched = [Attempt(QUIZ.content_id, 1, ResultState.NOT_STARTED, at(2))]
    quiz = replace(QUIZ, due_at=at(5))
    assert outcome(stats(untouched, at(10), steps=(quiz, ESSAY))) == (
        DetailedType.NOT_YET_STARTED,
        None,
        PathStatus.LATE,
        None,
    )


def test_a_started_learner_past_the_due_date_of_an_unfinished_mandatory_step_is_late() -> None:
    essay = replace(ESSAY, due_days=7)
    record = [done(QUIZ.content_id, 3)]
    assert stats(record, at(8), steps=(QUIZ, essay)).detailed_type is DetailedType.ON_TIME
    assert outcome(stats(record, at(8, 1), steps=(QUIZ, essay))) == (
        DetailedType.LATE,
        None,
        PathStatus.LATE,
        None,
    )


def test_a_started_learner_with_nothing_overdue_is_on_time() -> None:
    assert outcome(stats([begun(QUIZ.content_id, 3)], at(10))) == (
        DetailedType.ON_TIME,
        None,
        PathStatus.ON_TIME,
        None,
    )


# The derivations the rows read.


def test_a_steps_absolute_due_date_wins_over_every_relative_one() -> None:
    step = replace(QUIZ, due_at=at(20), due_days=2)
    session = replace(SESSION, time_limit=60)
    assert step_due_at(step, session, replace(ENROLLED, due_at=at(9))) == at(20)


def test_relative_due_days_count_from_the_later_of_the_session_start_and_the_access() -> None:
    step = replace(QUIZ, due_days=2)
    assert learner_start(SESSION, Enrollment()) == at(1)
    assert step_due_at(step, SESSION, Enrollment()) == at(3)
    assert step_due_at(step, SESSION, Enrollment(access_at=at(4, 6))) == at(6, 6)
    assert step_due_at(step, replace(SESSION, starts_at=at(5)), ENROLLED) == at(7)


def test_a_step_without_a_date_is_due_at_the_learners_date_then_time_limit_then_session_end() -> (
    None
):
    limited = replace(SESSION, time_limit=90)
    assert step_due_at(QUIZ, limited, replace(ENROLLED, due_at=at(9))) == at(9)
    assert step_due_at(QUIZ, limited, ENROLLED) == "2025-03-01T01:30:00Z"
    assert step_due_at(QUIZ, SESSION, ENROLLED) == at(31)
    assert step_due_at(QUIZ, replace(SESSION, ends_at=None), ENROLLED) is None


def test_a_relative_due_date_beyond_the_calendar_stops_at_its_end() -> None:
    assert step_due_at(replace(QUIZ, due_days=10**9), SESSION, ENROLLED) == LATEST


def test_only_mandatory_steps_make_a_learner_late() -> None:
    extra = replace(EXTRA, due_at=at(3))
    result = stats([begun(QUIZ.content_id, 2)], at(10), steps=(QUIZ, ESSAY, extra))
    assert (result.detailed_type, result.status) == (DetailedType.ON_TIME, PathStatus.ON_TIME)


def test_a_failed_step_is_completed_so_it_is_never_late() -> None:
    quiz = replace(QUIZ, due_at=at(5), max_attempts=1)
    failed = done(quiz.content_id, 3, state=ResultState.FAILED, score=20)
    result = stats([failed], at(10), steps=(quiz, ESSAY))
    assert (result.detailed_type, result.status) == (DetailedType.ON_TIME, PathStatus.ON_TIME)


def test_the_latest_attempt_decides_a_step_not_the_best_one() -> None:
    record = [done(QUIZ.content_id, 3), begun(QUIZ.content_id, 4, attempt=2), done(20, 5)]
    assert stats(record, at(10)).detailed_type is DetailedType.ON_TIME


def test_a_completion_without_a_score_does_not_reach_a_minimum_score() -> None:
    quiz = replace(QUIZ, min_score=50)
    record = [done(quiz.content_id, 3), done(ESSAY.content_id, 4)]
    assert stats(record, at(10), steps=(quiz, ESSAY)).detailed_type is DetailedType.TO_RETAKE
    record[0] = done(quiz.content_id, 3, score=50)
    assert stats(record, at(10), steps=(quiz, ESSAY)).detailed_type is DetailedType.SUCCESSFUL


def test_completing_a_step_after_the_time_limit_from_the_learners_start_is_to_retake() -> None:
    session = replace(SESSION, time_limit=3 * 24 * 60)
    in_time = [done(QUIZ.content_id, 3), done(ESSAY.content_id, 4)]
    assert stats(in_time, at(10), session=session).detailed_type is DetailedType.SUCCESSFUL
    too_late = [done(QUIZ.content_id, 3), done(ESSAY.content_id, 5)]
    assert stats(too_late, at(10), session=session).result is PathResult.RETAKE


def test_awaiting_correction_counts_only_on_mandatory_steps_that_need_correction() -> None:
    plain_quiz = [awaiting(QUIZ.content_id, 3)]
    assert stats(plain_quiz, at(10)).detailed_type is DetailedType.ON_TIME
    extra = replace(EXTRA, needs_correction=True)
    optional_essay = [done(QUIZ.content_id, 3), done(ESSAY.content_id, 4), awaiting(30, 5)]
    result = stats(optional_essay, at(10), steps=(QUIZ, ESSAY, extra))
    assert result.detailed_type is DetailedType.SUCCESSFUL


def test_work_done_before_the_path_counts_when_the_session_demands_no_replay() -> None:
    session = replace(SESSION, starts_at=at(5))
    record = [done(QUIZ.content_id, 2), done(ESSAY.content_id, 3)]
    result = stats(record, at(10), session=session)
    assert (result.detailed_type, result.completed_at) == (DetailedType.SUCCESSFUL, at(5))


def test_work_outside_a_mandatory_replay_path_uses_up_none_of_the_steps_attempts() -> None:
    session = replace(SESSION, starts_at=at(5), mandatory_replay=True)
    quiz = replace(QUIZ, max_attempts=1)
    record = [done(quiz.content_id, 2), done(ESSAY.content_id, 6)]
    assert stats(record, at(10), session=session, steps=(quiz, ESSAY)).result is PathResult.RETAKE
    replayed = [*record, done(quiz.content_id, 7, attempt=2)]
    result = stats(replayed, at(10), session=session, steps=(quiz, ESSAY))
    assert result.detailed_type is DetailedType.SUCCESSFUL


def test_work_done_after_the_session_ended_does_not_count_in_it() -> None:
    record = [done(QUIZ.content_id, 3), done(ESSAY.content_id, 31, score=90)]
    record[1] = replace(record[1], modified_at=at(31, 2), completed_at=at(31, 2))
    result = stats(record, at(31, 5), steps=(QUIZ, replace(ESSAY, needs_correction=False)))
    assert (result.detailed_type, result.reason) == (
        DetailedType.UNSUCCESSFUL,
        Reason.SESSION_ENDED,
    )
    assert (result.progress, result.score) == (50, None)


def test_an_assessor_may_validate_after_the_session_ended_work_handed_in_before() -> None:
    handed_in = [done(QUIZ.content_id, 3), awaiting(ESSAY.content_id, 30)]
    assert stats(handed_in, at(31, 5)).detailed_type is DetailedType.AWAITING_CORRECTION
    validated = [handed_in[0], replace(done(ESSAY.content_id, 31), modified_at=at(31, 4))]
    assert stats(validated, at(31, 5)).detailed_type is DetailedType.SUCCESSFUL


@pytest.mark.parametrize(
    ("record", "progress"),
    [
        ([], 0),
        ([begun(QUIZ.content_id, 2, progress=50)], 25),
        ([begun(QUIZ.content_id, 2, progress=55.5)], 27),
        ([done(QUIZ.content_id, 2)], 50),
        ([done(QUIZ.content_id, 2), begun(ESSAY.content_id, 3, progress=100)], 99),
        ([done(QUIZ.content_id, 2), awaiting(ESSAY.content_id, 3)], 99),
        ([done(QUIZ.content_id, 2), done(ESSAY.content_id, 3, state=ResultState.FAILED)], 100),
        ([done(QUIZ.content_id, 2), done(ESSAY.content_id, 3), done(30, 4)], 100),
    ],
)
def test_progress_is_the_mean_share_of_mandatory_steps_rounded_down_never_whole_unfinished(
    record: list[Attempt], progress: int
) -> None:
    assert stats(record, at(10)).progress == progress


def test_a_path_without_mandatory_steps_is_complete_once_the_session_opens() -> None:
    assert stats([], at(10), steps=(EXTRA,)).detailed_type is DetailedType.SUCCESSFUL
    result = stats([], at(1), steps=(EXTRA,), session=replace(SESSION, starts_at=at(2)))
    assert (result.detailed_type, result.progress) == (DetailedType.SESSION_NOT_OPENED, 0)


def test_the_score_is_the_mean_of_completed_steps_scores_rounded_half_up() -> None:
    record = [
        done(QUIZ.content_id, 2, score=70),
        done(ESSAY.content_id, 3, state=ResultState.FAILED, score=45),
        replace(begun(30, 4), score=10),
    ]
    assert stats(record, at(10)).score == 58
    assert stats([begun(QUIZ.content_id, 2)], at(10)).score is None
    assert stats([done(QUIZ.content_id, 2, score=130)], at(10)).score == 100


def test_global_time_is_every_attempt_on_the_paths_steps_in_milliseconds() -> None:
    record = [
        done(QUIZ.content_id, 2, time_spent=60),
        done(QUIZ.content_id, 3, attempt=2, time_spent=30),
        begun(ESSAY.content_id, 4),
        done(99, 4, time_spent=1000),
    ]
    assert stats(record, at(10)).global_time_ms == 90_000
    twice = (QUIZ, replace(QUIZ, position=4, mandatory=False))
    assert stats(record, at(10), steps=twice).global_time_ms == 90_000


def test_an_unenrolled_learner_keeps_the_figures_of_the_unenrollment() -> None:
    record = [done(QUIZ.content_id, 3, score=80, time_spent=60), done(ESSAY.content_id, 12)]
    gone = Enrollment(access_at=at(1), unenrolled_at=at(10))
    result = stats(record, at(20), enrollment=gone)
    assert result == stats(record[:1], at(10), enrollment=gone)
    assert result.archived_at == at(10)
    assert (result.detailed_type, result.progress, result.score, result.global_time_ms) == (
        DetailedType.ON_TIME,
        50,
        80,
        60_000,
    )
    assert stats(record, at(20)).archived_at is None


def test_attempts_changed_after_now_are_not_yet_part_of_the_record() -> None:
    assert stats([done(QUIZ.content_id, 12)], at(10)).detailed_type is DetailedType.NOT_YET_STARTED


# Invariants, for any path, session and record.

BASE = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = 60 * 24 * 60
"""Sixty days, in minutes: every instant below falls in them."""


def instant(minutes: int) -> str:
    return (BASE + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


minutes = st.integers(0, SPAN)
instants = minutes.map(instant)
CONTENTS = (1, 2, 3)
FOREIGN_CONTENT = 9


@dataclass(frozen=True)
class World:
    session: Session
    steps: tuple[Step, ...]
    enrollment: Enrollment
    attempts: tuple[Attempt, ...]
    now: str

    def stats(self, **changes: object) -> PathStats:
        world = replace(self, **changes)
        return path_stats(world.session, world.steps, world.enrollment, world.attempts, world.now)


def steps_of(path_id: int) -> st.SearchStrategy[tuple[Step, ...]]:
    step = st.builds(
        Step,
        path_id=st.just(path_id),
        position=st.integers(1, 20),
        content_id=st.sampled_from(CONTENTS),
        mandatory=st.sampled_from([True, True, False]),
        due_at=st.none() | instants,
        due_days=st.none() | st.integers(-3, 30),
        min_score=st.none() | st.floats(0, 100),
        max_attempts=st.none() | st.integers(1, 3),
        needs_correction=st.booleans(),
    )
    return st.lists(step, min_size=1, max_size=4, unique_by=lambda step: step.position).map(tuple)


@st.composite
def attempts_on(draw: st.DrawFn, contents: tuple[int, ...]) -> Attempt:
    modified = draw(minutes)
    return Attempt(
        content_id=draw(st.sampled_from(contents)),
        attempt=draw(st.integers(1, 4)),
        state=draw(st.sampled_from(ResultState)),
        modified_at=instant(modified),
        progress=draw(st.floats(0, 100)),
        score=draw(st.none() | st.floats(0, 100)),
        time_spent=draw(st.integers(0, 10_000)),
        completed_at=draw(st.none() | st.integers(0, modified).map(instant)),
    )


def records(contents: tuple[int, ...]) -> st.SearchStrategy[tuple[Attempt, ...]]:
    return st.lists(
        attempts_on(contents),
        max_size=8,
        unique_by=lambda attempt: (attempt.content_id, attempt.attempt),
    ).map(tuple)


def rarely(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    """None two times in three, so that most learners are still enrolled."""
    return st.sampled_from([False, False, True]).flatmap(
        lambda present: strategy if present else st.none()
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """Sessions mostly open by now, with learners who mostly have access, so that every row
    of the table turns up, not only the first."""
    starts = draw(st.integers(0, SPAN // 4))
    ends = draw(st.none() | st.integers(starts + 1, SPAN + 1).map(instant))
    session = Session(
        PATH,
        starts_at=instant(starts),
        ends_at=ends,
        time_limit=draw(st.none() | st.integers(1, 30 * 24 * 60)),
        mandatory_replay=draw(st.booleans()),
    )
    enrollment = Enrollment(
        access_at=draw(rarely(st.integers(0, SPAN // 3).map(instant))),
        due_at=draw(rarely(instants)),
        unenrolled_at=draw(rarely(instants)),
    )
    now = draw(
        st.sampled_from([True, True, True, False]).flatmap(
            lambda opened: st.integers(starts, SPAN).map(instant) if opened else instants
        )
    )
    return World(session, draw(steps_of(PATH)), enrollment, draw(records(CONTENTS)), now)


def as_of(world: World) -> str:
    unenrolled = world.enrollment.unenrolled_at
    return world.now if unenrolled is None else min(world.now, unenrolled)


@given(worlds())
def test_a_session_not_yet_open_for_the_learner_always_gives_session_not_opened(
    world: World,
) -> None:
    result = world.stats()
    not_open = as_of(world) < learner_start(world.session, world.enrollment)
    assert (result.detailed_type is DetailedType.SESSION_NOT_OPENED) == not_open
    if as_of(world) < world.session.starts_at:
        assert result.detailed_type is DetailedType.SESSION_NOT_OPENED
    if not_open:
        assert (result.status, result.progress, result.global_time_ms) == (PathStatus.ON_TIME, 0, 0)


@given(worlds())
def test_the_status_completed_comes_only_with_an_outcome_and_the_result_with_it(
    world: World,
) -> None:
    result = world.stats()
    completed = result.status is PathStatus.COMPLETED
    if completed:
        assert result.detailed_type in {
            DetailedType.SUCCESSFUL,
            DetailedType.UNSUCCESSFUL,
            DetailedType.TO_RETAKE,
        }
    assert (result.result is not None) == completed
    assert (result.completed_at is not None) == (result.detailed_type is DetailedType.SUCCESSFUL)
    if result.completed_at is not None:
        assert result.completed_at <= as_of(world)


@given(worlds())
def test_a_reason_comes_only_with_the_type_and_the_session_it_explains(world: World) -> None:
    result = world.stats()
    if result.reason is Reason.SESSION_ENDED:
        assert result.detailed_type is DetailedType.UNSUCCESSFUL
        assert world.session.ends_at is not None
        assert world.session.ends_at <= as_of(world)
    if result.reason is Reason.MANDATORY_REPLAY:
        assert result.detailed_type is DetailedType.TO_RETAKE
        assert world.session.mandatory_replay


@given(worlds())
def test_the_status_and_the_type_agree_on_awaiting_correction_and_on_being_late(
    world: World,
) -> None:
    result = world.stats()
    assert (result.status is PathStatus.AWAITING_CORRECTION) == (
        result.detailed_type is DetailedType.AWAITING_CORRECTION
    )
    if result.detailed_type is DetailedType.LATE:
        assert result.status is PathStatus.LATE


@given(worlds())
def test_the_figures_stay_in_their_ranges_and_100_percent_means_completed(world: World) -> None:
    result = world.stats()
    assert 0 <= result.progress <= 100
    assert result.score is None or 0 <= result.score <= 100
    assert result.global_time_ms >= 0
    assert result.global_time_ms % 1000 == 0
    if result.detailed_type is not DetailedType.SESSION_NOT_OPENED:
        assert (result.progress == 100) == (result.status is PathStatus.COMPLETED)


@given(worlds(), instants, instants)
def test_archived_at_is_the_unenrollment_and_the_figures_stop_there(
    world: World, first: str, second: str
) -> None:
    result = world.stats()
    assert result.archived_at == world.enrollment.unenrolled_at
    unenrolled = world.enrollment.unenrolled_at
    if unenrolled is not None and first >= unenrolled and second >= unenrolled:
        assert world.stats(now=first) == world.stats(now=second)


@given(worlds(), steps_of(PATH + 1), records((FOREIGN_CONTENT,)))
def test_steps_of_another_path_and_attempts_on_other_contents_change_nothing(
    world: World, foreign_steps: tuple[Step, ...], foreign_attempts: tuple[Attempt, ...]
) -> None:
    assert (
        world.stats(steps=world.steps + foreign_steps, attempts=world.attempts + foreign_attempts)
        == world.stats()
    )


@given(worlds(), st.data())
def test_the_order_of_steps_and_attempts_changes_nothing(world: World, data: st.DataObject) -> None:
    shuffled = world.stats(
        steps=tuple(data.draw(st.permutations(world.steps))),
        attempts=tuple(data.draw(st.permutations(world.attempts))),
    )
    assert shuffled == world.stats()


@given(worlds(), instants)
def test_a_learner_on_time_at_a_moment_was_never_late_earlier_on_the_same_record(
    world: World, other: str
) -> None:
    earlier, later = sorted([world.now, other])
    fixed = tuple(attempt for attempt in world.attempts if attempt.modified_at <= earlier)
    before = world.stats(attempts=fixed, now=earlier)
    after = world.stats(attempts=fixed, now=later)
    if after.status is PathStatus.ON_TIME:
        assert before.status is not PathStatus.LATE
    if after.detailed_type is DetailedType.ON_TIME:
        assert before.detailed_type is not DetailedType.LATE
    if after.detailed_type is not DetailedType.SESSION_NOT_OPENED:
        assert before.progress <= after.progress
