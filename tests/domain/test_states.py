from learnreport.domain.states import (
    ANALYSE_STATES,
    LEARNER_STATUSES,
    AnalyseState,
    EnrollmentType,
    LearnerStatus,
    ResultState,
    enrollment_type,
    is_overdue,
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


def test_every_canonical_state_has_one_learner_status_and_review_waits_as_pending() -> None:
    assert set(LEARNER_STATUSES) == set(ResultState)
    assert LEARNER_STATUSES[ResultState.AWAITING_CORRECTION] is LearnerStatus.PENDING
    assert LEARNER_STATUSES[ResultState.COMPLETED] is LearnerStatus.COMPLETE


def test_a_module_is_overdue_only_past_its_due_date_and_while_unfinished() -> None:
    now = "2025-06-01T00:00:00Z"
    assert is_overdue("2025-05-31T23:59:59Z", LearnerStatus.IN_PROGRESS, now)
    assert not is_overdue("2025-06-01T00:00:00Z", LearnerStatus.IN_PROGRESS, now)
    assert not is_overdue(None, LearnerStatus.NOT_STARTED, now)
    for done in (LearnerStatus.COMPLETE, LearnerStatus.PASSED, LearnerStatus.ACCEPTED):
        assert not is_overdue("2025-01-01T00:00:00Z", done, now)
