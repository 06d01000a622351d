"""Option definitions shared by every command, so the same flag means the same thing everywhere.

Use the ``Annotated`` aliases as parameter types::

    def cmd(base_url: BaseUrl = None, insecure: Insecure = False, ...) -> None:
        conn = Connection(base_url=base_url, insecure=insecure, ...)
        settings = conn.settings()

Nothing heavy is imported at module level (``lgetl --help`` must stay fast): the client
package is imported inside the helpers.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from etl.client import ClientSettings

T = TypeVar("T")

_CONNECTION = "Connection"
_OUTPUT = "Output"


class LogFormatChoice(StrEnum):
    """``--log-format`` values."""

    plain = "plain"
    json = "json"


BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="API root. Env: LEADGENIUS_BASE_URL. Default: https://last.leadgenius.app.",
        show_default=False,
        rich_help_panel=_CONNECTION,
    ),
]
Insecure = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="Allow sending credentials over plain http to a non-loopback host.",
        rich_help_panel=_CONNECTION,
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="API key (x-api-key). Env: LEADGENIUS_API_KEY or LGP_API_KEY.",
        show_default=False,
        rich_help_panel=_CONNECTION,
    ),
]
UserId = Annotated[
    str | None,
    typer.Option(
        "--user-id",
        help="User id the API key belongs to. Env: LEADGENIUS_USER_ID or LGP_USER_ID.",
        show_default=False,
        rich_help_panel=_CONNECTION,
    ),
]
AuthFile = Annotated[
    Path | None,
    typer.Option(
        "--auth-file",
        help="Credentials file. Env: LEADGENIUS_AUTH_FILE. Default: ~/.leadgenius_auth.json.",
        show_default=False,
        rich_help_panel=_CONNECTION,
    ),
]
Rate = Annotated[
    float | None,
    typer.Option(
        "--rate",
        min=0,
        help="Requests per minute (default 100; 0 = no client-side limit, the server's "
        "advertised limit still applies).",
        show_default=False,
        rich_help_panel=_CONNECTION,
    ),
]
LogFormat = Annotated[
    LogFormatChoice,
    typer.Option(
        "--log-format", help="Log lines on stderr: plain or json.", rich_help_panel=_OUTPUT
    ),
]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log debug details.", rich_help_panel=_OUTPUT)
]
SummaryJson = Annotated[
    Path | None,
    typer.Option(
        "--summary-json",
        help="Also write the end-of-run summary as JSON to this file.",
        show_default=False,
        rich_help_panel=_OUTPUT,
    ),
]
StateUrl = Annotated[
    str | None,
    typer.Option(
        "--state",
        help="State store: a path or a SQLAlchemy URL (postgresql+psycopg://...). "
        "Env: LGETL_STATE. Default: ~/.local/state/lgetl/state.sqlite.",
        show_default=False,
        rich_help_panel=_OUTPUT,
    ),
]
Quiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress output.", rich_help_panel=_OUTPUT),
]
JsonOutput = Annotated[
    bool, typer.Option("--json", help="Print JSON instead of a table.", rich_help_panel=_OUTPUT)
]


@dataclass(frozen=True)
class Connection:
    """The connection flags of one command invocation (``None`` = not given)."""

    base_url: str | None = None
    insecure: bool = False
    api_key: str | None = None
    user_id: str | None = None
    auth_file: Path | None = None
    rate: float | None = None

    def __repr__(self) -> str:
        return f"Connection(base_url={self.base_url!r}, insecure={self.insecure})"

    def settings(self, env: dict[str, str] | None = None) -> ClientSettings:
        """Resolve flags + environment into validated client settings.

        Raises:
            ConfigError: no credentials, bad base URL, plain http without ``--insecure``.
        """
        from etl.client import resolve_settings

        return resolve_settings(
            base_url=self.base_url,
            api_key=self.api_key,
            user_id=self.user_id,
            auth_file=self.auth_file,
            rate=self.rate,
            insecure=self.insecure,
            env=dict(os.environ) if env is None else env,
        )


def setup(log_format: LogFormatChoice = LogFormatChoice.plain, *, verbose: bool = False) -> None:
    """Configure logging for a command (secrets masked)."""
    from etl.logs import setup_logging

    setup_logging(log_format.value, verbose=verbose)


def interactive() -> bool:
    """Whether a user is at a terminal (prompts allowed)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def password_prompt() -> Callable[[str], str] | None:
    """A hidden password prompt when interactive, else ``None`` (never block a cron job)."""
    if not interactive():
        return None

    def ask(text: str) -> str:
        return str(typer.prompt(text, hide_input=True, err=True))

    return ask


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine to completion."""
    return asyncio.run(coro)
