"""What routes receive from the application, as `Annotated` aliases.

Everything comes from `app.state`, filled in by `create_app`, so a test chooses the
engine by passing it to the factory or through `app.dependency_overrides`, never by
patching a module global.

They are coroutines because they only read `app.state`: FastAPI runs a plain function
dependency in a worker thread, and each such hop cost a request about 0.3 ms, as much as
the query of a small page.
"""

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from learnreport.api.paging import Cursors
from learnreport.config import Settings
from learnreport.store.secrets import server_secret


async def get_engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_cursors(request: Request) -> Cursors:
    """The cursor signer, made once per application from the database's cursor secret."""
    cursors: Cursors | None = getattr(request.app.state, "cursors", None)
    if cursors is None:
        cursors = await run_in_threadpool(_load_cursors, request.app.state.engine)
        request.app.state.cursors = cursors
    return cursors


def _load_cursors(engine: sa.Engine) -> Cursors:
    with engine.connect() as connection:
        return Cursors(server_secret(connection, "cursor"))


EngineDep = Annotated[sa.Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CursorsDep = Annotated[Cursors, Depends(get_cursors)]
