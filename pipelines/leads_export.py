"""``lgetl export leads``: bulk list pages -> typed, deduplicated part files, resumable.

The loop, one page at a time (the next page is fetched while this one is converted)::

    fetch page body (client retries) -> parse it (Arrow's JSON reader, or orjson where
      that cannot give the same table: schemas/export_native.py) -> drop ids already
      exported -> typed Arrow table
      -> append to the open part (a hidden temp file); once it holds >= part_rows rows
         (or on the last page): fsync, rename to part-NNNNN.<ext> -> commit the checkpoint

The checkpoint (state store, key ``export``) holds the cursor after the last page of
the committed parts, the parts and the counters. A crash anywhere loses at most the
open part, whose pages are fetched again: on restart, part files the checkpoint does not know and
temporary files are deleted, the dedupe set is rebuilt from the committed parts' ids,
and paging continues from the checkpoint's cursor. ``_manifest.json`` is written last.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from etl import __version__
from etl.client.pagination import RawBulkPage
from etl.clock import Clock
from etl.errors import ConfigError, EtlError, Interrupted
from etl.progress import NoProgress, Progress
from etl.sinks import parts as sink
from pipelines.export_plan import (
    CHECKPOINT_KEY,
    Checkpoint,
    ExportRequest,
    ExportSummary,
    build_manifest,
)
from pipelines.export_writer import PartExporter
from schemas.export_native import NativePage

if TYPE_CHECKING:
    from etl.signals import StopRequest
    from state import Store

log = logging.getLogger("etl.export")
JOB_KIND = "export"
#: Refresh the job lock at least this often while no checkpoint is committed.
HEARTBEAT_S = 30.0
#: Young-generation GC threshold while pages stream (CPython's default is 700).
GC_YOUNG_THRESHOLD = 100_000


class PageLike(Protocol):
    """One bulk page (``etl.client.BulkPage``)."""

    items: list[dict[str, Any]]
    next_token: str | None


class BulkSource(Protocol):
    """What the export needs from the client (``LeadGeniusClient``).

    The export asks for raw bodies (``raw=True``, a :class:`RawBulkPage`) so it can build
    columns straight from the bytes; a source may return parsed pages instead.
    """

    async def bulk_page(
        self,
        source: Any,
        *,
        company_id: str,
        client_id: str | None = None,
        limit: int = 5000,
        next_token: str | None = None,
        fields: Sequence[str] | None = None,
        raw: bool = False,
    ) -> PageLike | RawBulkPage: ...


class ExportStopped(EtlError):
    """The export stopped before the end; what is committed stays, re-run to resume."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


async def export_leads(
    request: ExportRequest,
    *,
    client: BulkSource,
    store: Store,
    clock: Clock,
    progress: Progress | None = None,
    stop: StopRequest | None = None,
    restart: bool = False,
    durable: bool = True,
) -> ExportSummary:
    """Run (or resume) an export to completion.

    Args:
        request: what to export and where.
        client: fetches bulk pages (retries and error mapping are its job).
        store: the state store (job, lock, runs, checkpoint).
        clock: wall and monotonic time.
        progress: reporter for rows written.
        stop: a stop request (SIGINT/SIGTERM): commit what is buffered and stop.
        restart: discard the previous job and its files (``--restart``).
        durable: fsync parts and the manifest (tests may turn it off).

    Returns:
        The summary; ``status`` is ``already_complete`` when the identical export's
        manifest already exists (nothing is fetched).

    Raises:
        ConfigError: the directory holds another export, or part files no job recorded.
        ExportStopped: the API failed for good (exit code of the API error: 2 for bad
            credentials, else 1); committed parts stay and a re-run resumes.
        Interrupted: stopped on a signal after committing.
    """
    out = request.out_dir
    fingerprint = request.fingerprint()
    target = str(out)
    manifest = sink.read_manifest(out)
    if manifest is not None and not restart:
        if manifest.get("fingerprint") != fingerprint:
            raise ConfigError(
                f"{out} already holds a complete export made with other options; choose "
                "another --out, or pass --restart to replace it"
            )
        job = store.find_job(JOB_KIND, target, fingerprint=fingerprint)
        if job is not None and not job.finished:
            store.set_job_status(job.id, "complete")
        return ExportSummary(
            status="already_complete",
            out_dir=target,
            rows=int(manifest.get("rows", 0)),
            parts=len(manifest.get("parts", [])),
            bytes=int(manifest.get("bytes", 0)),
        )

    job = store.open_job(JOB_KIND, fingerprint, target, request.params(), restart=restart)
    lock = store.acquire_lock(job.id)
    try:
        run = store.start_run(job.id)
        stored = None if restart else store.get_checkpoint(job.id, CHECKPOINT_KEY)
        if stored is None:
            found = sink.list_parts(out)
            if found and not restart:
                raise ConfigError(
                    f"{out} holds part files ({found[0]}...) that no export job recorded; "
                    "choose an empty --out, or pass --restart to delete them"
                )
            sink.remove_export(out)
            ckpt = Checkpoint(started_at=clock.time())
            out.mkdir(parents=True, exist_ok=True)
            # Committed before any part exists: from now on, unknown part files are ours.
            store.put_checkpoint(job.id, CHECKPOINT_KEY, ckpt.to_json(), lock=lock)
        else:
            ckpt = Checkpoint.from_json(stored)
        exporter = PartExporter(
            request, ckpt, store=store, lock=lock, job_id=job.id, durable=durable
        )
        outcome = "failed"
        try:
            with _fewer_gc_passes():
                summary = await _run(exporter, client, clock, progress or NoProgress(), stop)
            outcome = "complete"
            return summary
        except Interrupted:
            outcome = "interrupted"
            raise
        except EtlError:
            outcome = "incomplete"
            raise
        finally:
            counters = {"rows": exporter.ckpt.rows, "parts": len(exporter.ckpt.parts)}
            with contextlib.suppress(Exception):
                store.finish_run(run.id, outcome, counters)
    finally:
        with contextlib.suppress(Exception):
            store.release_lock(lock)


@contextlib.contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Run the cyclic garbage collector once a page instead of several times a page.

    A page is ~5,000 dicts that live until it is written. With CPython's default
    threshold (a collection every 700 container allocations) the collector runs about ten
    times a page, promotes those dicts, and its full passes also walk every object the
    imports created: measured at ~15% of the export's CPU. Here, objects that exist before
    the export are frozen (never walked), automatic passes are rare, and the loop collects
    the young generations after each page (``gc.collect(1)``, well under a millisecond):
    that frees the client's per-request reference cycles, which hold the page's response
    body, at the same pace as before, so memory stays bounded. Restored on exit.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], GC_YOUNG_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


async def _run(
    ex: PartExporter, client: BulkSource, clock: Clock, progress: Progress, stop: StopRequest | None
) -> ExportSummary:
    request, ckpt = ex.request, ex.ckpt
    resumed = bool(ckpt.parts or ckpt.pages)
    removed = sink.remove_strays(request.out_dir, {p.path for p in ckpt.parts})
    if removed:
        log.info("removed %d uncommitted file(s) of an earlier run: %s", len(removed), removed[:5])
    missing = [p.path for p in ckpt.parts if not (request.out_dir / p.path).is_file()]
    if missing:
        raise ConfigError(
            f"committed part {missing[0]} is missing from {request.out_dir}; "
            "re-run with --restart to export again from the start"
        )
    if ckpt.parts:
        await asyncio.to_thread(ex.rebuild_ids)
        log.info("resuming after %d rows in %d parts", ckpt.rows, len(ckpt.parts))
    start, rows0, pages0 = clock.monotonic(), ckpt.rows, ckpt.pages
    progress.start(None, "export leads", initial=ckpt.rows)

    def fetch(token: str | None) -> asyncio.Future[PageLike | RawBulkPage]:
        return asyncio.ensure_future(
            client.bulk_page(
                request.source,
                company_id=request.company_id,
                client_id=request.client_id,
                limit=request.page_size,
                next_token=token,
                fields=request.fields,
                raw=True,
            )
        )

    token = ckpt.next_token
    seen_tokens: set[str] = set()
    pending = None if ckpt.exhausted else fetch(token)
    last_beat = clock.monotonic()
    try:
        while pending is not None:
            try:
                page: PageLike | RawBulkPage | NativePage = await pending
                if isinstance(page, RawBulkPage):
                    # Parsed before the next request is sent: it holds the cursor. (Not
                    # concurrently with the writing of the previous page either: on two
                    # cores that costs more CPU than it saves time.)
                    page = await asyncio.to_thread(ex.read, page.content)
            except EtlError as exc:
                pending = None
                if ex.pending.pages:
                    await asyncio.to_thread(ex.publish, token, exhausted=False)
                kept = f"{ckpt.rows} rows in {len(ckpt.parts)} parts"
                if exc.exit_code == 2:  # credentials or usage: the client says what to fix
                    note = f" (the {kept} already exported are kept)" if ckpt.rows else ""
                    raise ExportStopped(f"{exc}{note}", exit_code=2) from exc
                raise ExportStopped(
                    f"{exc} -- the export stopped after {kept} (kept); re-run the same "
                    "command to resume",
                    exit_code=exc.exit_code,
                ) from exc
            after = page.next_token or None
            if after is not None and (after == token or after in seen_tokens):
                raise ExportStopped(
                    "the server returned the same nextToken twice: paging would never end; "
                    "re-run later, or report it to LeadGenius support"
                )
            if after is not None:
                seen_tokens.add(after)
            # Fetch the next page while this one is converted and written.
            pending = fetch(after) if after is not None else None
            if isinstance(page, NativePage):
                await asyncio.to_thread(ex.process_native, page, token, after)
            else:
                await asyncio.to_thread(ex.process, page.items, token, after)
            token = after
            # Young objects only: the client's per-request cycles (each holding a whole
            # response body) are freed now instead of piling up (see _fewer_gc_passes).
            gc.collect(1)
            if clock.monotonic() - last_beat > HEARTBEAT_S:
                ex.store.heartbeat(ex.lock)
                last_beat = clock.monotonic()
            progress.update(
                ckpt.rows + ex.pending.rows,
                {"parts": len(ckpt.parts), "duplicates": ckpt.duplicates + ex.pending.duplicates},
            )
            if stop is not None and stop.requested and pending is not None:
                if ex.pending.pages:
                    await asyncio.to_thread(ex.publish, token, exhausted=False)
                raise Interrupted(
                    f"stopped after {ckpt.rows} rows in {len(ckpt.parts)} parts (committed); "
                    "re-run the same command to resume",
                    signal_number=stop.signal_number or 2,
                )
    finally:
        ex.abort()
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        progress.finish()

    rewritten = await asyncio.to_thread(ex.widen_parts)
    if rewritten:
        log.info("added late extra columns to %d earlier part(s)", rewritten)
        ex.store.put_checkpoint(ex.job_id, CHECKPOINT_KEY, ckpt.to_json(), lock=ex.lock)
    doc = build_manifest(request, ckpt, finished_at=clock.time(), version=__version__)
    sink.write_manifest(request.out_dir, doc, durable=ex.durable)
    kinds = {c.name: c.kind for c in ex.columns}
    for record_id, column, value in ex.samples:
        log.warning("id %s: %s=%s is not a valid %s: exported as null", record_id, column,
                    value, kinds.get(column))  # fmt: skip
    stats = getattr(client, "stats", None)
    return ExportSummary(
        status="complete",
        out_dir=str(request.out_dir),
        rows=ckpt.rows,
        parts=len(ckpt.parts),
        bytes=ckpt.bytes,
        rows_this_run=ckpt.rows - rows0,
        pages_this_run=ckpt.pages - pages0,
        seconds=clock.monotonic() - start,
        duplicates_dropped=ckpt.duplicates,
        rows_without_id=ckpt.without_id,
        coercion_warnings=sum(ckpt.coercions.values()),
        coercions_by_column=dict(ckpt.coercions),
        extra_columns=list(ckpt.extra_columns),
        resumed=resumed,
        stray_files_removed=len(removed),
        requests=getattr(stats, "requests", 0),
        retries=getattr(stats, "retries", 0),
        throttled=getattr(stats, "throttled", 0),
    )
