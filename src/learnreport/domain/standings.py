"""Where a person stands on one content: the rule behind every Analyse row and statistic.

Skillhabit: "The API returns a structured JSON response with detailed information for each
result, including ... Completion data - Progress percentage, state". A row is one person x
content pair that has a current enrollment or a result; it shows the latest attempt, and
its enrollment type follows `states.enrollment_type`.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from learnreport.domain.states import EnrollmentType, ResultState, enrollment_type

Pair = tuple[int, int]
"""A person and a content, by their integer ids."""


@dataclass(frozen=True, slots=True)
class Attempt:
    pair: Pair
    attempt: int
    state: str
    progress: float


@dataclass(frozen=True, slots=True)
class Standing:
    state: str
    """The latest attempt's canonical state; `not_started` for a pair with no result."""
    enrollment_type: EnrollmentType
    progress: float
    """The latest attempt's progress; 0 for a pair with no result."""


def standings(
    attempts: Iterable[Attempt], current_enrollments: Iterable[tuple[Pair, bool]]
) -> dict[Pair, Standing]:
    """Every pair that has a result or a current enrollment, from its attempts and from the
    mandatory flag of each enrollment not ended by an unenrollment."""
    latest: dict[Pair, Attempt] = {}
    for attempt in attempts:
        seen = latest.get(attempt.pair)
        if seen is None or attempt.attempt > seen.attempt:
            latest[attempt.pair] = attempt
    flags: dict[Pair, list[bool]] = {}
    for pair, mandatory in current_enrollments:
        flags.setdefault(pair, []).append(mandatory)
    found: dict[Pair, Standing] = {}
    for pair in latest.keys() | flags.keys():
        last = latest.get(pair)
        found[pair] = Standing(
            state=ResultState.NOT_STARTED.value if last is None else last.state,
            enrollment_type=enrollment_type(flags.get(pair, [])),
            progress=0.0 if last is None else last.progress,
        )
    return found
