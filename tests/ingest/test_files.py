"""Reading files of records: every format's records and every kind of bad line, by line."""

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from learnreport.ingest.files import (
    FileRejected,
    LineError,
    field_names,
    format_of,
    opened,
    text_cell,
)
from learnreport.ingest.records import ResultRecord, UserRecord

RESULT = {"id": "r1", "user_id": "u1", "content_id": "a1", "state": "completed"}


def entries(path: Path, kind: str, fmt: str | None = None) -> list[tuple[int, Any]]:
    with opened(path, fmt or format_of(path), kind) as found:
        return list(found)


def errors(path: Path, kind: str) -> list[tuple[int, str | None, str]]:
    return [
        (error.line, error.field, error.reason)
        for _, error in entries(path, kind)
        if isinstance(error, LineError)
    ]


def ndjson(tmp_path: Path, *lines: bytes | dict[str, Any]) -> Path:
    path = tmp_path / "records.ndjson"
    path.write_bytes(
        b"".join(line if isinstance(line, bytes) else orjson.dumps(line) + b"\n" for line in lines)
    )
    return path


def test_each_ndjson_record_comes_out_validated_with_its_line(tmp_path: Path) -> None:
    path = ndjson(tmp_path, RESULT, b"\n", {**RESULT, "id": "r2", "attempt": 2})
    found = entries(path, "results")
    assert [line for line, _ in found] == [1, 3]
    assert found[1][1] == ResultRecord(id="r2", user_id="u1", content_id="a1", state="completed",
                                       attempt=2)  # fmt: skip


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        (b"{'id': 'r1'}\n", None, "not a JSON object: JSON is malformed"),
        (b'["r1", "u1"]\n', None, "Expected `object`, got `array`"),
        (b'{"id": "r2", "user_id": "u1", "cont', None, "not a JSON object: Input data was trunc"),
        (orjson.dumps({**RESULT, "attempt": "2"}) + b"\n", "attempt", "Expected `int`, got `str`"),
        (orjson.dumps({**RESULT, "colour": "red"}) + b"\n", "colour", "unknown field `colour`"),
        (orjson.dumps({"id": "r2", "user_id": "u1", "content_id": "a1"}) + b"\n", "state",
         "missing required field `state`"),
        (orjson.dumps({**RESULT, "started_at": "2025-02-30T00:00:00Z"}) + b"\n", "started_at",
         "Invalid RFC3339 encoded datetime"),
    ],
)  # fmt: skip
def test_a_bad_ndjson_line_is_named_by_line_field_and_reason(
    tmp_path: Path, line: bytes, field: str | None, reason: str
) -> None:
    path = ndjson(tmp_path, RESULT, line)
    [(number, named, said)] = errors(path, "results")
    assert (number, named) == (2, field)
    assert reason in said


def csv_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "records.csv"
    path.write_text(text, newline="")
    return path


def test_csv_cells_are_read_as_the_struct_types_them(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "id,user_id,content_id,state,attempt,progress,flagged,started_at,score\r\n"
        "r1,u1,a1,passed,2,99.5,true,2025-01-31T08:30:00Z,\r\n",
    )
    [(line, record)] = entries(path, "results")
    assert line == 2
    assert (record.attempt, record.progress, record.flagged, record.score) == (2, 99.5, True, None)
    assert record.started_at.isoformat() == "2025-01-31T08:30:00+00:00"


def test_a_csv_line_is_its_physical_line_even_after_a_cell_spanning_lines(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "id,first_name,contract_start_date\r\n"
        'u1,"Ann\r\nMarie",2025-01-01\r\n'
        "u2,Bob,2025-13-01\r\n"
        "u3,Cy\r\n",
    )
    assert errors(path, "users") == [
        (4, "contract_start_date", "Invalid RFC3339 encoded date"),
        (5, None, "has 2 cells where the header has 3"),
    ]
    assert entries(path, "users")[0][1].first_name == "Ann\r\nMarie"


def test_a_csv_file_cut_off_inside_a_quoted_cell_is_an_error_at_that_line(tmp_path: Path) -> None:
    path = csv_file(tmp_path, 'id,first_name\r\nu1,Ann\r\nu2,"Bo')
    [(line, field, reason)] = errors(path, "users")
    assert (line, field) == (3, None)
    assert reason.startswith("not CSV")


def test_nested_csv_cells_are_json_and_bad_json_is_named(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        'id,custom_fields\r\nu1,"{""region"":""EMEA""}"\r\nu2,"{region: EMEA}"\r\n',
    )
    found = entries(path, "users")
    assert found[0][1].custom_fields == {"region": "EMEA"}
    assert found[1][1].line == 3
    assert found[1][1].field == "custom_fields"
    assert found[1][1].reason.startswith("not JSON")


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("id,user_id,content_id,state,colour,size", "unknown column 'colour', 'size'"),
        ("id,user_id,attempt", "missing the required column 'content_id', 'state'"),
        ("id,user_id,content_id,state,id", "the column 'id' appears more than once"),
    ],
)
def test_a_csv_header_naming_unknown_or_lacking_required_columns_is_refused_at_line_1(
    tmp_path: Path, header: str, said: str
) -> None:
    path = csv_file(tmp_path, header + "\r\n")
    with pytest.raises(FileRejected) as refused:
        entries(path, "results")
    assert str(refused.value).startswith("line 1 (the header): ")
    assert said in str(refused.value)


def test_an_empty_csv_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileRejected, match="line 1: the file is empty"):
        entries(csv_file(tmp_path, ""), "users")


TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)


@given(first_name=TEXT, last_name=st.one_of(st.none(), TEXT))
def test_csv_text_survives_writing_and_reading_exactly(
    tmp_path_factory: pytest.TempPathFactory, first_name: str, last_name: str | None
) -> None:
    """Empty text, text starting with a formula character or `'`, line breaks and quotes
    all read back as written, and a missing value stays missing."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["id", "first_name", "last_name"])
    writer.writerow([text_cell("u1"), text_cell(first_name), text_cell(last_name)])
    path = tmp_path_factory.mktemp("csv") / "users.csv"
    path.write_text(buffer.getvalue(), newline="")
    [(_, record)] = entries(path, "users")
    assert (record.first_name, record.last_name) == (first_name, last_name)


@pytest.mark.parametrize("text", ["=1+1", "+31", "-x", "@SUM", "\tx", "\rx", "'x", ""])
def test_text_a_spreadsheet_could_take_for_a_formula_gets_a_leading_quote(text: str) -> None:
    assert text_cell(text) == "'" + text


def parquet_file(tmp_path: Path, table: pa.Table) -> Path:
    path = tmp_path / "records.parquet"
    pq.write_table(table, path, row_group_size=2)
    return path


def test_parquet_rows_are_numbered_and_nested_parts_read_from_json_text(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": ["u1", "u2", "u3"],
            "custom_fields": ['{"region": "EMEA"}', None, "{oops"],
            "contract_start_date": ["2025-01-01", None, None],
        }
    )
    found = entries(parquet_file(tmp_path, table), "users")
    assert [line for line, _ in found] == [1, 2, 3]
    assert found[0][1] == UserRecord(
        id="u1", custom_fields={"region": "EMEA"}, contract_start_date=date(2025, 1, 1)
    )
    assert found[1][1].custom_fields is None
    assert (found[2][1].line, found[2][1].field) == (3, "custom_fields")


def test_a_parquet_column_of_the_wrong_type_is_an_error_per_row(tmp_path: Path) -> None:
    table = pa.table({**{k: [v] for k, v in RESULT.items()}, "attempt": ["2"]})
    [(line, field, reason)] = errors(parquet_file(tmp_path, table), "results")
    assert (line, field, reason) == (1, "attempt", "Expected `int`, got `str`")


def test_parquet_columns_are_checked_like_a_csv_header(tmp_path: Path) -> None:
    table = pa.table({"id": ["r1"], "colour": ["red"]})
    with pytest.raises(FileRejected, match=r"^the file's columns: unknown column 'colour'"):
        entries(parquet_file(tmp_path, table), "results")


def test_a_file_that_is_no_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "records.parquet"
    path.write_bytes(b"id,name\r\n")
    with pytest.raises(FileRejected, match="not a Parquet file"):
        entries(path, "users")


def test_the_suffix_names_the_format() -> None:
    assert [format_of(Path(name)) for name in ("a.CSV", "a.ndjson", "a.jsonl", "a.parquet")] == [
        "csv",
        "ndjson",
        "ndjson",
        "parquet",
    ]
    with pytest.raises(ValueError, match="--format"):
        format_of(Path("a.txt"))


def test_columns_lead_with_the_id_and_end_with_the_stamps() -> None:
    names = field_names("results")
    assert names[:3] == ("id", "user_id", "content_id")
    assert names[-2:] == ("created_at", "modified_at")
    assert field_names("memberships") == ("user_id", "group_id")
