"""The running half of ``lgetl import csv`` and ``lgetl import hubspot``: wire settings,
store, signals and progress around one pipeline (:func:`run_import_command`, shared),
print the summary, pick the exit code.

Exit codes (DESIGN.md): 0 every staged row reached a final state and none failed;
1 the job is not complete (re-run the same command to resume); 2 usage/configuration;
130/143 interrupted cleanly by SIGINT/SIGTERM.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from etl.cli.options import LogFormatChoice, run
from etl.errors import EtlError, Interrupted

if TYPE_CHECKING:
    from etl.client import ClientSettings, LeadGeniusClient
    from etl.clock import Clock
    from etl.progress import Progress, ProgressMode
    from etl.signals import StopRequest
    from etl.sources.hubspot_settings import HubSpotSettings
    from pipelines.csv_import import ImportOptions
    from pipelines.csv_prepare import CsvOptions
    from pipelines.hubspot_import import HubSpotImportOptions
    from state import Store


@dataclass(frozen=True)
class ImportContext:
    """What the shared runner opens for an import pipeline (closed after it returns)."""

    api: LeadGeniusClient
    store: Store
    clock: Clock
    progress: Progress
    stop: StopRequest


#: One import: given the context, run the pipeline and return its summary.
Pipeline = Callable[[ImportContext], Awaitable[dict[str, Any]]]


def run_import_command(
    pipeline: Pipeline,
    *,
    render: Callable[[dict[str, Any]], str],
    settings: ClientSettings,
    state: str | None,
    rejects: Path | None,
    summary_json: Path | None,
    log_format: LogFormatChoice = LogFormatChoice.plain,
    quiet: bool = False,
) -> None:
    """Open the store, signal handlers, LeadGenius client and progress; run ``pipeline``;
    write/print its summary (``render`` makes the plain text); pick the exit code.

    Raises:
        Interrupted: a stop signal arrived (exit 130/143).
        IncompleteImport: the job is not complete (exit 1).
        EtlError: whatever the pipeline raised, for the CLI to map to an exit code.
    """
    import asyncio
    import os

    from etl.client import LeadGeniusClient
    from etl.clock import SystemClock
    from etl.progress import make_progress
    from etl.signals import stop_on_signals
    from state import open_store, resolve_state_url

    mode: ProgressMode = (
        "off" if quiet else ("json" if log_format == LogFormatChoice.json else "auto")
    )
    clock = SystemClock()

    async def main() -> tuple[dict[str, Any], int | None]:
        loop = asyncio.get_running_loop()
        with (
            open_store(resolve_state_url(state, os.environ), clock=clock) as store,
            stop_on_signals(loop) as stop,
        ):
            async with LeadGeniusClient(settings, clock=clock) as api:
                progress = make_progress(mode, unit="rows", clock=clock)
                summary = await pipeline(ImportContext(api, store, clock, progress, stop))
                return summary, stop.signal_number

    summary, signal_number = run(main())
    if summary_json is not None:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if log_format == LogFormatChoice.json:
        typer.echo(json.dumps({"event": "summary", **summary}))
    else:
        typer.echo(render(summary))
    if rejects is not None:
        typer.echo(f"rejected rows written to {rejects}")
    if signal_number is not None:
        raise Interrupted(
            f"stopped by signal {signal_number}; progress is saved: re-run the same command "
            "to resume",
            signal_number=signal_number,
        )
    if not summary["complete"]:
        raise IncompleteImport(summary)


def run_csv_import_command(
    path: Path,
    csv_options: CsvOptions,
    options: ImportOptions,
    *,
    settings: ClientSettings,
    state: str | None,
    rejects: Path | None,
    summary_json: Path | None,
    log_format: LogFormatChoice = LogFormatChoice.plain,
    quiet: bool = False,
) -> None:
    """Run a CSV import; raise :class:`EtlError` subclasses for the CLI to map to exit codes."""
    from pipelines.csv_import import run_csv_import
    from pipelines.import_summary import render_summary

    async def pipeline(ctx: ImportContext) -> dict[str, Any]:
        return await run_csv_import(
            path,
            csv_options,
            options,
            api=ctx.api,
            store=ctx.store,
            clock=ctx.clock,
            progress=ctx.progress,
            stop=ctx.stop,
            rejects_path=rejects,
        )

    run_import_command(
        pipeline,
        render=render_summary,
        settings=settings,
        state=state,
        rejects=rejects,
        summary_json=summary_json,
        log_format=log_format,
        quiet=quiet,
    )


def run_hubspot_import_command(
    options: ImportOptions,
    hubspot_options: HubSpotImportOptions,
    *,
    settings: ClientSettings,
    hubspot_settings: HubSpotSettings,
    state: str | None,
    rejects: Path | None,
    summary_json: Path | None,
    log_format: LogFormatChoice = LogFormatChoice.plain,
    quiet: bool = False,
) -> None:
    """Run a HubSpot import; raise :class:`EtlError` subclasses for the CLI to map."""
    from etl.sources.hubspot_client import HubSpotClient
    from pipelines.hubspot_import import run_hubspot_import
    from pipelines.hubspot_summary import render_hubspot_summary

    async def pipeline(ctx: ImportContext) -> dict[str, Any]:
        async with HubSpotClient(hubspot_settings, clock=ctx.clock) as hubspot:
            return await run_hubspot_import(
                options,
                hubspot_options,
                hubspot=hubspot,
                api=ctx.api,
                store=ctx.store,
                clock=ctx.clock,
                progress=ctx.progress,
                stop=ctx.stop,
                rejects_path=rejects,
            )

    run_import_command(
        pipeline,
        render=render_hubspot_summary,
        settings=settings,
        state=state,
        rejects=rejects,
        summary_json=summary_json,
        log_format=log_format,
        quiet=quiet,
    )


class IncompleteImport(EtlError):
    """Some rows are still open or failed; the job is saved (exit 1)."""

    def __init__(self, summary: dict[str, Any]) -> None:
        job = summary["job_id"]
        hint = (
            f"{summary['failed']} rows failed: `lgetl jobs retry {job}` then re-run"
            if summary["failed"]
            else "re-run the same command to resume"
        )
        super().__init__(f"job {job} is not complete ({summary['open']} rows open); {hint}")
