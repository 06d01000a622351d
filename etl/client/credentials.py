"""The credentials file shared with the vendor's scripts (``~/.leadgenius_auth.json``).

Shape: ``{"token", "id_token", "refresh_token", "email", "user_id", "base_url"}`` plus an
optional ``api_key``; keys this project does not know are preserved on rewrite. The file is
always written whole to a temporary file in the same directory with mode 0600 and then
renamed over the old one, so a crash or a concurrent reader never sees half a file and the
secrets are never readable by other users, even for an instant.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from etl.errors import ConfigError

DEFAULT_AUTH_FILE = "~/.leadgenius_auth.json"

#: Keys holding a bearer session; ``auth logout`` removes exactly these.
TOKEN_KEYS: tuple[str, ...] = ("token", "id_token", "refresh_token")


def auth_file_path(env: Mapping[str, str], explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the credentials file is: the explicit path, ``LEADGENIUS_AUTH_FILE``, or the default.

    Args:
        env: the environment to read ``LEADGENIUS_AUTH_FILE`` and ``HOME`` from.
        explicit: a path given on the command line, if any.
    """
    raw = str(explicit) if explicit else env.get("LEADGENIUS_AUTH_FILE") or DEFAULT_AUTH_FILE
    if raw.startswith("~"):
        home = env.get("HOME") or str(Path.home())
        raw = home + raw[1:]
    return Path(raw)


def read_credentials(path: Path) -> dict[str, Any]:
    """Read the credentials file; a missing file reads as ``{}``.

    Raises:
        ConfigError: the file exists but is not a JSON object.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(
            f"cannot read the credentials file {path}: {exc.strerror}; fix its permissions "
            "or run `lgetl auth login` again"
        ) from None
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise ConfigError(
            f"the credentials file {path} is not a JSON object; delete it and run "
            "`lgetl auth login` again"
        )
    return data


def write_credentials(path: Path, data: Mapping[str, Any]) -> None:
    """Replace the credentials file atomically with ``data``, readable by the owner only.

    Args:
        path: the credentials file.
        data: the whole new content (keys with ``None`` values are dropped).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in data.items() if v is not None}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)  # before any secret is written
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(clean, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def update_credentials(path: Path, changes: Mapping[str, Any]) -> None:
    """Read-modify-write the credentials file; a ``None`` value removes that key.

    Args:
        path: the credentials file (created if missing).
        changes: keys to set (or remove with ``None``); other keys are preserved.
    """
    data = read_credentials(path)
    data.update(changes)
    write_credentials(path, data)


def remove_tokens(path: Path) -> bool:
    """Forget the bearer session in the credentials file (``auth logout``).

    Other keys (``api_key``, ``email``, ``base_url``...) stay; a file left with nothing but
    non-secret hints is deleted.

    Returns:
        ``True`` if there was a session to forget.
    """
    data = read_credentials(path)
    had = any(data.get(k) for k in TOKEN_KEYS)
    for key in TOKEN_KEYS:
        data.pop(key, None)
    if data.get("api_key"):
        write_credentials(path, data)
    elif path.exists():
        path.unlink()
    return had
