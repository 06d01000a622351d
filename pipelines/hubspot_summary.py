"""The end-of-run summary of ``lgetl import hubspot``, its plain-text form, the stored
high-water mark value, and the HubSpot rows rejected before sending (for ``--rejects``).

The summary is :func:`pipelines.import_summary.job_summary` (rows by final state, this
run's LeadGenius figures) plus the HubSpot side: portal, mode, pages, requests, companies
and the high-water mark. Totals are the job's: ``read == created + updated + skipped +
rejected + failed + open`` always holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from etl.client import ClientRef
from etl.sinks.leadgenius import LoaderStats
from pipelines.hubspot_staging import Extraction
from pipelines.import_summary import job_summary, render_totals
from state import Store

if TYPE_CHECKING:
    import polars as pl


def iso_ms(epoch_ms: int | None) -> str | None:
    """``1727000000123`` -> ``2024-09-22T10:13:20.123Z`` (HubSpot's timestamp format)."""
    if epoch_ms is None:
        return None
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def mark_value(mark_ms: int, job_id: int) -> dict[str, Any]:
    """The stored high-water mark: the newest ``lastmodifieddate`` the next
    ``--incremental`` run reads from, and the job that reached it."""
    return {"lastmodifieddate_ms": mark_ms, "lastmodifieddate": iso_ms(mark_ms), "job_id": job_id}


def build_hubspot_summary(
    *,
    store: Store,
    job_id: int,
    client: ClientRef,
    portal: str,
    extraction: Extraction,
    new_mark: int | None,
    stats: LoaderStats,
    api_stats: dict[str, Any],
    hubspot_stats: dict[str, Any],
    seconds: float,
    outcome: str,
    notes: list[str],
) -> dict[str, Any]:
    """What the HubSpot import did, as a JSON-ready dict.

    ``read`` counts the contacts staged in the job (each once); ``accepted +
    rejected_in_source == read``; ``complete`` is true when every row reached a final
    state and none failed.
    """
    read = sum(store.counts_by_status(job_id).values())
    summary = job_summary(
        store=store,
        job_id=job_id,
        client=client,
        stats=stats,
        api_stats=api_stats,
        seconds=seconds,
        outcome=outcome,
        source={
            "source": "hubspot",
            "portal": portal,
            "mode": "full" if extraction.since_ms is None else "incremental",
            "since": iso_ms(extraction.since_ms),
        },
        reading={
            "read": read,
            "accepted": read - extraction.rejected,
            "rejected_in_source": extraction.rejected,
            "extracted": extraction.done,
        },
    )
    summary["skipped_by_reason"] = store.counts_by_reason(job_id, ("skipped",))
    summary["high_water_mark"] = {
        "previous": iso_ms(extraction.since_ms),
        "new": iso_ms(new_mark),
        "new_ms": new_mark,
    }
    summary["hubspot"] = {
        "pages": extraction.pages,
        "contacts_fetched": extraction.fetched,
        "companies_read": extraction.companies_read,
        "missing_companies": extraction.missing_companies,
        "newest_lastmodifieddate": iso_ms(extraction.max_modified_ms),
        "this_run": {k: hubspot_stats.get(k, 0) for k in ("requests", "throttled", "retries")},
    }
    summary["notes"] = list(notes)
    return summary


def render_hubspot_summary(summary: dict[str, Any]) -> str:
    """The summary as the few plain lines a person (or a cron mail) reads."""
    since = f" since {summary['since']}" if summary["since"] else ""
    hubspot = summary["hubspot"]
    skipped = ", ".join(f"{k}={v}" for k, v in summary["skipped_by_reason"].items()) or "none"
    lines = [
        f"job {summary['job_id']}: HubSpot {summary['portal']} ({summary['mode']}{since}) "
        f"-> client {summary['client']['slug']} ({summary['outcome']})",
        f"  read {summary['read']} contacts, accepted {summary['accepted']}, "
        f"rejected before sending {summary['rejected_in_source']}; skipped: {skipped}",
        *render_totals(summary),
        f"  HubSpot: {hubspot['pages']} pages, {hubspot['contacts_fetched']} contacts fetched, "
        f"{hubspot['companies_read']} companies read ({hubspot['missing_companies']} missing); "
        f"this run {hubspot['this_run']['requests']} requests, "
        f"{hubspot['this_run']['throttled']} x 429",
    ]
    mark = summary["high_water_mark"]
    if mark["new"]:
        lines.append(f"  high-water mark: {mark['previous'] or 'none'} -> {mark['new']}")
    lines += [f"  note: {note}" for note in summary["notes"]]
    return "\n".join(lines)


def local_rejects(store: Store, job_id: int) -> pl.DataFrame:
    """Contacts rejected before sending (no payload was staged): ``hubspotId``, ``_line``,
    ``_reason``, ``_detail``, for :func:`pipelines.import_summary.write_rejects_file`."""
    import polars as pl

    rows = [
        (str(r.row_no), r.row_no, r.reason, r.message)
        for r in store.iter_rows(job_id, ["rejected"])
        if r.payload is None
    ]
    return pl.DataFrame(
        rows,
        schema={"hubspotId": pl.String, "_line": pl.Int64, "_reason": pl.String,
                "_detail": pl.String},
        orient="row",
    )  # fmt: skip
