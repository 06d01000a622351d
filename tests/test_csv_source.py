"""Reading CSV files: encodings, dialect, line numbers, malformed rows, chunking."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.sources.csv import CsvSource, open_csv
from etl.sources.csv_module import concat_chunks, read_records
from etl.sources.errors import (
    BinarySource,
    SourceInputError,
    SourceNotFound,
    UndecodableSource,
)
from etl.sources.records import RawChunk, RecordReader, _record_end


def read_all(source: CsvSource) -> RawChunk:
    chunks = list(source.chunks())
    return RawChunk(pl.concat([c.rows for c in chunks]), pl.concat([c.malformed for c in chunks]))


def assert_same_records_on_both_paths(
    body: bytes, columns: list[str], *, fast_path: bool = True
) -> RawChunk:
    """The polars fast path and the csv-module path read ``body`` into the same records;
    return the fast path's (rows and malformed, all chunks). ``fast_path``: whether the
    reader is expected to keep to polars (else the comparison is with itself)."""
    reader = RecordReader([body], columns=columns, delimiter=",", first_line=2)
    fast = concat_chunks(list(reader), columns)
    assert reader.slow_path is not fast_path, "the path taken"
    slow = concat_chunks(
        list(read_records(iter([body]), columns=columns, delimiter=",", line0=1)), columns
    )
    for name in ("rows", "malformed"):
        a, b = getattr(fast, name), getattr(slow, name)
        # the fast path reads a quoted "" as an empty string, the csv module as null
        assert a.with_columns(pl.col(pl.String).replace("", None)).equals(b), name
    return fast


def write(tmp_path: Path, content: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_values_stay_strings_exactly_as_written(tmp_path: Path) -> None:
    """No type inference: zip codes, phone numbers, numbers and dates keep their text."""
    path = write(tmp_path, "zip,phone,n,flag,day\n00123,+44 20 7946,1e5,true,2026-01-02\n")
    rows = read_all(open_csv(path)).rows
    assert rows.schema == {"_line": pl.Int64, **dict.fromkeys(rows.columns[1:], pl.String)}
    assert rows.row(0) == (2, "00123", "+44 20 7946", "1e5", "true", "2026-01-02")


def test_line_is_the_physical_line_where_the_record_starts(tmp_path: Path) -> None:
    """Quoted newlines and blank lines move later records down; _line follows the file."""
    path = write(tmp_path, 'a,b\n1,"x\ny\nz"\n\n2,w\n3,"q"\n')
    assert read_all(open_csv(path)).rows["_line"].to_list() == [2, 6, 7]


def test_ragged_rows_are_malformed_with_their_line_and_the_file_goes_on(tmp_path: Path) -> None:
    """Too few or too many fields: a malformed row naming the counts (and the surplus
    values), not an abort; quoted delimiters are not field separators."""
    path = write(tmp_path, 'a,b,c\n1,2\n"1,5",2,3\n1,2,3,4,"5,6"\n7,8,9\n')
    got = read_all(open_csv(path))
    assert got.rows["_line"].to_list() == [3, 5]
    assert got.malformed.select("_line", "_detail").rows() == [
        (2, "expected 3 fields, found 2"),
        (4, "expected 3 fields, found 5; surplus values: '4', '5,6'"),
    ]
    assert got.malformed.row(0)[2:] == ("1", "2", None)  # the fields that were there


@pytest.mark.parametrize("chunk_bytes", [16, 61, 256, 4096])
def test_chunk_size_never_changes_the_records(tmp_path: Path, chunk_bytes: int) -> None:
    """Records are cut at record ends whatever the chunk size, quoted newlines included."""
    lines = ["id,text,more"]
    for i in range(60):
        text = f'"line {i}\nwith, comma and ""quotes"""' if i % 3 == 0 else f"plain {i}"
        lines.append(f"{i},{text},{'x' * (i % 7)}" if i % 11 else f"{i},short")
    path = write(tmp_path, "\n".join(lines) + "\n")
    whole = read_all(open_csv(path))
    small = read_all(open_csv(path, chunk_bytes=chunk_bytes))
    assert small.rows.equals(whole.rows)
    assert small.malformed.equals(whole.malformed)
    assert whole.rows.height + whole.malformed.height == 60


def test_with_a_size_hint_the_stream_is_cut_in_equal_pieces_as_many_per_worker() -> None:
    """No shrinking pieces and no sliver at the end: each piece costs the checks a fixed
    overhead. 1,200 records of 20 bytes, 4 KB pieces, 2 workers: 6 pieces of 200 records."""
    body = b"".join(b"%06d,%-12s\n" % (i, b"x" * (i % 9)) for i in range(1200))
    blocks = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    reader = RecordReader(
        blocks,
        columns=["id", "text"],
        delimiter=",",
        first_line=2,
        chunk_bytes=4_000,
        size_hint=len(body),
    )
    heights = [chunk.rows.height for chunk, _ in reader.map_chunks(lambda c: None)]
    assert heights == [200] * 6
    assert reader.rows_read == 1200


@pytest.mark.parametrize(
    ("limit", "cut"), [(3, 8), (7, 12), (12, 12), (15, 20), (0, 22), (None, 22)]
)
def test_a_piece_ends_at_the_last_record_end_before_its_target(limit: int | None, cut: int) -> None:
    """The cut is the last line end with an even quote count up to ``limit`` bytes into
    the last part (a line break inside quotes is no record end); with none there, the
    last record end of the part; with none at all, 0 (read on)."""
    # Line ends of the last part at 2, 6, 11 (inside "g..h"), 14 and 16; it follows 5 bytes.
    parts = [b'a,"b\n', b'c"\nd,e\nf,"g\nh"\nz\n']
    assert _record_end(parts, limit) == cut
    assert _record_end([b'a,"b\nc\nd']) == 0


def test_fast_path_and_csv_module_path_read_the_same_records() -> None:
    """The polars fast path reproduces Python's csv module on RFC 4180 input."""
    body = (
        b'1,"a\r\nb",x\n'
        b'2,"say ""hi""",\n'
        b"\n"
        b"3,,\n"
        b'4,"",z\n'
        b"5,too,many,fields\n"
        b"6,few\n"
        b'7,"multi\n\nline, with blank",end\n'
    )
    assert_same_records_on_both_paths(body, ["id", "text", "other"])


def test_forced_encoding_that_does_not_fit_is_an_error(tmp_path: Path) -> None:
    """--encoding utf-8 on cp1252 bytes: one clear error naming the byte, no guessing."""
    path = write(tmp_path, "Email,Name\nr@x.com,Ren\xe9e\n".encode("cp1252"))
    with pytest.raises(UndecodableSource, match=r"not valid utf-8 near byte 22"):
        read_all(open_csv(path, encoding="utf-8"))
    assert read_all(open_csv(path, encoding="cp1252")).rows["Name"].to_list() == ["Renée"]


def test_unknown_encoding_and_bad_delimiter_options_are_refused(tmp_path: Path) -> None:
    """Option mistakes are input errors (exit 2), not crashes."""
    path = write(tmp_path, "a\n1\n")
    with pytest.raises(UndecodableSource, match="unknown encoding"):
        open_csv(path, encoding="klingon")
    for bad in ("", ";;", '"', "\n", "é"):
        with pytest.raises(SourceInputError, match="--delimiter"):
            open_csv(path, delimiter=bad)


def test_non_utf8_bytes_late_in_a_file_switch_the_rest_to_cp1252(tmp_path: Path) -> None:
    """Detection is per block: ASCII first, then a cp1252 byte -> the file is cp1252;
    valid non-ASCII UTF-8 first -> 'utf-8+cp1252' (each part read as written)."""
    filler = "".join(f"n{i}@x.com,plain\n" for i in range(2000))
    ascii_first = write(tmp_path, ("Email,Name\n" + filler).encode() + b"z@x.com,Ren\xe9e\n")
    source = open_csv(ascii_first, chunk_bytes=1 << 12)
    assert read_all(source).rows["Name"].to_list()[-1] == "Renée"
    assert source.encoding == "cp1252"
    mixed = write(
        tmp_path, ("Email,Name\ná@x.com,Zoë\n" + filler).encode() + b"z@x.com,Ren\xe9e\n", "m.csv"
    )
    source = open_csv(mixed, chunk_bytes=1 << 12)
    names = read_all(source).rows["Name"].to_list()
    assert (names[0], names[-1], source.encoding) == ("Zoë", "Renée", "utf-8+cp1252")


def test_a_character_split_across_read_blocks_is_kept_whole(tmp_path: Path) -> None:
    """UTF-8 multi-byte characters on a block boundary are neither lost nor doubled."""
    head = "Email,Name\n"
    pad = "a" * (4096 - len(head) - len("x@y.co,") - 1)
    path = write(tmp_path, f"{head}x@y.co,{pad}é€😀\n")
    rows = read_all(open_csv(path, chunk_bytes=4096)).rows
    assert rows["Name"].to_list() == [f"{pad}é€😀"]


def test_utf16_without_bom_is_refused_as_binary_unless_forced(tmp_path: Path) -> None:
    """NUL bytes look binary; forcing the encoding reads the file."""
    path = write(tmp_path, "Email,Name\nj@x.com,Jane\n".encode("utf-16-le"))
    with pytest.raises(BinarySource, match="utf-16-le"):
        open_csv(path)
    assert read_all(open_csv(path, encoding="utf-16-le")).rows["Name"].to_list() == ["Jane"]


def test_bom_is_stripped_even_when_the_encoding_is_forced(tmp_path: Path) -> None:
    """A forced utf-8 or utf-16 still drops the byte-order mark from the first header."""
    path = write(tmp_path, codecs.BOM_UTF8 + b"Email,Name\nj@x.com,Jane\n")
    assert open_csv(path, encoding="utf-8").columns == ("Email", "Name")
    path16 = write(tmp_path, "\ufeffEmail,Name\nj@x.com,Jane\n".encode("utf-16-le"), "w.csv")
    assert open_csv(path16, encoding="utf-16-le").columns == ("Email", "Name")


def test_missing_file_and_directory_are_source_not_found(tmp_path: Path) -> None:
    """The path must be an existing regular file."""
    with pytest.raises(SourceNotFound, match="no such file"):
        open_csv(tmp_path / "nope.csv")
    with pytest.raises(SourceNotFound, match="not a regular file"):
        open_csv(tmp_path)


def test_header_names_are_trimmed_and_blank_ones_get_a_name(tmp_path: Path) -> None:
    """Spaces and invisible characters around names go; a blank name is 'Column <n>'."""
    path = write(tmp_path, " Email ,\u200bName,,\nj@x.com,Jane,,\n")
    assert open_csv(path).columns == ("Email", "Name", "Column 3", "Column 4")


def test_delimiter_is_sniffed_and_can_be_forced(tmp_path: Path) -> None:
    """A regular multi-column split wins the sniff; --delimiter overrides it."""
    path = write(tmp_path, "a;b|c\n1;2|3\n4;5|6\n")
    assert open_csv(path).delimiter == ";"
    forced = open_csv(path, delimiter="|")
    assert (forced.delimiter, forced.columns) == ("|", ("a;b", "c"))


def test_digest_is_the_content_hash_of_the_file(tmp_path: Path) -> None:
    """Same bytes -> same digest; one byte changed -> another."""
    a = write(tmp_path, "e\nx@y.co\n", "a.csv")
    b = write(tmp_path, "e\nx@y.co\n", "b.csv")
    c = write(tmp_path, "e\nx@y.cm\n", "c.csv")
    digests = []
    for path in (a, b, c):
        source = open_csv(path)
        read_all(source)
        digests.append(source.digest)
    assert digests[0] == digests[1] != digests[2]


def test_quoted_records_are_counted_like_the_csv_module() -> None:
    """Field counts of quoted records (whole-field quotes, delimiters or quotes at a
    value's edge, "" escapes, literal mid-field quotes, quoted line breaks) agree with
    Python's csv module, so the same records are well-formed or ragged on both paths."""
    body = (
        b'1,"a,",b\n'
        b'2,",",x\n'
        b'3,"",y\n'
        b'5,"a""b",c\n'
        b'7,"x,y"\n'
        b'8,"a,b","c,d",e\n'
        b'9,"q\n,w",e,f\n'
        b'10,",",","\n'
    )
    fast = assert_same_records_on_both_paths(body, ["id", "text", "other"])
    assert fast.malformed["id"].to_list() == ["7", "8", "9"]
    # Quotes inside unquoted fields: such a piece is the csv module's to read.
    stray = b'4,b"c,d"e\n6,O",P"\n'
    assert_same_records_on_both_paths(stray, ["id", "text", "other"], fast_path=False)


FIELD = st.sampled_from(
    ["", "a", "b c", "x,y", 'say "hi"', '""', "two\nlines", "crlf\r\nin", '5" x 7"']
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(FIELD, min_size=1, max_size=5), min_size=1, max_size=12),
    st.sampled_from(["\n", "\r\n"]),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
)
def test_fast_path_counts_fields_like_the_csv_module(
    rows: list[list[str]], terminator: str, quoting: int
) -> None:
    """Whatever the quoting, line ends and ragged rows, the polars path finds the same
    well-formed and ragged records as the csv module (the definition it reproduces)."""
    text = io.StringIO()
    csv.writer(text, lineterminator=terminator, quoting=quoting).writerows(rows)
    assert_same_records_on_both_paths(text.getvalue().encode(), ["a", "b", "c"])


RAW_FIELD = st.sampled_from(
    ["", "a", "b c", '"x,y"', '"say ""hi"""', '""', '""""', '"two\nlines"', '"cr\r\nlf"',
     'b"c', 'd"e', 'a""b', '"a,"', '","', " x "]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(RAW_FIELD, min_size=1, max_size=5), min_size=1, max_size=12),
    st.sampled_from(["\n", "\r\n"]),
)
def test_fast_path_agrees_with_the_csv_module_on_raw_quoting(
    rows: list[list[str]], terminator: str
) -> None:
    """Fields written as raw text, not by a csv writer: quoted and unquoted values,
    escapes and literal mid-field quotes side by side. Whatever path a piece takes, the
    records are the csv module's."""
    body = "".join(",".join(row) + terminator for row in rows)
    stray = any(field in ('b"c', 'd"e', 'a""b') for row in rows for field in row)
    assert_same_records_on_both_paths(body.encode(), ["a", "b", "c"], fast_path=not stray)
