"""``lgetl import csv``: check (``--dry-run``) or import a CSV file of leads;
``lgetl import hubspot``: import a HubSpot portal's contacts (full or ``--incremental``).

The reading options are declared once (the ``Annotated`` aliases below) and turned into a
:class:`~pipelines.csv_prepare.CsvOptions` by :func:`csv_options`, so the real import can
add its own options next to them and share the dry run's reading, mapping and rules.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from etl.cli.hubspot_options import (
    HubSpotBaseUrl,
    HubSpotRestart,
    HubSpotTokenEnv,
    Incremental,
    Upsert,
    on_existing_rule,
)
from etl.cli.options import (
    ApiKey,
    AuthFile,
    BaseUrl,
    Connection,
    Insecure,
    LogFormat,
    LogFormatChoice,
    Quiet,
    Rate,
    StateUrl,
    SummaryJson,
    UserId,
    Verbose,
    setup,
)
from etl.engine import leave_cores_to_workers
from etl.errors import ConfigError

if TYPE_CHECKING:
    from pipelines.csv_prepare import CsvOptions, Prepared

from etl.cli.import_options import (
    ClientName,
    ClientRef,
    Concurrency,
    ConsistencyWindow,
    MaxAttempts,
    OnExisting,
    OnExistingChoice,
    Rejects,
    Restart,
)

import_app = typer.Typer(
    help="Import leads into LeadGenius.", no_args_is_help=True, add_completion=False
)

_READING = "Reading the file"
_MAPPING = "Mapping columns"
_OUTPUT = "Output"
_SAMPLES = 3


class ExtraChoice(StrEnum):
    """``--extra`` values."""

    notes = "notes"
    drop = "drop"


CsvFile = Annotated[
    Path, typer.Argument(help="The CSV file to import.", show_default=False, dir_okay=False)
]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Read, map and validate only: print the counts, mapping and sample payloads. "
        "No network.",
    ),
]
Encoding = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="Force the encoding (utf-8, utf-16, cp1252, latin-1, ...). Default: detect.",
        show_default=False,
        rich_help_panel=_READING,
    ),
]
Delimiter = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        help="Force the delimiter: one character, or 'tab'. Default: sniff among , ; tab |.",
        show_default=False,
        rich_help_panel=_READING,
    ),
]
Maps = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="SOURCE_COLUMN=field (repeatable); field may be 'drop' or 'extra' (to notes).",
        show_default=False,
        rich_help_panel=_MAPPING,
    ),
]
MappingFile = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        help='TOML file with a \\[columns] table of "Source column" = "field" lines.',
        show_default=False,
        rich_help_panel=_MAPPING,
    ),
]
Extra = Annotated[
    ExtraChoice,
    typer.Option(
        "--extra",
        help="Unmapped columns: render into notes as '### Column' sections, or drop.",
        rich_help_panel=_MAPPING,
    ),
]


def csv_options(
    *,
    encoding: str | None,
    delimiter: str | None,
    maps: list[str] | None,
    mapping_file: Path | None,
    extra: ExtraChoice,
) -> CsvOptions:
    """Turn the reading/mapping options of a command into :class:`CsvOptions`.

    Raises:
        ConfigError: (``MappingError``) a malformed ``--map`` value.
    """
    from etl.sources.mapping import parse_map_options
    from pipelines.csv_prepare import CsvOptions

    if delimiter is not None and delimiter.lower() in ("tab", "\\t"):
        delimiter = "\t"
    return CsvOptions(
        encoding=encoding,
        delimiter=delimiter,
        maps=parse_map_options(maps or ()),
        mapping_file=mapping_file,
        extra="drop" if extra is ExtraChoice.drop else "notes",
    )


@import_app.command("csv")
def csv_command(
    file: CsvFile,
    *,
    dry_run: DryRun = False,
    client: ClientRef = None,
    client_name: ClientName = None,
    encoding: Encoding = None,
    delimiter: Delimiter = None,
    map_: Maps = None,
    mapping: MappingFile = None,
    extra: Extra = ExtraChoice.notes,
    on_existing: OnExisting = OnExistingChoice.skip,
    restart: Restart = False,
    consistency_window: ConsistencyWindow = 5.0,
    concurrency: Concurrency = None,
    max_attempts: MaxAttempts = 5,
    state: StateUrl = None,
    base_url: BaseUrl = None,
    insecure: Insecure = False,
    api_key: ApiKey = None,
    user_id: UserId = None,
    auth_file: AuthFile = None,
    rate: Rate = None,
    rejects: Rejects = None,
    summary_json: SummaryJson = None,
    log_format: LogFormat = LogFormatChoice.plain,
    verbose: Verbose = False,
    quiet: Quiet = False,
) -> None:
    """Import leads from a CSV file: every row is sent once, or rejected with a reason.

    Rows are checkpointed in the state store: re-running the same command resumes the job
    (nothing lost, nothing duplicated, even after a kill). With --dry-run nothing is sent:
    the command prints rows read, accepted, rejected by reason, the column mapping it chose
    and three sample payloads.

    Example: lgetl import csv leads.csv --client acme-corp --rejects rejects.csv
    """
    leave_cores_to_workers()  # before polars loads (csv_options imports it)
    options = csv_options(
        encoding=encoding, delimiter=delimiter, maps=map_, mapping_file=mapping, extra=extra
    )
    if dry_run:
        dry_run_csv(file, options, client=client, rejects=rejects, summary_json=summary_json)
        return
    if bool(client) == bool(client_name):
        raise ConfigError("say where to import: exactly one of --client REF or --client-name NAME")
    from etl.cli.import_runner import run_csv_import_command
    from pipelines.csv_import import ImportOptions

    connection = Connection(base_url, insecure, api_key, user_id, auth_file, rate)
    setup(log_format, verbose=verbose)
    settings = connection.settings()
    run_csv_import_command(
        file,
        options,
        ImportOptions(
            client_ref=client,
            client_name=client_name,
            on_existing="update" if on_existing is OnExistingChoice.update else "skip",
            restart=restart,
            consistency_window=consistency_window,
            concurrency=concurrency,
            max_attempts=max_attempts,
            rate=settings.rate,
        ),
        settings=settings,
        state=state,
        rejects=rejects,
        summary_json=summary_json,
        log_format=log_format,
        quiet=quiet,
    )


@import_app.command("hubspot")
def hubspot_command(
    *,
    client: ClientRef = None,
    client_name: ClientName = None,
    incremental: Incremental = False,
    hubspot_base_url: HubSpotBaseUrl = None,
    hubspot_token_env: HubSpotTokenEnv = None,
    on_existing: Upsert = None,
    restart: HubSpotRestart = False,
    consistency_window: ConsistencyWindow = 5.0,
    concurrency: Concurrency = None,
    max_attempts: MaxAttempts = 5,
    state: StateUrl = None,
    base_url: BaseUrl = None,
    insecure: Insecure = False,
    api_key: ApiKey = None,
    user_id: UserId = None,
    auth_file: AuthFile = None,
    rate: Rate = None,
    rejects: Rejects = None,
    summary_json: SummaryJson = None,
    log_format: LogFormat = LogFormatChoice.plain,
    verbose: Verbose = False,
    quiet: Quiet = False,
) -> None:
    """Import HubSpot contacts (with their primary company) as leads, exactly once.

    The token comes from HUBSPOT_ACCESS_TOKEN (or --hubspot-token-env).
    Extraction and loading are checkpointed: re-running the same command
    resumes the job. A complete run stores the newest lastmodifieddate, so
    that --incremental runs (nightly, from cron) read only what changed:
    new contacts are created, changed ones updated, unchanged ones skipped.

    Example: lgetl import hubspot --client acme --incremental --summary-json hubspot.json
    """
    if bool(client) == bool(client_name):
        raise ConfigError("say where to import: exactly one of --client REF or --client-name NAME")
    from etl.cli.import_runner import run_hubspot_import_command
    from etl.sources.hubspot_settings import hubspot_settings
    from pipelines.csv_import import ImportOptions
    from pipelines.hubspot_import import HubSpotImportOptions

    hubspot = hubspot_settings(base_url=hubspot_base_url, token_env=hubspot_token_env)
    connection = Connection(base_url, insecure, api_key, user_id, auth_file, rate)
    setup(log_format, verbose=verbose)
    settings = connection.settings()
    run_hubspot_import_command(
        ImportOptions(
            client_ref=client,
            client_name=client_name,
            on_existing=on_existing_rule(on_existing, incremental=incremental),
            restart=restart,
            consistency_window=consistency_window,
            concurrency=concurrency,
            max_attempts=max_attempts,
            rate=settings.rate,
        ),
        HubSpotImportOptions(incremental=incremental),
        settings=settings,
        hubspot_settings=hubspot,
        state=state,
        rejects=rejects,
        summary_json=summary_json,
        log_format=log_format,
        quiet=quiet,
    )


def dry_run_csv(
    path: Path,
    options: CsvOptions,
    *,
    client: str | None,
    rejects: Path | None,
    summary_json: Path | None,
) -> dict[str, Any]:
    """Prepare the file and report on it (no network); return the summary written."""
    from pipelines.csv_prepare import iter_payloads, prepare_csv, write_rejects

    prepared = prepare_csv(path, options, keep_accepted=_SAMPLES)
    summary: dict[str, Any] = {"dry_run": True, "client": client, **prepared.summary()}
    samples = next(iter_payloads(prepared.accepted, batch=_SAMPLES), [])
    for line in _report(prepared, summary, [payload for _, _, payload in samples]):
        typer.echo(line)
    if rejects is not None:
        write_rejects(prepared.rejected, rejects)
        typer.echo(f"rejected rows written to {rejects}")
    if summary_json is not None:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _report(
    prepared: Prepared, summary: dict[str, Any], samples: list[dict[str, object]]
) -> list[str]:
    lines = [
        f"file: {prepared.path} (encoding {prepared.encoding}, delimiter {prepared.delimiter!r})",
        f"rows read: {prepared.rows_read:,}",
        f"accepted: {prepared.accepted_rows:,}",
        f"rejected: {prepared.rejected.height:,}",
    ]
    if prepared.slow_path:
        from pipelines.csv_prepare import SLOW_PATH_NOTE

        lines.insert(1, f"note: {SLOW_PATH_NOTE}")
    lines += [f"  {reason}: {count:,}" for reason, count in summary["rejected"].items()]
    lines.append("mapping:")
    for column, target in prepared.mapping.items():
        note = prepared.shadowed.get(column)
        suffix = f"  ({note} already mapped from another column)" if note else ""
        lines.append(f"  {column} -> {target}{suffix}")
    lines.append(f"sample payloads ({len(samples)}; client_id is added at import time):")
    lines += [json.dumps(payload, ensure_ascii=False) for payload in samples]
    target = f" into client {summary['client']!r}" if summary["client"] else ""
    lines.append(f"dry run: nothing was sent{target}.")
    return lines


def register(app: typer.Typer) -> None:
    """Attach ``lgetl import``."""
    app.add_typer(import_app, name="import")
