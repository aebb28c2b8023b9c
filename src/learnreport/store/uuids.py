"""The uuids the store gives records that arrive without one.

They are version 7 (RFC 9562): the first 48 bits are the time in milliseconds, the rest
random. Each table indexes its uuids uniquely. Random (version 4) ones land anywhere in
the index, so once it outgrows the page cache a batch of new rows touches a page of it
per row; time-ordered ones land at its end, on a few pages.
"""

import os
import time

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62
_RANDOM_BYTES = 10
"""The 74 random bits of each uuid, in whole bytes."""


def minted() -> str:
    """A new version 7 uuid, as text."""
    return mint(1)[0]


def mint(count: int) -> list[str]:
    """`count` new version 7 uuids, as text, from one read of the system's random source:
    a read for each uuid was 2.5% of building the benchmark's M dataset, whose enrollments
    arrive without uuids."""
    stamp = (time.time_ns() // 1_000_000) << 80 | _VERSION | _VARIANT
    noise = os.urandom(_RANDOM_BYTES * count)
    minted = []
    for start in range(0, len(noise), _RANDOM_BYTES):
        random = int.from_bytes(noise[start : start + _RANDOM_BYTES])
        text = f"{stamp | (random >> 64 & 0xFFF) << 64 | random & (1 << 62) - 1:032x}"
        minted.append(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")
    return minted
