"""Root of the ``lgetl`` command: registers every command group and maps errors to exit codes.

Commands are thin (STYLE.md): parse options, build objects, call one pipeline or library
function. Heavy libraries (polars, pandera, sqlalchemy, httpx) are imported inside the
command functions so ``lgetl --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

from etl.allocator import configure_allocator
from etl.engine import prefer_in_memory_engine
from etl.errors import EtlError


class _ErrorMappingGroup(TyperGroup):
    """Turns :class:`EtlError` into one red line on stderr plus its exit code."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: ctx is its Context
        try:
            return super().invoke(ctx)
        except EtlError as exc:
            typer.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            typer.secho("interrupted", fg="red", err=True)
            ctx.exit(130)


app = typer.Typer(
    name="lgetl",
    cls=_ErrorMappingGroup,
    help="Resumable, exactly-once import/export for the LeadGenius Pro API.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Resumable, exactly-once import/export for the LeadGenius Pro API."""


@app.command("version")
def version() -> None:
    """Print the installed version.

    Example: lgetl version
    """
    from etl import __version__

    typer.echo(f"lgetl {__version__}")


#: Command modules under ``etl.cli``; each defines ``register(app)`` and owns its commands.
_COMMAND_MODULES: tuple[str, ...] = (
    "auth",
    "clients",
    "leads",
    "api",
    "sandbox",
    "export",
    "imports",
    "jobs",
)


def _register() -> None:
    """Attach the command modules."""
    for name in _COMMAND_MODULES:
        importlib.import_module(f"etl.cli.{name}").register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    configure_allocator()  # before any command imports polars
    prefer_in_memory_engine()
    app(prog_name="lgetl")


if __name__ == "__main__":  # pragma: no cover
    main()
