"""``lgetl import csv``: read -> validate -> stage -> load exactly once -> summary.

One call of :func:`run_csv_import` is one *run* of a *job*. The job is identified by the
file's fingerprint and the target client slug: re-running the same command resumes it, a
changed file under an unfinished job is refused unless ``restart`` (DESIGN.md, "Resume
semantics"). Staging happens once per job; every later run only sends what is open.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from etl.client import (
    AmbiguousWriteError,
    ClientNotFoundError,
    ClientRef,
    LeadGeniusClient,
    ServerError,
    TransportError,
    match_client,
)
from etl.clock import Clock
from etl.errors import ConfigError
from etl.progress import Progress
from etl.signals import StopRequest
from etl.sinks.leadgenius import LeadLoader, LoaderOptions, LoaderStats, content_hash
from etl.sinks.reconcile import Reconciler
from pipelines.csv_prepare import CsvOptions, Prepared, iter_payloads, prepare_csv
from pipelines.import_summary import build_summary, write_rejects_file
from state import Lock, StagedRow, Store

KIND = "csv_import"
OnExisting = Literal["skip", "update"]


@dataclass(frozen=True)
class ImportOptions:
    """What to import into and how (everything but the file and the CSV reading options).

    Attributes:
        client_ref: ``--client``: slug, UUID or exact name of an existing client.
        client_name: ``--client-name``: created when missing (once, even across a crash).
        on_existing: identities the ledger knows for the client: ``skip`` or ``update`` (PUT).
        restart: supersede an unfinished job for this client (``--restart``).
        loader: pacing options (its ``client_id`` is filled in once resolved).
    """

    client_ref: str | None = None
    client_name: str | None = None
    on_existing: OnExisting = "skip"
    restart: bool = False
    consistency_window: float = 5.0
    concurrency: int | None = None
    max_attempts: int = 5
    rate: float = 100.0

    def loader_options(self, client_id: str) -> LoaderOptions:
        """The loader's pacing options for the resolved client slug."""
        return LoaderOptions(
            client_id=client_id,
            concurrency=self.concurrency,
            consistency_window=self.consistency_window,
            max_attempts=self.max_attempts,
            rate=self.rate,
        )


async def resolve_target(api: LeadGeniusClient, ref: str | None, name: str | None) -> ClientRef:
    """The target client: ``ref`` must exist; ``name`` is created if no client has it.

    Creating is idempotent across crashes: the name is looked up first, and an ambiguous
    create is followed by another look-up instead of a second POST.
    """
    if ref:
        return await api.resolve_client(ref)
    if not name:
        raise ConfigError("say where to import: --client REF or --client-name NAME")
    clients = await api.list_clients()
    existing = _by_exact_name(name, clients)
    if existing is not None:
        return existing
    try:
        created = await api.create_client(name)
    except (AmbiguousWriteError, TransportError, ServerError):
        again = _by_exact_name(name, await api.list_clients())
        if again is None:
            raise
        return again
    return ClientRef(
        slug=str(created["client_id"]), id=str(created.get("id", "")), name=name, matched_by="name"
    )


def _by_exact_name(name: str, clients: list[dict[str, Any]]) -> ClientRef | None:
    try:
        found = match_client(name, clients)
    except ClientNotFoundError:
        return None
    return found if found.matched_by == "name" and found.name == name else None


def staged_rows(
    prepared: Prepared, *, client_id: str, store: Store, on_existing: OnExisting
) -> Iterator[StagedRow]:
    """The file's rows to stage (see :func:`decide_rows`)."""
    return decide_rows(
        prepared.accepted,
        prepared.rejected,
        client_id=client_id,
        store=store,
        on_existing=on_existing,
    )


def decide_rows(
    accepted: pl.DataFrame,
    rejected: pl.DataFrame,
    *,
    client_id: str,
    store: Store,
    on_existing: OnExisting,
) -> Iterator[StagedRow]:
    """Accepted rows as ``pending`` (create, or update with the ledger's lead id),
    ``skipped`` (identity already in the client, or its data unchanged since the last write)
    and rejected rows with their reason.

    Args:
        accepted: ``_line``, ``_identity`` and payload columns (any source).
        rejected: at least ``_line``, ``_reason`` and ``_detail``.
        client_id: the target client's slug (the ledger's key).
        store: the state store (its ledger is read here).
        on_existing: what to do with identities the ledger knows.
    """
    for batch in iter_payloads(accepted, batch=5_000):
        known = store.ledger_lookup(client_id, [identity for _, identity, _ in batch])
        for line, identity, payload in batch:
            entry = known.get(identity)
            if entry is None:
                yield StagedRow(line, identity, payload)
            elif on_existing == "skip":
                yield StagedRow(line, identity, None, "skipped", "exists", entry.lead_id)
            elif entry.content_hash == content_hash(payload):
                yield StagedRow(line, identity, None, "skipped", "unchanged", entry.lead_id)
            else:
                yield StagedRow(line, identity, {"id": entry.lead_id, **payload})
    for line, reason, detail in rejected.select("_line", "_reason", "_detail").iter_rows():
        yield StagedRow(int(line), None, None, "rejected", str(reason), detail)


async def load_staged(
    job_id: int,
    lock: Lock,
    options: ImportOptions,
    client_id: str,
    *,
    api: LeadGeniusClient,
    store: Store,
    clock: Clock,
    progress: Progress,
    stop: StopRequest,
) -> tuple[LoaderStats, str]:
    """Send the job's open rows with the exactly-once loader.

    Returns:
        The loader's figures and the run's outcome: ``complete`` (every row final, none
        failed), ``interrupted`` (a stop signal) or ``incomplete``.
    """
    loader = LeadLoader(
        api=api,
        store=store,
        job_id=job_id,
        lock=lock,
        options=options.loader_options(client_id),
        clock=clock,
        stop=stop,
        progress=progress,
    )
    stats = await loader.run()
    counts = store.counts_by_status(job_id)
    complete = not any(counts.get(s) for s in ("pending", "in_flight", "unknown", "failed"))
    return stats, "complete" if complete else ("interrupted" if stop.requested else "incomplete")


async def settle_unfinished(
    kind: str, slug: str, *, api: LeadGeniusClient, store: Store, clock: Clock, window: float
) -> int:
    """Before ``--restart`` supersedes an unfinished job, look up its ``in_flight`` and
    ``unknown`` rows: leads they may have created reach the ledger, so the new job skips
    them instead of creating them twice. Returns the number of rows found created.

    Raises:
        JobLocked: another process runs the unfinished job.
    """
    old = store.find_job(kind, slug, unfinished=True)
    rows = [] if old is None else store.rows_in_status(old.id, ["in_flight", "unknown"])
    if old is None or not rows:
        return 0
    lock = store.acquire_lock(old.id, pid=os.getpid(), host=socket.gethostname())
    try:
        wait = max(r.updated_at for r in rows) + window - clock.time()
        if wait > 0:
            await clock.sleep(wait)
        outcomes = await Reconciler(api, slug).reconcile(rows)
        store.record_outcomes(old.id, outcomes, client_id=slug, lock=lock)
    finally:
        store.release_lock(lock)
    return sum(o.status == "done" for o in outcomes)


async def run_csv_import(
    path: Path,
    csv_options: CsvOptions,
    options: ImportOptions,
    *,
    api: LeadGeniusClient,
    store: Store,
    clock: Clock,
    progress: Progress,
    stop: StopRequest,
    rejects_path: Path | None = None,
) -> dict[str, Any]:
    """Import one CSV file into one client, resuming the job if it exists.

    Returns:
        The summary (also what ``--summary-json`` writes); ``summary["complete"]`` says
        whether every staged row reached a final state.

    Raises:
        ConfigError: bad file/options, changed file without ``restart`` (exit 2).
        JobLocked: another process runs this job (exit 1).
        LeadGeniusError: auth/permission errors, or the API kept failing.
    """
    started = clock.monotonic()
    prepared = prepare_csv(path, csv_options)
    target = await resolve_target(api, options.client_ref, options.client_name)
    job_options = {"file": str(path), "on_existing": options.on_existing, "client": target.slug}
    if options.restart:
        await settle_unfinished(
            KIND, target.slug, api=api, store=store, clock=clock,
            window=options.consistency_window,
        )  # fmt: skip
    job = store.open_job(
        KIND, prepared.fingerprint, target.slug, job_options, restart=options.restart
    )
    lock = store.acquire_lock(job.id, pid=os.getpid(), host=socket.gethostname())
    run = store.start_run(job.id, pid=os.getpid(), host=socket.gethostname())
    outcome = "incomplete"
    stats = LoaderStats()
    try:
        if store.get_checkpoint(job.id, "staged") is None:
            store.stage_rows(
                job.id,
                staged_rows(
                    prepared, client_id=target.slug, store=store, on_existing=options.on_existing
                ),
                lock=lock,
                checkpoints={"staged": {"rows_read": prepared.rows_read}},
            )
        stats, outcome = await load_staged(
            job.id,
            lock,
            options,
            target.slug,
            api=api,
            store=store,
            clock=clock,
            progress=progress,
            stop=stop,
        )
    finally:
        summary = build_summary(
            store=store,
            job_id=job.id,
            prepared=prepared,
            client=target,
            stats=stats,
            api_stats=api.stats.as_dict(),
            seconds=clock.monotonic() - started,
            outcome=outcome,
        )
        store.finish_run(run.id, outcome, {"created": stats.created, "updated": stats.updated})
        store.release_lock(lock)
    if rejects_path is not None:
        write_rejects_file(store, job.id, prepared.rejected, rejects_path)
    return summary
