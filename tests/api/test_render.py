"""Report rows in every format: negotiation, pages, records, exports and the value rules.

Every body is read back with an independent parser (orjson, `csv.reader`, ElementTree), and
the characters XML 1.0 allows are spelt out here from the specification's `Char` production
rather than taken from the module under test.
"""

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from learnreport.api.errors import InvalidParameters
from learnreport.api.render import (
    FORMATS,
    MEDIA_TYPES,
    negotiate,
    paging_headers,
    render_one,
    render_page,
    stream,
)

COLUMNS = ("id", "name", "active", "score", "manager", "extra", "tags")
ROWS = [
    (1, "Ada", True, 9.5, None, {"team": "core", "level": 2}, ["a", "b"]),
    (2, 'Bob, "Jr"\nsecond line', False, -3, None, {}, []),
]
RECORDS = [dict(zip(COLUMNS, row, strict=True)) for row in ROWS]
NEXT = "https://reports.example/api/v2/public/users?page=3&page_size=2"
PREVIOUS = "https://reports.example/api/v2/public/users?page=1&page_size=2"

texts = st.lists(
    # Drawn from one branch or another alike, so that surrogates and markup come up often.
    st.one_of(
        st.characters(),
        st.characters(categories=["Cs"]),
        st.sampled_from("&<>\"'\t\n\r\x00\x0b\ufffe\uffff]:=+-@xX"),
    ),
    max_size=12,
).map("".join)


def request(query: str = "", *accept: str) -> Request:
    headers = [(b"accept", value.encode()) for value in accept]
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "query_string": query.encode(),
            "headers": headers,
        }
    )


def is_xml_char(char: str) -> bool:
    code = ord(char)
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def xml_safe(text: str) -> str:
    return "".join(char if is_xml_char(char) else "\ufffd" for char in text)


def key_of(element: ET.Element) -> str:
    """The key an element stands for, whether written as its tag or as `<field name=...>`."""
    return element.get("name", element.tag) if element.tag == "field" else element.tag


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(), newline="")))


# Negotiation


def test_every_format_has_a_media_type() -> None:
    assert MEDIA_TYPES == {
        "json": "application/json",
        "csv": "text/csv; charset=utf-8",
        "xml": "application/xml",
        "ndjson": "application/x-ndjson",
    }
    assert set(FORMATS) == set(MEDIA_TYPES)


def test_without_format_or_accept_the_answer_is_json() -> None:
    assert negotiate(request()) == "json"


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_parameter_beats_the_accept_header(fmt: str) -> None:
    assert negotiate(request(f"format={fmt}", "application/xml, text/csv")) == fmt


@pytest.mark.parametrize("value", ["yaml", "JSON", "", "x" * 100])
def test_unknown_format_is_an_invalid_parameter_naming_format(value: str) -> None:
    with pytest.raises(InvalidParameters) as raised:
        negotiate(request(f"format={value}"))
    [(parameter, reason)] = raised.value.errors
    assert parameter == "format"
    assert "expected one of json, csv, xml, ndjson" in reason


def test_a_format_the_endpoint_does_not_allow_is_an_invalid_parameter() -> None:
    with pytest.raises(InvalidParameters) as raised:
        negotiate(request("format=xml"), allowed=("json", "csv"))
    [(parameter, reason)] = raised.value.errors
    assert parameter == "format"
    assert reason.endswith("expected one of json, csv")


def test_format_given_twice_is_an_invalid_parameter() -> None:
    with pytest.raises(InvalidParameters) as raised:
        negotiate(request("format=csv&format=json"))
    assert [parameter for parameter, _ in raised.value.errors] == ["format"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json", "json"),
        ("text/csv", "csv"),
        ("application/xml", "xml"),
        ("text/xml", "xml"),
        ("application/x-ndjson", "ndjson"),
        ("TEXT/CSV", "csv"),
        ("text/csv; charset=utf-8", "csv"),
        ("application/xml, text/csv", "xml"),
        ("text/csv, application/xml", "csv"),
    ],
)
def test_accept_names_a_format_by_its_media_type(accept: str, expected: str) -> None:
    assert negotiate(request("", accept)) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/csv;q=0.5, application/xml", "xml"),
        ("application/xml;q=0.4, text/csv;q=0.9", "csv"),
        ("application/json;q=0.1, application/x-ndjson;q=0.2", "ndjson"),
        ("text/csv;q=0, text/*", "xml"),
        ("application/json;q=0, */*", "csv"),
        ("text/csv;q=abc, application/xml;q=0.5", "xml"),
        ("text/csv;q=2, application/xml;q=0.5", "xml"),
    ],
)
def test_accept_q_values_rank_the_formats(accept: str, expected: str) -> None:
    assert negotiate(request("", accept)) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("*/*", "json"),
        ("text/*", "csv"),
        ("application/*", "json"),
        ("text/csv, */*", "csv"),
        ("*/*, text/*", "csv"),
        ("*/*, application/xml", "xml"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "xml"),
    ],
)
def test_wildcards_take_any_format_but_a_named_type_wins_a_tie(accept: str, expected: str) -> None:
    assert negotiate(request("", accept)) == expected


@pytest.mark.parametrize("accept", ["text/html", "image/png, text/plain;q=0.5", "nonsense", ""])
def test_accept_that_takes_no_format_gets_json(accept: str) -> None:
    assert negotiate(request("", accept)) == "json"


def test_every_accept_header_counts() -> None:
    assert negotiate(request("", "text/html", "text/csv")) == "csv"


def test_accept_chooses_among_the_allowed_formats_only() -> None:
    assert negotiate(request("", "text/csv, application/xml;q=0.5"), ("json", "xml")) == "xml"
    assert negotiate(request("", "*/*"), ("csv", "xml")) == "csv"
    assert negotiate(request("", "text/html"), ("csv", "xml")) == "csv"


# Pages


def test_json_page_is_count_next_previous_and_results() -> None:
    body = render_page("json", COLUMNS, ROWS, count=7, next=NEXT, previous=None)

    assert orjson.loads(body) == {"count": 7, "next": NEXT, "previous": None, "results": RECORDS}
    assert list(orjson.loads(body)) == ["count", "next", "previous", "results"]


def test_json_page_without_a_count_leaves_count_out() -> None:
    body = render_page("json", COLUMNS, ROWS, count=None, next=NEXT, previous=PREVIOUS)

    assert orjson.loads(body) == {"next": NEXT, "previous": PREVIOUS, "results": RECORDS}


def test_empty_json_page_has_empty_results() -> None:
    body = render_page("json", COLUMNS, [], count=0, next=None, previous=None)

    assert orjson.loads(body) == {"count": 0, "next": None, "previous": None, "results": []}


def test_xml_page_is_a_response_with_paging_and_results() -> None:
    body = render_page("xml", COLUMNS, ROWS, count=7, next=NEXT, previous=None)

    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?><response><count>7</count>')
    root = ET.fromstring(body)
    assert [child.tag for child in root] == ["count", "next", "previous", "results"]
    assert root.findtext("next") == NEXT
    assert root.find("previous") is not None
    assert root.findtext("previous") == ""
    results = root.findall("results/result")
    assert [result.findtext("id") for result in results] == ["1", "2"]
    assert [result.findtext("name") for result in results] == ["Ada", ROWS[1][1]]


def test_xml_page_without_a_count_leaves_count_out() -> None:
    root = ET.fromstring(render_page("xml", COLUMNS, ROWS, count=None, next=None, previous=None))

    assert [child.tag for child in root] == ["next", "previous", "results"]


def test_empty_xml_page_has_empty_results() -> None:
    root = ET.fromstring(render_page("xml", COLUMNS, [], count=0, next=None, previous=None))

    assert root.findtext("count") == "0"
    results = root.find("results")
    assert results is not None
    assert len(results) == 0


def test_csv_page_is_the_header_and_rows_without_paging() -> None:
    body = render_page("csv", COLUMNS, ROWS, count=7, next=NEXT, previous=PREVIOUS)

    rows = csv_rows(body)
    assert rows[0] == list(COLUMNS)
    assert [row[0] for row in rows[1:]] == ["1", "2"]
    assert NEXT.encode() not in body


def test_empty_csv_page_is_the_header_alone() -> None:
    body = render_page("csv", COLUMNS, [], count=0, next=None, previous=None)

    assert body == b"id,name,active,score,manager,extra,tags\r\n"


def test_ndjson_page_is_one_object_a_line_without_paging() -> None:
    body = render_page("ndjson", COLUMNS, ROWS, count=7, next=NEXT, previous=PREVIOUS)

    assert body.endswith(b"\n")
    assert [orjson.loads(line) for line in body.splitlines()] == RECORDS


def test_empty_ndjson_page_is_empty() -> None:
    assert render_page("ndjson", COLUMNS, [], count=0, next=None, previous=None) == b""


def test_ndjson_page_longer_than_a_slice_keeps_every_row_in_order() -> None:
    rows = [(number, f"user {number}") for number in range(1000)]

    body = render_page("ndjson", ("id", "name"), rows, count=None, next=None, previous=None)

    assert [orjson.loads(line)["id"] for line in body.splitlines()] == list(range(1000))


def test_paging_headers_link_next_and_prev_and_give_the_count() -> None:
    assert paging_headers(7, NEXT, PREVIOUS) == {
        "Link": f'<{NEXT}>; rel="next", <{PREVIOUS}>; rel="prev"',
        "X-Total-Count": "7",
    }


def test_paging_headers_leave_out_what_is_unknown() -> None:
    assert paging_headers(None, NEXT, None) == {"Link": f'<{NEXT}>; rel="next"'}
    assert paging_headers(0, None, None) == {"X-Total-Count": "0"}
    assert paging_headers(None, None, None) == {}


# One record


def test_json_record_is_an_object() -> None:
    assert orjson.loads(render_one("json", COLUMNS, ROWS[0])) == RECORDS[0]


def test_xml_record_is_a_result_element() -> None:
    body = render_one("xml", COLUMNS, ROWS[0])

    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?><result>')
    assert ET.fromstring(body).findtext("name") == "Ada"


def test_csv_record_is_the_header_and_one_row() -> None:
    assert len(csv_rows(render_one("csv", COLUMNS, ROWS[0]))) == 2


def test_ndjson_record_is_one_line() -> None:
    body = render_one("ndjson", COLUMNS, ROWS[0])

    assert body.endswith(b"\n")
    assert body.count(b"\n") == 1
    assert orjson.loads(body) == RECORDS[0]


# Streams

BATCHES = [ROWS, [], [(3, "Cy", True, 0.0, 1, {"team": "ops"}, ["c"])]]
STREAMED = [*RECORDS, dict(zip(COLUMNS, BATCHES[2][0], strict=True))]


def test_json_stream_is_one_array_of_every_row() -> None:
    chunks = list(stream("json", COLUMNS, BATCHES))

    assert len(chunks) == 4  # "[", two batches, "]"
    assert orjson.loads(b"".join(chunks)) == STREAMED


@given(st.lists(st.integers(0, 5)))
def test_json_stream_is_a_valid_array_however_the_rows_are_batched(sizes: list[int]) -> None:
    rows = [(number,) for number in range(sum(sizes))]
    starts = [sum(sizes[:index]) for index in range(len(sizes))]
    batches = [rows[start : start + size] for start, size in zip(starts, sizes, strict=True)]

    body = b"".join(stream("json", ("id",), batches))

    assert orjson.loads(body) == [{"id": number} for number in range(len(rows))]


@pytest.mark.parametrize(
    ("fmt", "body"),
    [
        ("json", b"[]"),
        ("csv", b"id,name\r\n"),
        ("xml", b'<?xml version="1.0" encoding="utf-8"?><results></results>'),
        ("ndjson", b""),
    ],
)
def test_stream_without_rows_is_still_a_whole_document(fmt: str, body: bytes) -> None:
    assert b"".join(stream(fmt, ("id", "name"), [])) == body
    assert b"".join(stream(fmt, ("id", "name"), [[], []])) == body


def test_csv_stream_is_the_header_then_every_row() -> None:
    chunks = list(stream("csv", COLUMNS, BATCHES))

    assert len(chunks) == 3
    rows = csv_rows(b"".join(chunks))
    assert rows[0] == list(COLUMNS)
    assert [row[0] for row in rows[1:]] == ["1", "2", "3"]


def test_ndjson_stream_is_a_line_per_row() -> None:
    chunks = list(stream("ndjson", COLUMNS, BATCHES))

    assert len(chunks) == 2
    assert [orjson.loads(line) for line in b"".join(chunks).splitlines()] == STREAMED


def test_xml_stream_is_results_with_a_result_per_row() -> None:
    chunks = list(stream("xml", COLUMNS, BATCHES))

    assert len(chunks) == 4
    root = ET.fromstring(b"".join(chunks))
    assert root.tag == "results"
    assert [result.findtext("id") for result in root] == ["1", "2", "3"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_stream_reads_a_batch_only_when_its_chunk_is_wanted(fmt: str) -> None:
    read: list[int] = []

    def batches() -> Iterator[Sequence[tuple[int]]]:
        for number in range(3):
            read.append(number)
            yield [(number,)]

    chunks = stream(fmt, ("id",), batches())
    if fmt != "ndjson":
        next(chunks)  # the opening
        assert read == []
    next(chunks)
    assert read == [0]


# Values in JSON


def test_json_values_keep_their_json_types() -> None:
    row = (1, -2.5, "text", True, False, None, {"en": "Group", "n": [1, {"a": None}]}, [1, "x"])
    columns = [f"c{index}" for index in range(len(row))]

    for fmt in ("json", "ndjson"):
        assert list(orjson.loads(render_one(fmt, columns, row)).values()) == list(row)


plain_texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
"""Any text JSON can hold: a lone surrogate is no Unicode scalar value."""


@given(st.lists(plain_texts, min_size=1, max_size=6, unique=True), st.data())
def test_json_keeps_every_column_name_and_text_as_given(
    columns: list[str], data: st.DataObject
) -> None:
    """Column names need not be identifiers: a dialect's fields may hold spaces, capitals,
    keywords or a leading underscore."""
    row = tuple(data.draw(plain_texts) for _ in columns)
    expected = dict(zip(columns, row, strict=True))

    assert orjson.loads(render_one("json", columns, row)) == expected
    assert orjson.loads(render_one("ndjson", columns, row)) == expected
    page = orjson.loads(render_page("json", columns, [row, row], count=2, next=None, previous=None))
    assert page["results"] == [expected, expected]
    assert list(page["results"][0]) == columns


def test_json_names_a_column_by_a_quote_a_backslash_or_a_control_character() -> None:
    columns = ['say "hi"', "back\\slash", "tab\tkey", "plain"]
    row = ("a", "b", "c", "d")

    for fmt in ("json", "ndjson"):
        assert orjson.loads(render_one(fmt, columns, row)) == dict(zip(columns, row, strict=True))


# Values in CSV


def test_csv_writes_none_empty_booleans_lowercase_and_documents_as_compact_json() -> None:
    [_, first, second] = csv_rows(
        render_page("csv", COLUMNS, ROWS, count=None, next=None, previous=None)
    )

    assert first == ["1", "Ada", "true", "9.5", "", '{"team":"core","level":2}', '["a","b"]']
    assert second == ["2", 'Bob, "Jr"\nsecond line', "false", "-3", "", "{}", "[]"]


def test_csv_lines_end_with_crlf() -> None:
    body = render_one("csv", ("id", "name"), (1, "Ada"))

    assert body == b"id,name\r\n1,Ada\r\n"


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_text_starting_like_a_formula_gets_a_leading_quote(first: str) -> None:
    value = f'{first}HYPERLINK("http://evil.example")'

    [_, [cell]] = csv_rows(render_one("csv", ("note",), (value,)))

    assert cell == "'" + value


@pytest.mark.parametrize("number", [0, 42, -3, -2.5, 1e-07, -(2**40)])
def test_csv_numbers_are_never_neutralised(number: float) -> None:
    [_, [cell]] = csv_rows(render_one("csv", ("score",), (number,)))

    assert cell == str(number)


@pytest.mark.parametrize("value", ["", "plain", "a=b", " =1", "'quoted", "1-2"])
def test_csv_text_not_starting_like_a_formula_is_untouched(value: str) -> None:
    [_, [cell]] = csv_rows(render_one("csv", ("note",), (value,)))

    assert cell == value


def test_csv_header_names_are_neutralised_too() -> None:
    [header, _] = csv_rows(render_one("csv", ("=cmd", "name"), (1, "Ada")))

    assert header == ["'=cmd", "name"]


def test_csv_replaces_lone_surrogates() -> None:
    [_, [cell]] = csv_rows(render_one("csv", ("note",), ("a\ud800b",)))

    assert cell == "a\ufffdb"


@given(st.lists(texts, min_size=1, max_size=5))
def test_csv_round_trips_any_text_through_csv_reader(cells: list[str]) -> None:
    columns = [f"c{index}" for index in range(len(cells))]

    [_, read] = csv_rows(render_one("csv", columns, cells))

    expected = [
        ("'" if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else "")
        + "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in cell)
        for cell in cells
    ]
    assert read == expected


# Values in XML


def test_xml_writes_booleans_lowercase_and_none_as_an_empty_element() -> None:
    result = ET.fromstring(render_one("xml", COLUMNS, ROWS[0]))

    assert result.findtext("active") == "true"
    assert result.findtext("score") == "9.5"
    manager = result.find("manager")
    assert manager is not None
    assert (manager.text, len(manager), manager.attrib) == (None, 0, {})


def test_xml_record_is_written_compactly() -> None:
    body = render_one("xml", ("id", "manager", "active"), (1, None, False))

    assert body == (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b"<result><id>1</id><manager/><active>false</active></result>"
    )


def test_xml_writes_a_dict_as_child_elements_and_a_list_as_items() -> None:
    row = ({"team": "core", "level": 2, "nested": {"deep": [1, None]}}, ["a", ["b"], {"k": False}])

    result = ET.fromstring(render_one("xml", ("extra", "tags"), row))

    extra = result.find("extra")
    assert extra is not None
    assert [(child.tag, child.text) for child in extra][:2] == [("team", "core"), ("level", "2")]
    assert [item.text for item in result.findall("extra/nested/deep/item")] == ["1", None]
    tags = result.find("tags")
    assert tags is not None
    assert [child.tag for child in tags] == ["item", "item", "item"]
    assert tags[0].text == "a"
    assert tags[1].findtext("item") == "b"
    assert tags[2].findtext("k") == "false"


@pytest.mark.parametrize(
    "key", ["job title", "1st", "xmlns", "XML_id", "a:b", "", "näme", 'say "hi"', "<&>", "\t\n\r"]
)
def test_xml_keys_that_are_no_safe_element_name_become_named_fields(key: str) -> None:
    body = render_one("xml", (key,), ({key: "inner"},))

    [field] = ET.fromstring(body)
    assert (field.tag, field.get("name")) == ("field", key)
    [inner] = field
    assert (inner.tag, inner.get("name"), inner.text) == ("field", key, "inner")


@pytest.mark.parametrize("key", ["id", "name_i18n", "pt-BR", "_private", "v1.2", "field", "item"])
def test_xml_keys_that_are_safe_names_become_elements(key: str) -> None:
    [element] = ET.fromstring(render_one("xml", (key,), ("value",)))

    assert (element.tag, element.attrib, element.text) == (key, {}, "value")


def test_xml_escapes_markup_and_keeps_whitespace() -> None:
    text = "<b>Tom & Jerry</b> ]]> \"quoted\" 'single'\r\n\ttab\rcr"

    assert ET.fromstring(render_one("xml", ("note",), (text,))).findtext("note") == text


def test_xml_replaces_characters_xml_forbids() -> None:
    text = "a\x00b\x08c\x0bd\x1fe\ufffef\uffffg\ud800h\udfffi"

    note = ET.fromstring(render_one("xml", ("note",), (text,))).findtext("note")

    assert note == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\ufffdg\ufffdh\ufffdi"


@given(
    st.lists(
        st.tuples(texts, st.one_of(texts, st.dictionaries(texts, texts, max_size=3))),
        max_size=5,
    )
)
def test_xml_of_any_text_in_any_cell_and_key_parses_back_to_it(
    cells: list[tuple[str, str | dict[str, str]]],
) -> None:
    columns = [key for key, _ in cells]
    row = [value for _, value in cells]

    result = ET.fromstring(render_one("xml", columns, row))

    assert [key_of(element) for element in result] == [xml_safe(key) for key in columns]
    for element, value in zip(result, row, strict=True):
        if isinstance(value, dict):
            assert [(key_of(child), child.text or "") for child in element] == [
                (xml_safe(key), xml_safe(text)) for key, text in value.items()
            ]
        else:
            assert (element.text or "") == xml_safe(value)


def test_xml_and_csv_answer_values_of_other_types_as_their_text() -> None:
    class Level:
        def __str__(self) -> str:
            return "<advanced>"

    row: tuple[Any, ...] = (Level(),)

    assert ET.fromstring(render_one("xml", ("level",), row)).findtext("level") == "<advanced>"
    assert csv_rows(render_one("csv", ("level",), row))[1] == ["<advanced>"]
