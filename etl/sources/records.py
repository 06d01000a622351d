"""Cut a UTF-8 CSV byte stream into polars frames of raw string rows with line numbers.

Two paths give the same records:

* **Fast path** (files whose quoting is RFC 4180-clean, i.e. nearly all). The main thread
  cuts the stream into pieces of ~``chunk_bytes`` at a line end with an even count of
  ``"`` before it (a record end); worker threads then parse the pieces: polars splits a
  piece into physical lines (a line ends a record when the quote count so far is even)
  and parses it with ``truncate_ragged_lines``, and must find one row per record. A
  record's field count comes from byte lengths (no quotes: raw length minus the values'
  lengths, plus one) or from delimiters (with quotes: delimiters in the raw text minus
  those inside the parsed values, plus one). Ragged records become malformed rows.
* **Slow path** (:mod:`etl.sources.csv_module`): from the first piece polars refuses (an
  odd number of stray quotes such as ``O"Brien``, text after a closing quote ``"a"b``),
  whose row count disagrees with the record count, with a bare CR line end, or with a
  quoted field larger than three chunks, the rest of the file is read with Python's
  :mod:`csv` module, which defines the semantics the fast path reproduces (polars reads
  an even number of mid-field quotes literally, as the csv module does). Earlier pieces
  agree under both.

Blank lines (no characters at all) are not records. ``_line`` is the 1-based physical line
on which a record starts.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import polars as pl

from etl.sources.csv_module import (
    DETAIL,
    LINE,
    RawChunk,
    concat_chunks,
    empty_chunk,
    first_record,
    is_unterminated,
    ragged_detail,
    read_records,
)

__all__ = ["DETAIL", "LINE", "RawChunk", "RecordReader"]

T = TypeVar("T")


class _Slow(Exception):
    """The piece's quoting is not RFC 4180-clean: switch to the csv-module path."""


@dataclass(frozen=True)
class _Piece:
    """Whole records of the stream, cut by the main thread, parsed by a worker."""

    data: bytes
    line0: int  # physical lines before it
    eof: bool
    oversized: bool = False  # no record end within three chunks: let the csv module read


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
        self._carry = b""  # read from the stream, not yet in a piece
        self.rows_read = 0
        self.slow_path = False
        self._header = delimiter.join(f"c{i}" for i in range(len(columns))).encode() + b"\n"
        delim = f"\\x{{{ord(delimiter):x}}}"
        field = f'(?:[^"{delim}]*|"[^"]*")'  # unquoted without quotes, or quoted without ""
        self._simple_record = f"^(?:{field}{delim})*{field}$"

    def __iter__(self) -> Iterator[RawChunk]:
        """Yield chunks in file order (all work on this thread); ``rows_read`` is then final."""
        for chunk, _ in self.map_chunks(_nothing, workers=0):
            yield chunk

    def map_chunks(
        self, fn: Callable[[RawChunk], T], *, workers: int = 2
    ) -> Iterator[tuple[RawChunk, T]]:
        """Yield ``(chunk, fn(chunk))`` in file order.

        With ``workers`` > 0, pieces are parsed and ``fn`` applied on that many threads
        (polars releases the GIL) while this thread reads on; at most ``workers + 1``
        pieces are in flight, which bounds memory.
        """
        pieces = self._pieces()
        if workers <= 0:
            for piece in pieces:
                try:
                    chunk, result = self._parse_then(piece, fn)
                except _Slow:
                    yield from self._fallback([piece], fn)
                    return
                yield self._counted(chunk), result
            return
        with ThreadPoolExecutor(workers, thread_name_prefix="csv-read") as pool:
            flight: deque[tuple[_Piece, Future[tuple[RawChunk, T]]]] = deque()
            exhausted = False
            while flight or not exhausted:
                while not exhausted and len(flight) <= workers:
                    following = next(pieces, None)
                    if following is None:
                        exhausted = True
                    else:
                        flight.append((following, pool.submit(self._parse_then, following, fn)))
                if not flight:
                    break
                piece, future = flight.popleft()
                try:
                    chunk, result = future.result()
                except _Slow:
                    for _, later in flight:
                        later.cancel()  # their pieces are re-read below
                    yield from self._fallback([piece, *(p for p, _ in flight)], fn)
                    return
                yield self._counted(chunk), result

    def _counted(self, chunk: RawChunk) -> RawChunk:
        self.rows_read += chunk.rows.height + chunk.malformed.height
        return chunk

    def _fallback(
        self, pieces: list[_Piece], fn: Callable[[RawChunk], T]
    ) -> Iterator[tuple[RawChunk, T]]:
        """Read these pieces and the rest of the stream with the csv module."""
        self.slow_path = True
        data = [p.data for p in pieces] + [self._carry]
        records = read_records(
            itertools.chain(data, self._blocks),
            columns=self.columns,
            delimiter=self.delimiter,
            line0=pieces[0].line0,
        )
        for chunk in records:
            kept = self._kept(chunk)
            yield self._counted(kept), fn(kept)

    def _kept(self, chunk: RawChunk) -> RawChunk:
        return RawChunk(
            chunk.rows.select(LINE, *self._keep),
            chunk.malformed.select(LINE, DETAIL, *self._keep),
        )

    def _parse_then(self, piece: _Piece, fn: Callable[[RawChunk], T]) -> tuple[RawChunk, T]:
        chunk = self._kept(self._parse(piece))
        return chunk, fn(chunk)

    # -- cutting (main thread) -------------------------------------------------------------

    def _pieces(self) -> Iterator[_Piece]:
        line0 = self._first_line - 1
        target = self._chunk_bytes
        eof = False
        while True:
            parts, size = [self._carry], len(self._carry)
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
            cut = len(data) if eof else _record_end(data)
            if not cut and len(data) <= 3 * self._chunk_bytes:
                self._carry, target = data, len(data) + self._chunk_bytes  # read more
                continue
            if not cut:
                self._carry = b""
                yield _Piece(data, line0, eof, oversized=True)
                return
            piece = _Piece(data[:cut], line0, eof and cut == len(data))
            self._carry = data[cut:]
            line0 += piece.data.count(b"\n")
            target = self._chunk_bytes
            yield piece
            if piece.eof:
                return

    # -- parsing (worker threads) -----------------------------------------------------------

    def _parse(self, piece: _Piece) -> RawChunk:
        """The records of one piece; raise :class:`_Slow` if polars cannot be trusted."""
        if piece.oversized:
            raise _Slow
        lines = pl.read_lines(piece.data).to_series()
        if lines.str.contains("\r", literal=True).any():
            raise _Slow  # a bare CR ends lines for the csv module, not for polars
        quotes = lines.str.count_matches('"', literal=True)
        ends = (quotes.cum_sum() % 2 == 0).arg_true()
        done = int(ends[-1]) + 1 if ends.len() else 0
        if done == lines.len():
            return self._frame(piece.data, lines, ends, quotes, piece.line0)
        if not piece.eof:
            raise _Slow  # the cut promised whole records
        # The file ends inside quotes: an unterminated field, or stray quotes.
        used = _bytes_without_lines(piece.data, lines.len() - done)
        chunks = [self._frame(piece.data[:used], lines, ends, quotes, piece.line0)] if used else []
        chunks.append(self._tail(piece.data[used:], piece.line0 + done))
        return concat_chunks(chunks, self.columns)

    def _frame(
        self, body: bytes, lines: pl.Series, ends: pl.Series, quotes: pl.Series, line0: int
    ) -> RawChunk:
        """Parse ``body`` (whole records) with polars and split well-formed from ragged."""
        starts = pl.concat([pl.Series([0], dtype=ends.dtype), ends.head(-1) + 1])
        blank = (starts == ends) & (lines.str.len_bytes().gather(starts) == 0)
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
        fields = self._field_counts(parsed, lines, starts, ends, quotes)
        line = (starts.cast(pl.Int64) + (line0 + 1)).alias(LINE)
        width = len(self.columns)
        ok = (fields == width) & ~blank
        if ok.all():  # the common case: nothing to filter
            return RawChunk(parsed.insert_column(0, line), empty_chunk(self.columns).malformed)
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
        return RawChunk(parsed.insert_column(0, line).filter(ok), malformed)

    def _field_counts(
        self,
        parsed: pl.DataFrame,
        lines: pl.Series,
        starts: pl.Series,
        ends: pl.Series,
        quotes: pl.Series,
    ) -> pl.Series:
        """Fields per record. Without quotes (one line, no escapes): raw length minus the
        values' lengths, plus one; likewise for one-line records whose quotes only wrap
        whole fields, once their quotes are taken off. Other quoted records: delimiters
        outside quoted sections, plus one. A too-long record loses its surplus to
        truncation, which only makes its count larger, so it is still seen as ragged."""
        complete = int(ends[-1]) + 1  # lines after the last end belong to an open tail
        lines, quotes = lines.head(complete), quotes.head(complete)
        value_bytes = parsed.select(pl.sum_horizontal(pl.all().str.len_bytes())).to_series()
        fields = lines.str.len_bytes().cast(pl.Int64).gather(starts) - value_bytes + 1
        cum_q = quotes.cum_sum().cast(pl.Int64)
        quoted = (cum_q.gather(ends) - cum_q.gather(starts) + quotes.gather(starts)) > 0
        if not quoted.any():
            return fields
        idx = quoted.arg_true()
        # A one-line record whose quotes only wrap whole fields ("a, b",c: no "" escape,
        # no quote inside a value) has no quote in its values: raw length without the
        # quotes minus the values' lengths, plus one. Checking that is one regex scan.
        one = idx.filter(starts.gather(idx) == ends.gather(idx))
        one_starts = starts.gather(one)
        simple = lines.gather(one_starts).str.contains(self._simple_record)
        fields = fields.scatter(
            one.filter(simple), (fields.gather(one) - quotes.gather(one_starts)).filter(simple)
        )
        # The others (quoted line breaks, "" escapes, stray quotes): delimiters outside
        # quoted sections, plus one.
        quoted = quoted.scatter(one.filter(simple), False)
        idx = quoted.arg_true()
        if not idx.len():
            return fields
        # Lines of quoted records: a record's lines run from its start to its end.
        record_of_line = (quotes.cum_sum() % 2 == 0).cast(pl.Int64).cum_sum().shift(1, fill_value=0)
        in_quoted = quoted.gather(record_of_line)
        delims = pl.repeat(0, lines.len(), dtype=pl.Int64, eager=True)
        line_idx = in_quoted.arg_true()
        delims = delims.scatter(
            line_idx, lines.gather(line_idx).str.count_matches(self.delimiter, literal=True)
        )
        cum_d = delims.cum_sum()
        raw = cum_d.gather(ends) - cum_d.gather(starts) + delims.gather(starts)
        # Gathering many string columns costs more than counting in all rows.
        few = 4 * idx.len() < quoted.len()
        inner = (
            (parsed[idx] if few else parsed)
            .select(pl.sum_horizontal(pl.all().str.count_matches(self.delimiter, literal=True)))
            .to_series()
        )
        inner = inner.cast(pl.Int64) if few else inner.cast(pl.Int64).gather(idx)
        return fields.scatter(idx, raw.gather(idx) - inner + 1)

    def _ragged_detail(self, found: int, lines: pl.Series, start: int, end: int) -> str:
        width = len(self.columns)
        if found < width:
            return f"expected {width} fields, found {found}"
        text = "\n".join(lines.slice(start, end - start + 1).to_list())
        return ragged_detail(first_record(text, self.delimiter), width)

    def _tail(self, body: bytes, line0: int) -> RawChunk:
        """Records of the file's end when its quotes do not balance."""
        text = body.decode("utf-8")
        if not is_unterminated(text, self.delimiter):
            self.slow_path = True  # stray quotes, not an open one: the csv module decides
            records = read_records(
                iter([body]), columns=self.columns, delimiter=self.delimiter, line0=line0
            )
            return concat_chunks(list(records), self.columns)
        values = (first_record(text, self.delimiter) + [None] * len(self.columns))[
            : len(self.columns)
        ]
        detail = (
            f"unterminated quoted field: a quote opened on line {line0 + 1} "
            "is never closed (the record runs to the end of the file)"
        )
        malformed = pl.DataFrame(
            [[line0 + 1, detail, *values]],
            schema={LINE: pl.Int64, DETAIL: pl.String, **dict.fromkeys(self.columns, pl.String)},
            orient="row",
        )
        return RawChunk(empty_chunk(self.columns).rows, malformed)


def _nothing(chunk: RawChunk) -> None:
    del chunk


def _record_end(data: bytes) -> int:
    """Length of the longest prefix of ``data`` ending with a newline after an even number
    of quotes (a record end if the quoting is clean); 0 if there is none."""
    end = data.rfind(b"\n")
    if end < 0:
        return 0
    quotes = data.count(b'"', 0, end + 1)
    while quotes % 2:
        before = data.rfind(b"\n", 0, end)
        if before < 0:
            return 0
        quotes -= data.count(b'"', before + 1, end + 1)
        end = before
    return end + 1


def _bytes_without_lines(piece: bytes, tail_lines: int) -> int:
    """Length of ``piece`` without its last ``tail_lines`` lines."""
    pos = len(piece) - 1
    for _ in range(tail_lines):
        pos = piece.rfind(b"\n", 0, pos)
        if pos < 0:
            return 0
    return pos + 1
