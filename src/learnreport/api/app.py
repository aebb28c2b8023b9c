"""The application factory: `uvicorn --factory learnreport.api.app:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from anyio import to_thread
from fastapi import FastAPI

from learnreport import __version__
from learnreport.api import (
    app_state,
    audit,
    errors,
    health,
    inline,
    limits,
    logs,
    oauth,
    ratelimit,
)
from learnreport.api.surfaces import analyse, external, ingest, learners, native, paths, xapi
from learnreport.collector import collect_less_often
from learnreport.config import Settings
from learnreport.store.engine import create_engine

PUBLIC = "/api/v2/public"

DESCRIPTION = """\
learnreport is an open-source reporting server for learning platforms. It keeps a
platform's people, content and progress records, per tenant, and serves them to BI tools,
HR systems and scripts through secure, filtered, paginated report APIs.

Errors are RFC 9457 problem details (`application/problem+json`).
"""


def create_app(settings: Settings | None = None, engine: sa.Engine | None = None) -> FastAPI:
    """Build an application; each call is independent, so tests and workers share nothing.

    An engine passed in belongs to the caller, who disposes of it; one built here from the
    settings is disposed of when the application shuts down.
    """
    settings = settings if settings is not None else Settings()
    owned = engine is None
    if engine is None:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.pool_size,
            statement_timeout_ms=settings.statement_timeout_ms,
            lock_timeout_ms=settings.lock_timeout_ms,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Threads of one process share one interpreter lock: on 2 cores the first page of
        # modules answered 400 requests/s with 1 thread, 350 with 2 and 190 with anyio's
        # default of 40, which spend their time handing the lock around. Two keep a slow
        # request (a count over millions of rows) from stopping every other.
        to_thread.current_default_thread_limiter().total_tokens = settings.threads
        collect_less_often()
        await to_thread.run_sync(app_state.load_cursors, app)
        yield
        if owned:
            app.state.engine.dispose()

    app = FastAPI(
        title="learnreport",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=f"{PUBLIC}/openapi.json",
        docs_url=f"{PUBLIC}/docs/",
        swagger_ui_oauth2_redirect_url=f"{PUBLIC}/docs/oauth2-redirect",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    errors.install(app)
    app.add_middleware(inline.OneReadPerRequest)
    app.add_middleware(
        limits.Middleware,
        limits=limits.Limits.of(settings),
        router=app.router,
        exempt=(f"{ingest.PREFIX}/",),
    )
    logs.install()
    oauth.install(app, settings)
    ratelimit.install(app, settings)
    audit.install(app, settings)
    app.include_router(health.router)
    app.include_router(oauth.router)
    app.include_router(native.router)
    app.include_router(analyse.router)
    app.include_router(external.router)
    app.include_router(learners.tokens)
    app.include_router(learners.router)
    app.include_router(paths.router)
    app.include_router(xapi.router)
    app.include_router(ingest.router)
    _add_components(app, ingest.openapi_components(), settings)
    return app


METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def _refusals(settings: Settings) -> dict[str, dict[str, str]]:
    """The answers any operation may give before or beside its own: the request limits
    (`limits`), the rate limit of its credential, and a database that is down or too slow."""
    return {
        "414": {"description": f"The URL is longer than {settings.max_url_bytes} bytes."},
        "413": {"description": "The body is larger than the route takes."},
        "429": {"description": "The credential's rate limit is spent; retry after Retry-After."},
        "503": {
            "description": "The database is unavailable or the query took too long; retry "
            "after Retry-After."
        },
    }


def _document_refusals(document: dict[str, Any], settings: Settings) -> None:
    """Each operation lists the refusals it can meet: 413 where it takes a body, 429 where
    it takes a credential, 414 and 503 everywhere, so that a client (or a fuzzer) reading the
    document knows every status it may see."""
    answers = _refusals(settings)
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            wanted = ["414", "503"]
            if "requestBody" in operation:
                wanted.append("413")
            if operation.get("security"):
                wanted.append("429")
            responses = operation.setdefault("responses", {})
            for status in wanted:
                responses.setdefault(status, answers[status])


def _add_components(app: FastAPI, schemas: dict[str, Any], settings: Settings) -> None:
    """Add schemas that routes refer to but FastAPI does not know of (the write path's
    records are msgspec structs, not pydantic models), and the refusals every operation
    may answer."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            known = document.setdefault("components", {}).setdefault("schemas", {})
            if clashes := known.keys() & schemas.keys():
                raise RuntimeError(f"two schemas would share the names {sorted(clashes)}")
            known.update(schemas)
            _document_refusals(document, settings)
        return app.openapi_schema or document

    app.openapi = openapi  # type: ignore[method-assign]
