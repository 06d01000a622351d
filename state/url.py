"""Where the state store lives: ``--state`` / ``LGETL_STATE`` values to SQLAlchemy URLs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import PurePosixPath

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from state.errors import StateUnavailable

ENV_VAR = "LGETL_STATE"
DEFAULT_FILE = "lgetl/state.sqlite"

# Bare "postgresql://" would pick psycopg2, which is not installed; "postgres://" is the
# Heroku-style spelling. Both mean psycopg 3 here.
_DRIVER_ALIASES = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


def resolve_state_url(value: str | None, env: Mapping[str, str]) -> str:
    """Turn a ``--state`` value (or ``LGETL_STATE``, or the default) into a SQLAlchemy URL.

    A value containing ``://`` is a URL; anything else is a SQLite file path (``~`` is
    expanded with ``env["HOME"]``, relative paths are made absolute). Without a value the
    default is ``$XDG_STATE_HOME/lgetl/state.sqlite``, else ``~/.local/state/lgetl/state.sqlite``.
    No directory is created here: :func:`state.open_store` does that.

    Args:
        value: the ``--state`` option, or None when not given.
        env: the environment (``os.environ`` in production).

    Returns:
        A URL string such as ``sqlite:////home/me/.local/state/lgetl/state.sqlite``.

    Raises:
        StateUnavailable: the value looks like a URL but SQLAlchemy cannot parse it.

    Example:
        >>> resolve_state_url(None, {"HOME": "/home/me"})
        'sqlite:////home/me/.local/state/lgetl/state.sqlite'
    """
    chosen = value if value else env.get(ENV_VAR) or None
    if chosen is None:
        return _sqlite_url(_default_path(env))
    if "://" in chosen:
        return _normalize_url(chosen)
    return _sqlite_url(_expand_path(chosen, env))


def mask_url(url: str | URL) -> str:
    """Return ``url`` with its password replaced by ``***`` (for messages and reprs)."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except (ArgumentError, ValueError):
        return "<unparseable URL>"
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: str) -> str | None:
    """The file path of a SQLite URL, or None for other backends and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _default_path(env: Mapping[str, str]) -> str:
    xdg = env.get("XDG_STATE_HOME", "")
    # The XDG spec says relative values are invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return str(PurePosixPath(xdg) / DEFAULT_FILE)
    return str(PurePosixPath(_home(env)) / ".local" / "state" / DEFAULT_FILE)


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or os.path.expanduser("~")


def _expand_path(path: str, env: Mapping[str, str]) -> str:
    if path == "~" or path.startswith("~/"):
        path = _home(env) + path[1:]
    return os.path.abspath(path)


def _sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


def _normalize_url(value: str) -> str:
    try:
        parsed = make_url(value)
    except (ArgumentError, ValueError):
        raise StateUnavailable(
            f"--state / {ENV_VAR} value is not a valid SQLAlchemy URL; "
            "give a file path or a URL like postgresql+psycopg://user@host/db"
        ) from None
    alias = _DRIVER_ALIASES.get(parsed.drivername)
    if alias:
        parsed = parsed.set(drivername=alias)
    return parsed.render_as_string(hide_password=False)
