"""The uuids the store gives records that arrive without one.

They are version 7 (RFC 9562): the first 48 bits are the time in milliseconds, the rest
random. Each table indexes its uuids uniquely. Random (version 4) ones land anywhere in
the index, so once it outgrows the page cache a batch of new rows touches a page of it
per row; time-ordered ones land at its end, on a few pages.
"""

import os
import time
from uuid import UUID

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62


def minted() -> str:
    """A new version 7 uuid, as text."""
    random = int.from_bytes(os.urandom(10))
    value = (time.time_ns() // 1_000_000) << 80 | _VERSION | (random >> 64 & 0xFFF) << 64
    return str(UUID(int=value | _VARIANT | random & (1 << 62) - 1))
