"""`GET /health`: whether this process can serve reports, for load balancers and probes."""

import logging
from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter, Request
from pydantic import BaseModel

from learnreport.api import app_state
from learnreport.api.errors import RETRY_DOWN
from learnreport.api.responses import OrjsonResponse

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database cannot be reached."}},
    summary="Health check",
)
def health(request: Request) -> OrjsonResponse:
    """Answers 503 rather than 500 when the database is down, so a probe can tell the two
    apart, with the `Retry-After` of every report then; the cause goes to the log only, as
    it may name hosts or users."""
    try:
        with app_state.engine(request).connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        logger.warning("health check: database unreachable", exc_info=True)
        return OrjsonResponse(
            {"status": "unavailable", "database": "unreachable"},
            status_code=503,
            headers={"Retry-After": str(RETRY_DOWN)},
        )
    return OrjsonResponse({"status": "ok", "database": "ok"})
