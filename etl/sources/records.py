"""Cut a UTF-8 CSV byte stream into polars frames of raw string rows with line numbers.

Two paths give the same records:

* **Fast path** (files whose quoting is RFC 4180-clean, i.e. nearly all). The main thread
  cuts the stream into pieces of ~``chunk_bytes`` at a line end with an even count of
  ``"`` before it (a record end); worker threads then parse the pieces: a scan of the
  piece's bytes (:mod:`etl.sources.layout`) finds its lines, its records (a line ends a
  record when the quote count so far is even) and their raw bytes and quotes, and
  polars parses the piece with ``truncate_ragged_lines``, and must find one row per
  record. A record's field count comes from byte counts: raw length minus the values'
  lengths, minus the quotes that are syntax (raw quotes minus ``""`` escapes), plus
  one. Ragged records become malformed rows.
* **Slow path** (:mod:`etl.sources.csv_module`): from the first piece with a quote that
  is neither at a field's edge nor half of a ``""`` escape (``O"Brien``, ``5" x 7"``,
  ``"a"b``), with a bare CR line end, that polars refuses or whose row count disagrees
  with the record count, or with a quoted field larger than three chunks, the rest of
  the file is read with Python's :mod:`csv` module, which defines the semantics the fast
  path reproduces. Earlier pieces agree under both.

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
from etl.sources.layout import Irregular, Layout, count_byte, scan

__all__ = ["CHUNK_BYTES", "DETAIL", "LINE", "RawChunk", "RecordReader"]

#: Default target size of a piece: 24 MB ran ~2.5% faster than 16 MB in the CSV bench
#: (four A/Bs), at ~840 MB peak RSS for a dry run; 32 MB was no faster.
CHUNK_BYTES = 24 << 20

T = TypeVar("T")


class _Slow(Exception):
    """The piece's quoting is not RFC 4180-clean: switch to the csv-module path."""


@dataclass(frozen=True)
class _Piece:
    """The header line, then whole records of the stream: cut by the main thread, parsed
    by a worker."""

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
        chunk_bytes: int = CHUNK_BYTES,
        size_hint: int | None = None,
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
            size_hint: about how many bytes ``blocks`` hold, if known: the stream is
                then cut into equal pieces, as many for each worker (see
                :meth:`_target`).
        """
        self._blocks = iter(blocks)
        self.columns = list(columns)
        self._keep = list(columns if keep is None else keep)
        self.delimiter = delimiter
        self._first_line = first_line
        self._chunk_bytes = chunk_bytes
        self._size_hint = size_hint
        self._carry = b""  # read from the stream, not yet in a piece
        self.rows_read = 0
        self.slow_path = False
        self._header = delimiter.join(f"c{i}" for i in range(len(columns))).encode() + b"\n"

    def __iter__(self) -> Iterator[RawChunk]:
        """Yield chunks in file order (all work on this thread); ``rows_read`` is then final."""
        for chunk, _ in self.map_chunks(_nothing, workers=0):
            yield chunk

    def map_chunks(
        self, fn: Callable[[RawChunk], T], *, workers: int = 2
    ) -> Iterator[tuple[RawChunk, T]]:
        """Yield ``(chunk, fn(chunk))`` in file order.

        With ``workers`` > 0, pieces are parsed and ``fn`` applied on that many threads
        (polars releases the GIL) while this thread reads on; at most ``workers + 2``
        pieces are in flight, which bounds memory (one more than the workers take, so a
        worker that finishes out of turn finds a piece ready).
        """
        pieces = self._pieces(workers)
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

            def top_up() -> None:
                while len(flight) <= workers + 1 and (following := next(pieces, None)):
                    flight.append((following, pool.submit(self._parse_then, following, fn)))

            top_up()
            while flight:
                piece, future = flight.popleft()
                try:
                    chunk, result = future.result()
                except _Slow:
                    for _, later in flight:
                        later.cancel()  # their pieces are re-read below
                    yield from self._fallback([piece, *(p for p, _ in flight)], fn)
                    return
                top_up()  # before the caller works on this chunk, so no worker waits on it
                yield self._counted(chunk), result

    def _counted(self, chunk: RawChunk) -> RawChunk:
        self.rows_read += chunk.rows.height + chunk.malformed.height
        return chunk

    def _fallback(
        self, pieces: list[_Piece], fn: Callable[[RawChunk], T]
    ) -> Iterator[tuple[RawChunk, T]]:
        """Read these pieces and the rest of the stream with the csv module."""
        self.slow_path = True
        header = len(self._header)
        data = [p.data[header:] for p in pieces] + [self._carry]
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
        if self._keep == self.columns:
            return chunk  # (a select would also rechunk every column)
        return RawChunk(
            chunk.rows.select(LINE, *self._keep),
            chunk.malformed.select(LINE, DETAIL, *self._keep),
        )

    def _parse_then(self, piece: _Piece, fn: Callable[[RawChunk], T]) -> tuple[RawChunk, T]:
        chunk = self._kept(self._parse(piece))
        return chunk, fn(chunk)

    # -- cutting (main thread) -------------------------------------------------------------

    def _pieces(self, workers: int) -> Iterator[_Piece]:
        """Cut the stream at record ends; each piece's bytes start with the header line
        that polars reads column names from (one copy of the data: no concatenation in
        the workers, which would hold the GIL)."""
        line0 = self._first_line - 1
        read = 0  # bytes taken from the blocks
        target = self._target(read, workers)
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
                    read += len(block)
            if not size:
                return
            if eof and size <= target + target // 4:
                cut = size  # the rest, not cut into a piece and a sliver
            else:
                cut = _record_end(parts, max(target - (size - len(parts[-1])), 0))
            if not cut and size <= 3 * self._chunk_bytes:
                self._carry, target = b"".join(parts), size + self._chunk_bytes  # read more
                continue
            if not cut:
                self._carry = b""
                yield _Piece(b"".join([self._header, *parts]), line0, eof, oversized=True)
                return
            last = parts.pop()
            keep = len(last) - (size - cut)  # the last part's bytes that go in this piece
            data = b"".join([self._header, *parts, memoryview(last)[:keep]])
            piece = _Piece(data, line0, eof and cut == size)
            self._carry = last[keep:]
            del parts, last
            line0 += count_byte(data, b"\n") - 1
            target = self._target(read - len(self._carry), workers)
            yield piece
            if piece.eof:
                return

    def _target(self, done: int, workers: int) -> int:
        """Size of the next piece, ``done`` bytes into the stream.

        With a size hint and workers, the stream is cut into pieces of one size, as many
        for each worker, each of 1/2 to 3/2 ``chunk_bytes`` (a stream of less than
        ``workers / 2`` chunks: one piece for each worker): 6 pieces of 22.5 MB for a
        135 MB file. The workers then finish together, and there are no more pieces
        than needed: each costs ~40 ms of fixed overhead in the checks, whatever its size
        (a ramp down to eighth-size pieces at the end, 8 pieces for that file, was ~4%
        slower in the CSV bench). The rest of the stream goes in one piece once it is
        under 1.25 pieces.
        """
        if self._size_hint is None or workers <= 1:
            return self._chunk_bytes
        rounds = max(1, round(self._size_hint / (self._chunk_bytes * workers)))
        share = max(self._size_hint // (rounds * workers), 1)
        left = self._size_hint - done
        return share if left > share + share // 4 else left + share

    # -- parsing (worker threads) -----------------------------------------------------------

    def _parse(self, piece: _Piece) -> RawChunk:
        """The records of one piece; raise :class:`_Slow` if polars cannot be trusted."""
        if piece.oversized:
            raise _Slow
        try:
            layout = scan(piece.data, self.delimiter)
        except Irregular:
            raise _Slow from None
        done = layout.complete
        if done == layout.lines:
            return self._frame(piece.data, layout, piece.line0)
        if not piece.eof:
            raise _Slow  # the cut promised whole records
        # The file ends inside a quoted field that opened at a field start (the quoting is
        # clean): the records before it are read here, it is an unterminated one.
        used = int(layout.line_start[done])
        chunks = []
        if done:
            chunks.append(self._frame(piece.data[:used], layout, piece.line0))
        chunks.append(self._tail(piece.data[used:], piece.line0 + done))
        return concat_chunks(chunks, self.columns)

    def _frame(self, text: bytes, layout: Layout, line0: int) -> RawChunk:
        """Parse ``text`` (the header line, then the complete records of ``layout``) with
        polars and split well-formed from ragged."""
        raw = layout.raw_bytes()
        blank = (layout.starts == layout.ends) & (raw == 0)
        try:
            parsed = pl.read_csv(
                text,
                separator=self.delimiter,
                quote_char='"',
                infer_schema=False,
                truncate_ragged_lines=True,
                raise_if_empty=False,
            )
        except pl.exceptions.PolarsError:
            raise _Slow from None
        if parsed.height != layout.ends.len():
            raise _Slow
        # One chunk per column (polars parses in ~10): later scatters and zips would each
        # copy a column to align its chunks; copying once costs less.
        parsed = parsed.rechunk()
        parsed.columns = self.columns
        fields = _field_counts(parsed, raw, layout)
        line = (layout.starts.cast(pl.Int64) + (line0 + 1)).alias(LINE)
        width = len(self.columns)
        ok = (fields == width) & ~blank
        if ok.all():  # the common case: nothing to filter
            return RawChunk(parsed.insert_column(0, line), empty_chunk(self.columns).malformed)
        bad = ~ok & ~blank
        found = fields.filter(bad)
        # The surplus values of a too-long record are quoted from its raw text.
        texts = iter(layout.record_texts(text, bad.arg_true().filter(found > width)))
        details = [
            ragged_detail(first_record(next(texts), self.delimiter), width)
            if count > width
            else f"expected {width} fields, found {count}"
            for count in found.to_list()
        ]
        malformed = parsed.filter(bad).select(
            line.filter(bad), pl.Series(DETAIL, details, dtype=pl.String), *self.columns
        )
        return RawChunk(parsed.insert_column(0, line).filter(ok), malformed)

    def _tail(self, body: bytes, line0: int) -> RawChunk:
        """The unterminated record at the file's end (its quotes do not balance)."""
        text = body.decode("utf-8")
        if not is_unterminated(text, self.delimiter):
            raise _Slow  # (the scan found the quoting clean: not expected; the csv module decides)
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


def _record_end(parts: list[bytes], limit: int | None = None) -> int:
    """Length of the longest prefix of ``parts`` (joined) ending with a newline after an
    even number of quotes (a record end if the quoting is clean), looked for in the last
    part: in its first ``limit`` bytes, or if there is none there, in all of it; 0 if
    there is none in the last part."""
    data = parts[-1]
    before = sum(len(p) for p in parts[:-1])
    quotes_before = sum(count_byte(p, b'"') for p in parts[:-1])
    for last in (data.rfind(b"\n", 0, limit), data.rfind(b"\n")):
        end, quotes = last, quotes_before + count_byte(data, b'"', 0, last + 1)
        while end >= 0 and quotes % 2:
            previous = data.rfind(b"\n", 0, end)
            quotes -= data.count(b'"', previous + 1, end + 1)
            end = previous
        if end >= 0:
            return before + end + 1
    return 0


def _field_counts(parsed: pl.DataFrame, raw: pl.Series, layout: Layout) -> pl.Series:
    """Fields per record, from byte counts alone.

    A record's raw bytes are its values' bytes, its delimiters and its syntactic quotes.
    With clean quoting (:func:`~etl.sources.layout.scan` checks it), the only quotes in
    values come from ``""`` escapes, one each, so ``fields = raw bytes - value bytes -
    (raw quotes - escapes) + 1``. A too-long record loses its surplus to truncation,
    which only makes its count larger (a dropped field adds its unquoted length), so it
    is still seen as ragged."""
    # (fill_null first: a horizontal sum over columns with nulls is ~3x slower)
    lengths = pl.all().str.len_bytes().fill_null(0)
    value_bytes = parsed.select(pl.sum_horizontal(lengths)).to_series()
    return raw - value_bytes.cast(pl.Int64) - layout.raw_quotes + layout.escapes + 1
