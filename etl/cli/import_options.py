"""Options shared by the import commands (``lgetl import csv``, ``lgetl import hubspot``):
the target client and how rows are loaded, checkpointed and reported."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

_OUTPUT = "Output"

ClientRef = Annotated[
    str | None,
    typer.Option("--client", help="Target client: slug, name or id.", show_default=False),
]
_LOADING = "Loading"


class OnExistingChoice(StrEnum):
    """``--on-existing`` values."""

    skip = "skip"
    update = "update"


ClientName = Annotated[
    str | None,
    typer.Option(
        "--client-name",
        help="Target client by name; created if no client has it (once, even across a crash).",
        show_default=False,
    ),
]
OnExisting = Annotated[
    OnExistingChoice,
    typer.Option(
        "--on-existing",
        help="Identities already imported into this client: skip them, or update them (PUT).",
        rich_help_panel=_LOADING,
    ),
]
Restart = Annotated[
    bool,
    typer.Option(
        "--restart",
        help="Start over when the file changed since an unfinished import into this client.",
        rich_help_panel=_LOADING,
    ),
]
ConsistencyWindow = Annotated[
    float,
    typer.Option(
        "--consistency-window",
        min=0,
        help="Seconds to wait before looking up a lead whose create may have been lost "
        "(the API's search index is eventually consistent).",
        rich_help_panel=_LOADING,
    ),
]
Concurrency = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        min=1,
        max=64,
        help="Requests in flight. Default: from --rate and the observed latency.",
        show_default=False,
        rich_help_panel=_LOADING,
    ),
]
MaxAttempts = Annotated[
    int,
    typer.Option(
        "--max-attempts",
        min=1,
        help="Attempts per row before it is marked failed (`lgetl jobs retry` re-queues).",
        rich_help_panel=_LOADING,
    ),
]
Rejects = Annotated[
    Path | None,
    typer.Option(
        "--rejects",
        help="Write rejected rows here as CSV (source columns + _line, _reason, _detail).",
        show_default=False,
        rich_help_panel=_OUTPUT,
    ),
]
