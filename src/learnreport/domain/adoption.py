"""The figures of the adoption report, from one learner's activity on one programme.

AIHR's page is the contract: for each learner, "the cumulative time a learner has spent on
a course or program, in hours", and for each programme "the completion percentage of the
program", "the total time spent on the program, in minutes", "the remaining time to
complete the program, in minutes" and "the total duration of the program" (`PT20H` in its
example). The database sums the activity; these rules turn the sums into those figures.

Rounding is half up everywhere, so that a figure never depends on how binary floating
point happens to store a half.
"""

from decimal import ROUND_HALF_UP, Decimal

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600


def _half_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def minutes_spent(seconds: int) -> int:
    """Time is recorded in seconds and shown in whole minutes, to the nearest minute (30
    seconds and more round up), so that a short visit is not shown as no time at all."""
    return int(_half_up(Decimal(seconds) / SECONDS_PER_MINUTE, 0))


def hours_studied(seconds: int) -> float:
    """`totalHoursStudied`: "the cumulative time a learner has spent [...], in hours",
    rounded to one decimal (an hour and a half is 1.5)."""
    return float(_half_up(Decimal(seconds) / SECONDS_PER_HOUR, 1))


def time_left(total_minutes: int, spent_minutes: int) -> int:
    """`timeLeftInMinutes`: "the remaining time to complete the program"; a learner who has
    spent longer than the programme's duration has none left, never a negative amount."""
    return max(0, total_minutes - spent_minutes)


def completion(own_progress: float | None, items_done: int, items_total: int) -> float:
    """`value`: "the completion percentage of the program (e.g., 75)", to one decimal.

    The platform's own record of the programme, when the learner has one, is what the
    learner saw, so its latest attempt's progress wins. Without one, the share of the
    programme's items the learner has completed or passed stands in for it; a programme
    without items and without a record of its own is 0 % done.
    """
    if own_progress is not None:
        percent = Decimal(str(own_progress))
    elif items_total > 0:
        percent = Decimal(100 * items_done) / items_total
    else:
        percent = Decimal(0)
    return float(_half_up(percent, 1))


def iso_duration(minutes: int) -> str:
    """`totalDuration` as an ISO 8601 duration in hours and minutes: `PT20H`, `PT1H30M`,
    `PT45M`, and `PT0S` for nothing (a duration needs at least one component).

    Hours are not carried into days: a day is not always 24 hours in ISO 8601, and a
    programme's duration is study time, not calendar time, so 36 hours is `PT36H`.
    """
    if minutes < 0:
        raise ValueError(f"a duration is never negative: {minutes} minutes")
    if minutes == 0:
        return "PT0S"
    hours, rest = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{rest}M" if rest else "")
