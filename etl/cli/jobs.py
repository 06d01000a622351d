"""``lgetl jobs list|show|retry`` and ``lgetl verify``: look into the state store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from etl.cli.options import (
    ApiKey,
    AuthFile,
    BaseUrl,
    Connection,
    Insecure,
    JsonOutput,
    StateUrl,
    UserId,
    run,
    setup,
)

jobs_app = typer.Typer(help="Inspect and re-queue import/export jobs.", no_args_is_help=True)


def open_state(state: str | None) -> Any:
    """Open the store named by ``--state`` / ``LGETL_STATE`` / the default path."""
    import os

    from state import open_store, resolve_state_url

    return open_store(resolve_state_url(state, os.environ))


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@jobs_app.command("list")
def list_jobs(*, state: StateUrl = None, as_json: JsonOutput = False) -> None:
    """List jobs, newest first, with their status and row counts.

    Example: lgetl jobs list --state ./state.sqlite
    """
    with open_state(state) as store:
        jobs = sorted(store.list_jobs(), key=lambda j: j.id, reverse=True)
        rows = [
            {
                "id": j.id,
                "kind": j.kind,
                "target": j.target,
                "status": j.status,
                "updated": _when(j.updated_at),
                "rows": store.counts_by_status(j.id),
            }
            for j in jobs
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "kind", "target", "status", "updated", "rows")
    for r in rows:
        counts = " ".join(f"{k}={v}" for k, v in r["rows"].items() if v)
        table.add_row(str(r["id"]), r["kind"], r["target"], r["status"], r["updated"], counts)
    Console().print(table)


@jobs_app.command("show")
def show_job(
    *,
    job_id: Annotated[int, typer.Argument(help="Job id (see `lgetl jobs list`).")],
    state: StateUrl = None,
    as_json: JsonOutput = False,
) -> None:
    """Show one job: options, counts by status and reason, runs and the last errors.

    Example: lgetl jobs show 3
    """
    with open_state(state) as store:
        job = store.get_job(job_id)
        info = {
            "id": job.id,
            "kind": job.kind,
            "target": job.target,
            "status": job.status,
            "options": job.options,
            "created": _when(job.created_at),
            "updated": _when(job.updated_at),
            "counts": store.counts_by_status(job_id),
            "rejected_by_reason": store.counts_by_reason(job_id),
            "runs": [_run_info(r) for r in store.list_runs(job_id)],
            "last_errors": [
                {"row": e.row_no, "status": e.status, "reason": e.reason, "message": e.message}
                for e in store.last_errors(job_id)
            ],
        }
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    typer.echo(f"job {info['id']} ({info['kind']}) -> {info['target']}: {info['status']}")
    typer.echo(f"  options: {json.dumps(info['options'])}")
    typer.echo(f"  created {info['created']}, updated {info['updated']}")
    typer.echo("  rows: " + " ".join(f"{k}={v}" for k, v in info["counts"].items() if v))
    if info["rejected_by_reason"]:
        reasons = " ".join(f"{k}={v}" for k, v in info["rejected_by_reason"].items())
        typer.echo(f"  rejected by reason: {reasons}")
    for r in info["runs"]:
        typer.echo(f"  run {r['id']}: {r['started']} -> {r['ended']} {r['outcome'] or 'running'}")
    for e in info["last_errors"]:
        typer.echo(f"  row {e['row']} {e['status']} {e['reason'] or ''}: {e['message']}")


def _run_info(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "started": _when(run.started_at),
        "ended": _when(run.ended_at),
        "outcome": run.outcome,
        "pid": run.pid,
        "host": run.host,
    }


@jobs_app.command("retry")
def retry_job(
    *,
    job_id: Annotated[int, typer.Argument(help="Job id (see `lgetl jobs list`).")],
    state: StateUrl = None,
) -> None:
    """Re-queue a job's ``failed`` rows; re-run the job's command to send them.

    Example: lgetl jobs retry 3
    """
    with open_state(state) as store:
        job = store.get_job(job_id)
        count = store.requeue(job_id, "failed")
    typer.echo(
        f"re-queued {count} failed rows of job {job_id}; run the same "
        f"`lgetl import` command again (file {job.options.get('file', '?')}) to send them"
    )


def verify(
    *,
    job: Annotated[int, typer.Option("--job", help="Job id to verify.")],
    state: StateUrl = None,
    base_url: BaseUrl = None,
    insecure: Insecure = False,
    api_key: ApiKey = None,
    user_id: UserId = None,
    auth_file: AuthFile = None,
    as_json: JsonOutput = False,
) -> None:
    """Check that every lead a job created is listed by the API (exit 1 if not).

    Pages the client's leads back and reports rows marked done that the API does not list
    (invisible or lost), and emails listed more than once.

    Example: lgetl verify --job 3
    """
    from etl.client import LeadGeniusClient
    from pipelines.verify import verify_job

    setup()
    settings = Connection(base_url, insecure, api_key, user_id, auth_file, None).settings()

    async def main() -> Any:
        with open_state(state) as store:
            async with LeadGeniusClient(settings) as api:
                return await verify_job(api, store, job)

    report = run(main())
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        typer.echo(
            f"job {report.job_id} -> client {report.client_id}: {report.rows_done} rows done, "
            f"{report.listed} leads listed, {len(report.missing)} missing, "
            f"{len(report.duplicate_emails)} duplicated emails"
        )
        for row, identity, lead_id in report.missing[:50]:
            typer.echo(f"  missing: row {row} {identity} (lead {lead_id})")
        for email, n in list(report.duplicate_emails.items())[:50]:
            typer.echo(f"  duplicate: {email} listed {n} times")
        typer.echo("OK: every done row is listed exactly once" if report.ok else "NOT OK")
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach ``lgetl jobs ...`` and ``lgetl verify``."""
    app.add_typer(jobs_app, name="jobs")
    app.command("verify")(verify)
