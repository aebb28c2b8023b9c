"""What routes receive from the application, as `Annotated` aliases.

Everything comes from `app.state`, filled in by `create_app`, so a test chooses the
engine by passing it to the factory or through `app.dependency_overrides`, never by
patching a module global.
"""

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request

from learnreport.config import Settings


def get_engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


EngineDep = Annotated[sa.Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
