"""What routes take from the application: read off `app.state` by the route itself.

Everything comes from `app.state`, filled in by `create_app`, so a test chooses the
engine by passing it to the factory, never by patching a module global.

Read by a plain call, not injected with FastAPI's `Depends`: FastAPI solves every injected
dependency afresh for each request (its sub-dependencies, its cache key, whether it is a
generator or a coroutine), and the engine, the settings and the cursor signer, injected,
cost a first page of modules about 0.06 ms of a 1 ms request in the process at 1,000,000
results. The dependencies left are those that carry a meaning of their own to the OpenAPI
document: the credential and its scopes.
"""

import sqlalchemy as sa
from starlette.requests import Request

from learnreport.api.paging import Cursors
from learnreport.config import Settings
from learnreport.store.secrets import server_secret


def engine(request: Request) -> sa.Engine:
    found: sa.Engine = request.app.state.engine
    return found


def settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


def cursors(request: Request) -> Cursors:
    """The cursor signer, made once per application from the database's cursor secret.

    The first call reads the secret, or creates it, through the engine: call it where the
    engine's queries may run (a worker thread, or a function given to `api.inline.run`),
    never straight on the event loop, which must not wait on PostgreSQL."""
    found: Cursors | None = getattr(request.app.state, "cursors", None)
    if found is None:
        found = request.app.state.cursors = _load_cursors(engine(request))
    return found


def _load_cursors(engine: sa.Engine) -> Cursors:
    with engine.connect() as connection:
        return Cursors(server_secret(connection, "cursor"))
