"""What a measurement hands back: figures beside their reference, and correctness checks.

A figure carries its reference's value measured in the same run, so the ratio between
them is what a reader compares across machines; the target is printed beside it, met or
not, and never fails a run. A check is a fact about correctness, and does fail it.
"""

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Figure:
    measure: str
    """The measurement it belongs to: Full export, Page latency, ..."""
    name: str
    value: float
    unit: str
    reference: str | None = None
    reference_value: float | None = None
    target: str | None = None
    met: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Raw numbers a reader or the plot needs: depth, p50 and p99, rows, bytes."""

    @property
    def ratio(self) -> float | None:
        if self.reference_value in (None, 0):
            return None
        return self.value / self.reference_value  # type: ignore[operator]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


class Failed(Exception):
    """A measurement that could not be taken as it must be: a non-2xx answer, a server
    that would not start. The run stops; a missed target never raises this."""


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    """The p50 and p99 of some timings (p99 by interpolation, as `statistics` computes it)."""
    if len(samples_ms) < 2:
        return samples_ms[0], samples_ms[0]
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return statistics.median(samples_ms), cuts[98]
