"""Where each size's dataset lives on each backend, and making a database empty again.

SQLite data is a file under bench/data (ignored by git); PostgreSQL data is a database of
its own per size, so a run never touches the database the test suite uses.
"""

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from learnreport.store.engine import create_engine

DATA = Path(__file__).parent / "data"
RESULTS = Path(__file__).parent / "results"
POSTGRESQL_SERVER = os.environ.get(
    "LEARNREPORT_BENCH_POSTGRESQL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
"""A PostgreSQL server to create the benchmark databases on, given by any database on it."""


def url(size: str, backend: str, server: str = POSTGRESQL_SERVER) -> str:
    """The database URL of a size's dataset on a backend."""
    if backend == "sqlite":
        return f"sqlite:///{sqlite_file(size)}"
    return (
        make_url(server)
        .set(database=f"learnreport_bench_{size.lower()}")
        .render_as_string(hide_password=False)
    )


def sqlite_file(size: str) -> Path:
    return DATA / f"{size}.db"


def recreate(database_url: str) -> None:
    """Drop the database (or the file and its journal) and create it empty."""
    address = make_url(database_url)
    if address.get_backend_name() == "sqlite":
        path = Path(str(address.database))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    admin = create_engine(address.set(database="postgres"))
    name = address.database
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()


def drop(database_url: str) -> None:
    """Drop a scratch PostgreSQL database; a SQLite file goes with its temporary folder."""
    address = make_url(database_url)
    if address.get_backend_name() != "postgresql":
        return
    admin = create_engine(address.set(database="postgres"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{address.database}" WITH (FORCE)')
    admin.dispose()


def psql_url(database_url: str) -> str:
    """The same database as a libpq URL, for psql."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


def engine(database_url: str) -> sa.Engine:
    return create_engine(database_url)
