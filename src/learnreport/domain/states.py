"""The canonical states of a result and of a user.

Every dialect speaks its own vocabulary (`APPROVED`, `passed`, `onTime`, ...); each one is a
mapping from these canonical values, kept in this package so that one state never means
two things on two surfaces.
"""

from enum import StrEnum


class ResultState(StrEnum):
    """Where a user stands on one attempt of one piece of content."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    AWAITING_CORRECTION = "awaiting_correction"
    COMPLETED = "completed"
    PASSED = "passed"
    FAILED = "failed"
    EXPIRED = "expired"


DONE_STATES = frozenset({ResultState.COMPLETED, ResultState.PASSED})
"""States in which the content counts as completed (TinQwise: `is_completed`)."""


class UserStatus(StrEnum):
    """TinQwise: "status if a user is active, pending or suspended on the platform";
    iSpring adds blocked (`userStatuses` 3)."""

    ACTIVE = "active"
    PENDING = "pending"
    SUSPENDED = "suspended"
    BLOCKED = "blocked"


class TrainingType(StrEnum):
    """TinQwise: formal and informal training time, when the Training Type Feature is on."""

    FORMAL = "formal"
    INFORMAL = "informal"


class AnalyseState(StrEnum):
    """Skillhabit's progress states: "NOT_STARTED IN_PROGRESS APPROVED FAILED EXPIRED"."""

    NOT_STARTED = "NOT_STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    APPROVED = "APPROVED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


ANALYSE_STATES: dict[ResultState, AnalyseState] = {
    ResultState.NOT_STARTED: AnalyseState.NOT_STARTED,
    ResultState.IN_PROGRESS: AnalyseState.IN_PROGRESS,
    ResultState.AWAITING_CORRECTION: AnalyseState.IN_PROGRESS,
    ResultState.COMPLETED: AnalyseState.APPROVED,
    ResultState.PASSED: AnalyseState.APPROVED,
    ResultState.FAILED: AnalyseState.FAILED,
    ResultState.EXPIRED: AnalyseState.EXPIRED,
}
"""Every canonical state in Skillhabit's words. Work awaiting a teacher's correction is
still in progress for the learner; completed and passed are both approved. A person with no
result at all on a content is NOT_STARTED."""


class EnrollmentType(StrEnum):
    """Skillhabit's enrollment types: "MANDATORY OPTIONAL NOT_ENROLLED"."""

    MANDATORY = "MANDATORY"
    OPTIONAL = "OPTIONAL"
    NOT_ENROLLED = "NOT_ENROLLED"


def enrollment_type(enrolled_as_mandatory: list[bool]) -> EnrollmentType:
    """One mandatory enrollment makes content mandatory; enrollments that are all optional
    make it optional; without a current enrollment the person is not enrolled, even when
    they have a result (they took it on their own)."""
    if any(enrolled_as_mandatory):
        return EnrollmentType.MANDATORY
    return EnrollmentType.OPTIONAL if enrolled_as_mandatory else EnrollmentType.NOT_ENROLLED
