"""Part files (Parquet, CSV, NDJSON) and the ``_manifest.json`` of an export directory.

Every file is written crash-safely: to a hidden temporary name in its final directory,
flushed and fsynced, then renamed over its final name, and the directory is fsynced.
A reader therefore sees a part either whole or not at all; a crash leaves at most a
``.part-NNNNN.<ext>.tmp`` (deleted by :func:`remove_strays` on the next run).

Layout::

    DIR/part-00000.parquet ...                        (no partitioning)
    DIR/client_id=<slug>/part-00000.parquet ...       (``--partition-by client_id``)
    DIR/_manifest.json                                (written last: the export is complete)
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import orjson

if TYPE_CHECKING:
    import pyarrow as pa

PartFormat = Literal["parquet", "csv", "ndjson"]
FORMATS: tuple[PartFormat, ...] = ("parquet", "csv", "ndjson")
MANIFEST = "_manifest.json"
#: Hive's name for a null partition value (DuckDB, Spark and BigQuery read it as NULL).
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"

#: Parquet row group target (rows): about 20 MB of Arrow data for typical leads.
ROW_GROUP_ROWS = 25_000

_PART = re.compile(r"^part-\d{5,}\.(parquet|csv|ndjson)$")
_TEMP = re.compile(r"^\.(part-\d{5,}\.(parquet|csv|ndjson)|_manifest\.json)\.tmp$")


def part_name(index: int, fmt: PartFormat) -> str:
    """``part-00042.parquet``: the file name of part ``index``."""
    return f"part-{index:05d}.{fmt}"


def partition_dir(column: str, value: str | None) -> str:
    """The hive-style directory of one partition value (``client_id=acme%20inc``)."""
    if value is None or value == "":
        return f"{column}={NULL_PARTITION}"
    return f"{column}={quote(value, safe='')}"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def _publish(temp: Path, path: Path, *, durable: bool) -> None:
    """Make ``temp`` (already written) appear atomically as ``path``."""
    if durable:
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
    os.replace(temp, path)
    if durable:
        _fsync_dir(path.parent)


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text with a ``T`` and ``Z`` (Arrow's CSV default uses a
    space), which every warehouse reads."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            text = pc.strftime(table.column(i), format="%Y-%m-%dT%H:%M:%SZ")
            table = table.set_column(i, field.name, text)
    return table


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [pa.field(f.name, pa.string() if pa.types.is_timestamp(f.type) else f.type) for f in schema]
    )


class PartWriter:
    """One part being written: appended to page by page, then published atomically.

    Parquet parts get row groups of about ``row_group_rows`` rows (the pages written are
    buffered until then: fewer, bigger row groups cost less to write and to scan), zstd,
    no dictionary encoding (smaller and cheaper for these mostly-unique text columns).
    CSV parts get one header, NDJSON parts one object per line. Memory is bounded by a
    row group, whatever the part size.

    Args:
        path: the final path (its directory is created).
        fmt: the file format.
        schema: the Arrow schema every written table must have.
        durable: fsync on :meth:`close` (off only in tests that never crash).
        row_group_rows: Parquet row group target.
        statistics: Parquet columns that get min/max statistics (None = all). Statistics
            on long free-text columns cost ~15% of the write for little pruning value.
    """

    def __init__(
        self,
        path: Path,
        fmt: PartFormat,
        schema: pa.Schema,
        *,
        durable: bool = True,
        row_group_rows: int = ROW_GROUP_ROWS,
        statistics: Sequence[str] | None = None,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fmt = fmt
        self.schema = schema
        self.rows = 0
        self._durable = durable
        self._row_group_rows = row_group_rows
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._temp = _temp_for(path)
        self._handle: Any = None
        if fmt == "parquet":
            import pyarrow.parquet as pq

            self._handle = pq.ParquetWriter(
                self._temp,
                schema,
                compression="zstd",
                use_dictionary=False,
                write_statistics=True if statistics is None else list(statistics),
            )
        elif fmt == "csv":
            import pyarrow.csv as pcsv

            self._handle = pcsv.CSVWriter(self._temp, _csv_schema(schema))
        else:
            self._handle = open(self._temp, "wb")  # noqa: SIM115 (closed in close/abort)

    def write(self, table: pa.Table) -> None:
        """Append rows (``table.schema`` must equal the writer's schema)."""
        if not table.schema.equals(self.schema):
            raise ValueError(f"{self.path.name}: table schema differs from the part's schema")
        if self.fmt == "parquet":
            self._pending.append(table)
            self._pending_rows += table.num_rows
            if self._pending_rows >= self._row_group_rows:
                self._flush_row_group()
        elif self.fmt == "csv":
            self._handle.write_table(_csv_ready(table))
        else:
            import polars as pl

            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            frame.write_ndjson(self._handle)
        self.rows += table.num_rows

    def _flush_row_group(self) -> None:
        import pyarrow as pa

        if self._pending:
            table = pa.concat_tables(self._pending)
            self._handle.write_table(table, row_group_size=table.num_rows)
            self._pending, self._pending_rows = [], 0

    def close(self) -> int:
        """Finish the file, fsync it, rename it to its final name; returns its size."""
        if self.fmt == "parquet":
            self._flush_row_group()
        self._handle.close()
        size = self._temp.stat().st_size
        _publish(self._temp, self.path, durable=self._durable)
        return size

    def abort(self) -> None:
        """Drop the unfinished file."""
        with contextlib.suppress(Exception):
            self._handle.close()
        self._temp.unlink(missing_ok=True)


def write_part(table: pa.Table, path: Path, fmt: PartFormat, *, durable: bool = True) -> int:
    """Write one whole part crash-safely (see :class:`PartWriter`); returns its size."""
    writer = PartWriter(path, fmt, table.schema, durable=durable)
    try:
        writer.write(table)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def read_part_ids(path: Path, fmt: PartFormat) -> list[Any]:
    """The ``id`` column of a written part (to rebuild the dedupe set on resume)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path, columns=["id"]).column("id").to_pylist()
    if fmt == "csv":
        import pyarrow as pa
        import pyarrow.csv as pcsv

        convert = pcsv.ConvertOptions(include_columns=["id"], column_types={"id": pa.string()})
        return pcsv.read_csv(path, convert_options=convert).column("id").to_pylist()
    import polars as pl

    return pl.read_ndjson(path, schema={"id": pl.String}).get_column("id").to_list()


def widen_table(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with the columns of ``schema``, in its order; missing ones all null."""
    import pyarrow as pa

    if table.schema.names == schema.names:
        return table
    present = set(table.schema.names)
    columns = [
        table.column(f.name) if f.name in present else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def widen_part(path: Path, fmt: PartFormat, schema: pa.Schema, *, durable: bool = True) -> bool:
    """Rewrite a part so it has every column of ``schema`` (missing ones all null).

    Used once at the end of an export when extra columns appeared after this part was
    written; streamed one row group (CSV: one block) at a time. NDJSON parts are left as
    they are: a missing key already reads as null.

    Returns:
        True if the part was rewritten.
    """
    import pyarrow as pa

    if fmt == "ndjson":
        return False
    batches: Iterator[pa.Table]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        source = pq.ParquetFile(path)
        if source.schema_arrow.names == schema.names:
            return False
        batches = (source.read_row_group(i) for i in range(source.num_row_groups))
    else:
        import pyarrow.csv as pcsv

        with pcsv.open_csv(path) as peek:
            names = peek.schema.names
        if names == schema.names:
            return False
        # Timestamps stay the text they were written as; everything else keeps its type.
        schema = _csv_schema(schema)
        types = {f.name: f.type for f in schema}
        convert = pcsv.ConvertOptions(
            column_types={n: types[n] for n in names},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        reader = pcsv.open_csv(path, convert_options=convert)
        batches = (pa.Table.from_batches([batch]) for batch in reader)
    writer = PartWriter(path, fmt, schema, durable=durable)
    try:
        for table in batches:
            writer.write(widen_table(table, schema))
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return True


def write_manifest(directory: Path, manifest: dict[str, Any], *, durable: bool = True) -> Path:
    """Write ``DIR/_manifest.json`` crash-safely (it marks the export complete)."""
    path = directory / MANIFEST
    temp = _temp_for(path)
    temp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    _publish(temp, path, durable=durable)
    return path


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of a complete export in ``directory``, or None (absent or unreadable)."""
    try:
        data = orjson.loads((directory / MANIFEST).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _export_dirs(directory: Path) -> list[Path]:
    """The export root and its hive partition directories (``name=value``)."""
    if not directory.is_dir():
        return []
    subdirs = [p for p in directory.iterdir() if p.is_dir() and "=" in p.name]
    return [directory, *sorted(subdirs)]


def list_parts(directory: Path) -> list[str]:
    """Relative paths of every part file under ``directory`` (root and partition dirs)."""
    found = []
    for folder in _export_dirs(directory):
        for entry in sorted(folder.iterdir()):
            if entry.is_file() and _PART.match(entry.name):
                found.append(entry.relative_to(directory).as_posix())
    return found


def remove_strays(directory: Path, keep: set[str]) -> list[str]:
    """Delete temporary files and part files that no checkpoint records.

    Only names this module writes are touched (``part-NNNNN.<ext>``, ``.…tmp``): other
    files in the directory are left alone.

    Args:
        directory: the export directory.
        keep: relative paths of the committed parts.

    Returns:
        The relative paths removed.
    """
    removed = []
    for folder in _export_dirs(directory):
        for entry in sorted(folder.iterdir()):
            rel = entry.relative_to(directory).as_posix()
            stray_part = _PART.match(entry.name) and rel not in keep
            if entry.is_file() and (stray_part or _TEMP.match(entry.name)):
                entry.unlink()
                removed.append(rel)
        if folder != directory and not any(folder.iterdir()):
            folder.rmdir()
    return removed


def remove_export(directory: Path) -> list[str]:
    """Delete the manifest and every part (``--restart``); other files are left alone."""
    (directory / MANIFEST).unlink(missing_ok=True)
    return remove_strays(directory, keep=set())
