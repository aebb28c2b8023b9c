from learnreport.domain.training_time import Attempt, counts, training_time

DONE = Attempt("completed", "2025-03-01T10:00:00Z", 30, "formal")


def test_only_completed_or_passed_attempts_count() -> None:
    for state in ("not_started", "in_progress", "awaiting_correction", "failed", "expired"):
        assert not counts(Attempt(state, "2025-03-01T10:00:00Z", 30, None), None, None)
    assert counts(Attempt("passed", "2025-03-01T10:00:00Z", 30, None), None, None)


def test_the_period_includes_both_ends() -> None:
    assert counts(DONE, "2025-03-01T10:00:00Z", "2025-03-01T10:00:00Z")
    assert not counts(DONE, "2025-03-01T10:00:01Z", None)
    assert not counts(DONE, None, "2025-03-01T09:59:59Z")


def test_minutes_split_by_training_type_and_unknown_durations_count_nothing() -> None:
    attempts = [
        DONE,
        Attempt("passed", "2025-03-02T10:00:00Z", 15, "informal"),
        Attempt("completed", "2025-03-03T10:00:00Z", None, "formal"),
        Attempt("completed", "2025-03-04T10:00:00Z", 5, None),
    ]
    result = training_time(attempts, None, None)
    assert (result.total, result.formal, result.informal) == (50, 30, 15)
