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


class LearnerStatus(StrEnum):
    """iSpring's completion statuses: "not_started, in_progress, pending, complete, passed,
    accepted, incomplete, failed, declined"."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    PENDING = "pending"
    COMPLETE = "complete"
    PASSED = "passed"
    ACCEPTED = "accepted"
    INCOMPLETE = "incomplete"
    FAILED = "failed"
    DECLINED = "declined"


LEARNER_STATUSES: dict[ResultState, LearnerStatus] = {
    ResultState.NOT_STARTED: LearnerStatus.NOT_STARTED,
    ResultState.IN_PROGRESS: LearnerStatus.IN_PROGRESS,
    ResultState.AWAITING_CORRECTION: LearnerStatus.PENDING,
    ResultState.COMPLETED: LearnerStatus.COMPLETE,
    ResultState.PASSED: LearnerStatus.PASSED,
    ResultState.FAILED: LearnerStatus.FAILED,
    ResultState.EXPIRED: LearnerStatus.INCOMPLETE,
}
"""Every canonical state in iSpring's words. Work waiting for a reviewer is pending; a
module whose time ran out unfinished is incomplete. `accepted` and `declined` (a reviewer's
verdict on an assignment) have no canonical state of their own, so no result shows them
and asking for them matches nothing. No result at all is not_started."""

FINISHED_LEARNER_STATUSES = frozenset(
    {LearnerStatus.COMPLETE, LearnerStatus.PASSED, LearnerStatus.ACCEPTED}
)
"""iSpring: a module in one of these statuses is done, so it is never overdue."""


def is_overdue(due_at: str | None, status: LearnerStatus, now: str) -> bool:
    """iSpring `isOverdue`: the due date has passed and the module is not complete, passed
    or accepted. Instants are canonical UTC text, so string order is time order."""
    return due_at is not None and due_at < now and status not in FINISHED_LEARNER_STATUSES
