"""The non-dry-run half of ``lgetl import csv``: wire settings, store, signals and progress
around :func:`pipelines.csv_import.run_csv_import`, print the summary, pick the exit code.

Exit codes (DESIGN.md): 0 every staged row reached a final state and none failed;
1 the job is not complete (re-run the same command to resume); 2 usage/configuration;
130/143 interrupted cleanly by SIGINT/SIGTERM.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from etl.cli.options import LogFormatChoice, run
from etl.errors import EtlError, Interrupted

if TYPE_CHECKING:
    from etl.client import ClientSettings
    from etl.progress import ProgressMode
    from pipelines.csv_import import ImportOptions
    from pipelines.csv_prepare import CsvOptions


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
    """Run the import; raise :class:`EtlError` subclasses for the CLI to map to exit codes."""
    import asyncio
    import os

    from etl.client import LeadGeniusClient
    from etl.clock import SystemClock
    from etl.progress import make_progress
    from etl.signals import stop_on_signals
    from pipelines.csv_import import run_csv_import
    from pipelines.import_summary import render_summary
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
                summary = await run_csv_import(
                    path,
                    csv_options,
                    options,
                    api=api,
                    store=store,
                    clock=clock,
                    progress=make_progress(mode, unit="rows", clock=clock),
                    stop=stop,
                    rejects_path=rejects,
                )
                return summary, stop.signal_number

    summary, signal_number = run(main())
    if summary_json is not None:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if log_format == LogFormatChoice.json:
        typer.echo(json.dumps({"event": "summary", **summary}))
    else:
        typer.echo(render_summary(summary))
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
