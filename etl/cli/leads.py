"""``lgetl leads list --client REF``: page through a client's leads."""

from __future__ import annotations

import sys
from typing import Annotated, Any

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
    UserId,
    Verbose,
    password_prompt,
    run,
    setup,
)

leads_app = typer.Typer(help="Read a client's leads.", no_args_is_help=True, add_completion=False)

_COLUMNS = ("id", "email", "firstName", "lastName", "companyName", "title")


@leads_app.command("list")
def list_leads(
    *,
    client: Annotated[
        str, typer.Option("--client", help="Client slug, UUID or exact name.", show_default=False)
    ],
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Stop after this many leads (default: all)."),
    ] = None,
    page_size: Annotated[
        int, typer.Option("--page-size", min=1, max=1000, help="Leads per API page.")
    ] = 1000,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON array of the full lead records.")
    ] = False,
    base_url: BaseUrl = None,
    insecure: Insecure = False,
    api_key: ApiKey = None,
    user_id: UserId = None,
    auth_file: AuthFile = None,
    rate: Rate = None,
    log_format: LogFormat = LogFormatChoice.plain,
    verbose: Verbose = False,
) -> None:
    """List a client's leads, every page (the API's ``total`` is never trusted).

    JSON output is streamed page by page, so it works for clients of any size.

    Example: lgetl leads list --client acme-corp --json --limit 500
    """
    setup(log_format, verbose=verbose)
    from etl.client import LeadGeniusClient

    settings = Connection(base_url, insecure, api_key, user_id, auth_file, rate).settings()
    rows: list[dict[str, Any]] = []

    async def go() -> tuple[str, int]:
        import orjson

        count = 0
        out = sys.stdout
        async with LeadGeniusClient(settings, password_prompt=password_prompt()) as api:
            ref = await api.resolve_client(client)
            size = min(page_size, limit) if limit else page_size
            if json_output:
                out.write("[")
            async for page in api.iter_leads(ref.slug, page_size=size):
                for lead in page:
                    if limit is not None and count >= limit:
                        break
                    if json_output:
                        out.write(("\n" if count == 0 else ",\n") + orjson.dumps(lead).decode())
                    else:
                        rows.append(lead)
                    count += 1
                if limit is not None and count >= limit:
                    break
            if json_output:
                out.write("\n]\n" if count else "]\n")
                out.flush()
        return ref.slug, count

    slug, count = run(go())
    if json_output:
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*_COLUMNS)
    for lead in rows:
        table.add_row(*(str(lead.get(c) or "") for c in _COLUMNS))
    Console(soft_wrap=True).print(table)
    typer.echo(f"{count} lead(s) in client {slug}")


def register(app: typer.Typer) -> None:
    """Attach ``lgetl leads``."""
    app.add_typer(leads_app, name="leads")
