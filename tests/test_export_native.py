"""The export's native page reader (schemas/export_native.py): JSON bytes -> the same
typed table as the general path (orjson + schemas.export.Page), or a clean refusal."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.client.pagination import RawBulkPage, parse_bulk_page
from etl.clock import FakeClock
from etl.sandbox import Sandbox, SandboxConfig
from etl.sinks.parts import read_manifest
from pipelines.export_plan import ExportRequest
from pipelines.leads_export import ExportStopped, export_leads
from schemas.export import Coercions, Column, Page, export_columns
from schemas.export_native import NativePage, PageReader, learned_plan
from state import open_store


def _body(records: list[Any], token: str | None = None, *, ascii: bool = False) -> bytes:
    """A compact response body (json, not orjson: it writes integers beyond 64 bits)."""
    doc = {"success": True, "items": records, "count": len(records), "nextToken": token}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=ascii).encode()


def _general(body: bytes, columns: list[Column]) -> tuple[pa.Table, Coercions]:
    """What the general path makes of a body: the reference."""
    coercions = Coercions()
    return Page(parse_bulk_page(body).items).table(columns, coercions), coercions


def _columns(records: list[dict[str, Any]]) -> list[Column]:
    """The export's columns for these records: the known ones, then their new fields."""
    columns = list(export_columns())
    return columns + Page(records).new_columns(columns)


def _reader_after(records: list[dict[str, Any]], columns: list[Column]) -> PageReader:
    reader = PageReader()
    reader.learn(Page(records).values, columns)
    return reader


def _assert_same_or_declined(reader: PageReader, body: bytes, columns: list[Column]) -> bool:
    """The native table equals the general one (and the general path nulled nothing),
    unless the reader declined; returns whether it read the page."""
    native = reader.read(body, columns)
    if native is None:
        return False
    expected, coercions = _general(body, columns)
    got = native.table(columns)
    assert got.schema.equals(expected.schema)
    assert got.equals(expected), _first_difference(got, expected)
    assert coercions.total == 0
    assert native.next_token == (parse_bulk_page(body).next_token or None)
    return True


def _first_difference(got: pa.Table, expected: pa.Table) -> str:
    for name in expected.column_names:
        a, b = got[name].to_pylist(), expected[name].to_pylist()
        if a != b:
            row = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
            return f"{name} row {row}: native {a[row]!r} != general {b[row]!r}"
    return "same values, other layout"


def test_synthetic_pages_are_read_natively_and_equal_the_general_path():
    """The sandbox's wide, sparse, drifting leads (scores as 85 and "85", lists, objects):
    after the first page, nearly every page is read natively, with the same table."""
    synthetic = Sandbox(SandboxConfig(synthetic_leads=12_000, seed=3)).synthetic
    columns = list(export_columns())
    reader, native_pages = PageReader(), 0
    for start in range(0, 12_000, 1000):
        records = synthetic.page("enrich", None, start, 1000, None)
        body = _body(records, token=f"t{start}")
        if _assert_same_or_declined(reader, body, columns):
            native_pages += 1
        else:  # what the exporter does: the general path converts it, the reader learns
            reader.learn(Page(records).values, columns)
    assert native_pages >= 9  # declined: the first page and the two where fields drift in


def test_the_first_page_goes_to_the_general_path():
    """Nothing learned yet: the reader does not guess."""
    body = _body([{"id": "a", "email": "x@y.co"}])
    assert PageReader().read(body, list(export_columns())) is None


_SAFE_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)
#: Per field, the kinds of values it may carry (one kind per page, or a mix).
_FIELDS: dict[str, list[Any]] = {
    "email": [_SAFE_TEXT, st.integers(), st.lists(_SAFE_TEXT, max_size=3)],
    "tags": [st.lists(_SAFE_TEXT | st.none(), max_size=3), _SAFE_TEXT, st.lists(st.integers())],
    "totalFunding": [
        st.fixed_dictionaries({"amount": st.integers(0, 10**6), "currency": _SAFE_TEXT}),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers() | _SAFE_TEXT | st.none()),
        _SAFE_TEXT,
    ],
    "aiLeadScore": [
        st.integers(-(2**70), 2**70),
        st.integers(0, 100).map(str),
        st.sampled_from(["85.0", " 85 ", "", "high", "1e2", "+7", "007", "9007199254740993.0"]),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
    ],
    "employeeCount": [st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False)],
    "annualRevenue": [
        st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**64), 2**64),
        st.sampled_from(["1.5e6", "x"]), st.booleans(),
    ],
    "createdAt": [
        st.sampled_from(["2025-01-02T03:04:05Z", "2025-01-02T05:04:05+02:00",
                         "2025-01-02T03:04:05.250Z", "2025-12-31T23:59:59.999999-08:00"]),
        st.sampled_from(["2025-01-02", "2025-01-02T03:04:05", "soon", ""]),
        st.integers(0, 2 * 10**12),
    ],
    "shoeSize": [st.integers(), _SAFE_TEXT, st.lists(st.integers(), max_size=2)],
}  # fmt: skip


@st.composite
def _pages(draw: Any) -> list[dict[str, Any]]:
    """Records whose fields each keep one kind of value, or mix several; sparse, with
    nulls, sometimes without an id."""
    n = draw(st.integers(1, 12))
    profile = {}
    for name, kinds in _FIELDS.items():
        if draw(st.booleans()):
            chosen = draw(st.sampled_from([*kinds, st.one_of(kinds)]))
            profile[name] = chosen | st.none() if draw(st.booleans()) else chosen
    records = []
    for i in range(n):
        record: dict[str, Any] = {"id": f"lead-{i}"} if draw(st.integers(0, 9)) else {}
        for name, strategy in profile.items():
            if draw(st.booleans()):
                record[name] = draw(strategy)
        records.append(record)
    return records


@settings(max_examples=300, deadline=None)
@given(_pages(), _pages(), st.booleans())
def test_random_pages_read_natively_equal_the_general_path(first, second, ascii):
    """Drifting, sparse, mixed-type records (numeric strings, nulls, nested values, unknown
    fields, out-of-range numbers, escaped or raw non-ASCII): whenever the reader reads a
    page, its table is the general path's, cell for cell."""
    for records in (first, second):
        columns = _columns(first + second)
        reader = _reader_after(first, columns)
        _assert_same_or_declined(reader, _body(records, ascii=ascii), columns)


_PLAIN_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"\\'),
    max_size=8,
)
_OFFSETS = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-8)),
            timezone(timedelta(hours=5, minutes=30))]  # fmt: skip
#: Kinds of values the reader reads natively, one per field and page.
_NATIVE_KINDS: dict[str, Any] = {
    "email": _SAFE_TEXT,
    "tags": st.lists(_PLAIN_TEXT | st.none(), max_size=4),
    "totalFunding": st.fixed_dictionaries(
        {},
        optional={
            "amount": st.integers(-(2**63), 2**63 - 1) | st.none(),
            "currency": _SAFE_TEXT | st.none(),
            "rounds": st.lists(st.integers(0, 9), max_size=3),
        },
    ),
    "aiLeadScore": st.integers(-(2**53), 2**53) | st.integers(0, 10**6).map(str),
    "employeeCount": st.integers(-(2**63), 2**63 - 1),
    "annualRevenue": st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**60), 2**60),
    "createdAt": st.datetimes(
        min_value=datetime(1900, 1, 1), timezones=st.sampled_from(_OFFSETS)
    ).map(lambda d: d.isoformat()),
    "shoeSize": _SAFE_TEXT,
}


@st.composite
def _native_pages(draw: Any) -> list[dict[str, Any]]:
    fields = draw(st.lists(st.sampled_from(sorted(_NATIVE_KINDS)), unique=True))
    records = []
    for i in range(draw(st.integers(1, 12))):
        record: dict[str, Any] = {"id": f"lead-{i}"}
        for name in fields:
            if draw(st.booleans()):
                record[name] = draw(_NATIVE_KINDS[name] | st.none())
        records.append(record)
    return records


@settings(max_examples=200, deadline=None)
@given(st.lists(_native_pages(), min_size=1, max_size=4), st.booleans())
def test_pages_of_one_kind_per_field_are_read_natively_like_the_general_path(pages, ascii):
    """Any text (escapes, non-ASCII), integers to 64 bits, floats, UTC offsets, string
    lists, objects: once learned, a page is read natively, with the general path's values;
    across pages the reader relearns whenever a page's kinds change (as in the export)."""
    columns = _columns([r for page in pages for r in page])
    for page in pages:
        assert _assert_same_or_declined(_reader_after(page, columns), _body(page), columns)
    reader = PageReader()
    for page in pages:
        body = _body(page, ascii=ascii)
        if not _assert_same_or_declined(reader, body, columns):
            reader.learn(Page(page).values, columns)


def test_typical_mixed_pages_are_not_declined():
    """Scores as numbers and numeric strings, string lists, flat objects in any key order,
    timestamps with offsets, sparse fields: read natively."""
    records = [
        {"id": "a", "aiLeadScore": 85, "tags": ["hot", "vip"], "createdAt": "2025-01-02T00:00:00Z",
         "totalFunding": {"amount": 100, "currency": "USD"}, "email": "é@x.co"},
        {"id": "b", "aiLeadScore": "7", "tags": [], "createdAt": "2025-01-02T05:04:05+02:00",
         "totalFunding": {"currency": "EUR", "amount": 5}},
        {"id": "c", "tags": ["a", None], "totalFunding": None, "annualRevenue": 1.5},
        {"id": "d", "totalFunding": {}},
        {"id": "e", "employeeCount": 12},
    ]  # fmt: skip
    columns = list(export_columns())
    reader = _reader_after(records, columns)
    assert _assert_same_or_declined(reader, _body(records, token="n"), columns)
    table = reader.read(_body(records), columns).table(columns)  # type: ignore[union-attr]
    assert table["totalFunding"].to_pylist()[:2] == [
        '{"amount":100,"currency":"USD"}', '{"currency":"EUR","amount":5}'
    ]  # fmt: skip
    assert table["tags"].to_pylist()[:3] == ['["hot","vip"]', "[]", '["a",null]']


@pytest.mark.parametrize(
    ("envelope", "token"),
    [
        ({"items": [{"id": "a"}], "nextToken": "n2"}, "n2"),
        ({"leads": [{"id": "a"}], "nextToken": None}, None),
        ({"data": {"items": [{"id": "a"}], "nextToken": "n3"}}, "n3"),
        ({"data": {"leads": [{"id": "a"}]}, "nextToken": "top"}, "top"),
        ({"items": None, "leads": [{"id": "a"}], "nextToken": ""}, None),
        ({"success": True, "count": 1, "total": 1, "items": [{"id": "a"}], "extra": [1, 2]}, None),
    ],
)
def test_every_documented_envelope_is_read_like_the_client_reads_it(envelope, token):
    """Records under items, leads or data.items/leads; nextToken at the top or under data."""
    columns = list(export_columns())
    reader = _reader_after([{"id": "x"}], columns)
    body = orjson.dumps(envelope)
    native = reader.read(body, columns)
    assert native is not None
    assert native.next_token == token == (parse_bulk_page(body).next_token or None)
    assert native.ids.to_pylist() == ["a"]


def test_the_records_key_is_remembered_and_a_change_of_shape_is_followed():
    """Only the last page's records key is declared; records elsewhere (or a key the client
    prefers, like items over leads) make the reader look again, never read the wrong list."""
    columns = list(export_columns())
    reader = _reader_after([{"id": "x"}], columns)
    bodies = [
        {"leads": [{"id": "a"}], "nextToken": "1"},
        {"leads": [{"id": "b"}], "data": {"nextToken": "2"}},
        {"items": [{"id": "c"}], "leads": [{"id": "d"}]},
        {"data": {"items": [{"id": "e"}], "leads": [{"id": "f"}]}},
        {"leads": [{"id": "g"}], "data": {"leads": [{"id": "h"}]}},
    ]
    for envelope in bodies:
        body = orjson.dumps(envelope)
        native = reader.read(body, columns)
        assert native is not None
        page = parse_bulk_page(body)
        assert native.ids.to_pylist() == [r["id"] for r in page.items]
        assert native.next_token == page.next_token
    assert reader.container == ("leads",)


@pytest.mark.parametrize(
    "body",
    [
        b'{"items":[{"id":"a","email":"\xff"}]}',  # invalid UTF-8: orjson refuses it
        b'\xef\xbb\xbf{"items":[{"id":"a"}]}',  # byte-order mark: orjson refuses it
        b'{"items":[{"id":"a","annualRevenue":NaN}]}',  # not JSON
        b'{"items":[{"id":"a"}],"count":Infinity}',
        b'{"items":[{"id":"a"}],"meta":{"x":[1,-Infinity]}}',
        b'{"data":{"items":[{"id":"a"}],"x":NaN}}',
        b'{"items":[{"id":"a","aiLeadScore":NaN}]}',
        b'{"items":[{"id":"a","totalFunding":{"x":NaN}}]}',
        b"null",  # Arrow's reader would crash on it
        b"[]",
        b"",
        b'{"items":[{"id":"a"}]} {"items":[]}',  # two documents
        b'{"items":[{"id":"a"},null]}',  # a record that is not an object
        b'{"items":[{"id":"a"},7]}',
        b'{"items":[{"id":"a","id":"b"}]}',  # duplicate key: orjson keeps the last
        b'{"items":[{"id":"a","shoeSize":44}]}',  # a new field: drift is the general path's
        b'{"items":[{"id":"a","email":5}]}',  # a number in a string column
        b'{"items":[{"id":7}]}',  # a non-string id
        b'{"items":[{"id":"a","aiLeadScore":85.5}]}',  # a fraction: a coercion warning
        b'{"items":[{"id":"a","aiLeadScore":" 85 "}]}',  # a blank-padded number
        b'{"items":[{"id":"a","aiLeadScore":"9007199254740993.0"}]}',  # via a float
        b'{"items":[{"id":"a","createdAt":"soon"}]}',
        b'{"items":[{"id":"a","createdAt":1735786800}]}',  # epoch seconds
        b'{"items":[{"id":"a","createdAt":"2025-01-02"}]}',  # no zone: Arrow's cast refuses
        b'{"items":[{"id":"a","tags":["say \\"hi\\""]}]}',  # an element to escape
        b'{"items":[{"id":"a","tags":"hot"}]}',
        b'{"items":[{"id":"a","totalFunding":{"x":1}},{"id":"b","notes":"totalFunding"}]}',
        b'{"items":[{"id":"a","totalFunding":{"x":1.5e999}}]}',
    ],
)
def test_anything_the_reader_cannot_prove_goes_to_the_general_path(body):
    """The reader declines (None) and never guesses; the general path decides."""
    columns = list(export_columns())
    learned = [{"id": "x", "tags": ["t"], "totalFunding": {"x": 1}, "aiLeadScore": "1",
                "createdAt": "2025-01-01"}]  # fmt: skip
    assert _reader_after(learned, columns).read(body, columns) is None


def test_a_nested_key_of_the_same_name_inside_the_object_is_part_of_it():
    """{"totalFunding": {"x": {"totalFunding": 1}}} is one object (not two occurrences)."""
    columns = list(export_columns())
    records = [{"id": "a", "totalFunding": {"x": 1}}]
    reader = _reader_after(records, columns)
    body = _body([{"id": "a", "totalFunding": {"x": 1, "y": [{"z": 2}]}}])
    reader.learn(Page(parse_bulk_page(body).items).values, columns)
    assert _assert_same_or_declined(reader, body, columns)


def test_plans_follow_the_json_types_a_page_held():
    """One type per column is read natively; a column mixing types is not."""
    assert learned_plan("string", ["a", None]) == "string"
    assert learned_plan("string", [["a"], None, []]) == "strlist"
    assert learned_plan("string", [["a", 1]]) == "python"
    assert learned_plan("string", [{"a": 1}]) == "object"
    assert learned_plan("string", ["a", ["b"]]) == "python"
    assert learned_plan("int64", [1, 2]) == "int"
    assert learned_plan("int64", [1, "2"]) == "intstr"
    assert learned_plan("int64", [1, True]) == "python"
    assert learned_plan("float64", [1, 2.5]) == "float"
    assert learned_plan("timestamp", ["2025-01-01", 1]) == "python"
    assert learned_plan("string", [None]) is None


def test_a_mixed_column_sends_pages_to_the_general_path_until_it_is_clean_again():
    """ "python" is not sticky: a later general-path page without the column clears it."""
    columns = list(export_columns())
    reader = _reader_after([{"id": "a", "email": "x", "tags": ["a", 1]}], columns)
    assert reader.read(_body([{"id": "b"}]), columns) is None
    reader.learn(Page([{"id": "b", "email": "y"}]).values, columns)
    assert reader.read(_body([{"id": "c"}]), columns) is not None


def test_top_level_null_does_not_reach_arrow():
    """pyarrow's JSON reader crashes the process on a top-level null: never given one."""
    code = (
        "from schemas.export import export_columns, Page\n"
        "from schemas.export_native import PageReader\n"
        "r = PageReader(); cols = list(export_columns())\n"
        "r.learn(Page([{'id': 'a'}]).values, cols)\n"
        "for body in (b'null', b' null ', b'\\nnull', b'1', b'\"x\"', b'true'):\n"
        "    assert r.read(body, cols) is None\n"
        "print('ok')\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


# --- the export with raw pages ------------------------------------------------------


class RawSource:
    """Serves pages as JSON bodies when asked for raw ones (like the client)."""

    def __init__(self, pages: list[list[dict[str, Any]]], *, raw: bool = True) -> None:
        self.bodies = [
            _body(records, str(i + 1) if i + 1 < len(pages) else None)
            for i, records in enumerate(pages)
        ]
        self.serve_raw = raw

    async def bulk_page(self, source: Any, *, next_token: str | None = None,
                        raw: bool = False, **_: Any) -> Any:  # fmt: skip
        body = self.bodies[int(next_token or 0)]
        return RawBulkPage(body) if raw and self.serve_raw else parse_bulk_page(body)


def _export(tmp_path: Path, name: str, source: RawSource, **options: Any) -> Any:
    store = open_store(f"sqlite:///{tmp_path / (name + '.sqlite')}")
    try:
        request = ExportRequest.build(out_dir=tmp_path / name, company_id="co",
                                      base_url="http://sandbox.test", **options)  # fmt: skip
        return asyncio.run(
            export_leads(request, client=source, store=store, clock=FakeClock(), durable=False)
        )
    finally:
        store.close()


@pytest.mark.parametrize("fmt", ["parquet", "csv", "ndjson"])
def test_raw_pages_export_the_same_files_as_parsed_pages(tmp_path, fmt):
    """Same parts, byte for byte, and the same counters, whether pages come as bodies
    (native reader, general path when it declines) or as parsed records: with duplicates
    across pages, records without an id, a field first seen on page 5, values to null."""
    synthetic = Sandbox(SandboxConfig(synthetic_leads=3000, seed=9)).synthetic
    pages = [synthetic.page("enrich", None, start, 300, None) for start in range(0, 3000, 300)]
    pages[3][0]["id"] = pages[1][5]["id"]  # a duplicate across pages
    del pages[6][2]["id"]  # no id
    pages[4][1]["shoeSize"] = 44  # drift
    pages[7][3]["aiLeadScore"] = "high"  # nulled, counted
    options = {"part_rows": 900, "fmt": fmt}
    raw = _export(tmp_path, "raw", RawSource(pages), **options)
    parsed = _export(tmp_path, "parsed", RawSource(pages, raw=False), **options)
    for key in ("rows", "parts", "bytes", "duplicates_dropped", "rows_without_id",
                "coercions_by_column", "extra_columns"):  # fmt: skip
        assert getattr(raw, key) == getattr(parsed, key), key
    assert raw.rows == 2998 and raw.extra_columns == ["shoeSize"]
    parts = read_manifest(tmp_path / "raw")["parts"]
    assert parts == read_manifest(tmp_path / "parsed")["parts"]
    for part in parts:
        assert (tmp_path / "raw" / part["path"]).read_bytes() == (
            tmp_path / "parsed" / part["path"]
        ).read_bytes()
    if fmt == "parquet":
        first = pq.read_table(tmp_path / "raw" / parts[0]["path"])
        assert first.schema.field("aiLeadScore").type == pa.int64()


def test_a_raw_body_nobody_can_read_stops_the_export_like_the_client_would(tmp_path):
    """Not JSON: the general parser's error, exit 1, the pages before it committed."""
    source = RawSource([[{"id": "a"}], [{"id": "b"}], [{"id": "c"}]])
    source.bodies[2] = b"<html>login</html>"
    with pytest.raises(ExportStopped, match="not JSON") as stopped:
        _export(tmp_path, "out", source, part_rows=1)
    assert stopped.value.exit_code == 1
    assert len(list((tmp_path / "out").glob("part-*.parquet"))) == 2


def test_native_page_table_fills_absent_columns_with_typed_nulls():
    """A column no record sent is a null column of its type."""
    page = NativePage(None, 2, pa.array(["a", "b"]), {"id": pa.array(["a", "b"])})
    columns = list(export_columns(["aiLeadScore", "createdAt"]))
    table = page.table(columns)
    assert table.schema.field("aiLeadScore").type == pa.int64()
    assert table["createdAt"].null_count == 2
