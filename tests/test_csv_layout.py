"""The byte scan of a CSV piece: lines, record ends, raw bytes, quotes and escapes."""

from __future__ import annotations

import polars as pl
import pytest

from etl.sources.layout import Irregular, scan

HEADER = b"c0,c1\n"


def test_records_span_the_lines_of_their_quoted_line_breaks() -> None:
    """A line ends a record when the quotes before it are even; CRLF ends are not raw
    bytes of the record, a CRLF inside quotes is."""
    data = HEADER + b'a,"x\r\ny"\r\n\r\nb,c\r\nd,"e""f"\r\n'
    layout = scan(data, ",")
    assert layout.lines == 5
    assert layout.starts.to_list() == [0, 2, 3, 4]
    assert layout.ends.to_list() == [1, 2, 3, 4]
    assert layout.raw_bytes().to_list() == [len(b'a,"x\r\ny"'), 0, 3, len(b'd,"e""f"')]
    assert layout.raw_quotes.to_list() == [2, 0, 0, 4]
    assert layout.escapes.to_list() == [0, 0, 0, 1]
    assert layout.record_texts(data, pl.Series([0, 3])) == ['a,"x\r\ny"', 'd,"e""f"']


def test_an_unterminated_last_line_and_an_open_quote_at_the_end() -> None:
    """Without a final newline the last line still counts; a quote opened at a field
    start and never closed leaves its lines out of the complete records."""
    closed = scan(HEADER + b"a,b\nc,d", ",")
    assert (closed.lines, closed.complete, closed.raw_bytes().to_list()) == (2, 2, [3, 3])
    still_open = scan(HEADER + b'a,b\nc,"d\ne,f\n', ",")
    assert (still_open.lines, still_open.complete) == (3, 1)
    assert (still_open.starts.to_list(), still_open.ends.to_list()) == ([0], [0])
    open_at_once = scan(HEADER + b'"d\ne,f\n', ",")
    assert (open_at_once.starts.len(), open_at_once.ends.len(), open_at_once.complete) == (0, 0, 0)
    assert still_open.line_start[still_open.complete] == len(HEADER) + 4


@pytest.mark.parametrize(
    "body",
    [
        b'a,O"Brien\n',  # a quote inside an unquoted field
        b'a,b"c,d"e\n',  # an even number of them, a delimiter between
        b'"a"b,c\n',  # text after a closing quote
        b'a, "b"\n',  # a space before an opening quote
        b"a,b\rc,d\n",  # a bare CR
        b"a,b\r",  # a CR at the very end
    ],
)
def test_quoting_the_byte_counts_cannot_follow_is_irregular(body: bytes) -> None:
    """Such pieces go to the csv module, which defines their records."""
    with pytest.raises(Irregular):
        scan(HEADER + body, ",")


def test_escapes_and_empty_quoted_values_are_clean_with_any_delimiter() -> None:
    """``""`` inside quotes is one quote of the value; ``""`` alone is an empty value."""
    layout = scan(b"c0;c1\n" + b'"";"""";"a""b"""\n', ";")
    assert layout.raw_quotes.to_list() == [12]
    assert layout.escapes.to_list() == [3]
