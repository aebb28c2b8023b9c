"""The audit log: one JSON line for each event a security review asks about.

Events: `token.issued` and `token.refused` at the token URLs, `credential.created` and
`credential.revoked` by the command line, `write.batch` and `write.erasure` on every route
that needs a `write.*` scope, and `access.denied` for every 401 and 403 on any other route.
Each line holds the same fields: `time` (UTC, ISO 8601), `event`, `tenant` (slug),
`principal` (a credential id, never a secret), `method`, `route` (the path template, so
no id or query string of the request shows), `status` and `outcome` (the status in a
word). Nothing else about the request is written: no address, no body, no header.

The lines go to the `learnreport.audit` logger, which writes them where the `audit_log`
setting says; with `off` they still reach any handler the operator gives that logger.

The middleware reads what the credential check and the token URL leave in the request's
state, and the status the answer starts with, so a route needs no code of its own and a
new write route is audited because it needs a write scope.
"""

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

import orjson
from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from learnreport.config import Settings

LOGGER = "learnreport.audit"
STANDARD_ERROR = "-"
OFF = "off"
WRITES = {"POST": "write.batch", "PUT": "write.batch", "PATCH": "write.batch"}
ERASURE = "write.erasure"
DENIED = "access.denied"
STATE = "audit"

_logger = logging.getLogger(LOGGER)


@dataclass(frozen=True, slots=True)
class Seen:
    """Who a request acted as, and the event it is, once the server knows."""

    tenant: str | None
    principal: str | None
    event: str | None


def note(request: Request, tenant: str | None, principal: str | None, event: str | None) -> None:
    setattr(request.state, STATE, Seen(tenant, principal, event))


def authenticated(request: Request, tenant: str, principal: str, scopes: Sequence[str]) -> None:
    """Called by the credential check for every request whose credential it knows: a request
    needing a write scope is a write, whatever its answer."""
    event = None
    if any(scope.startswith("write.") for scope in scopes):
        event = ERASURE if request.method == "DELETE" else WRITES.get(request.method)
    note(request, tenant, principal, event)


def record(
    event: str,
    *,
    tenant: str | None,
    principal: str | None,
    method: str | None = None,
    route: str | None = None,
    status: int | None = None,
) -> None:
    if not _logger.isEnabledFor(logging.INFO):
        return
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": event,
        "tenant": tenant,
        "principal": principal,
        "method": method,
        "route": route,
        "status": status,
        "outcome": outcome(status),
    }
    _logger.info(orjson.dumps(line).decode())


def outcome(status: int | None) -> str:
    if status is None or status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    if status == 429:
        return "throttled"
    return "rejected" if status < 500 else "failed"


class AuditMiddleware:
    """Writes the audit line of a request once its answer is sent (or has failed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            _audit(scope, status)


def _audit(scope: Scope, status: int) -> None:
    seen: Seen | None = scope.get("state", {}).get(STATE)
    event = seen.event if seen is not None else None
    if status in (401, 403) and not (event or "").startswith("token."):
        event = DENIED
    if event is None:
        return
    record(
        event,
        tenant=seen.tenant if seen is not None else None,
        principal=seen.principal if seen is not None else None,
        method=scope["method"],
        route=getattr(scope.get("route"), "path", None),
        status=status,
    )


class _Lines(logging.Handler):
    """Each record's message as a line, on standard error as it is at the time (a test
    runner swaps it) or appended to a file."""

    def __init__(self, destination: str) -> None:
        super().__init__()
        self.destination = destination
        self._file: IO[str] | None = None
        if destination != STANDARD_ERROR:
            self._file = open(destination, "a", encoding="utf-8")  # noqa: SIM115

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self._file if self._file is not None else sys.stderr
            stream.write(record.getMessage() + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


def direct(destination: str) -> None:
    """Send the audit lines to `destination`: the last call of the process decides, and
    calling it again with the same destination changes nothing."""
    _logger.setLevel(logging.INFO)
    ours = [handler for handler in _logger.handlers if isinstance(handler, _Lines)]
    if [handler.destination for handler in ours] == ([] if destination == OFF else [destination]):
        return
    for handler in ours:
        _logger.removeHandler(handler)
        handler.close()
    if destination != OFF:
        _logger.addHandler(_Lines(destination))


def install(app: FastAPI, settings: Settings) -> None:
    direct(settings.audit_log)
    app.add_middleware(AuditMiddleware)
