"""Figures of one result that the reports derive rather than store."""

from collections.abc import Iterable

from learnreport.domain.states import DONE_STATES


def is_completed(state: str) -> bool:
    """TinQwise: "is_completed default on 'false' - but set on 'true' if activity is
    completed". Passing is completing too."""
    return state in DONE_STATES


def is_optional(enrolled_as_mandatory: Iterable[bool]) -> bool:
    """TinQwise: "optional default on 'false' - but set on 'true' if activity is optional
    content". Content is optional to a person enrolled in it only as optional; without an
    enrollment nothing says so, and one mandatory enrollment makes it mandatory."""
    flags = list(enrolled_as_mandatory)
    return bool(flags) and not any(flags)
