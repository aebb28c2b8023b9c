"""JSON responses serialized by orjson.

FastAPI's own `ORJSONResponse` is deprecated (with a warning) in favour of Pydantic
serialization of response models; the hand-built bodies here (health, problem details)
have no model to serialize through, and orjson is what the report rows use too.
"""

from typing import Any

import orjson
from starlette.responses import JSONResponse


class OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
