"""A server and the command line collect garbage cycles rarely: the write path and the
reports make many short-lived containers and no cycles."""

import gc
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from learnreport.api.app import create_app
from learnreport.cli import app as cli
from learnreport.collector import THRESHOLDS
from learnreport.config import Settings


@pytest.fixture
def default_thresholds() -> Iterator[None]:
    kept = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*kept)


@pytest.mark.usefixtures("default_thresholds")
def test_a_server_collects_after_many_new_containers(engine: sa.Engine) -> None:
    with TestClient(create_app(Settings(database_url=str(engine.url)), engine)):
        assert gc.get_threshold() == THRESHOLDS


@pytest.mark.usefixtures("default_thresholds")
def test_every_command_collects_after_many_new_containers() -> None:
    CliRunner().invoke(cli, ["tenants", "list", "--help"])
    assert gc.get_threshold() == THRESHOLDS
