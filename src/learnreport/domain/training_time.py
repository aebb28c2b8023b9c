"""Training time: minutes of learning, from the durations of completed activities.

TinQwise: "total_training_time: number of minutes the user has spend on activities on our
platform (based on the duration of completed activities)", counted over "activities
counting towards the training time [that] must have been completed within a certain
timeframe". With the Training Type Feature on, the same minutes are split into
"formal_training_time" and "informal_training_time".

The reports compute the same sums in SQL; these functions state the rule on plain values,
and a property test holds the two to the same answers.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from learnreport.domain.states import DONE_STATES, TrainingType

COUNTED_STATES = DONE_STATES
"""Only a completed (or passed) attempt counts; each completed attempt counts once, so an
activity completed again after a reset counts again, as it was done again."""


@dataclass(frozen=True, slots=True)
class Attempt:
    state: str
    completed_at: str | None
    duration: int | None
    """The activity's theoretical duration in minutes; unknown counts as none."""
    training_type: str | None


@dataclass(frozen=True, slots=True)
class TrainingTime:
    total: int
    formal: int
    informal: int


def counts(attempt: Attempt, start: str | None, end: str | None) -> bool:
    """Whether an attempt counts towards the period `start`..`end` (canonical UTC text,
    both inclusive, either open)."""
    if attempt.state not in COUNTED_STATES or attempt.completed_at is None:
        return False
    if start is not None and attempt.completed_at < start:
        return False
    return end is None or attempt.completed_at <= end


def training_time(attempts: Iterable[Attempt], start: str | None, end: str | None) -> TrainingTime:
    total = formal = informal = 0
    for attempt in attempts:
        if not counts(attempt, start, end):
            continue
        minutes = attempt.duration or 0
        total += minutes
        if attempt.training_type == TrainingType.FORMAL:
            formal += minutes
        elif attempt.training_type == TrainingType.INFORMAL:
            informal += minutes
    return TrainingTime(total, formal, informal)
