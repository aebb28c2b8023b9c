"""Access logs that never hold a credential.

360Learning's page documents an API key in the query string (`?company=...&apiKey=...`),
and uvicorn's access log writes every request's path with its query string. A filter on
that logger masks the values of the parameters that carry credentials before any handler
sees the record.
"""

import logging
import re
from typing import Any

CREDENTIALS = re.compile(r"(?i)([?&](?:apikey|access_token|client_secret|key)=)[^&\s\"]*")


def mask(text: str) -> str:
    return CREDENTIALS.sub(r"\1***", text)


class MaskCredentials(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(value) for value in record.args)
        record.msg = _masked(record.msg)
        return True


def _masked(value: Any) -> Any:
    return mask(value) if isinstance(value, str) else value


def install(logger_name: str = "uvicorn.access") -> None:
    """Idempotent: each application the process builds calls it."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, MaskCredentials) for existing in logger.filters):
        logger.addFilter(MaskCredentials())
