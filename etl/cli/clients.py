"""``lgetl clients list|create|delete``: the account's clients (slug, UUID, name)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from etl.cli.options import (
    ApiKey,
    AuthFile,
    BaseUrl,
    Connection,
    Insecure,
    JsonOutput,
    LogFormat,
    LogFormatChoice,
    Rate,
    UserId,
    Verbose,
    interactive,
    password_prompt,
    run,
    setup,
)
from etl.errors import ConfigError

clients_app = typer.Typer(
    help="List, create and delete clients.", no_args_is_help=True, add_completion=False
)


def _print_json(value: Any) -> None:
    import orjson

    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


@clients_app.command("list")
def list_clients(
    *,
    json_output: JsonOutput = False,
    base_url: BaseUrl = None,
    insecure: Insecure = False,
    api_key: ApiKey = None,
    user_id: UserId = None,
    auth_file: AuthFile = None,
    rate: Rate = None,
    log_format: LogFormat = LogFormatChoice.plain,
    verbose: Verbose = False,
) -> None:
    """List the clients: slug (use it for every lead operation), name and UUID.

    Example: lgetl clients list --json
    """
    setup(log_format, verbose=verbose)
    from etl.client import LeadGeniusClient

    settings = Connection(base_url, insecure, api_key, user_id, auth_file, rate).settings()

    async def go() -> list[dict[str, Any]]:
        async with LeadGeniusClient(settings, password_prompt=password_prompt()) as client:
            return await client.list_clients()

    clients = run(go())
    if json_output:
        _print_json(clients)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("slug (client_id)", "name", "id (UUID)", "created")
    for c in sorted(clients, key=lambda c: str(c.get("client_id"))):
        table.add_row(
            str(c.get("client_id", "")),
            str(c.get("clientName", "")),
            str(c.get("id", "")),
            str(c.get("createdAt", "")),
        )
    Console(soft_wrap=True).print(table)
    typer.echo(f"{len(clients)} client(s)")


@clients_app.command("create")
def create_client(
    *,
    name: Annotated[str, typer.Argument(help="The client's display name.")],
    company_url: Annotated[
        str | None, typer.Option("--company-url", help="The client's website.")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", help="Free text.")] = None,
    json_output: JsonOutput = False,
    base_url: BaseUrl = None,
    insecure: Insecure = False,
    api_key: ApiKey = None,
    user_id: UserId = None,
    auth_file: AuthFile = None,
    rate: Rate = None,
    log_format: LogFormat = LogFormatChoice.plain,
    verbose: Verbose = False,
) -> None:
    """Create a client and print its slug (the ``client_id`` for lead operations).

    Example: lgetl clients create "Acme Corp" --company-url https://acme.example
    """
    setup(log_format, verbose=verbose)
    from etl.client import LeadGeniusClient

    settings = Connection(base_url, insecure, api_key, user_id, auth_file, rate).settings()

    async def go() -> dict[str, Any]:
        async with LeadGeniusClient(settings, password_prompt=password_prompt()) as client:
            return await client.create_client(
                name, company_url=company_url, description=description
            )

    client = run(go())
    if json_output:
        _print_json(client)
        return
    typer.echo(
        f"created client {client.get('clientName')!r}: slug {client.get('client_id')} "
        f"(id {client.get('id')})"
    )


@clients_app.command("delete")
def delete_client(
    *,
    ref: Annotated[str, typer.Argument(help="Slug, UUID or exact name of the client.")],
    purge: Annotated[
        bool,
        typer.Option("--purge", help="Also delete its leads (in batches of 50, then the client)."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    base_url: BaseUrl = None,
    insecure: Insecure = False,
    api_key: ApiKey = None,
    user_id: UserId = None,
    auth_file: AuthFile = None,
    rate: Rate = None,
    log_format: LogFormat = LogFormatChoice.plain,
    verbose: Verbose = False,
) -> None:
    """Delete a client (by slug, UUID or name), optionally with all its leads.

    Example: lgetl clients delete acme-corp --purge --yes
    """
    setup(log_format, verbose=verbose)
    from etl.client import LeadGeniusClient

    settings = Connection(base_url, insecure, api_key, user_id, auth_file, rate).settings()

    async def go() -> str:
        async with LeadGeniusClient(settings, password_prompt=password_prompt()) as client:
            found = await client.resolve_client(ref)
            what = f"client {found.name!r} (slug {found.slug}, id {found.id})"
            if not yes:
                if not interactive():
                    raise ConfigError(f"refusing to delete {what} without --yes")
                extra = " and all its leads" if purge else ""
                typer.confirm(f"Delete {what}{extra}?", abort=True, err=True)
            await client.delete_client(found.id, purge=purge)
            return what

    what = run(go())
    typer.echo(f"deleted {what}" + (" with its leads" if purge else ""))


def register(app: typer.Typer) -> None:
    """Attach ``lgetl clients``."""
    app.add_typer(clients_app, name="clients")
