"""How the write path reports what it refused."""

import re
from dataclasses import dataclass

import msgspec


@dataclass(frozen=True, slots=True)
class RecordError:
    """One reason a record was refused: its position in the batch, the field, and why."""

    index: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = f"record {self.index}" + (f", field {self.field}" if self.field else "")
        return f"{where}: {self.reason}"


class BatchRejected(Exception):
    """A batch with at least one bad record: nothing of it was written."""

    def __init__(self, kind: str, errors: list[RecordError]) -> None:
        self.kind = kind
        self.errors = sorted(errors, key=lambda error: (error.index, error.field or ""))
        super().__init__(f"{len(self.errors)} invalid {kind} record(s): {self.errors[0]}")


_AT = re.compile(r"^(?P<reason>.*) - at `\$(?P<path>.*)`$")
_NAMED = re.compile(r"field `(?P<field>[^`]+)`")


def from_validation(index: int, error: msgspec.ValidationError) -> RecordError:
    """Split msgspec's message ("Expected `int`, got `str` - at `$.attempt`") into parts."""
    message = str(error)
    if match := _AT.match(message):
        return RecordError(index, match["path"].lstrip("."), match["reason"])
    if match := _NAMED.search(message):
        return RecordError(index, match["field"], message)
    return RecordError(index, None, message)
