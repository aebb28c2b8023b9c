"""Requests per credential, when `rate_limit` is set: the credential check spends one of
the credential's tokens on every request, and a request without one is a 429 with
`Retry-After`, before its scope is looked at.

Every answer to a request whose credential was counted carries the RateLimit-Limit,
RateLimit-Remaining and RateLimit-Reset fields of draft-ietf-httpapi-ratelimit-headers
(the limit, the requests left, and the seconds until all of them are again), added by a
middleware as the answer starts, so that answers a route builds itself, streams and errors
in a dialect's own shape carry them alike. Without a limit neither the counting nor the
middleware exists, so the default costs nothing.
"""

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from learnreport.api.throttle import Decision, Limiter
from learnreport.config import Settings

STATE = "rate"


def install(app: FastAPI, settings: Settings) -> None:
    limited = settings.rate_limit > 0
    app.state.rate_limiter = (
        Limiter(settings.rate_limit, settings.rate_limit_period) if limited else None
    )
    if limited:
        app.add_middleware(RateLimitHeaders)


def admit(request: Request, credential: str) -> None:
    """Count a request of `credential`; raises the 429 once it is over its limit."""
    limiter: Limiter | None = request.app.state.rate_limiter
    if limiter is None:
        return
    decision = limiter.spend(credential)
    setattr(request.state, STATE, decision)
    if not decision.allowed:
        raise HTTPException(
            429,
            f"This credential may make {limiter.limit} requests in {limiter.period:g} seconds; "
            f"retry after {decision.retry_after} seconds.",
            headers={"Retry-After": str(decision.retry_after)},
        )


def headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", b"%d" % decision.limit),
        (b"ratelimit-remaining", b"%d" % decision.remaining),
        (b"ratelimit-reset", b"%d" % decision.reset),
    ]


class RateLimitHeaders:
    """Adds the header fields to the start of an answer; other messages, and those of other
    protocols than HTTP, pass as they are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision: Decision | None = scope.get("state", {}).get(STATE)
                if decision is not None:
                    message = {
                        **message,
                        "headers": [*message.get("headers", []), *headers(decision)],
                    }
            await send(message)

        await self.app(scope, receive, with_headers)
