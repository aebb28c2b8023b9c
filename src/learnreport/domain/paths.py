"""A learner's standing in a path session, as 360Learning's path statistics state it.

360Learning's page `GET /api/v1/paths/sessions/{sessionId}/stats/{userEmailOrId}` is the
contract: it returns "the progress, time spent, score and completion date of a user on a
given path session", a `status`, a `detailedStatus` with a `type` and an optional `reason`,
a `result`, and an `archivedAt` for a user who was unenrolled. These rules derive all of them
from plain values: the path's steps, the session, the learner's enrollment, the learner's
attempts on the steps' contents, and the moment of the question.

Instants, in and out, are canonical UTC text (`2025-01-31T08:30:00Z`), as the store hands
them out, so comparing two instants is comparing two strings.

The record the rules read
    Only this path's steps count, and only attempts on their contents: nothing recorded for
    another path changes a figure.

    The page keeps an unenrolled user's fields at "the value they had at the time the user
    was last enrolled", so the rules answer as of the unenrollment when there is one, else
    as of now. The store holds the latest version of each attempt only, so an attempt is
    part of the record as of a moment when it was last changed by then; one changed later
    describes a later moment.

    A learner counted "unsuccessful" for the status they "had [...] when the path session
    ended" can do nothing in the session after its end: attempts changed after the end do
    not count, except on steps that need correction, whose assessor may still validate
    work handed in before the end (awaitingCorrection is not among the statuses the page
    lets the end close).

    The session opens for a learner at its start, or at the learner's access when that is
    later; before then the learner cannot act in it and nothing counts. Work recorded before
    the learner's start was done outside the path: it counts as done, as the page's
    toRetake does ("completed all the mandatory steps [...] outside the path"), but in a
    session with mandatory replay it fulfils nothing and uses up none of the step's
    attempts.

The decision table
    `RULES`, read top to bottom: the first row whose condition holds gives the detailed type,
    the reason, the status and the result, and each row quotes the sentence of the page it
    follows. `path_stats` gathers the facts the conditions read and takes the first row.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum

from learnreport.domain.states import DONE_STATES, ResultState

INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
EARLIEST = "0001-01-01T00:00:00Z"
LATEST = "9999-12-31T23:59:59Z"
"""The ends of the calendar: a relative due date that would fall beyond them stops there,
which compares with every real instant the way the date it stands for would."""

FULL = Decimal(100)
ALMOST_FULL = Decimal(99)
"""An unfinished step never counts as a whole step towards progress, so that 100 % means
every mandatory step is done, whatever progress an unfinished attempt reports."""


class PathStatus(StrEnum):
    """The page's `status`: where the learner stands against the due dates."""

    ON_TIME = "onTime"
    LATE = "late"
    COMPLETED = "completed"
    AWAITING_CORRECTION = "awaitingCorrection"


class DetailedType(StrEnum):
    """The page's `detailedStatus.type`: `status` told apart by start, end and outcome."""

    AWAITING_CORRECTION = "awaitingCorrection"
    LATE = "late"
    NOT_YET_STARTED = "notYetStarted"
    ON_TIME = "onTime"
    SESSION_NOT_OPENED = "sessionNotOpened"
    SUCCESSFUL = "successful"
    TO_RETAKE = "toRetake"
    UNSUCCESSFUL = "unsuccessful"


class Reason(StrEnum):
    """The page's `detailedStatus.reason`: "Only the following values are included in
    specific cases"."""

    SESSION_ENDED = "sessionEnded"
    MANDATORY_REPLAY = "mandatoryReplay"


class PathResult(StrEnum):
    """The page's `result`: the outcome of a learner who has completed the path."""

    SUCCESSFUL = "successful"
    UNSUCCESSFUL = "unsuccessful"
    RETAKE = "retake"


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a path; the path id lets a step of another path be told apart and left
    out."""

    path_id: int
    position: int
    content_id: int
    mandatory: bool
    due_at: str | None = None
    due_days: int | None = None
    """Days after the learner's start in the session."""
    min_score: float | None = None
    """0-100: a completion scoring less does not fulfil the step."""
    max_attempts: int | None = None
    needs_correction: bool = False


@dataclass(frozen=True, slots=True)
class Session:
    path_id: int
    starts_at: str
    ends_at: str | None = None
    time_limit: int | None = None
    """Minutes from the learner's start to complete the path."""
    mandatory_replay: bool = False
    """Steps completed outside the path must be taken again inside it."""


@dataclass(frozen=True, slots=True)
class Enrollment:
    """The learner's enrollment in the session; without an access date, access begins when
    the session starts."""

    access_at: str | None = None
    due_at: str | None = None
    unenrolled_at: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of the learner on one content, in its latest version."""

    content_id: int
    attempt: int
    state: str
    """A canonical `ResultState` value."""
    modified_at: str
    progress: float = 0.0
    """0-100."""
    score: float | None = None
    """0-100."""
    time_spent: int = 0
    """Seconds."""
    completed_at: str | None = None


@dataclass(frozen=True, slots=True)
class PathStats:
    """The page's fields. `score` is None while no step the learner finished has a score (no
    score is not a zero score); `completed_at` is set only for a successful learner (the
    date "the learner earned the path"); `reason` only in the two cases the page names;
    `result` only with the status completed, once every mandatory step is; `archived_at`
    only for an unenrolled learner."""

    progress: int
    global_time_ms: int
    score: int | None
    status: PathStatus
    completed_at: str | None
    detailed_type: DetailedType
    reason: Reason | None
    result: PathResult | None
    archived_at: str | None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the decision table reads, over the mandatory steps only: the page counts
    optional steps as never holding a learner back ("have been completed, or are
    optional")."""

    opened: bool
    """The session has opened for the learner."""
    ended: bool
    """The session has ended."""
    started: bool
    """The learner has an attempt, other than one not started, on a step."""
    awaiting: bool
    """A mandatory step that needs correction awaits it."""
    finished: bool
    """Every mandatory step is completed: done, or failed."""
    fulfilled: bool
    """Every mandatory step is done with its conditions met."""
    out_of_attempts: bool
    """A completed mandatory step misses a condition and has no attempt left."""
    replay_owed: bool
    """A completed mandatory step was completed outside a path with mandatory replay."""
    overdue: bool
    """A mandatory step whose due date has passed is not completed."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the decision table. A `status` of None means the status the due dates
    give: late when a mandatory step is overdue, else onTime, as the page defines them."""

    name: str
    page: str
    applies: Callable[[Facts], bool]
    detailed_type: DetailedType
    status: PathStatus | None
    result: PathResult | None
    reason: Reason | None = None


RULES: tuple[Rule, ...] = (
    Rule(
        "session not opened",
        "sessionNotOpened: The user is enrolled in a path session that hasn't started yet.",
        lambda facts: not facts.opened,
        DetailedType.SESSION_NOT_OPENED,
        PathStatus.ON_TIME,
        None,
    ),
    Rule(
        "awaiting correction",
        "awaitingCorrection: The user reached an assessment step that the assessor hasn't "
        "validated yet. / status awaitingCorrection: a mandatory step is awaiting correction.",
        lambda facts: facts.awaiting,
        DetailedType.AWAITING_CORRECTION,
        PathStatus.AWAITING_CORRECTION,
        None,
    ),
    Rule(
        "successful",
        "successful: The user completed all the mandatory steps and fulfilled all the "
        "required conditions (time limit, minimum score, and/or mandatory replay).",
        lambda facts: facts.finished and facts.fulfilled,
        DetailedType.SUCCESSFUL,
        PathStatus.COMPLETED,
        PathResult.SUCCESSFUL,
    ),
    Rule(
        "out of attempts",
        "unsuccessful: [...] the user completed the path without fulfilling all the required "
        "conditions (time limit, minimum score, or mandatory replay), and they reached the "
        "maximum amount of authorized attempts.",
        lambda facts: facts.finished and facts.out_of_attempts,
        DetailedType.UNSUCCESSFUL,
        PathStatus.COMPLETED,
        PathResult.UNSUCCESSFUL,
    ),
    Rule(
        "retake cut short by the end",
        "reason sessionEnded when type is unsuccessful because the session ended when the "
        "user status was either notYetStarted, onTime, late, or toRetake",
        lambda facts: facts.finished and facts.ended,
        DetailedType.UNSUCCESSFUL,
        PathStatus.COMPLETED,
        PathResult.UNSUCCESSFUL,
        Reason.SESSION_ENDED,
    ),
    Rule(
        "replay owed",
        "reason mandatoryReplay when type is toRetake because the user completed some "
        "mandatory steps outside the path with mandatory replay.",
        lambda facts: facts.finished and facts.replay_owed,
        DetailedType.TO_RETAKE,
        PathStatus.COMPLETED,
        PathResult.RETAKE,
        Reason.MANDATORY_REPLAY,
    ),
    Rule(
        "to retake",
        "toRetake: The user completed all the mandatory steps without fulfilling all the "
        "required conditions (time limit, minimum score, and/or mandatory replay), but they "
        "still haven't reached the maximum amount of authorized attempts (if any).",
        lambda facts: facts.finished,
        DetailedType.TO_RETAKE,
        PathStatus.COMPLETED,
        PathResult.RETAKE,
    ),
    Rule(
        "unfinished when the session ended",
        "unsuccessful: The user had the status notYetStarted, onTime, late, or toRetake when "
        "the path session ended",
        lambda facts: facts.ended,
        DetailedType.UNSUCCESSFUL,
        None,
        None,
        Reason.SESSION_ENDED,
    ),
    Rule(
        "not yet started",
        "notYetStarted: The user is enrolled in an ongoing path session but they haven't "
        "started the path yet.",
        lambda facts: not facts.started,
        DetailedType.NOT_YET_STARTED,
        None,
        None,
    ),
    Rule(
        "late",
        "late: The user started the path, but they are late on relative steps due dates for "
        "at least one mandatory step.",
        lambda facts: facts.overdue,
        DetailedType.LATE,
        PathStatus.LATE,
        None,
    ),
    Rule(
        "on time",
        "onTime: The user started the path, they haven't completed all the mandatory steps, "
        "and they haven't reached a blocking point.",
        lambda facts: True,
        DetailedType.ON_TIME,
        PathStatus.ON_TIME,
        None,
    ),
)
"""Rows after the first read as "and no earlier row applies". Choices where the page is
silent:

- Before the session opens the status is onTime: the learner can do nothing yet, so
  nothing can be held against them.
- The blocking point that rules out onTime is a step awaiting correction, the one step the
  learner "reached" and cannot pass alone; it counts on mandatory steps only, as the status
  awaitingCorrection does, so that the status and the type always agree.
- A failed attempt completes its step without reaching the minimum score, so a learner who
  has failed a step for good and not finished the others is still onTime or late until they
  finish or the session ends: the page makes a learner unsuccessful only then.
- A toRetake learner whose session ends can retake no more: unsuccessful, because the
  session ended, with the result unsuccessful.
- A learner who is late on an absolute due date is late too, not only on relative ones: the
  status late counts every due date, and the type agrees with it.
- `result` is set exactly when every mandatory step is completed: the page's results speak
  of reached or missed minimum scores and of attempts left, which are questions about a
  completed path; a learner who never finished has none.
"""


def decide(facts: Facts) -> Rule:
    """The rows are in order of precedence, so the first that applies is the answer."""
    return next(rule for rule in RULES if rule.applies(facts))


def learner_start(session: Session, enrollment: Enrollment) -> str:
    """Relative due dates are "relative steps due dates" of the learner, so they count from
    when the learner could begin: the session's start, or their access when later."""
    if enrollment.access_at is None:
        return session.starts_at
    return max(session.starts_at, enrollment.access_at)


def step_due_at(step: Step, session: Session, enrollment: Enrollment) -> str | None:
    """The page's statuses test "steps with a due date that is passed" without saying where
    a step's due date comes from. The most specific date wins: the step's absolute date,
    then its days after the learner's start, then the learner's own due date, then the
    session's time limit from the learner's start, then the session's end, by which every
    step is due since nothing can be done after it."""
    start = learner_start(session, enrollment)
    if step.due_at is not None:
        return step.due_at
    if step.due_days is not None:
        return _shifted(start, minutes=step.due_days * 24 * 60)
    if enrollment.due_at is not None:
        return enrollment.due_at
    if session.time_limit is not None:
        return _shifted(start, minutes=session.time_limit)
    return session.ends_at


def path_stats(
    session: Session,
    steps: Iterable[Step],
    enrollment: Enrollment,
    attempts: Iterable[Attempt],
    now: str,
) -> PathStats:
    """Everything the page returns for one learner in one session. Steps of other paths and
    attempts on other contents may be passed in: they are left out, so a caller may hand
    over a learner's whole record."""
    as_of = now if enrollment.unenrolled_at is None else min(now, enrollment.unenrolled_at)
    start = learner_start(session, enrollment)
    opened = start <= as_of
    ended = session.ends_at is not None and session.ends_at <= as_of
    record = list(attempts) if opened else []
    outcomes = [
        _outcome(step, session, enrollment, record, as_of)
        for step in steps
        if step.path_id == session.path_id
    ]
    mandatory = [outcome for outcome in outcomes if outcome.step.mandatory]
    facts = Facts(
        opened=opened,
        ended=ended,
        started=any(outcome.started for outcome in outcomes),
        awaiting=any(outcome.awaiting for outcome in mandatory),
        finished=all(outcome.finished for outcome in mandatory),
        fulfilled=all(outcome.fulfilled for outcome in mandatory),
        out_of_attempts=any(outcome.out_of_attempts for outcome in mandatory),
        replay_owed=any(outcome.replay_owed for outcome in mandatory),
        overdue=any(_overdue(outcome, as_of) for outcome in mandatory),
    )
    rule = decide(facts)
    late = PathStatus.LATE if facts.overdue else PathStatus.ON_TIME
    successful = rule.detailed_type is DetailedType.SUCCESSFUL
    return PathStats(
        progress=_progress(mandatory) if opened else 0,
        global_time_ms=_global_time_ms(outcomes),
        score=_score(outcomes),
        status=late if rule.status is None else rule.status,
        completed_at=_earned_at(mandatory, start) if successful else None,
        detailed_type=rule.detailed_type,
        reason=rule.reason,
        result=rule.result,
        archived_at=enrollment.unenrolled_at,
    )


@dataclass(frozen=True, slots=True)
class _Outcome:
    step: Step
    due_at: str | None
    attempts: tuple[Attempt, ...]
    latest: Attempt | None
    started: bool
    awaiting: bool
    finished: bool
    fulfilled: bool
    out_of_attempts: bool
    replay_owed: bool


def _outcome(
    step: Step, session: Session, enrollment: Enrollment, record: Sequence[Attempt], as_of: str
) -> _Outcome:
    """Where the learner stands on one step, from its latest attempt: a later attempt
    replaces an earlier one, so a pass followed by a retry in progress is not done."""
    start = learner_start(session, enrollment)
    cutoff = as_of
    if session.ends_at is not None and not step.needs_correction:
        cutoff = min(as_of, session.ends_at)
    attempts = tuple(
        attempt
        for attempt in record
        if attempt.content_id == step.content_id and attempt.modified_at <= cutoff
    )
    latest = max(attempts, key=lambda attempt: (attempt.attempt, attempt.modified_at), default=None)
    state = latest.state if latest is not None else ResultState.NOT_STARTED

    def outside(attempt: Attempt) -> bool:
        return session.mandatory_replay and _finished_at(attempt) < start

    finished = state in DONE_STATES or state == ResultState.FAILED
    replay_owed = finished and latest is not None and outside(latest)
    short = state == ResultState.FAILED or (
        step.min_score is not None
        and (latest is None or latest.score is None or latest.score < step.min_score)
    )
    time_limit_end = (
        _shifted(start, minutes=session.time_limit) if session.time_limit is not None else None
    )
    overtime = (
        time_limit_end is not None and latest is not None and _finished_at(latest) > time_limit_end
    )
    fulfilled = finished and not (short or overtime or replay_owed)
    used = sum(1 for attempt in attempts if not outside(attempt))
    attempts_left = step.max_attempts is None or used < step.max_attempts
    return _Outcome(
        step=step,
        due_at=step_due_at(step, session, enrollment),
        attempts=attempts,
        latest=latest,
        started=any(attempt.state != ResultState.NOT_STARTED for attempt in attempts),
        awaiting=step.needs_correction and state == ResultState.AWAITING_CORRECTION,
        finished=finished,
        fulfilled=fulfilled,
        out_of_attempts=finished and not fulfilled and not attempts_left,
        replay_owed=replay_owed,
    )


def _finished_at(attempt: Attempt) -> str:
    """When an attempt reached its state: its completion, or its last change without one."""
    return attempt.completed_at or attempt.modified_at


def _overdue(outcome: _Outcome, as_of: str) -> bool:
    """ "late: at least one non-optional step with a due date that is passed has not been
    completed": a due date passes after its instant, and a failed step is completed."""
    return outcome.due_at is not None and outcome.due_at < as_of and not outcome.finished


def _progress(mandatory: Sequence[_Outcome]) -> int:
    """The page's `progress` is a percentage without a formula. Progress is towards earning
    the path, so it is the mean over the mandatory steps (all done when there are none) of
    each step's share: a completed step is whole, another counts its latest attempt's
    progress; rounded down, so that 100 is never shown before the path is complete."""
    if not mandatory:
        return int(FULL)
    shares = [_step_share(outcome) for outcome in mandatory]
    mean = sum(shares, Decimal(0)) / len(shares)
    return int(mean.to_integral_value(rounding=ROUND_FLOOR))


def _step_share(outcome: _Outcome) -> Decimal:
    if outcome.finished:
        return FULL
    if outcome.latest is None:
        return Decimal(0)
    return min(ALMOST_FULL, max(Decimal(0), Decimal(str(outcome.latest.progress))))


def _score(outcomes: Sequence[_Outcome]) -> int | None:
    """The page's `score` "obtained by the learner on the path session": the mean of the
    scores of the steps the learner completed, optional ones included (a score is earned
    on any step), each held within 0-100 and the mean rounded half up, so that a score
    never depends on how binary floating point stores a half."""
    scores = [
        min(FULL, max(Decimal(0), Decimal(str(outcome.latest.score))))
        for outcome in outcomes
        if outcome.finished and outcome.latest is not None and outcome.latest.score is not None
    ]
    if not scores:
        return None
    mean = sum(scores, Decimal(0)) / len(scores)
    return int(mean.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _global_time_ms(outcomes: Sequence[_Outcome]) -> int:
    """The page's `globalTime`, "total time spent [...] by the learner on the path session":
    every attempt in the record counts, earlier ones too, since that time was spent; an
    attempt on a content that two steps share counts once."""
    seconds = {
        (attempt.content_id, attempt.attempt): attempt.time_spent
        for outcome in outcomes
        for attempt in outcome.attempts
    }
    return sum(seconds.values()) * 1000


def _earned_at(mandatory: Sequence[_Outcome], start: str) -> str:
    """The page's `completedAt`, "date when the learner earned the path": when the last
    mandatory step was done, and never before the learner's start, since a path is earned in
    the session even when its steps were done before."""
    return max(
        [start]
        + [_finished_at(outcome.latest) for outcome in mandatory if outcome.latest is not None]
    )


def _shifted(instant: str, *, minutes: int) -> str:
    try:
        moment = datetime.strptime(instant, INSTANT_FORMAT).replace(tzinfo=UTC)
        moved = moment + timedelta(minutes=minutes)
    except OverflowError:
        return LATEST if minutes > 0 else EARLIEST
    return (
        f"{moved.year:04d}-{moved.month:02d}-{moved.day:02d}"
        f"T{moved.hour:02d}:{moved.minute:02d}:{moved.second:02d}Z"
    )
