"""What routes receive from the application, as `Annotated` aliases.

Everything comes from `app.state`, filled in by `create_app`, so a test chooses the
engine by passing it to the factory or through `app.dependency_overrides`, never by
patching a module global.
"""

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request

from learnreport.api.paging import Cursors
from learnreport.config import Settings
from learnreport.store.secrets import server_secret


def get_engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_cursors(request: Request) -> Cursors:
    """The cursor signer, made once per application from the database's cursor secret."""
    cursors: Cursors | None = getattr(request.app.state, "cursors", None)
    if cursors is None:
        with get_engine(request).connect() as connection:
            cursors = Cursors(server_secret(connection, "cursor"))
        request.app.state.cursors = cursors
    return cursors


EngineDep = Annotated[sa.Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CursorsDep = Annotated[Cursors, Depends(get_cursors)]
