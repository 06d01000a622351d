"""Root of every error this project raises on purpose.

Each layer (client, sources, state, pipelines) defines its own module of errors that
subclass :class:`EtlError`; the CLI turns any of them into one red line and the error's
``exit_code``, never a traceback::

    EtlError                 exit 1: the job is not complete (resumable)
    +-- ConfigError          exit 2: bad usage, bad configuration, bad input file
    +-- Interrupted          exit 130 (SIGINT) / 143 (SIGTERM): stopped cleanly

Messages say what happened *and what to do next*; they never contain secrets.
"""

from __future__ import annotations


class EtlError(Exception):
    """An expected failure, reported to the user as one line with an exit code."""

    exit_code: int = 1


class ConfigError(EtlError):
    """Bad usage, configuration or input: fix the command or the file and run again."""

    exit_code = 2


class Interrupted(EtlError):
    """The job stopped on a signal after committing its state; re-run to resume."""

    def __init__(self, message: str, *, signal_number: int = 2) -> None:
        super().__init__(message)
        self.exit_code = 128 + signal_number
