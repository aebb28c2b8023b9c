"""Schemathesis over the application's own OpenAPI document, every operation, every check.

Each operation is called in-process with the credential its document names (a bearer
token, an API key in its header, HTTP Basic for xAPI) of acme's owner; globex's owner is
its peer, so the object-level authorization check replays acme's reads as globex and fails
if globex gets acme's objects. A few examples per operation, derandomized, keep the default
suite quick; `LEARNREPORT_FUZZ_EXAMPLES=500 .venv/bin/pytest tests/api/test_openapi_fuzz.py`
runs longer (README.md, Testing).
"""

import base64
import json
import os
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.wfc.escalation import EscalatingAuthProvider
from two_tenants import Credentials, World

from learnreport.api.app import PUBLIC, create_app
from learnreport.config import Settings

LONG = os.environ.get("LEARNREPORT_FUZZ_EXAMPLES")
EXAMPLES = int(LONG or 5)
"""Examples per operation. The coverage phase, which sends every boundary and missing part
of every parameter (about a second an operation), runs in the long run only."""
KEY_HEADERS = {"X-AIHR-API-Key", "X-API-Key", "X-apiKey"}


@schemathesis.serializer("application/x-ndjson")
def ndjson(context: schemathesis.SerializationContext, value: Any) -> bytes:
    """The ingest routes take NDJSON, whose document describes one line: one record, or
    whatever else a negative case puts on it, integers past 64 bits included."""
    return json.dumps(value).encode() + b"\n"


class TenantAuth:
    """One tenant owner's credentials, sent the way each operation's document asks."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> Credentials:
        return self.credentials

    def set(
        self, case: schemathesis.Case, data: Credentials, context: schemathesis.AuthContext
    ) -> None:
        schemes = {
            name for need in context.operation.definition.raw.get("security", []) for name in need
        }
        assert data.key is not None
        if "HTTPBasic" in schemes:
            user, _, password = data.key.rpartition(".")
            basic = base64.b64encode(f"{user}:{password}".encode()).decode()
            case.headers["Authorization"] = f"Basic {basic}"
        elif headers := schemes & KEY_HEADERS:
            case.headers[min(headers)] = data.key
        elif "OAuth2" in schemes:
            case.headers["Authorization"] = f"Bearer {data.token}"


RULES_BEYOND_SCHEMAS = {
    "^/api/v2/reports/": (400, "a range's _before earlier than its _after; a page past the last"),
    "^/analyse/results$": (400, "a range's from later than its to"),
    "^/learners/modules/results$": (400, "a range's startDate later than its endDate"),
    "^/xapi/statements$": (400, "a statement breaking a rule of xAPI's Data 2.4, which the "
                           "document names rather than restates"),
    "^/api/v2/ingest/": (422, "a record naming a record that does not exist, or a unique value "
                         "another record holds"),
}  # fmt: skip
"""Rules between values, or between a value and the stored records, that no OpenAPI schema
can state: a schema-valid request may break them, and its refusal, with the status and an
error naming the value, is right. Only these statuses are added to what
`positive_data_acceptance` expects, and only on these paths."""

CONFIG = schemathesis.Config.from_dict(
    {
        "phases": {"coverage": {"enabled": LONG is not None}},
        "operations": [
            {
                "include-path-regex": path,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "3xx", 401, 403, 404, 409, 429, status]
                    }
                },
            }
            for path, (status, _) in RULES_BEYOND_SCHEMAS.items()
        ],
    }
)

schema = schemathesis.openapi.from_asgi(
    f"{PUBLIC}/openapi.json",
    create_app(Settings(database_url="sqlite://"), sa.create_engine("sqlite://")),
    config=CONFIG,
)
"""The document as any application serves it; each backend's application answers the calls."""


@pytest.fixture(scope="module")
def api(shared_engine: sa.Engine, two_tenants: World) -> FastAPI:
    """The application over this backend's two tenants, whose owners the calls act as."""
    owners = [TenantAuth(two_tenants.identities[name]) for name in ("owner", "other_owner")]
    schema.auth.providers[:] = [
        EscalatingAuthProvider(owners, ["acme", "globex"], peers=("acme", "globex"),
                               pinned="acme")
    ]  # fmt: skip
    return create_app(
        Settings(database_url=shared_engine.url.render_as_string(False)), shared_engine
    )


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_passes_every_check(api: FastAPI, case: schemathesis.Case) -> None:
    case.call_and_validate(app=api)
