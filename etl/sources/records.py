"""Cut a UTF-8 CSV byte stream into polars frames of raw string rows with line numbers.

Two paths give the same records:

* **Fast path** (files whose quoting is RFC 4180-clean, i.e. nearly all): the stream is
  cut into chunks of ~``chunk_bytes`` at record ends; each chunk is split into physical
  lines by polars; a line ends a record when the count of ``"`` so far is even; polars
  parses the chunk with ``truncate_ragged_lines`` and must find exactly one row per
  record; a record's field count is its delimiters minus those inside parsed values,
  plus one. Ragged records (count differs from the header's) become malformed rows.
* **Slow path**: from the first chunk polars refuses (an odd number of stray quotes such
  as ``O"Brien``, text after a closing quote ``"a"b``), whose row count disagrees with
  the quote-parity record count, or with a bare CR line end, the rest of the file is
  read with Python's :mod:`csv` module (excel dialect), which defines the semantics the
  fast path reproduces (polars reads an even number of mid-field quotes literally, as
  the csv module does). Earlier chunks agree under both.

Blank lines (no characters at all) are not records. ``_line`` is the 1-based physical line
on which a record starts.
"""

from __future__ import annotations

import csv
import io
import itertools
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import polars as pl

LINE = "_line"
DETAIL = "_detail"

_SLOW_BATCH = 50_000


@dataclass(frozen=True)
class RawChunk:
    """Records of one chunk of the file.

    Attributes:
        rows: well-formed records: ``_line`` (Int64) then one String column per header name
            (null for an empty field).
        malformed: ragged or unterminated records: ``_line``, ``_detail`` and the header
            columns with the fields that were there.
    """

    rows: pl.DataFrame
    malformed: pl.DataFrame


class _Slow(Exception):
    """The chunk's quoting is not RFC 4180-clean: switch to the csv-module path."""


class RecordReader:
    """Iterates :class:`RawChunk` objects over the data part of a CSV byte stream."""

    def __init__(
        self,
        blocks: Iterable[bytes],
        *,
        columns: Sequence[str],
        keep: Sequence[str] | None = None,
        delimiter: str,
        first_line: int,
        chunk_bytes: int = 32 << 20,
    ) -> None:
        """Prepare to read.

        Args:
            blocks: UTF-8 bytes that start right after the header record.
            columns: the header names (unique), in file order.
            keep: the columns to output (default all), e.g. without a rejects file's
                ``_line``/``_reason``/``_detail`` (renamed apart in ``columns``).
            delimiter: one ASCII character.
            first_line: physical line number of the first byte of ``blocks``.
            chunk_bytes: target size of a chunk; a record larger than this grows the chunk.
        """
        self._blocks = iter(blocks)
        self.columns = list(columns)
        self._keep = list(columns if keep is None else keep)
        self.delimiter = delimiter
        self._first_line = first_line
        self._chunk_bytes = chunk_bytes
        self.rows_read = 0
        self.slow_path = False
        self._header = delimiter.join(f"c{i}" for i in range(len(columns))).encode() + b"\n"
        self._schema = dict.fromkeys(self.columns, pl.String)

    def __iter__(self) -> Iterator[RawChunk]:
        """Yield chunks until the stream ends; ``rows_read`` is then final."""
        pending = b""
        line0 = self._first_line - 1  # physical lines before ``pending``
        target = self._chunk_bytes
        eof = False
        while True:
            parts, size = [pending], len(pending)
            while size < target and not eof:
                block = next(self._blocks, None)
                if block is None:
                    eof = True
                else:
                    parts.append(block)
                    size += len(block)
            data = b"".join(parts)
            del parts
            if not data:
                return
            cut = len(data) if eof else data.rfind(b"\n") + 1
            huge = len(data) > 3 * self._chunk_bytes  # a quote left open for megabytes?
            if not cut and not huge:
                pending, target = data, len(data) + self._chunk_bytes
                continue
            try:
                if huge and not cut:
                    raise _Slow
                chunk, used_bytes, used_lines = self._fast(data[:cut], line0, eof)
                if huge and not used_bytes:
                    raise _Slow
            except _Slow:
                yield from self._fallback(data, line0)
                return
            pending = data[used_bytes:]
            line0 += used_lines
            # No complete record yet (one huge quoted field): read more before retrying.
            target = self._chunk_bytes if used_bytes else len(data) + self._chunk_bytes
            if chunk is not None:
                yield self._counted(chunk)
            if eof and not pending:
                return

    def _fallback(self, data: bytes, line0: int) -> Iterator[RawChunk]:
        """Read ``data`` and the rest of the stream with the csv module."""
        self.slow_path = True
        for chunk in self._slow(itertools.chain([data], self._blocks), line0):
            yield self._counted(chunk)

    def _counted(self, chunk: RawChunk) -> RawChunk:
        self.rows_read += chunk.rows.height + chunk.malformed.height
        return RawChunk(
            chunk.rows.select(LINE, *self._keep), chunk.malformed.select(LINE, DETAIL, *self._keep)
        )

    # -- fast path -----------------------------------------------------------------------

    def _fast(self, piece: bytes, line0: int, eof: bool) -> tuple[RawChunk | None, int, int]:
        """Parse the complete records of ``piece``; return them, bytes and lines used."""
        if not piece:
            return None, 0, 0
        lines = pl.read_lines(piece).to_series()
        quotes = lines.str.count_matches('"', literal=True)
        after = quotes.cum_sum() % 2  # 1 = the line ends inside a quoted field
        self._check_line_ends(lines)
        delims = lines.str.count_matches(self.delimiter, literal=True)
        ends = (after == 0).arg_true()
        n_lines, n_records = lines.len(), ends.len()
        done_lines = int(ends[-1]) + 1 if n_records else 0
        if done_lines == n_lines:
            return (
                self._frame(piece, lines, ends, delims, line0, quotes=quotes),
                len(piece),
                n_lines,
            )
        # The last record is still open: it continues in the next chunk, or (at the end of
        # the file) it is an unterminated quote or stray quotes for the csv module to judge.
        used = self._bytes_for_lines(piece, n_lines - done_lines)
        chunk = (
            self._frame(piece[:used], lines, ends, delims, line0, quotes=quotes) if used else None
        )
        if not eof:
            return chunk, used, done_lines
        tail = self._tail(piece[used:], lines, done_lines, line0)
        return _merge(chunk, tail, self.columns), len(piece), n_lines

    @staticmethod
    def _check_line_ends(lines: pl.Series) -> None:
        """Raise :class:`_Slow` on a bare CR: a line end for the csv module, not for polars."""
        if lines.str.contains("\r", literal=True).any():
            raise _Slow

    @staticmethod
    def _bytes_for_lines(piece: bytes, tail_lines: int) -> int:
        """Length of ``piece`` (ending with a newline) without its last ``tail_lines`` lines."""
        pos = len(piece) - 1
        for _ in range(tail_lines):
            pos = piece.rfind(b"\n", 0, pos)
            if pos < 0:
                return 0
        return pos + 1

    def _frame(
        self,
        body: bytes,
        lines: pl.Series,
        ends: pl.Series,
        delims: pl.Series,
        line0: int,
        *,
        quotes: pl.Series,
    ) -> RawChunk:
        """Parse ``body`` (whole records) with polars and split well-formed from ragged."""
        starts = pl.concat([pl.Series([0], dtype=ends.dtype), ends.head(-1) + 1])
        cum = delims.cum_sum().cast(pl.Int64)
        raw_delims = cum.gather(ends) - cum.gather(starts) + delims.gather(starts).cast(pl.Int64)
        blank = (starts == ends) & (lines.gather(starts).str.len_bytes() == 0)
        try:
            parsed = pl.read_csv(
                self._header + body,
                separator=self.delimiter,
                quote_char='"',
                infer_schema=False,
                truncate_ragged_lines=True,
                raise_if_empty=False,
            )
        except pl.exceptions.PolarsError:
            raise _Slow from None
        if parsed.height != ends.len():
            raise _Slow
        parsed.columns = self.columns
        # Separators = delimiters in the raw text minus those inside the parsed values (the
        # quoted ones); a too-long record loses its surplus to truncation, which only makes
        # its count larger, so it is still seen as ragged.
        fields = raw_delims + 1
        if quotes.sum():  # only records with a quote can hold a delimiter inside a value
            cum_q = quotes.cum_sum().cast(pl.Int64)
            has_q = (cum_q.gather(ends) - cum_q.gather(starts) + quotes.gather(starts)) > 0
            idx = None if 2 * int(has_q.sum()) > has_q.len() else has_q.arg_true()
            subset = parsed if idx is None else parsed[idx]
            inner = subset.select(
                pl.sum_horizontal(pl.all().str.count_matches(self.delimiter, literal=True))
            ).to_series()
            inner = inner.fill_null(0).cast(pl.Int64)
            if idx is None:
                fields = fields - inner
            else:
                fields = fields.scatter(idx, fields.gather(idx) - inner)
        line = (starts.cast(pl.Int64) + (line0 + 1)).alias(LINE)
        width = len(self.columns)
        ok = (fields == width) & ~blank
        if ok.all():  # the common case: nothing to filter
            return RawChunk(parsed.insert_column(0, line), _empty_malformed(self.columns))
        rows = parsed.insert_column(0, line).filter(ok)
        bad = ~ok & ~blank
        details = [
            self._ragged_detail(int(found), lines, int(start), int(end))
            for found, start, end in zip(
                fields.filter(bad), starts.filter(bad), ends.filter(bad), strict=True
            )
        ]
        malformed = parsed.filter(bad).select(
            line.filter(bad), pl.Series(DETAIL, details, dtype=pl.String), *self.columns
        )
        return RawChunk(rows, malformed)

    def _ragged_detail(self, found: int, lines: pl.Series, start: int, end: int) -> str:
        width = len(self.columns)
        if found < width:
            return f"expected {width} fields, found {found}"
        text = "\n".join(lines.slice(start, end - start + 1).to_list())
        record = next(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter), [])
        surplus = ", ".join(repr(v) for v in record[width:])
        return f"expected {width} fields, found {len(record)}; surplus values: {surplus[:200]}"

    def _tail(self, body: bytes, lines: pl.Series, start: int, line0: int) -> RawChunk:
        """Records of the file's end when its quotes do not balance."""
        text = body.decode("utf-8")
        try:
            for _ in csv.reader(
                io.StringIO(text, newline=""), delimiter=self.delimiter, strict=True
            ):
                pass
        except csv.Error as exc:
            unterminated = str(exc) == "unexpected end of data"
        else:
            unterminated = False
        if not unterminated:  # stray quotes, not an open one: the csv module decides
            self.slow_path = True
            return _concat(list(self._slow(iter([body]), line0 + start)), self.columns)
        record = next(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter), [])
        values = (record + [None] * len(self.columns))[: len(self.columns)]
        detail = (
            f"unterminated quoted field: a quote opened on line {line0 + start + 1} "
            "is never closed (the record runs to the end of the file)"
        )
        del lines
        malformed = pl.DataFrame(
            [[line0 + start + 1, detail, *values]],
            schema={LINE: pl.Int64, DETAIL: pl.String, **self._schema},
            orient="row",
        )
        return RawChunk(_empty_rows(self.columns), malformed)

    # -- slow path -----------------------------------------------------------------------

    def _slow(self, blocks: Iterator[bytes], line0: int) -> Iterator[RawChunk]:
        """Read the rest with the csv module, in batches of rows."""
        text = io.TextIOWrapper(
            io.BufferedReader(_ChainRaw(blocks), 1 << 20), encoding="utf-8", newline=""
        )
        reader = csv.reader(text, delimiter=self.delimiter, strict=False)
        width = len(self.columns)
        limit = csv.field_size_limit()
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        try:
            rows: list[list[str]] = []
            lines: list[int] = []
            bad: list[list[object]] = []
            consumed = 0
            while True:
                start = line0 + consumed + 1
                try:
                    record = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    bad.append([start, f"unreadable record: {exc}", *([None] * width)])
                    consumed = reader.line_num
                    continue
                consumed = reader.line_num
                if not record:
                    continue
                if len(record) == width:
                    rows.append(record)
                    lines.append(start)
                else:
                    detail = f"expected {width} fields, found {len(record)}"
                    if len(record) > width:
                        surplus = ", ".join(repr(v) for v in record[width:])
                        detail += f"; surplus values: {surplus[:200]}"
                    bad.append([start, detail, *(record + [None] * width)[:width]])
                if len(rows) + len(bad) >= _SLOW_BATCH:
                    yield self._slow_chunk(rows, lines, bad)
                    rows, lines, bad = [], [], []
            if rows or bad:
                yield self._slow_chunk(rows, lines, bad)
        finally:
            csv.field_size_limit(limit)

    def _slow_chunk(
        self, rows: list[list[str]], lines: list[int], bad: list[list[object]]
    ) -> RawChunk:
        frame = pl.DataFrame(rows, schema=self._schema, orient="row")
        frame = frame.select(
            pl.Series(LINE, lines, dtype=pl.Int64),
            pl.all().replace("", None),  # the fast path reads an empty field as null
        )
        malformed = pl.DataFrame(
            bad, schema={LINE: pl.Int64, DETAIL: pl.String, **self._schema}, orient="row"
        ).with_columns(pl.col(self.columns).replace("", None))
        return RawChunk(frame, malformed)


def _empty_malformed(columns: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        schema={LINE: pl.Int64, DETAIL: pl.String, **dict.fromkeys(columns, pl.String)}
    )


def _empty_rows(columns: list[str]) -> pl.DataFrame:
    return pl.DataFrame(schema={LINE: pl.Int64, **dict.fromkeys(columns, pl.String)})


def _concat(chunks: list[RawChunk], columns: list[str]) -> RawChunk:
    if not chunks:
        return RawChunk(_empty_rows(columns), _empty_malformed(columns))
    return RawChunk(pl.concat([c.rows for c in chunks]), pl.concat([c.malformed for c in chunks]))


def _merge(chunk: RawChunk | None, tail: RawChunk, columns: list[str]) -> RawChunk:
    if chunk is None:
        return tail
    return _concat([chunk, tail], columns)


class _ChainRaw(io.RawIOBase):
    """A readable raw stream over an iterator of byte blocks (for the csv-module path)."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._view:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._view = memoryview(block)
        size = min(len(buffer), len(self._view))
        buffer[:size] = self._view[:size]
        self._view = self._view[size:]
        return size
