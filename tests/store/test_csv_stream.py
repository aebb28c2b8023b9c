"""SQLite's CSV through Arrow: the same bytes as the csv module whatever the first batch
holds, and the page cache of a connection reading an export given back after."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from learnreport.store import csv_stream, csv_text
from learnreport.store.csv_text import Kind
from learnreport.store.engine import CACHE_SIZE, EXPORT_CACHE_SIZE, create_engine, reading_through

METADATA = sa.MetaData()
VALUES = sa.Table(
    "csv_values",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("text", sa.Text),
    sa.Column("number", sa.Float),
    sa.Column("count", sa.Integer),
    sa.Column("flag", sa.Boolean),
)
KINDS = (Kind.INTEGER, Kind.TEXT, Kind.FLOAT, Kind.INTEGER, Kind.BOOLEAN)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> sa.Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'values.db'}")
    METADATA.create_all(engine)
    return engine


def test_columns_without_a_value_in_the_first_batches_are_written_as_the_csv_module_does(
    sqlite_engine: sa.Engine,
) -> None:
    """The ADBC driver types a column by its first batch: a column of NULLs there, then
    floats, text and integers, must still come out as Python writes them."""
    rows = [{"id": n} for n in range(1, 6)] + [
        {"id": 6, "text": 'a "quoted", \r\nline', "number": 1e16, "count": -3, "flag": True},
        {"id": 7, "text": "=formula", "number": 0.1, "count": 0, "flag": False},
        {"id": 8, "text": "", "number": 100.0, "count": 7, "flag": None},
        {"id": 9, "text": "plain", "number": 1 / 3},
    ]
    with sqlite_engine.begin() as connection:
        connection.execute(VALUES.insert(), [{**dict.fromkeys(VALUES.c.keys()), **r} for r in rows])
    columns = list(VALUES.c)
    fields = [csv_text.csv_field(column, kind) for column, kind in zip(columns, KINDS, strict=True)]
    query = sa.select(*columns).order_by(VALUES.c.id)
    with sqlite_engine.connect() as connection:
        written = b"".join(csv_stream.sqlite_arrow(connection, query, fields, batch=2))
        expected = csv_text.lines(connection.execute(query).all())
    assert written == expected
    assert b'"a ""quoted"", \r\nline"' in written and b"'=formula" in written
    assert b",1e+16,-3,true\r\n" in written and b"100.0" in written


def test_a_connection_reading_an_export_has_the_small_cache_and_gets_its_own_back(
    sqlite_engine: sa.Engine,
) -> None:
    def cache(connection: sa.Connection) -> int:
        return int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())

    with sqlite_engine.connect() as connection:
        assert cache(connection) == CACHE_SIZE
        with reading_through(connection):
            assert cache(connection) == EXPORT_CACHE_SIZE
        assert cache(connection) == CACHE_SIZE
        with pytest.raises(RuntimeError), reading_through(connection):
            raise RuntimeError("the export stopped")
        assert cache(connection) == CACHE_SIZE


def test_the_arrow_reader_is_for_a_file(tmp_path: Path) -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        assert not csv_stream.writes(connection)
    with create_engine(f"sqlite:///{tmp_path / 'file.db'}").connect() as connection:
        assert csv_stream.writes(connection)
