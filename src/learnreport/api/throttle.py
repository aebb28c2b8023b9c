"""A token bucket per key: how many events a key may have per period, with bursts.

Both throttles of the server are one of these: failed client authentications at the token
URL (keyed by client id and by address) and requests per credential. A bucket holds
`limit` tokens and refills at `limit / period` per second; an event spends one. A bucket
forgets nothing it holds and drains no faster than the events do, so a key waiting out its
`retry_after` always gets through.

State lives in one process: each worker throttles on its own, so `--workers N` lets a key
N times the limit. Keys may be chosen by whoever calls (a client id sent to the token URL),
so at most `max_keys` buckets are kept: when they are all taken, the full buckets go (a
full bucket means the same as none), then those used longest ago. Everything runs under
one lock, a few dictionary operations and a little arithmetic, cheap enough for every
request.
"""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

Clock = Callable[[], float]


class Decision(NamedTuple):
    """What a key may do now, in the terms of the IETF RateLimit header fields.

    A named tuple, not a frozen dataclass, since one is made per request: a tuple is made
    in half the time."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    """Seconds until the bucket is full again."""
    retry_after: int
    """Seconds until the next event is allowed; 0 while events are."""


class Limiter:
    def __init__(
        self,
        limit: int,
        period: float,
        *,
        max_keys: int = 100_000,
        clock: Clock = time.monotonic,
    ) -> None:
        if limit < 1 or period <= 0 or max_keys < 1:
            raise ValueError("a limiter needs a limit of 1 or more, a period and room for a key")
        self.limit = limit
        self.period = period
        self._rate = limit / period
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()
        """key -> [tokens, when they were counted], least recently used first."""
        self._lock = threading.Lock()

    def check(self, key: str) -> Decision:
        """Whether `key` may have an event now, spending nothing."""
        with self._lock:
            tokens = self._tokens(key, self._clock())
            return self._decide(tokens, allowed=tokens >= 1)

    def spend(self, key: str) -> Decision:
        """Count an event of `key`: allowed if a token was left, which it takes."""
        now = self._clock()
        with self._lock:
            tokens = self._tokens(key, now)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._store(key, tokens, now)
            return self._decide(tokens, allowed=allowed)

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            return float(self.limit)
        return min(self.limit, bucket[0] + (now - bucket[1]) * self._rate)

    def _store(self, key: str, tokens: float, now: float) -> None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket[0], bucket[1] = tokens, now
            self._buckets.move_to_end(key)
            return
        if len(self._buckets) >= self._max_keys:
            self._make_room(now)
        self._buckets[key] = [tokens, now]

    def _make_room(self, now: float) -> None:
        """Free a tenth of the room at once, so that a stream of new keys pays for a sweep
        once in `max_keys / 10` keys rather than with every key."""
        full = [
            key
            for key, (tokens, counted) in self._buckets.items()
            if tokens + (now - counted) * self._rate >= self.limit
        ]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) > self._max_keys - max(1, self._max_keys // 10):
            self._buckets.popitem(last=False)

    def _decide(self, tokens: float, *, allowed: bool) -> Decision:
        return Decision(
            allowed=allowed,
            limit=self.limit,
            remaining=math.floor(tokens),
            reset=math.ceil((self.limit - tokens) / self._rate),
            retry_after=0 if allowed else max(1, math.ceil((1 - tokens) / self._rate)),
        )
