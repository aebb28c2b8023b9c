from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from anyio import to_thread
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel

from learnreport import __version__
from learnreport.api.app import create_app
from learnreport.api.paging import Cursors
from learnreport.config import Settings
from learnreport.store.engine import create_engine
from learnreport.store.migrate import upgrade

PROBLEM = "application/problem+json"
CLOSED_PORT = "postgresql+psycopg://postgres:secret@127.0.0.1:1/nope"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'learnreport.db'}"


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def unreachable() -> Iterator[sa.Engine]:
    engine = create_engine(CLOSED_PORT)
    yield engine
    engine.dispose()


@pytest.fixture
def app(database_url: str, engine: sa.Engine) -> FastAPI:
    return create_app(Settings(database_url=database_url), engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def test_health_on_a_migrated_database(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_when_the_database_is_unreachable(unreachable: sa.Engine) -> None:
    app = create_app(Settings(database_url=CLOSED_PORT), unreachable)
    with TestClient(app) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    assert "secret" not in response.text


def test_the_cursor_signer_is_made_at_start_up_not_by_a_request_on_the_event_loop(
    app: FastAPI,
) -> None:
    with TestClient(app):
        assert isinstance(app.state.cursors, Cursors)


def test_a_database_down_at_start_up_leaves_the_cursor_signer_to_the_first_page(
    unreachable: sa.Engine,
) -> None:
    app = create_app(Settings(database_url=CLOSED_PORT), unreachable)
    with TestClient(app):
        assert getattr(app.state, "cursors", None) is None


def test_an_engine_built_by_the_app_is_disposed_of_at_shutdown(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert app.state.engine.pool.checkedin() > 0
    assert app.state.engine.pool.checkedin() == 0


def test_an_engine_passed_in_is_left_to_its_owner(app: FastAPI, engine: sa.Engine) -> None:
    with TestClient(app) as client:
        client.get("/health")
    assert engine.pool.checkedin() > 0


def test_openapi_document(client: TestClient) -> None:
    response = client.get("/api/v2/public/openapi.json")
    assert response.status_code == 200
    info = response.json()["info"]
    assert info["title"] == "learnreport"
    assert info["version"] == __version__
    assert "reporting server for learning platforms" in info["description"]
    assert "/health" in response.json()["paths"]


def test_every_operation_documents_the_refusals_it_can_meet(client: TestClient) -> None:
    """414 and 503 anywhere, 413 with a body, 429 with a credential."""
    paths = client.get("/api/v2/public/openapi.json").json()["paths"]
    missing = []
    for path, item in paths.items():
        for method, operation in item.items():
            wanted = {"414", "503"}
            wanted |= {"413"} if "requestBody" in operation else set()
            wanted |= {"429"} if operation.get("security") else set()
            missing += [(method, path, status) for status in wanted - operation["responses"].keys()]
    assert missing == []
    assert paths["/oauth/token"]["post"]["responses"]["429"]["description"].startswith("Too many")
    assert "429" in paths["/api/v3/token"]["post"]["responses"]


def test_every_credential_an_operation_takes_names_the_scope_it_needs(client: TestClient) -> None:
    """Tokens, API keys and HTTP Basic keys alike, so a client knows which key opens it."""
    paths = client.get("/api/v2/public/openapi.json").json()["paths"]
    unnamed = [
        (method, path, scheme)
        for path, item in paths.items()
        for method, operation in item.items()
        for requirement in operation.get("security", [])
        for scheme, scopes in requirement.items()
        if not scopes
    ]
    assert unnamed == []


def test_a_method_no_route_of_a_path_takes_is_405_allowing_every_method_of_its_routes(
    client: TestClient,
) -> None:
    """`/xapi/statements` is three routes, one per method; the answer names all three."""
    answer = client.delete("/xapi/statements")
    assert answer.status_code == 405
    assert {"GET", "POST", "PUT"} <= set(answer.headers["allow"].split(", "))


def test_docs_page(client: TestClient) -> None:
    response = client.get("/api/v2/public/docs/")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "/api/v2/public/openapi.json" in response.text


def test_docs_without_the_trailing_slash_redirects(client: TestClient) -> None:
    response = client.get("/api/v2/public/docs", follow_redirects=False)
    assert response.status_code in (307, 308)
    assert response.headers["location"].endswith("/api/v2/public/docs/")


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
    }


def test_a_wrong_method_keeps_its_allow_header(client: TestClient) -> None:
    response = client.post("/health")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["allow"] == "GET"


def test_a_bad_parameter_is_a_400_problem_naming_it(app: FastAPI) -> None:
    @app.get("/echo")
    def echo(size: int = Query(ge=1), tag: str = Query()) -> dict[str, int]:
        return {"size": size}

    with TestClient(app) as client:
        response = client.get("/echo", params={"size": "0"})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert (problem["type"], problem["title"], problem["status"]) == (
        "about:blank",
        "Bad Request",
        400,
    )
    assert [error["parameter"] for error in problem["errors"]] == ["size", "tag"]
    assert all(error["reason"] for error in problem["errors"])


class Filter(BaseModel):
    field: str
    value: int


class SearchBody(BaseModel):
    filters: list[Filter]


def test_a_bad_body_names_the_path_to_each_bad_field(app: FastAPI) -> None:
    @app.post("/search")
    def search(query: SearchBody) -> dict[str, int]:
        return {"filters": len(query.filters)}

    with TestClient(app) as client:
        response = client.post("/search", json={"filters": [{"field": "a", "value": "x"}, {}]})
    assert response.status_code == 400
    assert [error["parameter"] for error in response.json()["errors"]] == [
        "filters[0].value",
        "filters[1].field",
        "filters[1].value",
    ]


def test_an_unexpected_error_is_a_500_problem_without_internals(app: FastAPI) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("password=hunter2 at /srv/secret.py")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "The server could not complete the request.",
    }


def test_a_process_works_on_as_many_requests_at_once_as_the_threads_setting(
    database_url: str, engine: sa.Engine
) -> None:
    app = create_app(Settings(database_url=database_url, threads=3), engine)

    with TestClient(app) as client:
        limiter = client.portal.call(_thread_limit)

    assert limiter == 3


async def _thread_limit() -> float:
    return to_thread.current_default_thread_limiter().total_tokens
