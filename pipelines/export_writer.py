"""The writing half of an export: pages in, deduplicated typed part files and committed
checkpoints out (see :mod:`pipelines.leads_export` for the loop that feeds it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from etl.client.pagination import BulkPage, parse_bulk_page
from etl.sinks import parts as sink
from etl.sinks.parts import PartWriter
from pipelines.export_ids import IdSet, id_keys
from pipelines.export_plan import CHECKPOINT_KEY, Checkpoint, ExportRequest, PartRecord, all_columns
from schemas.export import Coercions, Column, Page, arrow_schema
from schemas.export_contract import PartValidator
from schemas.export_native import NativePage, PageReader

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from state import Store

log = logging.getLogger("etl.export")
_STATS = frozenset({"id", "client_id", "company_id"})


@dataclass
class Pending:
    """What the open parts hold beyond the checkpoint (committed together on publish)."""

    pages: int = 0
    rows: int = 0
    duplicates: int = 0
    without_id: int = 0
    coercions: dict[str, int] = field(default_factory=dict)


class PartExporter:
    """One run: pages in, part files and checkpoints out.

    Called from a worker thread one page at a time; commits through the store (which is
    thread-safe).
    """

    def __init__(
        self,
        request: ExportRequest,
        checkpoint: Checkpoint,
        *,
        store: Store,
        lock: Any,
        job_id: int,
        durable: bool,
    ) -> None:
        self.request = request
        self.ckpt = checkpoint
        self.store, self.lock, self.job_id = store, lock, job_id
        self.durable = durable
        self.ids = IdSet()
        self.columns: list[Column] = all_columns(request, checkpoint.extra_columns)
        self.validator = PartValidator()
        self.writers: dict[str | None, PartWriter] = {}
        self.pending = Pending()
        self.samples: list[tuple[str, str, str]] = []
        self.slow_columns: set[str] = set()
        #: Reads raw page bodies natively; created by the first :meth:`read`.
        self.reader: PageReader | None = None

    def read(self, body: bytes) -> NativePage | BulkPage:
        """Parse a raw page body: natively when that gives exactly the general path's
        table (:class:`NativePage`), else with the client's general parser.

        Raises:
            UnexpectedResponseError: a body the general parser cannot read either.
        """
        if self.reader is None:
            self.reader = PageReader()
        page = self.reader.read(body, self.columns)
        return page if page is not None else parse_bulk_page(body)

    def process_native(self, page: NativePage, token_in: str | None, token_out: str | None) -> None:
        """:meth:`process` for a page the native reader converted (no new field in it)."""
        keys = id_keys(page.ids)
        keep = self.ids.new_mask(keys)
        kept_keys = keys.filter(keep)
        table = page.table(self.columns)
        if len(kept_keys) < page.rows:
            table = table.filter(keep.to_arrow())
        self._append(table, keys, kept_keys, page.rows, token_out)

    def process(
        self, items: list[dict[str, Any]], token_in: str | None, token_out: str | None
    ) -> None:
        """Dedupe, type and append one page; publish the parts when they are full."""
        page = Page(items)
        keys = id_keys(page.values.get("id") or [None] * len(items))
        keep = self.ids.new_mask(keys)
        kept_keys = keys.filter(keep)
        if len(kept_keys) < len(items):  # rare: rebuild the page without the dropped rows
            page = Page([r for r, k in zip(items, keep.to_list(), strict=True) if k])
        fresh = page.new_columns(self.columns)
        if fresh:
            log.warning("new fields (exported as string columns): %s", [c.name for c in fresh])
            if self.writers:
                # An open part cannot change its schema: publish it first, up to the page
                # before this one, then continue with the wider schema.
                self.publish(token_in, exhausted=False)
            self.columns.extend(fresh)
            self.ckpt.extra_columns.extend(c.name for c in fresh)
        if self.reader is not None:  # raw pages: read the next ones like this one
            self.reader.learn(page.values, self.columns)
        coercions = Coercions(counts=self.pending.coercions)
        table = page.table(self.columns, coercions, self.slow_columns)
        self.samples.extend(coercions.samples[: 5 - len(self.samples)])
        self._append(table, keys, kept_keys, len(items), token_out)

    def _append(
        self,
        table: pa.Table,
        keys: pl.Series,
        kept_keys: pl.Series,
        received: int,
        token_out: str | None,
    ) -> None:
        """Write a deduplicated page's table and count it; publish the parts when full."""
        by_value = (
            _split(table, self.request.partition_by)
            if self.request.partition_by
            else [(None, table)] if table.num_rows else []
        )  # fmt: skip
        file_columns = [c for c in self.columns if c.name != self.request.partition_by]
        for value, piece in by_value:
            self.validator.check(piece, file_columns)
            self._writer(value, piece.schema).write(piece)
        self.ids.add_keys(kept_keys)
        missing = keys.null_count()
        self.pending.pages += 1
        self.pending.rows += table.num_rows
        self.pending.without_id += missing
        self.pending.duplicates += received - table.num_rows - missing
        if token_out is None or self.pending.rows >= self.request.part_rows:
            self.publish(token_out, exhausted=token_out is None)

    def _writer(self, value: str | None, schema: pa.Schema) -> PartWriter:
        writer = self.writers.get(value)
        if writer is None:
            name = sink.part_name(self.ckpt.next_part, self.request.fmt)
            if self.request.partition_by:
                name = f"{sink.partition_dir(self.request.partition_by, value)}/{name}"
            # min/max statistics where readers prune with them: numbers, times, ids
            stats = [f.name for f in schema if f.name in _STATS or str(f.type) != "string"]
            writer = PartWriter(
                self.request.out_dir / name,
                self.request.fmt,
                schema,
                durable=self.durable,
                statistics=stats,
            )
            self.ckpt.next_part += 1
            self.writers[value] = writer
        return writer

    def publish(self, next_token: str | None, *, exhausted: bool) -> None:
        """Close the open parts (fsync + rename), then commit the checkpoint."""
        for value in sorted(self.writers, key=lambda v: (v is None, v or "")):
            writer = self.writers[value]
            size = writer.close()
            rel = writer.path.relative_to(self.request.out_dir).as_posix()
            extras = len(self.ckpt.extra_columns)
            self.ckpt.parts.append(PartRecord(rel, writer.rows, size, extras, value))
        self.writers = {}
        ckpt, pending = self.ckpt, self.pending
        ckpt.rows += pending.rows
        ckpt.pages += pending.pages
        ckpt.duplicates += pending.duplicates
        ckpt.without_id += pending.without_id
        for column, count in pending.coercions.items():
            ckpt.coercions[column] = ckpt.coercions.get(column, 0) + count
        ckpt.next_token, ckpt.exhausted = next_token, exhausted
        self.pending = Pending()
        self.store.put_checkpoint(self.job_id, CHECKPOINT_KEY, ckpt.to_json(), lock=self.lock)

    def abort(self) -> None:
        """Drop the open (uncommitted) parts."""
        for writer in self.writers.values():
            writer.abort()
        self.writers = {}

    def rebuild_ids(self) -> None:
        """Load the ids of the committed parts into the dedupe set."""
        for part in self.ckpt.parts:
            self.ids.add(sink.read_part_ids(self.request.out_dir / part.path, self.request.fmt))

    def widen_parts(self) -> int:
        """Give every part the final column list (extra columns that appeared late)."""
        schema = arrow_schema(c for c in self.columns if c.name != self.request.partition_by)
        final = len(self.ckpt.extra_columns)
        rewritten = 0
        for part in self.ckpt.parts:
            if part.extras < final:
                path = self.request.out_dir / part.path
                rewritten += sink.widen_part(path, self.request.fmt, schema, durable=self.durable)
                part.extras = final
        return rewritten


def _split(table: pa.Table, column: str) -> list[tuple[str | None, pa.Table]]:
    """Rows grouped by ``column``'s value, without that column (hive partitioning)."""
    import pyarrow.compute as pc

    if not table.num_rows:
        return []
    values = table.column(column)
    distinct = pc.unique(values).to_pylist()
    if len(distinct) == 1:
        return [(distinct[0], table.drop_columns([column]))]
    out = []
    for value in distinct:
        mask = pc.is_null(values) if value is None else pc.equal(values, value)
        out.append((value, table.filter(mask).drop_columns([column])))
    return out
