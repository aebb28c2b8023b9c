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
