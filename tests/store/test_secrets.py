"""Server secrets: made once, the same for every process and connection, whatever becomes of
the transaction that first asked."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from learnreport.store.engine import create_engine
from learnreport.store.schema import server_secrets
from learnreport.store.secrets import server_secret


def from_another_process(engine: sa.Engine, name: str) -> bytes:
    """What a process with its own engine, and so nothing remembered, reads."""
    other = create_engine(engine.url)
    try:
        with other.connect() as connection:
            return server_secret(connection, name)
    finally:
        other.dispose()


def test_a_secret_is_made_on_first_use_and_then_kept(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        first = server_secret(connection, "cursor")
        again = server_secret(connection, "cursor")

    assert len(first) == 32
    assert again == first
    assert from_another_process(engine, "cursor") == first
    with engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(server_secrets)).scalar() == 1
        )


def test_each_name_has_its_own_secret(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        assert server_secret(connection, "cursor") != server_secret(connection, "other")


def test_a_secret_survives_the_rollback_of_the_transaction_that_made_it(
    engine: sa.Engine,
) -> None:
    with pytest.raises(RuntimeError), engine.begin() as connection:
        made = server_secret(connection, "cursor")
        raise RuntimeError("the caller's work fails")

    assert from_another_process(engine, "cursor") == made


def test_processes_making_a_secret_at_once_all_get_the_same_one(engine: sa.Engine) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        seen = set(pool.map(lambda _: from_another_process(engine, "race"), range(4)))

    assert len(seen) == 1
