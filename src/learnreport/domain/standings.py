"""Where a person stands on one content: the rule behind every Analyse row and statistic.

Skillhabit: "The API returns a structured JSON response with detailed information for each
result, including ... Completion data - Progress percentage, state". A row is one person x
content pair that has a current enrollment or a result; it shows the latest attempt, and
its enrollment type follows `states.enrollment_type`.
"""

from collections.abc import Iterable
from typing import NamedTuple

from learnreport.domain.states import EnrollmentType, ResultState, enrollment_type

Pair = tuple[int, int]
"""A person and a content, by their integer ids."""


class Attempt(NamedTuple):
    person: int
    content: int
    attempt: int
    state: str
    progress: float


class Standing(NamedTuple):
    state: str
    """The latest attempt's canonical state; `not_started` for a pair with no result."""
    enrollment_type: EnrollmentType
    progress: float
    """The latest attempt's progress; 0 for a pair with no result."""


def standings(
    attempts: Iterable[Attempt], current_enrollments: Iterable[tuple[int, int, bool]]
) -> dict[Pair, Standing]:
    """Every pair that has a result or a current enrollment, from its attempts and from the
    mandatory flag of each (person, content) enrollment not ended by an unenrollment.

    Rows are plain tuples, as the driver gives them: the write path folds tens of thousands
    of them per batch, and objects per row cost as much as the database's reads."""
    latest: dict[Pair, Attempt] = {}
    for attempt in attempts:
        keep_latest(latest, attempt)
    enrolled = enrollment_types(current_enrollments)
    found: dict[Pair, Standing] = {}
    for pair, last in latest.items():
        found[pair] = Standing(last[3], enrolled.get(pair, EnrollmentType.NOT_ENROLLED), last[4])
    for pair, kind in enrolled.items():
        if pair not in latest:
            found[pair] = Standing(ResultState.NOT_STARTED.value, kind, 0.0)
    return found


def enrollment_types(
    current_enrollments: Iterable[tuple[int, int, bool]],
) -> dict[Pair, EnrollmentType]:
    """The enrollment type of every pair with a current enrollment, from the mandatory flag
    of each; a pair without one is `NOT_ENROLLED`."""
    mandatory: dict[Pair, bool] = {}
    for person, content, flag in current_enrollments:
        mandatory[(person, content)] = mandatory.get((person, content), False) or bool(flag)
    return {pair: enrollment_type([flag]) for pair, flag in mandatory.items()}


def keep_latest(latest: dict[Pair, Attempt], attempt: Attempt) -> None:
    """Keep `attempt` as its pair's latest unless a later attempt is kept. An attempt is
    one row per pair and number, so the same number replaces it: the row, rewritten."""
    pair = (attempt[0], attempt[1])
    seen = latest.get(pair)
    if seen is None or attempt[2] >= seen[2]:
        latest[pair] = attempt
