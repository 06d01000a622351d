"""The slow, exact CSV path: Python's :mod:`csv` module (excel dialect) over UTF-8 bytes.

It defines the records the fast polars path reproduces, and reads what the fast path
refuses (stray quotes, CR-only line ends, quoted fields larger than a chunk). Also the
small frame helpers both paths share.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import polars as pl

LINE = "_line"
DETAIL = "_detail"
_BATCH = 50_000


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


def empty_chunk(columns: Sequence[str]) -> RawChunk:
    """A chunk without records, with the right columns."""
    strings = dict.fromkeys(columns, pl.String)
    return RawChunk(
        pl.DataFrame(schema={LINE: pl.Int64, **strings}),
        pl.DataFrame(schema={LINE: pl.Int64, DETAIL: pl.String, **strings}),
    )


def concat_chunks(chunks: Sequence[RawChunk], columns: Sequence[str]) -> RawChunk:
    """One chunk holding the records of several, in order."""
    if not chunks:
        return empty_chunk(columns)
    return RawChunk(pl.concat([c.rows for c in chunks]), pl.concat([c.malformed for c in chunks]))


def ragged_detail(record: Sequence[str], width: int) -> str:
    """``expected N fields, found M`` (with the surplus values when there are more)."""
    detail = f"expected {width} fields, found {len(record)}"
    if len(record) > width:
        surplus = ", ".join(repr(v) for v in record[width:])
        detail += f"; surplus values: {surplus[:200]}"
    return detail


def first_record(text: str, delimiter: str) -> list[str]:
    """The first record of ``text`` as the csv module reads it."""
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])


def is_unterminated(text: str, delimiter: str) -> bool:
    """Whether ``text`` ends inside a quoted field that opened at a field start."""
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return str(exc) == "unexpected end of data"
    return False


def read_records(
    blocks: Iterator[bytes], *, columns: Sequence[str], delimiter: str, line0: int
) -> Iterator[RawChunk]:
    """Read UTF-8 ``blocks`` with the csv module, ``line0`` lines into the file."""
    text = io.TextIOWrapper(
        io.BufferedReader(_ChainRaw(blocks), 1 << 20), encoding="utf-8", newline=""
    )
    reader = csv.reader(text, delimiter=delimiter, strict=False)
    width = len(columns)
    limit = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a 10 MB field is a value, not an error
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
                continue  # a blank line is not a record
            if len(record) == width:
                rows.append(record)
                lines.append(start)
            else:
                bad.append(
                    [start, ragged_detail(record, width), *(record + [None] * width)[:width]]
                )
            if len(rows) + len(bad) >= _BATCH:
                yield _frames(rows, lines, bad, columns)
                rows, lines, bad = [], [], []
        if rows or bad:
            yield _frames(rows, lines, bad, columns)
    finally:
        csv.field_size_limit(limit)


def _frames(
    rows: list[list[str]], lines: list[int], bad: list[list[object]], columns: Sequence[str]
) -> RawChunk:
    strings = dict.fromkeys(columns, pl.String)
    frame = pl.DataFrame(rows, schema=strings, orient="row").select(
        pl.Series(LINE, lines, dtype=pl.Int64),
        pl.all().replace("", None),  # the fast path reads an empty field as null
    )
    malformed = pl.DataFrame(
        bad, schema={LINE: pl.Int64, DETAIL: pl.String, **strings}, orient="row"
    ).with_columns(pl.col(list(columns)).replace("", None))
    return RawChunk(frame, malformed)


class _ChainRaw(io.RawIOBase):
    """A readable raw stream over an iterator of byte blocks."""

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
