"""Where the lines and records of a piece of CSV lie, from a scan of its bytes.

The fast path (:mod:`etl.sources.records`) needs, before and beside polars' parse: which
lines end a record (the count of ``"`` so far is even), each record's raw bytes and raw
quotes, and how many ``""`` escapes its values hold, so that its field count follows
from byte counts alone. All of it comes from the positions of three bytes (LF, ``"``,
CR), found by polars on a zero-copy ``UInt8`` view of the piece; nothing is split into
lines and no value is scanned.

That arithmetic, and the parity rule for record ends, hold for RFC 4180 quoting: a quote
opens a field (right after a delimiter or a line break), closes one (right before a
delimiter, a line end or the end of the data), or is half of a ``""`` escape. A piece
with another quote (``O"Brien``, ``"a"b``) or a CR that is not part of a CRLF is
:class:`Irregular`: the csv module reads it (the definition the fast path reproduces).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa

_LF, _CR, _QUOTE = 10, 13, 34


class Irregular(Exception):
    """The piece's quoting or line ends are not RFC 4180-clean."""


@dataclass(frozen=True)
class Layout:
    """Byte offsets into a piece whose first line is a header; data lines count from 0.

    Attributes:
        line_start: Int64, first byte of each data line.
        line_end: Int64, end of each data line's text (its CR of a CRLF, else its LF, or
            the data's end).
        starts, ends: the first and last data line of each complete record (UInt32);
            lines after the last end belong to a quoted field still open at the end.
        raw_quotes: Int64 per complete record, the quotes in its raw text.
        escapes: Int64 per complete record, the ``""`` escapes (one quote each in the values).
    """

    line_start: pl.Series
    line_end: pl.Series
    starts: pl.Series
    ends: pl.Series
    raw_quotes: pl.Series
    escapes: pl.Series

    @property
    def lines(self) -> int:
        """Data lines in the piece (the last may be unterminated)."""
        return self.line_start.len()

    @property
    def complete(self) -> int:
        """Data lines that belong to complete records."""
        return int(self.ends[-1]) + 1 if self.ends.len() else 0

    def raw_bytes(self) -> pl.Series:
        """Int64 per complete record: its bytes, line breaks inside it included, its own
        line end not."""
        return self.line_end.gather(self.ends) - self.line_start.gather(self.starts)

    def record_texts(self, data: bytes, records: pl.Series) -> list[str]:
        """The raw text of each of the complete ``records`` (their indices)."""
        starts = self.line_start.gather(self.starts.gather(records)).to_list()
        ends = self.line_end.gather(self.ends.gather(records)).to_list()
        return [data[a:b].decode("utf-8") for a, b in zip(starts, ends, strict=True)]


def scan(data: bytes, delimiter: str) -> Layout:
    """The layout of ``data``: a header line, then lines of records.

    Raises:
        Irregular: a quote that is neither at a field's edge nor half of an escape, or a
            bare CR.
    """
    view = _bytes_view(data)
    # Line feeds and quotes, found in one pass over the bytes: their positions in order.
    marks = ((view == _LF) | (view == _QUOTE)).arg_true()
    is_quote = view.gather(marks) == _QUOTE
    marks = marks.cast(pl.Int64)
    newlines = marks.filter(~is_quote)  # the first ends the header
    quotes = marks.filter(is_quote)
    # Quotes before each line break (a running count read at the line feeds; the header
    # has none).
    quotes_before = is_quote.cum_sum().filter(~is_quote).cast(pl.Int64)
    ends_at = newlines
    if not data.endswith(b"\n"):
        ends_at = pl.concat([newlines, pl.Series([len(data)], dtype=pl.Int64)])
        quotes_before = pl.concat([quotes_before, pl.Series([quotes.len()], dtype=pl.Int64)])
    text_end = ends_at
    if b"\r" in data:
        crlf = view.gather(newlines - 1) == _CR
        if int(crlf.sum()) != int((view == _CR).sum()):
            raise Irregular("a CR that is not part of a CRLF")
        padded = pl.concat([crlf, pl.repeat(False, ends_at.len() - crlf.len(), eager=True)])
        text_end = ends_at - padded.cast(pl.Int64)
    escapes = _escapes(view, quotes, ord(delimiter), len(data))
    record_end = (quotes_before.slice(1) % 2 == 0).arg_true()
    record_start = (record_end + 1).shift(1, fill_value=0)  # as many as ends, none or more
    line_start = newlines.head(ends_at.len() - 1) + 1
    return Layout(
        line_start=line_start,
        line_end=text_end.slice(1),
        starts=record_start,
        ends=record_end,
        raw_quotes=_per_record(quotes_before, record_start, record_end),
        escapes=_per_record(
            escapes.search_sorted(ends_at, side="left").cast(pl.Int64), record_start, record_end
        ),
    )


def count_byte(data: bytes, byte: bytes, start: int = 0, end: int | None = None) -> int:
    """``data.count(byte, start, end)`` for a one-byte ``byte``: polars on a zero-copy
    view of a large range (~10x faster than ``bytes.count``, and without the GIL, which
    the main thread's cutting would otherwise hold while the workers want it)."""
    end = len(data) if end is None else end
    if end - start < _SMALL:
        return data.count(byte, start, end)
    return int((_bytes_view(memoryview(data)[start:end]) == ord(byte)).sum())


_SMALL = 1 << 16


def _bytes_view(data: bytes | memoryview) -> pl.Series:
    """``data`` as a UInt8 Series without a copy (the Arrow buffer keeps ``data`` alive)."""
    array = pa.Array.from_buffers(pa.uint8(), len(data), [None, pa.py_buffer(data)])
    return pl.Series(_ArrowArray(array))


@dataclass(frozen=True)
class _ArrowArray:
    """An Arrow array seen only through the Arrow PyCapsule interface: polars imports it
    zero-copy, without the pyarrow-specific path of ``pl.from_arrow``, which imports
    ``pyarrow.compute`` (~30 ms at the first piece, with the GIL held)."""

    array: pa.Array

    def __arrow_c_array__(self, requested_schema: object = None) -> tuple[object, object]:
        return self.array.__arrow_c_array__(requested_schema)


def _escapes(view: pl.Series, quotes: pl.Series, delimiter: int, size: int) -> pl.Series:
    """Positions of the closing halves of ``""`` escapes, after checking that every quote
    opens a field, closes one or is half of an escape (:class:`Irregular` if not).

    By parity, quotes alternate opening (even index) and closing (odd index); an escape
    is a closing quote followed at once by the next opening one.
    """
    if not quotes.len():
        return quotes
    opening, closing = quotes.gather_every(2), quotes.gather_every(2, offset=1)
    # adjacent[k]: closing[k] is followed at once by opening[k + 1] (an escape)
    adjacent = (opening.slice(1) - closing.head(opening.len() - 1)) == 1
    before = view.gather(opening - 1)  # the header line comes first: never out of range
    reopened = pl.concat([pl.Series([False]), adjacent])
    opens_field = (before == delimiter) | (before == _LF) | reopened
    after = view.gather((closing + 1).clip(upper_bound=size - 1))
    escaped = pl.concat([adjacent, pl.repeat(False, closing.len() - adjacent.len(), eager=True)])
    closes_field = (
        (after == delimiter) | (after == _CR) | (after == _LF) | (closing + 1 == size) | escaped
    )
    if not (opens_field.all() and closes_field.all()):
        raise Irregular("a quote inside an unquoted field or after a closing quote")
    return closing.filter(escaped)


def _per_record(before_line_end: pl.Series, starts: pl.Series, ends: pl.Series) -> pl.Series:
    """Per record, the count of things in its lines, from the running count before each
    line end (index 0: the header's)."""
    return before_line_end.gather(ends + 1) - before_line_end.gather(starts)
