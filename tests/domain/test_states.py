from learnreport.domain.states import (
    ANALYSE_STATES,
    AnalyseState,
    EnrollmentType,
    ResultState,
    enrollment_type,
)


def test_every_canonical_state_has_exactly_one_analyse_word() -> None:
    assert set(ANALYSE_STATES) == set(ResultState)
    assert set(ANALYSE_STATES.values()) == set(AnalyseState)


def test_approved_is_completed_or_passed_and_awaiting_correction_is_in_progress() -> None:
    approved = {state for state, word in ANALYSE_STATES.items() if word is AnalyseState.APPROVED}
    assert approved == {ResultState.COMPLETED, ResultState.PASSED}
    assert ANALYSE_STATES[ResultState.AWAITING_CORRECTION] is AnalyseState.IN_PROGRESS


def test_one_mandatory_enrollment_makes_content_mandatory_and_none_means_not_enrolled() -> None:
    assert enrollment_type([False, True]) is EnrollmentType.MANDATORY
    assert enrollment_type([False]) is EnrollmentType.OPTIONAL
    assert enrollment_type([]) is EnrollmentType.NOT_ENROLLED
