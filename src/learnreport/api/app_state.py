"""What routes take from the application: read off `app.state` by the route itself.

Everything comes from `app.state`, filled in by `create_app`, so a test chooses the
engine by passing it to the factory, never by patching a module global.

Read by a plain call, not injected with FastAPI's `Depends`: FastAPI solves every injected
dependency afresh for each request (its sub-dependencies, its cache key, whether it is a
generator or a coroutine), and the engine, the settings and the cursor signer, injected,
cost a first page of modules 0.03 to 0.04 ms of its 0.96 ms of CPU in the process at
1,000,000 results. The dependencies left are those that carry a meaning of their own to
the OpenAPI document: the credential and its scopes.
"""

import logging

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request

from learnreport.api.paging import Cursors
from learnreport.config import Settings
from learnreport.store.secrets import server_secret

logger = logging.getLogger(__name__)


def engine(request: Request) -> sa.Engine:
    found: sa.Engine = request.app.state.engine
    return found


def settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


def cursors(request: Request) -> Cursors:
    """The cursor signer of the application (`load_cursors`), or, if the database did not
    answer at start-up, made now: call it where the engine's queries may run (a worker
    thread, or a function given to `api.inline.run`), never straight on the event loop,
    which must not wait on PostgreSQL or on SQLite's write lock."""
    found: Cursors | None = getattr(request.app.state, "cursors", None)
    if found is None:
        found = request.app.state.cursors = _cursors(engine(request))
    return found


def load_cursors(app: Starlette) -> None:
    """Make the cursor signer at start-up, from the database's cursor secret, which the
    first cursor ever asked for creates. A database that does not answer is left for the
    first request that pages, which then answers 503 as any other would."""
    try:
        app.state.cursors = _cursors(app.state.engine)
    except sa.exc.SQLAlchemyError:
        logger.warning("the cursor secret could not be read at start-up", exc_info=True)


def _cursors(engine: sa.Engine) -> Cursors:
    with engine.connect() as connection:
        return Cursors(server_secret(connection, "cursor"))
