"""The adoption figures, as AIHR's page states them, on plain values."""

import pytest

from learnreport.domain.adoption import (
    completion,
    hours_studied,
    iso_duration,
    minutes_spent,
    time_left,
)


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (1200, "PT20H"),
        (90, "PT1H30M"),
        (45, "PT45M"),
        (0, "PT0S"),
        (60, "PT1H"),
        (61, "PT1H1M"),
        (1, "PT1M"),
        (36 * 60, "PT36H"),
    ],
)
def test_a_duration_is_iso_8601_hours_and_minutes_and_zero_is_pt0s(minutes: int, text: str) -> None:
    assert iso_duration(minutes) == text


def test_a_negative_duration_is_refused_rather_than_written_wrong() -> None:
    with pytest.raises(ValueError, match="never negative"):
        iso_duration(-1)


@pytest.mark.parametrize(
    ("total", "spent", "left"),
    [(1200, 900, 300), (1200, 1200, 0), (60, 90, 0), (0, 0, 0), (0, 15, 0), (45, 0, 45)],
)
def test_time_left_is_the_duration_less_the_time_spent_and_never_negative(
    total: int, spent: int, left: int
) -> None:
    assert time_left(total, spent) == left


@pytest.mark.parametrize(
    ("seconds", "hours"),
    [
        (54_000, 15.0),
        (5400, 1.5),
        (0, 0.0),
        (179, 0.0),
        (180, 0.1),
        (3600 + 179, 1.0),
        (3600 + 180, 1.1),
        (8 * 3600 + 1260, 8.4),
    ],
)
def test_hours_studied_are_rounded_half_up_to_one_decimal(seconds: int, hours: float) -> None:
    assert hours_studied(seconds) == hours


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(0, 0), (29, 0), (30, 1), (89, 1), (90, 2), (54_000, 900)],
)
def test_time_spent_is_shown_to_the_nearest_minute_halves_up(seconds: int, minutes: int) -> None:
    assert minutes_spent(seconds) == minutes


def test_the_programmes_own_progress_wins_over_its_items() -> None:
    assert completion(75.0, items_done=0, items_total=4) == 75.0
    assert completion(0.0, items_done=4, items_total=4) == 0.0


def test_without_its_own_record_a_programme_is_as_done_as_its_items() -> None:
    assert completion(None, items_done=3, items_total=4) == 75.0
    assert completion(None, items_done=1, items_total=3) == 33.3
    assert completion(None, items_done=2, items_total=3) == 66.7
    assert completion(None, items_done=0, items_total=3) == 0.0


def test_a_programme_with_neither_record_nor_items_is_not_done_at_all() -> None:
    assert completion(None, items_done=0, items_total=0) == 0.0


def test_completion_is_rounded_half_up_to_one_decimal() -> None:
    assert completion(33.35, items_done=0, items_total=0) == 33.4
    assert completion(None, items_done=1, items_total=8) == 12.5
    assert completion(None, items_done=1, items_total=16) == 6.3
