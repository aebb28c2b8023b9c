"""Files written from the store: a kind's file imports into an empty database and exports
again byte for byte, in every format, on SQLite and PostgreSQL."""

from contextlib import closing
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from learnreport import exports
from learnreport.ingest import KINDS, demo, imports, ingest
from learnreport.ingest.files import FORMATS
from learnreport.store import tenants
from learnreport.store.tenants import Tenant

AWKWARD: list[tuple[str, list[dict[str, Any]]]] = [
    ("users", [{
        "id": "=cmd", "username": "", "first_name": "'quoted", "last_name": 'minus, "comma"',
        "email": "odd@example.com", "employee_id": "\ttab", "saml_username": "\rreturn",
        "custom_fields": {"z": "=1+1", "a": "line\nbreak", "m": "", "é": "ünïcode ✓"},
        "contract_end_date": "2026-02-28", "modified_at": "2025-05-05T05:05:05+02:00",
    }]),
    ("groups", [{
        "id": "+group", "name": "@group", "parent_id": "ag-root",
        "name_i18n": {"nl": "Groep", "en": "Group"},
        "extra": {"b": [1, 2.5, {"y": None, "x": True}], "a": "-text"},
    }]),
    ("memberships", [{"user_id": "=cmd", "group_id": "+group"}]),
    ("enrollments", [
        {"id": "e-session", "user_id": "=cmd", "path_session_id": "apath1-spring",
         "mandatory": False},
    ]),
    ("results", [
        {"id": "r-odd", "user_id": "=cmd", "content_id": "aa0001", "state": "passed",
         "grade": "très bien ✓", "score": 0.1, "progress": 33.3333, "flagged": True},
    ]),
]  # fmt: skip
"""Records whose text a spreadsheet would take for a formula, that is empty, quoted or on
several lines, and nested parts with keys out of order, besides the demo's."""


def export_all(engine: sa.Engine, tenant_id: int, folder: Path, fmt: str) -> dict[str, Path]:
    folder.mkdir()
    written = {}
    with engine.connect() as connection:
        for kind in KINDS:
            layout, batches = exports.kind(connection, tenant_id, kind)
            path = written[kind] = folder / f"{kind}.{fmt}"
            with closing(batches), path.open("wb") as out:
                for _ in exports.write(out, fmt, layout, batches):
                    pass
    return written


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_kind_exported_imported_into_an_empty_database_and_exported_again_is_the_same(
    engine: sa.Engine, second_engine: sa.Engine, tmp_path: Path, fmt: str
) -> None:
    demo.run(engine, users=12, results=150)
    with engine.connect() as connection:
        acme = tenants.get(connection, "acme")
    for kind, records in AWKWARD:
        ingest(engine, acme.id, kind, records)
    with second_engine.begin() as connection:
        copy = tenants.create(connection, "acme", "Acme Corporation")
    first = export_all(engine, acme.id, tmp_path / "first", fmt)
    for kind in KINDS:
        outcome = imports.run(second_engine, copy.id, kind, first[kind], fmt=fmt, batch_size=5)
        assert outcome.errors == [], kind
        assert outcome.summary.inserted == outcome.summary.received > 0, kind
    second = export_all(second_engine, copy.id, tmp_path / "second", fmt)
    for kind in KINDS:
        assert first[kind].read_bytes() == second[kind].read_bytes(), kind


def test_parquet_columns_are_typed_from_the_record_struct(
    engine: sa.Engine, tenant: Tenant, tmp_path: Path
) -> None:
    ingest(engine, tenant.id, "users", [{"id": "u1"}])
    ingest(engine, tenant.id, "activities", [{"id": "a1", "name": "One"}])
    ingest(engine, tenant.id, "results", [
        {"id": "r1", "user_id": "u1", "content_id": "a1", "state": "passed", "score": 9.5,
         "completed_at": "2025-01-31T08:30:00Z"},
    ])  # fmt: skip
    folder = export_all(engine, tenant.id, tmp_path / "files", "parquet")
    schema = pq.read_schema(folder["results"])
    assert [(name, schema.field(name).type) for name in
            ("id", "attempt", "progress", "score", "flagged", "state", "completed_at")] == [
        ("id", pa.string()), ("attempt", pa.int64()), ("progress", pa.float64()),
        ("score", pa.float64()), ("flagged", pa.bool_()), ("state", pa.string()),
        ("completed_at", pa.string()),
    ]  # fmt: skip
    [row] = pq.read_table(folder["results"]).to_pylist()
    assert (row["completed_at"], row["score"], row["grade"]) == ("2025-01-31T08:30:00Z", 9.5, None)
    assert pq.read_schema(folder["users"]).field("custom_fields").type == pa.string()


def test_a_kind_without_records_exports_an_empty_but_whole_file(
    engine: sa.Engine, tenant: Tenant, tmp_path: Path
) -> None:
    folder = {fmt: export_all(engine, tenant.id, tmp_path / fmt, fmt) for fmt in FORMATS}
    assert folder["csv"]["memberships"].read_bytes() == b"user_id,group_id\r\n"
    assert folder["ndjson"]["memberships"].read_bytes() == b""
    assert pq.read_table(folder["parquet"]["memberships"]).num_rows == 0


def test_a_reports_csv_file_is_its_http_export_counted_by_the_rows_of_each_chunk(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """The file is written by the database as the HTTP export is, not from the batches."""
    demo.run(engine, users=12, results=150)
    path = tmp_path / "modules.csv"
    with engine.connect() as connection:
        acme = tenants.get(connection, "acme")
        layout, batches = exports.report(connection, acme, "modules", [])
        with closing(batches), path.open("wb") as out:
            counts = list(exports.write(out, "csv", layout, batches))
        rows = sum(len(batch) for batch in exports.report(connection, acme, "modules", [])[1])
        assert layout.written is not None
        http = b"".join(layout.written(lambda _: None))
    assert path.read_bytes() == http
    assert sum(counts) == rows > 0
