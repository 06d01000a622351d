"""The CSV source: open a file, find its encoding, delimiter and header, stream its rows.

All values are strings (no type inference: ``00123`` and ``+44 20`` stay as written);
an empty field is null. Rows come as :class:`~etl.sources.records.RawChunk` frames with a
``_line`` column (1-based physical line of the record), so memory stays bounded by the
chunk size, whatever the file size. See ``docs/csv.md`` for every rule.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from etl.sources.encoding import Utf8Stream
from etl.sources.errors import (
    DuplicateHeader,
    EmptySource,
    HeaderOnlySource,
    SourceInputError,
)
from etl.sources.records import CHUNK_BYTES, DETAIL, LINE, RawChunk, RecordReader

#: Delimiters the sniffer chooses among, in tie-break order.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")

#: Columns a rejects file adds: ignored on input, so a fixed rejects file imports as is.
IGNORED_COLUMNS: frozenset[str] = frozenset({LINE, "_reason", DETAIL})

T = TypeVar("T")

_SAMPLE_BYTES = 64 << 10
_SNIFF_RECORDS = 20
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")


@dataclass
class CsvSource:
    """An opened CSV file: its header, dialect and a one-shot iterator of row chunks.

    Attributes:
        path: the file.
        columns: header names, trimmed and unique, in file order (blank ones become
            ``Column <n>``), without :data:`IGNORED_COLUMNS`.
        ignored: header names of :data:`IGNORED_COLUMNS` found (their values are skipped).
        delimiter: the delimiter used (forced or sniffed).
        first_line: physical line number of the first data line.
    """

    path: Path
    columns: tuple[str, ...]
    ignored: tuple[str, ...]
    delimiter: str
    first_line: int
    _stream: Utf8Stream = field(repr=False)
    _reader: RecordReader = field(repr=False)

    @property
    def encoding(self) -> str:
        """The encoding read (final after the iteration: UTF-8 may turn into cp1252)."""
        return self._stream.encoding

    @property
    def rows_read(self) -> int:
        """Records read so far (every non-blank record after the header)."""
        return self._reader.rows_read

    @property
    def digest(self) -> str:
        """SHA-256 of the file's bytes, set once :meth:`chunks` is exhausted."""
        return self._stream.digest

    @property
    def slow_path(self) -> bool:
        """Whether the csv-module fallback was needed (irregular quoting or CR line ends)."""
        return self._reader.slow_path

    def chunks(self) -> Iterator[RawChunk]:
        """Yield the rows chunk by chunk, all work on this thread (once).

        Raises:
            HeaderOnlySource: the file has a header and no data rows.
        """
        for chunk, _ in self.map_chunks(_nothing, workers=0):
            yield chunk

    def map_chunks(
        self, fn: Callable[[RawChunk], T], *, workers: int = 2
    ) -> Iterator[tuple[RawChunk, T]]:
        """Yield ``(chunk, fn(chunk))`` in file order, parsing and ``fn`` running on
        ``workers`` threads while the file is read (once).

        Raises:
            HeaderOnlySource: the file has a header and no data rows.
        """
        yield from self._reader.map_chunks(fn, workers=workers)
        if self._reader.rows_read == 0:
            raise HeaderOnlySource(
                f"{self.path}: has a header row ({len(self.columns)} columns) but no data "
                "rows; check you exported the right sheet or file"
            )


def _nothing(chunk: RawChunk) -> None:
    del chunk


def open_csv(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> CsvSource:
    """Open a CSV file and read its header.

    Args:
        path: the file.
        encoding: a Python codec name to force, or None to detect (BOM, UTF-8, cp1252).
        delimiter: one ASCII character to force, or None to sniff among ``, ; TAB |``.
        chunk_bytes: target bytes per chunk of rows (memory bound).

    Raises:
        SourceInputError: (a subclass of) missing, empty, binary or undecodable file,
            duplicate or reserved header names, bad ``delimiter``.
    """
    if delimiter is not None:
        check_delimiter(delimiter)
    stream = Utf8Stream(path, encoding=encoding, block_size=min(chunk_bytes, 8 << 20))
    blocks = iter(stream)
    head, leftover = _read_head(blocks)
    lines = io.StringIO(head.decode("utf-8"), newline="").readlines()
    skipped = 0
    while skipped < len(lines) and not lines[skipped].strip():
        skipped += 1  # leading blank lines are not the header
    if skipped == len(lines):
        raise EmptySource(f"{path}: the file is empty; export the data again")
    hint = re.fullmatch(r"sep=(.)\r?\n?", lines[skipped])  # Excel's "sep=;" first line
    if hint and delimiter is None:
        delimiter = hint.group(1)
    if hint:
        skipped += 1
    body = lines[skipped:]
    if delimiter is None:
        delimiter = sniff_delimiter(body)
    reader = csv.reader(iter(body), delimiter=delimiter)
    header = next(reader, [])
    header_lines = reader.line_num
    columns = clean_header(path, header)
    rest = head[len("".join(lines[: skipped + header_lines]).encode("utf-8")) :]
    parse_names = [
        f"\x00ignored{i}" if name in IGNORED_COLUMNS else name for i, name in enumerate(columns)
    ]
    kept = [name for name in columns if name not in IGNORED_COLUMNS]
    records = RecordReader(
        itertools.chain([rest, leftover], blocks),
        columns=parse_names,
        keep=kept,
        delimiter=delimiter,
        first_line=skipped + header_lines + 1,
        chunk_bytes=chunk_bytes,
        size_hint=max(path.stat().st_size - len(head) + len(rest), 0),
    )
    return CsvSource(
        path=path,
        columns=tuple(kept),
        ignored=tuple(name for name in columns if name in IGNORED_COLUMNS),
        delimiter=delimiter,
        first_line=skipped + header_lines + 1,
        _stream=stream,
        _reader=records,
    )


def check_delimiter(delimiter: str) -> None:
    """Raise :class:`SourceInputError` unless ``delimiter`` is one usable ASCII character."""
    if len(delimiter) != 1 or not delimiter.isascii() or delimiter in '"\r\n':
        raise SourceInputError(
            f"--delimiter {delimiter!r}: give one ASCII character other than a quote or a "
            "newline, e.g. ',' ';' '|' or a tab"
        )


def sniff_delimiter(lines: list[str]) -> str:
    """Choose among ``, ; TAB |`` the delimiter giving a multi-column, regular table.

    The first :data:`_SNIFF_RECORDS` records are parsed with each candidate; the score is
    the share of records with the header's field count, then that count. One column with
    every candidate means ``,``.
    """
    best, best_score = ",", (0.0, 0)
    for candidate in DELIMITERS:
        reader = csv.reader(iter(lines), delimiter=candidate)
        counts = [len(r) for r in _first_records(reader, _SNIFF_RECORDS + 1) if r]
        if len(counts) > _SNIFF_RECORDS:
            counts.pop()  # the last record of the sample may be cut short
        if not counts or counts[0] < 2:
            continue
        regular = sum(1 for c in counts if c == counts[0]) / len(counts)
        score = (regular, counts[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


def _first_records(reader: Iterator[list[str]], count: int) -> Iterator[list[str]]:
    """The first ``count`` records, stopping quietly on a csv error (a cut sample)."""
    for _ in range(count):
        try:
            yield next(reader)
        except (StopIteration, csv.Error):
            return


def clean_header(path: Path, header: list[str]) -> list[str]:
    """Trim header names, name blank ones, and refuse duplicates."""
    names = []
    for index, raw in enumerate(header, start=1):
        name = _INVISIBLE.sub("", raw).strip()
        names.append(name or f"Column {index}")
    seen: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        if name in seen:
            raise DuplicateHeader(
                f"{path}: columns {seen[name]} and {index} are both named {name!r}; "
                "rename one of them in the header row"
            )
        seen[name] = index
    return names


def _read_head(blocks: Iterator[bytes]) -> tuple[bytes, bytes]:
    """Read at least the first 64 KB cut at a line end: (head, the bytes after it)."""
    parts: list[bytes] = []
    size = 0
    while True:
        block = next(blocks, None)
        if block is None:
            return b"".join(parts), b""
        parts.append(block)
        size += len(block)
        if size >= _SAMPLE_BYTES:
            data = b"".join(parts)
            # The first line end after 64 KB (not the whole first block), else the last.
            cut = data.find(b"\n", _SAMPLE_BYTES - 1) + 1 or data.rfind(b"\n") + 1
            if cut:
                return data[:cut], data[cut:]
