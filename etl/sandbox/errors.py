"""Errors the sandbox raises on purpose (bad options, port in use)::

    EtlError
    +-- ConfigError
        +-- SandboxConfigError   an option value or admin config change is invalid
    +-- SandboxStartError        the server could not start (port in use, ...)

Errors the *emulated API* answers are HTTP responses, not exceptions: see ``http.py``.
"""

from __future__ import annotations

from etl.errors import ConfigError, EtlError


class SandboxConfigError(ConfigError):
    """A sandbox option is invalid: fix the flag or the admin request and try again."""


class SandboxStartError(EtlError):
    """The sandbox server did not start: the message says which port or host to change."""

    exit_code = 2
