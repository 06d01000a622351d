"""Prepare a CSV file for import: read -> map -> sanitize -> validate -> accepted + rejected.

No network, no state: the dry run prints what :func:`prepare_csv` returns, and the loader
stages ``Prepared.accepted`` (building per-row dicts only through :func:`iter_payloads`).
The file is processed chunk by chunk (memory bounded); duplicates are found across the
whole file. Every row read is either accepted or rejected with a reason code:
``accepted + rejected == rows_read``, checked before returning.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from etl.engine import CSV_WORKERS
from etl.sources.csv import open_csv
from etl.sources.csv_module import empty_chunk
from etl.sources.mapping import (
    DROPPED,
    ColumnMapping,
    load_mapping_file,
    resolve_mapping,
)
from etl.sources.records import CHUNK_BYTES, RawChunk
from schemas.lead import (
    DETAIL,
    IDENTITY,
    LINE,
    OUTPUT_FIELDS,
    REASON,
    REASONS,
    sanitize_leads,
)

ExtraPolicy = Literal["notes", "drop"]
_Checked = tuple[pl.DataFrame, pl.DataFrame]  # a chunk's payload rows, contract problems


#: What a report says when the file needed the csv-module reader.
SLOW_PATH_NOTE = (
    "irregular quoting (a quote inside an unquoted field, text after a closing quote) or "
    "CR-only line ends: from there on the file was read with Python's csv module (slower)"
)


@dataclass(frozen=True)
class CsvOptions:
    """How to read and map one CSV file (everything but the file itself).

    Attributes:
        encoding: a codec to force, or None to detect.
        delimiter: a delimiter to force, or None to sniff.
        maps: ``--map`` pairs (source column, field | ``drop`` | ``extra``), in order.
        mapping_file: a ``--mapping`` TOML file, applied before ``maps``.
        extra: unmapped columns go to ``notes`` or are dropped.
        chunk_bytes: rows are processed in chunks of about this many bytes (memory
            bound; not part of the fingerprint).
    """

    encoding: str | None = None
    delimiter: str | None = None
    maps: tuple[tuple[str, str], ...] = ()
    mapping_file: Path | None = None
    extra: ExtraPolicy = "notes"
    chunk_bytes: int = CHUNK_BYTES


@dataclass
class Prepared:
    """The outcome of :func:`prepare_csv`.

    Attributes:
        path: the file read.
        accepted: ``_line`` (Int64), ``_identity`` and the payload columns (null = absent):
            every accepted row, or the first ``keep_accepted`` (see :func:`prepare_csv`).
        accepted_rows: how many rows were accepted (kept or not).
        rejected: ``_line``, ``_reason``, ``_detail`` and the source columns as read.
        mapping: source column -> field, ``(notes)`` or ``(dropped)``.
        rows_read: records read (blank lines excluded).
        fingerprint: hash of the file's bytes and the options (same file + same
            options = same value).
        encoding: the encoding read; ``delimiter``: the delimiter used.
        columns: the source columns, in file order.
        shadowed: column -> field another column already filled (that column went to
            notes or was dropped).
        slow_path: the csv-module fallback was needed (irregular quoting).
    """

    path: Path
    accepted: pl.DataFrame
    accepted_rows: int
    rejected: pl.DataFrame
    mapping: dict[str, str]
    rows_read: int
    fingerprint: str
    encoding: str
    delimiter: str
    columns: tuple[str, ...]
    shadowed: dict[str, str] = field(default_factory=dict)
    slow_path: bool = False

    def rejected_counts(self) -> dict[str, int]:
        """Reason code -> rows, in :data:`~schemas.lead.REASONS` order."""
        counts = dict(self.rejected[REASON].value_counts().iter_rows())
        return {code: counts[code] for code in REASONS if code in counts}

    def summary(self) -> dict[str, object]:
        """What a dry run prints and ``--summary-json`` writes."""
        return {
            "file": str(self.path),
            "rows_read": self.rows_read,
            "accepted": self.accepted_rows,
            "rejected": self.rejected_counts(),
            "rejected_total": self.rejected.height,
            "mapping": self.mapping,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "fingerprint": self.fingerprint,
        }


def prepare_csv(path: Path, options: CsvOptions, *, keep_accepted: int | None = None) -> Prepared:
    """Read, map, sanitize and validate a CSV file.

    ``keep_accepted``: keep only the first that many accepted rows (a dry run shows a few
    samples and need not hold every payload in memory). Counts and rejects are the same
    either way.

    Raises:
        SourceInputError: (a subclass of) a missing, empty, header-only, binary or
            undecodable file, duplicate header names, a bad mapping or option.
    """
    overrides: tuple[tuple[str, str], ...] = ()
    mapping_digest = None
    if options.mapping_file is not None:
        overrides = load_mapping_file(options.mapping_file)
        mapping_digest = hashlib.sha256(options.mapping_file.read_bytes()).hexdigest()
    source = open_csv(
        path,
        encoding=options.encoding,
        delimiter=options.delimiter,
        chunk_bytes=options.chunk_bytes,
    )
    mapping = resolve_mapping(
        source.columns,
        fields=OUTPUT_FIELDS,
        overrides=overrides + options.maps,
        extra=options.extra,
    )
    dedupe = _Dedupe()
    accepted: list[pl.DataFrame] = []
    rejected: list[pl.DataFrame] = []
    accepted_rows = kept_rows = 0
    with ThreadPoolExecutor(1, thread_name_prefix="csv-warm-up") as spare:
        check = _warmed_up(spare, lambda chunk: _check_chunk(chunk, mapping), source.columns)
        # Chunks are parsed and checked on worker threads while the file is read (polars
        # releases the GIL); duplicates are then resolved here, in file order.
        for chunk, (leads, problems) in source.map_chunks(check, workers=CSV_WORKERS):
            wanted = None if keep_accepted is None else max(keep_accepted - kept_rows, 0)
            good, count, bad = _finish_chunk(chunk, leads, problems, dedupe, wanted)
            accepted.append(good)
            kept_rows += good.height
            accepted_rows += count
            rejected.append(bad)
    prepared = Prepared(
        path=path,
        accepted=pl.concat(accepted, rechunk=False),
        accepted_rows=accepted_rows,
        rejected=pl.concat(rejected).sort(LINE),
        mapping={**mapping.as_dict(), **dict.fromkeys(source.ignored, DROPPED)},
        rows_read=source.rows_read,
        fingerprint=_fingerprint(source.digest, options, mapping_digest),
        encoding=source.encoding,
        delimiter=source.delimiter,
        columns=source.columns,
        shadowed=dict(mapping.shadowed),
        slow_path=source.slow_path,
    )
    if prepared.accepted_rows + prepared.rejected.height != prepared.rows_read:
        raise AssertionError(  # a bug: rows must never vanish
            f"{prepared.rows_read} rows read but {prepared.accepted_rows} accepted + "
            f"{prepared.rejected.height} rejected"
        )
    return prepared


def _warmed_up(
    spare: ThreadPoolExecutor,
    check: Callable[[RawChunk], _Checked],
    columns: tuple[str, ...],
) -> Callable[[RawChunk], _Checked]:
    """``check``, first run on a chunk without rows on the ``spare`` thread at once.

    The first check in a process pays ~0.2 s of one-time work: it imports pandera (see
    :func:`_check_chunk`), which registers its backends and imports its check modules.
    The spare thread pays it while the first pieces are still being read and parsed, when
    a core is free; the workers' checks wait for it (and raise what it raised)."""
    warm: Future[_Checked] = spare.submit(check, empty_chunk(columns))

    def warmed(chunk: RawChunk) -> _Checked:
        warm.result()
        return check(chunk)

    return warmed


class _Dedupe:
    """Identity keys already accepted, with their line, across chunks.

    Keys are compared by a 64-bit hash first (cheap), and a hash match is confirmed on the
    key itself, so a collision can never reject a row (at worst, with odds near 2**-64,
    it could let a duplicate of the colliding key through). A bitmap of ``2**24`` hash
    slots answers "certainly new" for most keys without probing every earlier key; only
    the keys whose slot is taken are looked up in :attr:`seen`.
    """

    _SLOTS = 1 << 24

    def __init__(self) -> None:
        self.seen = pl.DataFrame(
            schema={"_hash": pl.UInt64, "_first": pl.Int64, "_first_key": pl.String}
        )
        self.slots = pl.repeat(False, self._SLOTS, dtype=pl.Boolean, eager=True)

    def split(self, valid: pl.DataFrame) -> pl.DataFrame:
        """Duplicates among ``valid`` (``_line``, ``_identity`` of rows that passed the
        contract, in file order) as ``_line``/``_reason``/``_detail``; remember the rest."""
        hashes = valid[IDENTITY].hash(seed=0).alias("_hash")
        slot = (hashes % self._SLOTS).cast(pl.UInt32)
        firsts = hashes.is_first_distinct()
        suspect = ~firsts | self.slots.gather(slot)
        new = valid.select(
            hashes, pl.col(LINE).alias("_first"), pl.col(IDENTITY).alias("_first_key")
        )
        if not suspect.any():
            self._remember(new, slot)
            return _no_problems()
        candidates = valid.filter(suspect).select(LINE, IDENTITY, hashes.filter(suspect))
        wanted = candidates["_hash"].implode()
        # (a mask of one column, then a gather: filtering the whole of the long,
        # many-chunk ``seen`` by an expression costs several times more)
        earlier = self.seen[self.seen["_hash"].is_in(wanted).arg_true()]
        # Earlier chunks first, so ``first`` keeps the earliest line of each hash.
        lookup = pl.concat([earlier, new.filter(firsts & hashes.is_in(wanted))])
        lookup = lookup.unique("_hash", keep="first", maintain_order=True)
        matched = candidates.join(lookup, on="_hash")
        dups = matched.filter(
            (pl.col("_first_key") == pl.col(IDENTITY)) & (pl.col("_first") != pl.col(LINE))
        ).select(
            LINE,
            pl.lit("duplicate_in_file").alias(REASON),
            pl.format("same identity as line {} ({})", "_first", IDENTITY).alias(DETAIL),
        )
        fresh = firsts & ~hashes.is_in(earlier["_hash"].implode())
        self._remember(new.filter(fresh), slot.filter(fresh))
        return dups

    def _remember(self, new: pl.DataFrame, slot: pl.Series) -> None:
        self.seen = pl.concat([self.seen, new])
        self.slots = self.slots.scatter(slot, True)


def _no_problems() -> pl.DataFrame:
    return pl.DataFrame(schema={LINE: pl.Int64, REASON: pl.String, DETAIL: pl.String})


def _check_chunk(chunk: RawChunk, mapping: ColumnMapping) -> _Checked:
    """Map, sanitize and validate one chunk: (payload rows, contract problems with the
    row ``index``); the failing rows are dropped in :func:`_finish_chunk`, in the same
    copy as the duplicates."""
    # pandera is imported here, when first needed, not with this module: a dry run
    # imports it on a spare thread while the file is being read (see _warmed_up).
    from schemas.contract import contract_problems

    extras = [(f"\x00extra{i}", column) for i, column in enumerate(mapping.extras)]
    raw = chunk.rows.select(
        LINE,
        *(pl.col(column).alias(name) for column, name in mapping.fields.items()),
        *(pl.col(column).alias(name) for name, column in extras),
    )
    leads = sanitize_leads(raw, extras)
    return leads, contract_problems(leads)


def _finish_chunk(
    chunk: RawChunk,
    leads: pl.DataFrame,
    problems: pl.DataFrame,
    dedupe: _Dedupe,
    wanted: int | None,
) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    """Drop contract failures and duplicates of earlier rows: (the first ``wanted``
    accepted rows, or all of them, in one copy of the payload columns; how many rows
    were accepted; the rejects with their source columns)."""
    keys = leads.select(LINE, IDENTITY)
    if problems.height:
        keys = keys.filter(~_flags(leads.height, problems["index"]))
    dups = dedupe.split(keys)
    # Rows of the chunk that break the contract or repeat an earlier identity, by
    # position (lines ascend within a chunk), with their reasons in the same order.
    positions = problems["index"]
    if dups.height:
        positions = pl.concat([positions, leads[LINE].search_sorted(dups[LINE])])
    count = leads.height - positions.len()
    failing = _flags(leads.height, positions) if positions.len() else None
    if wanted is None:
        kept = leads if failing is None else leads.filter(~failing)
    else:  # a few samples: no copy of the whole chunk
        kept = leads.head(wanted) if failing is None else leads[(~failing).arg_true()[:wanted]]
    reasons = pl.concat([problems.select(REASON, DETAIL), dups.select(REASON, DETAIL)])
    columns = list(chunk.rows.columns[1:])
    bad = pl.concat(
        [
            chunk.malformed.select(LINE, pl.lit("malformed_row").alias(REASON), DETAIL, *columns),
            pl.concat([chunk.rows[positions], reasons], how="horizontal").select(
                LINE, REASON, DETAIL, *columns
            ),
        ]
    )
    return kept, count, bad


def _flags(height: int, positions: pl.Series) -> pl.Series:
    """A Boolean Series of ``height``, true at ``positions``."""
    return pl.repeat(False, height, eager=True).scatter(positions, True)


def _fingerprint(digest: str, options: CsvOptions, mapping_digest: str | None) -> str:
    described = {
        "file_sha256": digest,
        "encoding": options.encoding,
        "delimiter": options.delimiter,
        "maps": [list(pair) for pair in options.maps],
        "mapping_file_sha256": mapping_digest,
        "extra": options.extra,
    }
    text = json.dumps(described, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def payload_columns(frame: pl.DataFrame) -> list[str]:
    """The payload field columns of an accepted frame (bookkeeping columns left out)."""
    return [c for c in frame.columns if c not in (LINE, IDENTITY)]


def iter_payloads(
    frame: pl.DataFrame, batch: int = 10_000
) -> Iterator[list[tuple[int, str, dict[str, object]]]]:
    """Yield ``(line, identity, payload)`` triples in batches; payloads omit null keys.

    Per-row dicts are built only here and only a batch at a time: leaving polars is the
    slow part of the data path, so do it just before rows are staged or sent.
    """
    fields = payload_columns(frame)
    for offset in range(0, frame.height, batch):
        part = frame.slice(offset, batch)
        lines = part[LINE].to_list()
        keys = part[IDENTITY].to_list()
        yield [
            (line, key, {f: v for f, v in zip(fields, row, strict=True) if v is not None})
            for line, key, row in zip(lines, keys, part.select(fields).iter_rows(), strict=True)
        ]


def write_rejects(rejected: pl.DataFrame, path: Path) -> None:
    """Write rejected rows as CSV: the source columns, then ``_line``, ``_reason``,
    ``_detail``. Values are written verbatim (see docs/csv.md on formula-like values);
    a fixed rejects file can be imported again as is (those three columns are ignored)."""
    columns = [c for c in rejected.columns if c not in (LINE, REASON, DETAIL)]
    path.parent.mkdir(parents=True, exist_ok=True)
    rejected.select(*columns, LINE, REASON, DETAIL).write_csv(
        path, quote_style="necessary", include_bom=False
    )
