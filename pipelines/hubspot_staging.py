"""HubSpot extraction, staged page by page with its resume cursor (the checkpointed half of
``lgetl import hubspot``).

Each page of contacts is mapped and validated (:func:`schemas.hubspot.prepare_contacts`),
turned into staged rows with the same create/skip/update rules as a CSV import
(:func:`pipelines.csv_import.decide_rows`), and written to the store in ONE transaction
with the :class:`Extraction` checkpoint that holds the cursor to resume after it. A crash
at any instant therefore leaves either the page and its cursor, or neither: the next run
resumes from the last committed cursor, and a row read twice is ignored by the store (the
row key is the HubSpot contact id).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from etl.errors import EtlError
from etl.progress import Progress
from etl.signals import StopRequest
from etl.sources.hubspot import (
    CompanyCache,
    ContactPage,
    HubSpotClient,
    extract_contacts,
    search_modified_since,
)
from pipelines.csv_import import OnExisting, decide_rows
from schemas.hubspot import prepare_contacts
from state import Lock, StagedRow, Store

#: The job checkpoint holding the :class:`Extraction`.
CHECKPOINT = "hubspot"


class CorruptCheckpoint(EtlError):
    """The job's HubSpot checkpoint cannot be read (written by another version?)."""

    exit_code = 2


@dataclass(frozen=True)
class Extraction:
    """Where a job's extraction stands; committed with every page's rows.

    Attributes:
        since_ms: ``None`` for a full read (contacts list); else the high-water mark the
            search starts from (minus the overlap).
        started_ms: when the job's extraction began (epoch ms, this machine's clock): the
            next high-water mark never passes it, so a contact changed during a long run,
            after its page was read, is read again next time.
        after: the cursor to resume after the last committed page (``None``: from the
            start).
        done: the last page is staged.
        pages: pages staged.
        fetched: contacts read (a contact changed during a search scan can come twice;
            it is staged once).
        rejected: contacts rejected before sending (``missing_email``, lead rules).
        max_modified_ms: the highest ``lastmodifieddate`` staged, ``None`` before any.
        companies_read: companies batch-read from HubSpot (cache misses).
        missing_companies: associated companies HubSpot could not return.
    """

    since_ms: int | None
    started_ms: int
    after: str | None = None
    done: bool = False
    pages: int = 0
    fetched: int = 0
    rejected: int = 0
    max_modified_ms: int | None = None
    companies_read: int = 0
    missing_companies: int = 0

    def after_page(self, page: ContactPage, *, rejected: int) -> Extraction:
        """This state once ``page`` (with ``rejected`` of its rows refused) is staged."""
        newest = [m for m in (self.max_modified_ms, page.max_modified_ms) if m is not None]
        return replace(
            self,
            after=page.next_after,
            done=page.next_after is None,
            pages=self.pages + 1,
            fetched=self.fetched + page.rows.height,
            rejected=self.rejected + rejected,
            max_modified_ms=max(newest) if newest else None,
            companies_read=self.companies_read + page.companies_read,
            missing_companies=self.missing_companies + len(page.missing_companies),
        )

    def next_mark(self) -> int | None:
        """The high-water mark to store once the job is complete (epoch ms).

        ``min(newest lastmodifieddate staged, extraction start)``, never before the mark
        this job started from; the old mark (or ``None`` after a full read of an empty
        portal) when no contact was read.
        """
        if self.max_modified_ms is None:
            return self.since_ms
        mark = min(self.max_modified_ms, self.started_ms)
        return mark if self.since_ms is None else max(mark, self.since_ms)

    def to_json(self) -> dict[str, Any]:
        """The checkpoint value."""
        return asdict(self)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Extraction:
        """Read a checkpoint made by :meth:`to_json`.

        Raises:
            CorruptCheckpoint: it is not one.
        """
        try:
            return cls(**value)
        except TypeError:
            raise CorruptCheckpoint(
                f"the job's {CHECKPOINT!r} checkpoint is not readable by this lgetl version; "
                "re-run with --restart to start the HubSpot import over"
            ) from None


@dataclass(frozen=True)
class PageStager:
    """Stages pages of one job: rows and the advanced :class:`Extraction`, one commit.

    Attributes:
        store: the state store; ``job_id``/``lock``: the job this process holds.
        client_id: the target client's slug (the ledger's key).
        on_existing: identities the ledger knows: ``skip``, or ``update`` when changed.
    """

    store: Store
    job_id: int
    lock: Lock
    client_id: str
    on_existing: OnExisting

    def stage(self, page: ContactPage, extraction: Extraction) -> Extraction:
        """Stage ``page`` after ``extraction``; return the state committed with it."""
        rows: Iterable[StagedRow] = ()
        rejected = 0
        if page.rows.height:
            prepared = prepare_contacts(page.rows)
            rejected = prepared.rejected.height
            rows = decide_rows(
                prepared.accepted,
                prepared.rejected,
                client_id=self.client_id,
                store=self.store,
                on_existing=self.on_existing,
            )
        advanced = extraction.after_page(page, rejected=rejected)
        self.store.stage_rows(
            self.job_id, rows, lock=self.lock, checkpoints={CHECKPOINT: advanced.to_json()}
        )
        return advanced


def contact_pages(
    hubspot: HubSpotClient, extraction: Extraction, *, overlap_ms: int, page_size: int
) -> AsyncIterator[ContactPage]:
    """The pages still to read: the contacts list (full) or the search (incremental),
    resumed after ``extraction.after``; one company cache for the run."""
    cache = CompanyCache()
    if extraction.since_ms is None:
        return extract_contacts(hubspot, after=extraction.after, page_size=page_size, cache=cache)
    return search_modified_since(
        hubspot, extraction.since_ms, overlap_ms=overlap_ms, resume=extraction.after, cache=cache
    )


async def extract_and_stage(
    hubspot: HubSpotClient,
    extraction: Extraction,
    stager: PageStager,
    *,
    overlap_ms: int,
    page_size: int,
    stop: StopRequest,
    progress: Progress,
) -> Extraction:
    """Read and stage every remaining page, or until a stop signal.

    A signal cancels the page being read (nothing of it was committed) and returns the
    state of the last committed page: ``done`` is then False.

    Raises:
        HubSpotError: HubSpot kept failing (the committed pages stay; re-run to resume).
    """
    pages = contact_pages(hubspot, extraction, overlap_ms=overlap_ms, page_size=page_size)
    progress.start(None, "extract", initial=extraction.fetched)
    stopper = asyncio.ensure_future(stop.event.wait())
    try:
        while not extraction.done and not stop.requested:
            reading = asyncio.ensure_future(anext(pages))
            await asyncio.wait({reading, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                await asyncio.gather(reading, return_exceptions=True)
                break
            try:
                page = reading.result()
            except StopAsyncIteration:
                break
            extraction = stager.stage(page, extraction)
            stats = hubspot.stats
            progress.update(
                extraction.fetched,
                {"pages": extraction.pages, "hubspot_requests": stats.requests,
                 "hubspot_429s": stats.throttled},
            )  # fmt: skip
    finally:
        stopper.cancel()
        await pages.aclose()  # type: ignore[attr-defined]
        progress.finish()
    return extraction
