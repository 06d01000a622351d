"""``lgetl export leads``: the bulk list endpoints to Parquet/CSV/NDJSON part files."""

from __future__ import annotations

import asyncio
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from etl.cli.options import (
    ApiKey,
    AuthFile,
    BaseUrl,
    Connection,
    Insecure,
    LogFormat,
    LogFormatChoice,
    Rate,
    SummaryJson,
    UserId,
    Verbose,
    run,
    setup,
)

if TYPE_CHECKING:
    from pipelines.export_plan import ExportRequest, ExportSummary

export_app = typer.Typer(
    help="Export leads from the bulk list endpoints.", no_args_is_help=True, add_completion=False
)

_SOURCE = "Source"
_OUT = "Output files"


class SourceChoice(StrEnum):
    """``--source`` values."""

    enrich = "enrich"
    source = "source"


class FormatChoice(StrEnum):
    """``--format`` values."""

    parquet = "parquet"
    csv = "csv"
    ndjson = "ndjson"


class PartitionChoice(StrEnum):
    """``--partition-by`` values."""

    client_id = "client_id"


class ProgressChoice(StrEnum):
    """``--progress`` values."""

    auto = "auto"
    bar = "bar"
    log = "log"
    json = "json"
    off = "off"


@export_app.command("leads")
def leads(
    *,
    company_id: Annotated[
        str,
        typer.Option(
            "--company-id", help="Company whose leads to export.", rich_help_panel=_SOURCE
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="Export directory (created if needed).", rich_help_panel=_OUT),
    ],
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            help="One client slug; ALL (default) exports every client.",
            show_default=False,
            rich_help_panel=_SOURCE,
        ),
    ] = None,
    source: Annotated[
        SourceChoice,
        typer.Option(
            "--source",
            help="enrich: /api/enrich-leads/list; source: /api/source-leads/list.",
            rich_help_panel=_SOURCE,
        ),
    ] = SourceChoice.enrich,
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields",
            help="Comma-separated projection (id is always included).",
            show_default=False,
            rich_help_panel=_SOURCE,
        ),
    ] = None,
    page_size: Annotated[
        int,
        typer.Option(
            "--page-size", min=1, max=5000, help="Records per request.", rich_help_panel=_SOURCE
        ),
    ] = 5000,
    fmt: Annotated[
        FormatChoice, typer.Option("--format", help="Part file format.", rich_help_panel=_OUT)
    ] = FormatChoice.parquet,
    partition_by: Annotated[
        PartitionChoice | None,
        typer.Option(
            "--partition-by",
            help="Hive-style directories: DIR/client_id=<slug>/part-NNNNN.<ext>.",
            show_default=False,
            rich_help_panel=_OUT,
        ),
    ] = None,
    part_rows: Annotated[
        int,
        typer.Option(
            "--part-rows",
            min=1,
            help="Write a part once this many rows are buffered (whole pages; bounds memory).",
            rich_help_panel=_OUT,
        ),
    ] = 50_000,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help="State store: a path or SQLAlchemy URL. Env: LGETL_STATE. "
            "Default: ~/.local/state/lgetl/state.sqlite.",
            show_default=False,
        ),
    ] = None,
    restart: Annotated[
        bool,
        typer.Option("--restart", help="Discard this directory's export and start over."),
    ] = False,
    progress: Annotated[
        ProgressChoice,
        typer.Option("--progress", help="auto: a bar on a terminal, else a log line every 10 s."),
    ] = ProgressChoice.auto,
    summary_json: SummaryJson = None,
    base_url: BaseUrl = None,
    insecure: Insecure = False,
    api_key: ApiKey = None,
    user_id: UserId = None,
    auth_file: AuthFile = None,
    rate: Rate = None,
    log_format: LogFormat = LogFormatChoice.plain,
    verbose: Verbose = False,
) -> None:
    """Export leads to typed, deduplicated part files; re-run the same command to resume.

    _manifest.json is written last: its presence means the export is complete.

    Example: lgetl export leads --company-id $COMPANY --out ./leads --partition-by client_id
    """
    setup(log_format, verbose=verbose)
    conn = Connection(base_url, insecure, api_key, user_id, auth_file, rate)
    settings = conn.settings()

    from pipelines.export_plan import ExportRequest

    request = ExportRequest.build(
        out_dir=out,
        company_id=company_id,
        base_url=settings.base_url,
        source=source.value,
        client_id=client_id,
        fields=fields,
        page_size=page_size,
        fmt=fmt.value,
        partition_by=partition_by.value if partition_by else None,
        part_rows=part_rows,
    )
    summary = run(_export(request, settings, state, restart, progress.value))
    for line in summary.lines():
        typer.echo(line)
    if summary_json is not None:
        import orjson

        summary_json.write_bytes(orjson.dumps(summary.as_dict(), option=orjson.OPT_INDENT_2))


async def _export(
    request: ExportRequest, settings: object, state: str | None, restart: bool, mode: str
) -> ExportSummary:
    from etl.client import ClientSettings, LeadGeniusClient
    from etl.clock import SystemClock
    from etl.progress import make_progress
    from etl.signals import stop_on_signals
    from pipelines.leads_export import export_leads
    from state import open_store, resolve_state_url

    assert isinstance(settings, ClientSettings)
    clock = SystemClock()
    store = open_store(resolve_state_url(state, dict(os.environ)), clock=clock)
    try:
        reporter = make_progress(mode, unit="rows", clock=clock)  # type: ignore[arg-type]
        with stop_on_signals(asyncio.get_running_loop()) as stop:
            async with LeadGeniusClient(settings, clock=clock) as client:
                return await export_leads(
                    request,
                    client=client,
                    store=store,
                    clock=clock,
                    progress=reporter,
                    stop=stop,
                    restart=restart,
                )
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    """Attach ``lgetl export``."""
    app.add_typer(export_app, name="export")
