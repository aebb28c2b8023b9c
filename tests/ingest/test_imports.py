"""File imports on SQLite and PostgreSQL: checked whole, written in batches, resumable."""

import csv
import os
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from learnreport.ingest import imports, ingest
from learnreport.ingest.files import field_names, text_cell
from learnreport.ingest.imports import ImportRefused, Outcome
from learnreport.store.schema import groups, results
from learnreport.store.schema import imports as imports_table
from learnreport.store.tenants import Tenant


def result(n: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"r{n:03d}", "user_id": f"u{n % 3}", "content_id": "a1", "attempt": n + 1,
            "state": "completed", **fields}  # fmt: skip


def ndjson(path: Path, rows: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def run(engine: sa.Engine, tenant: Tenant, kind: str, path: Path, **options: Any) -> Outcome:
    options.setdefault("batch_size", 4)
    fmt = options.pop("fmt", path.suffix[1:])
    return imports.run(engine, tenant.id, kind, path, fmt=fmt, **options)


def count(engine: sa.Engine, table: sa.Table, tenant: Tenant) -> int:
    with engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(table).where(table.c.tenant_id == tenant.id)
        return int(connection.execute(query).scalar_one())


def import_rows(engine: sa.Engine, tenant: Tenant) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        query = (
            sa.select(imports_table)
            .where(imports_table.c.tenant_id == tenant.id)
            .order_by(imports_table.c.id)
        )
        return [dict(row) for row in connection.execute(query).mappings()]


@pytest.fixture
def people(engine: sa.Engine, tenant: Tenant) -> None:
    ingest(engine, tenant.id, "users", [{"id": f"u{n}"} for n in range(3)])
    ingest(engine, tenant.id, "activities", [{"id": "a1", "name": "One"}])


def test_a_good_file_is_written_in_batches_and_its_import_finished(
    engine: sa.Engine, tenant: Tenant, people: None, tmp_path: Path
) -> None:
    path = ndjson(tmp_path / "results.ndjson", [result(n) for n in range(10)])
    outcome = run(engine, tenant, "results", path)
    assert not outcome.failed
    assert (outcome.summary.received, outcome.summary.inserted, outcome.committed) == (10, 10, 10)
    assert count(engine, results, tenant) == 10
    [row] = import_rows(engine, tenant)
    assert (row["kind"], row["source"], row["records"], row["batch_size"]) == (
        "results",
        str(path),
        10,
        4,
    )
    assert row["finished_at"] is not None
    again = run(engine, tenant, "results", path)
    assert (again.summary.unchanged, again.summary.inserted) == (10, 0)


def test_an_error_in_the_last_batch_writes_nothing_of_the_file(
    engine: sa.Engine, tenant: Tenant, people: None, tmp_path: Path
) -> None:
    rows = [result(n) for n in range(9)] + [result(9, user_id="nobody")]
    outcome = run(engine, tenant, "results", ndjson(tmp_path / "results.ndjson", rows))
    assert [(e.line, e.field, e.reason) for e in outcome.errors] == [
        (10, "user_id", "no user with id 'nobody'")
    ]
    assert (outcome.import_id, outcome.committed) == (None, 0)
    assert count(engine, results, tenant) == 0
    assert import_rows(engine, tenant) == []


def test_records_may_refer_to_records_of_earlier_batches_of_the_same_file(
    engine: sa.Engine, tenant: Tenant, tmp_path: Path
) -> None:
    """The check pass keeps its transaction open across batches, so a group whose parent is
    three batches back is no error, although nothing is committed yet."""
    rows = [{"id": "g00", "name": "Root"}] + [
        {"id": f"g{n:02d}", "name": f"Group {n}", "parent_id": f"g{n - 1:02d}"}
        for n in range(1, 13)
    ]
    outcome = run(engine, tenant, "groups", ndjson(tmp_path / "groups.ndjson", rows))
    assert outcome.errors == []
    assert count(engine, groups, tenant) == 13


def test_every_kind_of_bad_line_is_named_with_its_line_field_and_reason(
    engine: sa.Engine, tenant: Tenant, people: None, tmp_path: Path
) -> None:
    path = tmp_path / "results.ndjson"
    path.write_bytes(
        b"\n".join(
            [
                orjson.dumps(result(0)),
                b"not json",
                b"[1, 2]",
                orjson.dumps(result(3, attempt="four")),
                orjson.dumps(result(4, colour="red")),
                orjson.dumps({"id": "r005", "user_id": "u1", "content_id": "a1"}),
                orjson.dumps(result(6, completed_at="2025-02-30T10:00:00Z")),
                orjson.dumps(result(7, id="r000")),
                orjson.dumps(result(8, content_id="nothing")),
                b'{"id": "r009", "user_id": "u',
            ]
        )
    )
    outcome = run(engine, tenant, "results", path, batch_size=10)
    assert [(e.line, e.field) for e in outcome.errors] == [
        (2, None),
        (3, None),
        (4, "attempt"),
        (5, "colour"),
        (6, "state"),
        (7, "completed_at"),
        (8, "id"),
        (9, "content_id"),
        (10, None),
    ]
    reasons = [e.reason for e in outcome.errors]
    assert reasons[6] == "duplicates line 1, in the same batch"
    assert reasons[7] == "no content with id 'nothing'"
    assert count(engine, results, tenant) == 0


def test_at_most_a_hundred_errors_are_kept_and_the_rest_counted(
    engine: sa.Engine, tenant: Tenant, people: None, tmp_path: Path
) -> None:
    rows = [result(n, user_id="nobody") for n in range(130)]
    outcome = run(engine, tenant, "results", ndjson(tmp_path / "r.ndjson", rows), batch_size=50)
    assert len(outcome.errors) == imports.MAX_ERRORS
    assert outcome.more_errors == 30
    assert [e.line for e in outcome.errors] == list(range(1, 101))


def test_a_dry_run_writes_nothing_and_counts_what_it_would_write(
    engine: sa.Engine, tenant: Tenant, people: None, tmp_path: Path
) -> None:
    stamp = "2025-06-01T00:00:00Z"
    ingest(
        engine, tenant.id, "results", [result(0, modified_at=stamp), result(1, modified_at=stamp)]
    )
    rows = [
        result(0, modified_at=stamp),
        result(1, modified_at="2025-07-01T00:00:00Z", progress=50),
        result(2),
        result(3),
    ]
    outcome = run(engine, tenant, "results", ndjson(tmp_path / "r.ndjson", rows), dry_run=True)
    summary = outcome.summary
    assert outcome.dry_run and not outcome.failed
    assert (summary.inserted, summary.updated, summary.unchanged) == (2, 1, 1)
    assert count(engine, results, tenant) == 2
    assert import_rows(engine, tenant) == []
    stale = [result(0, modified_at="2024-01-01T00:00:00Z")]
    skipped = run(engine, tenant, "results", ndjson(tmp_path / "s.ndjson", stale), dry_run=True)
    assert skipped.summary.skipped == 1


class Interrupted(Exception):
    pass


def interrupt_after(batches: int) -> imports.Progress:
    """A progress callback that stops the import after its nth committed batch, as a kill
    would, leaving the committed batches and the import's row behind."""
    done = []

    def progress(stage: str, count: int) -> None:
        if stage == "Importing":
            done.append(count)
            if len(done) == batches:
                raise Interrupted

    return progress


def test_a_resumed_import_goes_on_after_its_committed_batches(
    engine: sa.Engine, tenant: Tenant, people: None, tmp_path: Path
) -> None:
    path = ndjson(tmp_path / "results.ndjson", [result(n) for n in range(10)])
    with pytest.raises(Interrupted):
        run(engine, tenant, "results", path, progress=interrupt_after(2))
    [row] = import_rows(engine, tenant)
    assert (row["records"], row["finished_at"]) == (8, None)
    assert count(engine, results, tenant) == 8
    outcome = run(engine, tenant, "results", path, resume=True)
    assert (outcome.resumed_after, outcome.summary.received, outcome.committed) == (8, 2, 10)
    [row] = import_rows(engine, tenant)
    assert (row["records"], row["finished_at"] is not None) == (10, True)
    assert count(engine, results, tenant) == 10
    whole = tmp_path / "whole" / "results.ndjson"
    whole.parent.mkdir()
    ndjson(whole, [result(n) for n in range(10)])
    run(engine, tenant, "results", whole)
    assert import_rows(engine, tenant)[-1]["fingerprint"] == row["fingerprint"]


def test_resuming_with_a_file_whose_committed_records_differ_is_refused(
    engine: sa.Engine, tenant: Tenant, people: None, tmp_path: Path
) -> None:
    path = ndjson(tmp_path / "results.ndjson", [result(n) for n in range(10)])
    with pytest.raises(Interrupted):
        run(engine, tenant, "results", path, progress=interrupt_after(1))
    ndjson(path, [result(n, progress=1 if n == 2 else 0) for n in range(10)])
    with pytest.raises(ImportRefused, match="first 4 records are not the ones"):
        run(engine, tenant, "results", path, resume=True)
    assert count(engine, results, tenant) == 4
    assert import_rows(engine, tenant)[0]["records"] == 4


def test_resuming_without_an_unfinished_import_is_refused(
    engine: sa.Engine, tenant: Tenant, people: None, tmp_path: Path
) -> None:
    path = ndjson(tmp_path / "results.ndjson", [result(0)])
    with pytest.raises(ImportRefused, match="no unfinished results import"):
        run(engine, tenant, "results", path, resume=True)
    run(engine, tenant, "results", path)
    with pytest.raises(ImportRefused, match="no unfinished results import"):
        run(engine, tenant, "results", path, resume=True)


def test_the_fingerprint_does_not_depend_on_the_file_format(
    engine: sa.Engine, tenant: Tenant, people: None, tmp_path: Path
) -> None:
    rows = [result(n, progress=12.5, completed_at="2025-01-31T08:30:00Z") for n in range(5)]
    ndjson(tmp_path / "results.ndjson", rows)
    names = field_names("results")
    with (tmp_path / "results.csv").open("w", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(names)
        writer.writerows([text_cell(row.get(name)) for name in names] for row in rows)
    run(engine, tenant, "results", tmp_path / "results.ndjson")
    run(engine, tenant, "results", tmp_path / "results.csv")
    first, second = import_rows(engine, tenant)
    assert first["fingerprint"] == second["fingerprint"]


def test_a_pipe_is_written_batch_by_batch_until_its_first_bad_batch(
    engine: sa.Engine, tenant: Tenant, people: None, tmp_path: Path
) -> None:
    """A pipe can be read only once, so it cannot be checked whole first."""
    path = tmp_path / "results.ndjson"
    os.mkfifo(path)
    rows = [result(n) for n in range(9)] + [result(9, state="done")] + [result(10)]
    feeder = threading.Thread(target=ndjson, args=(path, rows))
    feeder.start()
    outcome = run(engine, tenant, "results", path)
    feeder.join()
    assert [(e.line, e.field) for e in outcome.errors] == [(10, "state")]
    assert outcome.committed == 8
    assert count(engine, results, tenant) == 8
    [row] = import_rows(engine, tenant)
    assert (row["records"], row["finished_at"]) == (8, None)


def test_an_import_leaves_its_row_only_once_a_batch_is_committed(
    engine: sa.Engine, tenant: Tenant, people: None, tmp_path: Path
) -> None:
    path = tmp_path / "results.ndjson"
    os.mkfifo(path)
    feeder = threading.Thread(target=ndjson, args=(path, [result(0, state="done"), result(1)]))
    feeder.start()
    outcome = run(engine, tenant, "results", path)
    feeder.join()
    assert (outcome.import_id, outcome.committed, len(outcome.errors)) == (None, 0, 1)
    assert import_rows(engine, tenant) == []
