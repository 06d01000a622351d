"""The ``lgetl`` command line. Only this package imports typer/click/rich-for-CLI."""

from etl.cli.app import app, main

__all__ = ["app", "main"]
