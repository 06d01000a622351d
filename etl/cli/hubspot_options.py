"""Options of ``lgetl import hubspot`` that only the HubSpot import has (the loading,
connection and output options are shared with ``lgetl import csv``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

import typer

_HUBSPOT = "HubSpot"


class UpsertChoice(StrEnum):
    """``--on-existing`` values of ``import hubspot`` (its default depends on the mode)."""

    skip = "skip"
    update = "update"


Incremental = Annotated[
    bool,
    typer.Option(
        "--incremental",
        help="Read only the contacts modified since the last complete run (its high-water "
        "mark for this portal and client, minus 5 minutes); without one, read everything.",
        rich_help_panel=_HUBSPOT,
    ),
]
HubSpotBaseUrl = Annotated[
    str | None,
    typer.Option(
        "--hubspot-base-url",
        help="HubSpot API root. Default: https://api.hubapi.com (the sandbox: "
        "http://127.0.0.1:PORT/hubspot).",
        show_default=False,
        rich_help_panel=_HUBSPOT,
    ),
]
HubSpotTokenEnv = Annotated[
    str | None,
    typer.Option(
        "--hubspot-token-env",
        help="NAME of the environment variable holding the private app token (never the "
        "token itself). Default: HUBSPOT_ACCESS_TOKEN.",
        show_default=False,
        rich_help_panel=_HUBSPOT,
    ),
]
HubSpotRestart = Annotated[
    bool,
    typer.Option(
        "--restart",
        help="Abandon an unfinished HubSpot import into this client (e.g. of another "
        "portal) and start the one asked for.",
        rich_help_panel="Loading",
    ),
]
Upsert = Annotated[
    UpsertChoice | None,
    typer.Option(
        "--on-existing",
        help="Identities already imported into this client: skip them, or update them (PUT) "
        "when their data changed. Default: skip for a full run, update with --incremental.",
        show_default=False,
        rich_help_panel="Loading",
    ),
]


def on_existing_rule(
    choice: UpsertChoice | None, *, incremental: bool
) -> Literal["skip", "update"]:
    """``--on-existing`` as given, else ``update`` for ``--incremental`` and ``skip`` for
    a full run (a nightly sync is an upsert; a first import only adds)."""
    if choice is None:
        return "update" if incremental else "skip"
    return "update" if choice is UpsertChoice.update else "skip"
