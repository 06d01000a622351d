"""The end-of-import summary and the rejects file, built from the state store.

Totals are the job's (all runs so far), so a resumed import reports the whole file;
``this_run`` holds what the last invocation itself did.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl.client import ClientRef
from etl.sinks.leadgenius import LoaderStats
from pipelines.csv_prepare import Prepared
from state import Store

if TYPE_CHECKING:
    import polars as pl

_OPEN = ("pending", "in_flight", "unknown")


def build_summary(
    *,
    store: Store,
    job_id: int,
    prepared: Prepared,
    client: ClientRef,
    stats: LoaderStats,
    api_stats: dict[str, Any],
    seconds: float,
    outcome: str,
) -> dict[str, Any]:
    """What the CSV import did, as a JSON-ready dict (printed, and written by
    ``--summary-json``): :func:`job_summary` with the file's figures.

    ``accepted + rejected_in_file == rows_read`` always holds; ``complete`` is true when
    every staged row reached a final state and none failed.
    """
    return job_summary(
        store=store,
        job_id=job_id,
        client=client,
        stats=stats,
        api_stats=api_stats,
        seconds=seconds,
        outcome=outcome,
        source={"file": str(prepared.path)},
        reading={
            "rows_read": prepared.rows_read,
            "accepted": prepared.accepted_rows,
            "rejected_in_file": prepared.rejected.height,
        },
    )


def job_summary(
    *,
    store: Store,
    job_id: int,
    client: ClientRef,
    stats: LoaderStats,
    api_stats: dict[str, Any],
    seconds: float,
    outcome: str,
    source: Mapping[str, Any],
    reading: Mapping[str, Any],
) -> dict[str, Any]:
    """The summary every import shares: the job's rows by final state and this run's
    figures, with the source's own fields (``source`` after ``job_id``, ``reading``
    after ``complete``)."""
    counts = store.counts_by_status(job_id)
    written = stats.created + stats.updated
    open_rows = sum(counts.get(s, 0) for s in _OPEN)
    return {
        "job_id": job_id,
        **source,
        "client": {"slug": client.slug, "name": client.name},
        "outcome": outcome,
        "complete": open_rows == 0 and not counts.get("failed"),
        **reading,
        "created": counts.get("done", 0),
        "updated": counts.get("updated", 0),
        "skipped": counts.get("skipped", 0),
        "rejected": counts.get("rejected", 0),
        "rejected_by_reason": store.counts_by_reason(job_id),
        "failed": counts.get("failed", 0),
        "open": open_rows,
        "this_run": {
            "created": stats.created,
            "updated": stats.updated,
            "rejected_by_server": stats.rejected,
            "ambiguous": stats.ambiguous,
            "reconciled_found": stats.reconciled_found,
            "reconciled_missing": stats.reconciled_missing,
            "requests": api_stats.get("requests", 0),
            "throttled_429": api_stats.get("throttled", 0),
            "retries": api_stats.get("retries", 0),
            "seconds": round(seconds, 2),
            "leads_per_min": round(60.0 * written / seconds, 1) if seconds > 0 else 0.0,
        },
    }


def render_summary(summary: dict[str, Any]) -> str:
    """The CSV summary as the few plain lines a person reads at the end of a run."""
    lines = [
        f"job {summary['job_id']}: {summary['file']} -> client {summary['client']['slug']}"
        f" ({summary['outcome']})",
        f"  read {summary['rows_read']}, accepted {summary['accepted']}, "
        f"rejected in file {summary['rejected_in_file']}",
        *render_totals(summary),
    ]
    run = summary["this_run"]
    if summary["complete"] and not (run["created"] or run["updated"]):
        lines.append("  nothing new to send: every row of this file was already handled")
    return "\n".join(lines)


def render_totals(summary: dict[str, Any]) -> list[str]:
    """The lines of a :func:`job_summary` every import prints: rows by final state, and
    what this run did."""
    run = summary["this_run"]
    reasons = ", ".join(f"{k}={v}" for k, v in summary["rejected_by_reason"].items()) or "none"
    return [
        f"  created {summary['created']}, updated {summary['updated']}, "
        f"skipped {summary['skipped']}, rejected {summary['rejected']} ({reasons}), "
        f"failed {summary['failed']}, still open {summary['open']}",
        f"  this run: created {run['created']}, updated {run['updated']}, "
        f"reconciled {run['reconciled_found']} found / {run['reconciled_missing']} missing, "
        f"{run['requests']} requests, {run['throttled_429']} x 429, {run['retries']} retries, "
        f"{run['seconds']} s, {run['leads_per_min']} leads/min",
    ]


def write_rejects_file(store: Store, job_id: int, local: pl.DataFrame, path: Path) -> int:
    """Write every rejected row as CSV: rows refused before sending (``local``: their
    source columns with ``_line``, ``_reason``, ``_detail``) and rows the server refused
    (their payload fields), each with ``_line``, ``_reason`` and ``_detail``. Returns the
    number of rows written."""
    import polars as pl

    server = [
        {**{k: str(v) for k, v in (row.payload or {}).items()}, "_line": row.row_no,
         "_reason": row.reason, "_detail": row.message}
        for row in store.rows_in_status(job_id, ["rejected"])
        if row.payload is not None
    ]  # fmt: skip
    frames = [local.with_columns(pl.col("_line").cast(pl.Int64))]
    if server:
        frames.append(pl.DataFrame(server).with_columns(pl.col("_line").cast(pl.Int64)))
    merged = pl.concat(frames, how="diagonal_relaxed").sort("_line")
    columns = [c for c in merged.columns if not c.startswith("_")]
    path.parent.mkdir(parents=True, exist_ok=True)
    merged.select(*columns, "_line", "_reason", "_detail").write_csv(path)
    return merged.height
