"""``lgetl import hubspot``: HubSpot contacts -> stage page by page -> load exactly once.

One call of :func:`run_hubspot_import` is one *run* of a *job*. A job is one pass over
the portal, identified by the portal key and its mode (``full``, or ``incremental since
<mark>``) and the target client slug:

1. **Plan**: an unfinished job for this portal and client is resumed first, whatever
   mode it was started in. Otherwise ``--incremental`` reads from the high-water mark of
   the last complete run (a full read when there is none yet, said in the summary), and a
   full run reads everything. A complete job is never repeated as is: HubSpot changes,
   so the same fingerprint starts a new job.
2. **Extract and stage** (:mod:`pipelines.hubspot_staging`): each page's rows committed
   with the cursor to resume after it.
3. **Load**: the exactly-once loader sends the open rows (new identities POSTed, changed
   known ones PUT in batches, unchanged ones were staged ``skipped``).
4. **Mark**: once the job is complete, the new high-water mark is stored for (portal,
   client); the next ``--incremental`` run reads from there (``docs/hubspot.md``).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl.client import LeadGeniusClient
from etl.clock import Clock
from etl.progress import Progress
from etl.signals import StopRequest
from etl.sinks.leadgenius import LoaderStats
from etl.sources.hubspot import DEFAULT_OVERLAP_MS, HubSpotClient, portal_key
from etl.sources.hubspot_pages import parse_instant_ms
from pipelines.csv_import import (
    ImportOptions,
    OnExisting,
    load_staged,
    resolve_target,
    settle_unfinished,
)
from pipelines.hubspot_staging import CHECKPOINT, Extraction, PageStager, extract_and_stage
from pipelines.hubspot_summary import build_hubspot_summary, local_rejects, mark_value
from pipelines.import_summary import write_rejects_file
from state import Job, Store

KIND = "hubspot_import"

log = logging.getLogger("pipelines.hubspot_import")


@dataclass(frozen=True)
class HubSpotImportOptions:
    """How to read HubSpot (what to load into is :class:`ImportOptions`).

    Attributes:
        incremental: read only contacts modified since the stored high-water mark.
        overlap_ms: how far before the mark the search starts (search lag, clock skew).
        page_size: contacts per list page (1..100).
    """

    incremental: bool = False
    overlap_ms: int = DEFAULT_OVERLAP_MS
    page_size: int = 100


@dataclass
class Plan:
    """The job a run works on and how.

    Attributes:
        job: the job (resumed or new).
        since_ms: the high-water mark it reads from; ``None`` for a full read.
        on_existing: the job's rule for identities the ledger knows.
        notes: what the user should know about the choice (printed in the summary).
    """

    job: Job
    since_ms: int | None
    on_existing: OnExisting
    notes: list[str] = field(default_factory=list)


def job_fingerprint(portal: str, since_ms: int | None) -> str:
    """``<portal key>|full`` or ``<portal key>|incremental since <mark ms>``."""
    return f"{portal}|full" if since_ms is None else f"{portal}|incremental since {since_ms}"


def mode_of(since_ms: int | None) -> str:
    """``full`` or ``incremental``."""
    return "full" if since_ms is None else "incremental"


def stored_mark(store: Store, portal: str, slug: str) -> int | None:
    """The high-water mark (epoch ms) of the last complete run for (portal, client)."""
    value = store.get_high_water_mark(portal, slug) or {}
    mark = value.get("lastmodifieddate_ms")
    return mark if isinstance(mark, int) else parse_instant_ms(value.get("lastmodifieddate"))


def plan_job(
    store: Store,
    *,
    portal: str,
    slug: str,
    options: ImportOptions,
    incremental: bool,
) -> Plan:
    """Pick the job to run (see the module docstring, step 1).

    Raises:
        SourceChanged: an unfinished job for this client reads another portal (exit 2;
            ``--restart`` abandons it).
        JobLocked: with ``restart``, a job to supersede is running.
    """
    since = stored_mark(store, portal, slug) if incremental else None
    notes: list[str] = []
    if incremental and since is None:
        notes.append(
            "no high-water mark for this portal and client yet (no complete run): read "
            "every contact; the next --incremental run reads only the changes"
        )
    unfinished = store.find_job(KIND, slug, unfinished=True)
    ours = unfinished is not None and unfinished.fingerprint.startswith(f"{portal}|")
    if unfinished is not None and ours and not options.restart:
        resumed = unfinished.options.get("since_ms")
        if resumed != since:
            notes.append(
                f"resumed the unfinished {mode_of(resumed)} import (job {unfinished.id}) "
                "first; run the command again for the run you asked for"
            )
        on_existing = unfinished.options.get("on_existing", options.on_existing)
        return Plan(unfinished, resumed, on_existing, notes)
    job_options = {
        "portal": portal,
        "mode": mode_of(since),
        "since_ms": since,
        "on_existing": options.on_existing,
        "client": slug,
    }
    fingerprint = job_fingerprint(portal, since)
    job = store.open_job(KIND, fingerprint, slug, job_options, restart=options.restart)
    if job.status == "complete":
        # The same pass finished before (e.g. a crash before its mark was stored):
        # read HubSpot again as a new job; the ledger skips what is unchanged.
        job = store.restart_job(KIND, fingerprint, slug, job_options)
    return Plan(job, since, options.on_existing, notes)


async def run_hubspot_import(
    options: ImportOptions,
    hubspot_options: HubSpotImportOptions,
    *,
    hubspot: HubSpotClient,
    api: LeadGeniusClient,
    store: Store,
    clock: Clock,
    progress: Progress,
    stop: StopRequest,
    rejects_path: Path | None = None,
) -> dict[str, Any]:
    """Import a HubSpot portal's contacts into one client, resuming the job if it exists.

    Returns:
        The summary (also what ``--summary-json`` writes); ``summary["complete"]`` says
        whether every staged row reached a final state.

    Raises:
        ConfigError: bad options, unknown client, another portal's unfinished job (exit 2).
        HubSpotError: HubSpot refused (token, scopes: exit 2) or kept failing (exit 1).
        JobLocked: another process runs this job (exit 1).
        LeadGeniusError: auth/permission errors, or the API kept failing.
    """
    started = clock.monotonic()
    target = await resolve_target(api, options.client_ref, options.client_name)
    portal = await portal_key(hubspot)
    incremental = hubspot_options.incremental
    if options.restart:
        await settle_unfinished(
            KIND, target.slug, api=api, store=store, clock=clock,
            window=options.consistency_window,
        )  # fmt: skip
    plan = plan_job(
        store, portal=portal, slug=target.slug, options=options, incremental=incremental
    )
    for note in plan.notes:
        log.warning("%s", note)
    job = plan.job
    lock = store.acquire_lock(job.id, pid=os.getpid(), host=socket.gethostname())
    run = store.start_run(job.id, pid=os.getpid(), host=socket.gethostname())
    outcome = "incomplete"
    stats = LoaderStats()
    extraction = Extraction(since_ms=plan.since_ms, started_ms=int(clock.time() * 1000))
    try:
        saved = store.get_checkpoint(job.id, CHECKPOINT)
        if saved is None:  # the job's first run: its start caps the next high-water mark
            store.put_checkpoint(job.id, CHECKPOINT, extraction.to_json(), lock=lock)
        else:
            extraction = Extraction.from_json(saved)
        if not extraction.done:
            stager = PageStager(store, job.id, lock, target.slug, plan.on_existing)
            extraction = await extract_and_stage(
                hubspot,
                extraction,
                stager,
                overlap_ms=hubspot_options.overlap_ms,
                page_size=hubspot_options.page_size,
                stop=stop,
                progress=progress,
            )
        if extraction.done and not stop.requested:
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
        elif stop.requested:
            outcome = "interrupted"
    finally:
        store.finish_run(run.id, outcome, {"created": stats.created, "updated": stats.updated})
        store.release_lock(lock)
    new_mark = extraction.next_mark() if outcome == "complete" else None
    if new_mark is not None:
        store.put_high_water_mark(portal, target.slug, mark_value(new_mark, job.id))
    summary = build_hubspot_summary(
        store=store,
        job_id=job.id,
        client=target,
        portal=portal,
        extraction=extraction,
        new_mark=new_mark,
        stats=stats,
        api_stats=api.stats.as_dict(),
        hubspot_stats=hubspot.stats.as_dict(),
        seconds=clock.monotonic() - started,
        outcome=outcome,
        notes=plan.notes,
    )
    if rejects_path is not None:
        write_rejects_file(store, job.id, local_rejects(store, job.id), rejects_path)
    return summary


__all__ = [
    "KIND",
    "HubSpotImportOptions",
    "Plan",
    "job_fingerprint",
    "plan_job",
    "run_hubspot_import",
    "stored_mark",
]
