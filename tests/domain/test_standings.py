"""The rule of one Analyse row: the latest attempt, and the enrollments that make it
mandatory or optional."""

from learnreport.domain.standings import Attempt, Standing, standings
from learnreport.domain.states import EnrollmentType


def test_the_latest_attempt_stands_whatever_order_the_attempts_come_in() -> None:
    attempts = [Attempt(1, 7, 2, "passed", 100.0), Attempt(1, 7, 1, "failed", 60.0)]
    assert standings(attempts, []) == {
        (1, 7): Standing("passed", EnrollmentType.NOT_ENROLLED, 100.0)
    }
    assert standings(reversed(attempts), []) == standings(attempts, [])


def test_an_enrollment_without_a_result_stands_not_started_at_no_progress() -> None:
    assert standings([], [(1, 7, False)]) == {
        (1, 7): Standing("not_started", EnrollmentType.OPTIONAL, 0.0)
    }


def test_one_mandatory_enrollment_makes_the_pair_mandatory() -> None:
    found = standings([Attempt(1, 7, 1, "in_progress", 40.0)], [(1, 7, False), (1, 7, True)])
    assert found[(1, 7)].enrollment_type is EnrollmentType.MANDATORY


def test_pairs_stand_apart() -> None:
    found = standings([Attempt(1, 7, 1, "passed", 100.0)], [(2, 7, True)])
    assert found == {
        (1, 7): Standing("passed", EnrollmentType.NOT_ENROLLED, 100.0),
        (2, 7): Standing("not_started", EnrollmentType.MANDATORY, 0.0),
    }
