from learnreport.domain.results import is_completed, is_optional


def test_completed_and_passed_are_completed_and_nothing_else_is() -> None:
    assert [s for s in ("not_started", "in_progress", "awaiting_correction", "completed",
                        "passed", "failed", "expired") if is_completed(s)] == [
        "completed", "passed"
    ]  # fmt: skip


def test_content_is_optional_only_when_every_enrollment_is_optional() -> None:
    assert not is_optional([])
    assert is_optional([False])
    assert not is_optional([False, True])
