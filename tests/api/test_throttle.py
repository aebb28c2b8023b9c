"""The token bucket behind every throttle: a key gets its limit in a burst, then one event
per `period / limit` seconds, and no key's events touch another's; memory stays bounded
whatever keys arrive."""

import threading

import pytest
from clocks import Clock

from learnreport.api.throttle import Decision, Limiter


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_key_gets_its_limit_at_once_and_is_then_refused_until_a_token_is_due(
    clock: Clock,
) -> None:
    limiter = Limiter(3, 60, clock=clock)

    spent = [limiter.spend("a") for _ in range(4)]

    assert [decision.allowed for decision in spent] == [True, True, True, False]
    assert spent[2] == Decision(allowed=True, limit=3, remaining=0, reset=60, retry_after=0)
    assert spent[3] == Decision(allowed=False, limit=3, remaining=0, reset=60, retry_after=20)
    clock.now += 19
    assert not limiter.spend("a").allowed
    clock.now += 1
    assert limiter.spend("a").allowed


def test_a_bucket_refills_to_its_limit_and_no_further(clock: Clock) -> None:
    limiter = Limiter(3, 60, clock=clock)
    limiter.spend("a")
    limiter.spend("a")

    assert limiter.check("a") == Decision(True, 3, 1, 40, 0)
    clock.now += 20
    assert limiter.check("a") == Decision(True, 3, 2, 20, 0)
    clock.now += 3600
    assert limiter.check("a") == Decision(True, 3, 3, 0, 0)


def test_a_check_spends_nothing(clock: Clock) -> None:
    limiter = Limiter(1, 60, clock=clock)

    for _ in range(5):
        assert limiter.check("a").allowed
    assert limiter.spend("a").allowed
    assert limiter.check("a") == Decision(False, 1, 0, 60, 60)


def test_refused_events_do_not_push_the_next_allowed_one_further_away(clock: Clock) -> None:
    limiter = Limiter(2, 10, clock=clock)
    limiter.spend("a")
    limiter.spend("a")

    for _ in range(100):
        limiter.spend("a")
    clock.now += 5

    assert limiter.spend("a").allowed


def test_keys_are_counted_apart(clock: Clock) -> None:
    limiter = Limiter(1, 60, clock=clock)

    assert limiter.spend("a").allowed
    assert not limiter.spend("a").allowed
    assert limiter.spend("b").allowed


def test_full_buckets_make_room_first_so_a_key_short_of_tokens_keeps_its_count(
    clock: Clock,
) -> None:
    limiter = Limiter(2, 60, max_keys=10, clock=clock)
    limiter.spend("short")
    limiter.spend("short")
    for number in range(9):
        limiter.spend(f"key-{number}")
    clock.now += 30
    # The nine keys spent once are full again, "short" has one of its two tokens back, and
    # it is the key used longest ago.

    limiter.spend("newcomer")

    assert len(limiter) == 2
    assert limiter.check("short").remaining == 1


def test_when_no_bucket_is_full_the_least_recently_used_ones_go(clock: Clock) -> None:
    limiter = Limiter(1, 60, max_keys=10, clock=clock)
    for number in range(10):
        limiter.spend(f"key-{number}")
    limiter.spend("key-0")

    limiter.spend("newcomer")

    assert len(limiter) == 10
    assert not limiter.check("key-0").allowed
    assert limiter.check("key-1").allowed
    assert not limiter.check("newcomer").allowed


def test_events_spent_at_once_from_many_threads_are_counted_exactly(clock: Clock) -> None:
    limiter = Limiter(1000, 60, clock=clock)
    allowed: list[bool] = []
    start = threading.Barrier(8)

    def spend() -> None:
        start.wait()
        allowed.extend(limiter.spend("a").allowed for _ in range(200))

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert allowed.count(True) == 1000


@pytest.mark.parametrize("limit, period, max_keys", [(0, 60, 10), (1, 0, 10), (1, 60, 0)])
def test_a_limiter_that_could_never_allow_anything_is_a_programming_error(
    limit: int, period: float, max_keys: int
) -> None:
    with pytest.raises(ValueError):
        Limiter(limit, period, max_keys=max_keys)
