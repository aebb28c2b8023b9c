"""What xAPI statements do to a result: the verb table, and the fold over one person's
statements about one activity.

An LRS keeps every statement; the reports need one result per person and activity. That
result is a fold: `result_of` reads the non-voided statements of one person about one
activity in the order the experience happened, and each statement's verb decides what it
does to the result. Only the verb does: "A system reading a Statement MUST use the Verb IRI
to infer meaning" (xAPI 1.0.3, 2.4.3), so a statement whose verb is not in `VERBS` is kept
by the store and changes no result, whatever its `result` says. cmi5 (9.3) uses the ADL
verbs under these same IRIs, so one table serves plain xAPI providers and cmi5 content.

The order
    By `timestamp`, "the time at which the experience occurred" (2.4.7), ties broken by
    `stored`, then by statement id: the same statements give the same result whatever
    order they arrived in. Voiding leaves a statement out of the fold: "Voiding does not
    destroy a Statement, rather indicates the evidence in the Statement is to be
    disregarded" (2.3), so folding without it gives the result it would have had if it
    had never been sent.

The state
    Launching, initializing, progressing and terminating start a result that has not
    started and leave a finished one as it is. A completion sets progress to 100 and makes
    an unjudged result completed. A failure outranks a completion, whichever came first:
    "completed" says the learner "viewed or did all of the relevant activities" (cmi5
    9.3.3), "failed" that they "attempted and failed in a judged activity" (9.3.5), and a
    failed test must not count as done. A pass outranks both, and a pass after a failure
    is a successful retry. A pass is final: "The AU MUST NOT issue multiple statements with
    Passed for the same AU within a given course registration" (9.3.4), so a later failed,
    passed or scored statement changes neither the state nor the score.

Time spent
    cmi5 puts a duration on "Terminated", "the time difference between the Initialized
    statement and the Terminated statement" (9.5.4.1), one per session, and on
    "Completed", "Passed" and "Failed", "the time spent by the learner to achieve completion
    status", which lies inside a session already counted. Summing every duration would
    count those moments twice. Time spent is the sum of the terminated sessions, or the
    longest single duration when that is larger (a session not yet terminated, or a
    provider that sends no Terminated): each of the two alone counts no moment twice.
    Durations count a year as 365 days and a month as 30: "it is not possible for an LRS to
    accurately deserialize the Result Duration and convert between units of time" (2.3.1),
    and no learning session spans a month.

Views
    One launch is one view. cmi5 records two statements per launch, "Launched" by the LMS
    and "Initialized" by the AU, which "MUST follow, within a reasonable period of time, the
    Launched statement" (9.3.2); views are the more numerous of the two, so a cmi5 session
    counts once and a provider that sends only one of them is counted too.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from learnreport.domain.states import DONE_STATES, ResultState

ADL = "http://adlnet.gov/expapi/verbs/"
VOIDED = ADL + "voided"
PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"
"""cmi5 9.5.5.1: "An integer value between 0 and 100 (inclusive) indicating the completion
of the AU as a percentage.\""""

MAX_SECONDS = 2**31 - 1
"""The most time spent a result holds (a 32-bit integer of seconds, some 68 years)."""

_NUMBER = r"(\d+(?:[.,]\d+)?)"
DURATION = re.compile(
    rf"P(?:{_NUMBER}W|(?!$)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?)"
)
"""xAPI 4.6: "A Duration MUST be expressed using the format for duration in ISO 8601:2004(E)
section 4.4.3.2", weeks alone ("P4W1D" is not valid) or years to seconds, `T` before the
hours, minutes and seconds."""

_SECONDS_PER = (7 * 86400, 365 * 86400, 30 * 86400, 86400, 3600, 60, 1)
"""Seconds in each unit of `DURATION`, in the order of its groups."""


def duration_seconds(text: str) -> float:
    """The length of an ISO 8601 duration in seconds; `ValueError` if it is not one."""
    match = DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT1H30M or PT5.2S")
    return sum(
        float(value.replace(",", ".")) * seconds
        for value, seconds in zip(match.groups(), _SECONDS_PER, strict=True)
        if value is not None
    )


@dataclass(frozen=True, slots=True)
class Standing:
    """A result as the statements make it, in the fields of a `ResultRecord`; instants are
    canonical UTC text, seconds of time spent a whole number."""

    state: ResultState
    progress: float
    score: float | None
    time_spent: int
    views: int
    started_at: str | None
    completed_at: str | None
    failed_at: str | None


@dataclass(slots=True)
class _Fold:
    state: ResultState = ResultState.NOT_STARTED
    progress: float = 0.0
    score: float | None = None
    started_at: str | None = None
    completed_at: str | None = None
    failed_at: str | None = None
    launches: int = 0
    initializations: int = 0
    sessions: float = 0.0
    longest: float = 0.0


Effect = Callable[[_Fold, str, Mapping[str, Any]], None]
"""What one statement does: to the fold so far, given its instant and its `result`."""


def _launched(fold: _Fold, at: str, result: Mapping[str, Any]) -> None:
    """ADL: "Indicates the actor attempted to start an activity." cmi5 9.3.1: "The verb
    Launched indicates that the AU was launched by the LMS." A launch is a view."""
    fold.launches += 1
    _start(fold, at)
    _read_progress(fold, result)
    _read_duration(fold, result)


def _initialized(fold: _Fold, at: str, result: Mapping[str, Any]) -> None:
    """ADL: "Indicates the activity provider has determined that the actor successfully
    started an activity." cmi5 9.3.2: "used by the AU to indicate that it has been fully
    initialized"; it follows the launch, so views count launches or initializations."""
    fold.initializations += 1
    _start(fold, at)
    _read_progress(fold, result)
    _read_duration(fold, result)


def _progressed(fold: _Fold, at: str, result: Mapping[str, Any]) -> None:
    """ADL: "Indicates a value of how much of an actor has advanced or moved through an
    activity." The value is cmi5's progress extension when the statement carries one."""
    _start(fold, at)
    _read_progress(fold, result)
    _read_duration(fold, result)


def _completed(fold: _Fold, at: str, result: Mapping[str, Any]) -> None:
    """ADL: "Indicates the actor finished or concluded the activity normally." cmi5 9.3.3:
    "The use of the Completed verb indicates progress of 100%." A judged result keeps its
    verdict; the completion is dated all the same."""
    _start(fold, at)
    if fold.state not in (ResultState.PASSED, ResultState.FAILED):
        fold.state = ResultState.COMPLETED
    fold.progress = 100.0
    fold.completed_at = fold.completed_at or at
    _read_duration(fold, result)


def _passed(fold: _Fold, at: str, result: Mapping[str, Any]) -> None:
    """ADL: "Indicates the actor successfully passed an activity to a level of
    predetermined satisfaction." cmi5 9.3.4: "The learner attempted and succeeded in a
    judged activity in the AU." Passing completes; the first pass is final."""
    _start(fold, at)
    if fold.state is not ResultState.PASSED:
        fold.state = ResultState.PASSED
        fold.progress = 100.0
        fold.completed_at = fold.completed_at or at
        fold.score = _score(result, fold.score)
    _read_duration(fold, result)


def _failed(fold: _Fold, at: str, result: Mapping[str, Any]) -> None:
    """ADL: "Indicates the actor did not successfully pass an activity to a level of
    predetermined satisfaction." cmi5 9.3.5: "The learner attempted and failed in a judged
    activity in the AU." It dates the latest failure; after a pass it changes nothing."""
    _start(fold, at)
    if fold.state is not ResultState.PASSED:
        fold.state = ResultState.FAILED
        fold.failed_at = at
        fold.score = _score(result, fold.score)
        _read_progress(fold, result)
    _read_duration(fold, result)


def _scored(fold: _Fold, _at: str, result: Mapping[str, Any]) -> None:
    """ADL: "Indicates a numerical value related to an actor's performance on an
    activity." A score only: it starts nothing, and a passed result keeps its score."""
    if fold.state is not ResultState.PASSED:
        fold.score = _score(result, fold.score)
    _read_duration(fold, result)


def _terminated(fold: _Fold, at: str, result: Mapping[str, Any]) -> None:
    """ADL: "Indicates that the actor successfully ended an activity." cmi5 9.3.8: the AU
    "will not be sending any more statements for the launch session", and its duration is
    "the time difference between the Initialized statement and the Terminated statement":
    one session's length, added to the others."""
    _start(fold, at)
    _read_progress(fold, result)
    fold.sessions += _seconds(result)
    _read_duration(fold, result)


VERBS: dict[str, Effect | None] = {
    ADL + "launched": _launched,
    ADL + "initialized": _initialized,
    ADL + "progressed": _progressed,
    ADL + "completed": _completed,
    ADL + "passed": _passed,
    ADL + "failed": _failed,
    ADL + "scored": _scored,
    ADL + "terminated": _terminated,
    VOIDED: None,
}
"""Each ADL verb the reports understand, and what its statement does to a result.

`voided` does nothing to a result itself: "the reserved Verb http://adlnet.gov/expapi/verbs/
voided is used for this purpose [voiding a Statement]. Any Statement that voids another
cannot itself be voided" (2.3.2). Its object is a statement, not an activity, and what it
does is take that statement out of the fold."""


def result_of(statements: Iterable[Mapping[str, Any]]) -> Standing | None:
    """The result the statements make, or `None` when no verb among them has an effect.

    `statements` are stored statements (with `id`, `timestamp` and `stored` filled in)
    of one person about one activity, none of them voided, in any order.
    """
    fold = _Fold()
    applied = False
    for statement in sorted(statements, key=_order):
        effect = VERBS.get(statement["verb"]["id"])
        if effect is None:
            continue
        applied = True
        effect(fold, _instant(_parse(statement["timestamp"])), statement.get("result") or {})
    if not applied:
        return None
    return Standing(
        state=fold.state,
        progress=fold.progress,
        score=fold.score,
        time_spent=round(min(MAX_SECONDS, max(fold.sessions, fold.longest))),
        views=max(fold.launches, fold.initializations),
        started_at=fold.started_at,
        completed_at=fold.completed_at,
        failed_at=fold.failed_at,
    )


def _order(statement: Mapping[str, Any]) -> tuple[datetime, datetime, str]:
    return _parse(statement["timestamp"]), _parse(statement["stored"]), statement["id"]


def _start(fold: _Fold, at: str) -> None:
    if fold.state is ResultState.NOT_STARTED:
        fold.state = ResultState.IN_PROGRESS
    fold.started_at = fold.started_at or at


def _read_progress(fold: _Fold, result: Mapping[str, Any]) -> None:
    """cmi5 9.5.5.1: the AU "SHOULD NOT set a progress value in a Completed statement or if
    it has previously issued a Completed statement", so a done result keeps its 100. A
    value that is not a number is ignored, not refused: "An LRS MUST NOT reject a Statement
    based on the values of the extensions map" (xAPI 4.1)."""
    extensions = result.get("extensions")
    value = extensions.get(PROGRESS) if isinstance(extensions, Mapping) else None
    if _is_number(value) and fold.state not in DONE_STATES:
        fold.progress = float(min(100, max(0, value)))


def _read_duration(fold: _Fold, result: Mapping[str, Any]) -> None:
    fold.longest = max(fold.longest, _seconds(result))


def _seconds(result: Mapping[str, Any]) -> float:
    duration = result.get("duration")
    return duration_seconds(duration) if isinstance(duration, str) else 0.0


def _score(result: Mapping[str, Any], current: float | None) -> float | None:
    """A percentage from 0 to 100: the scaled score ("The score related to the experience
    as modified by scaling and/or normalization", 2.4.5.1) times 100, a negative one
    counting as 0; without one, the raw score's place between min (0 when absent) and max;
    without either, the score stays as it was. Two decimals."""
    score = result.get("score")
    if not isinstance(score, Mapping):
        return current
    scaled, raw, low, high = (score.get(name) for name in ("scaled", "raw", "min", "max"))
    low = 0 if low is None else low
    if _is_number(scaled):
        percent = scaled * 100
    elif _is_number(raw) and _is_number(high) and _is_number(low) and high > low:
        percent = (raw - low) / (high - low) * 100
    else:
        return current
    return round(min(100.0, max(0.0, percent)), 2)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _instant(value: datetime) -> str:
    """Canonical UTC text, second precision, as the store keeps instants."""
    value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
    )
