"""The credentials file is vendor-compatible, private (0600) and replaced atomically."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from etl.client.credentials import (
    auth_file_path,
    read_credentials,
    remove_tokens,
    update_credentials,
    write_credentials,
)
from etl.errors import ConfigError


def test_written_file_is_owner_only(tmp_path: Path) -> None:
    """Mode 0600, even when an older file was world-readable."""
    path = tmp_path / "auth.json"
    path.write_text("{}")
    path.chmod(0o644)
    write_credentials(path, {"token": "t", "email": "a@b.co"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"token": "t", "email": "a@b.co"}


def test_update_keeps_unknown_keys_and_leaves_no_temp_files(tmp_path: Path) -> None:
    """Rewriting tokens preserves api_key and vendor keys; the swap leaves nothing behind."""
    path = tmp_path / "auth.json"
    write_credentials(path, {"token": "old", "api_key": "lgp_x", "vendor": 1})
    update_credentials(path, {"token": "new", "id_token": None})
    assert read_credentials(path) == {"token": "new", "api_key": "lgp_x", "vendor": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["auth.json"]


def test_logout_removes_the_session_but_keeps_an_api_key(tmp_path: Path) -> None:
    """Tokens go; a stored API key stays; a file with nothing left is deleted."""
    path = tmp_path / "auth.json"
    write_credentials(path, {"token": "t", "refresh_token": "r", "api_key": "lgp_x"})
    assert remove_tokens(path) is True
    assert read_credentials(path) == {"api_key": "lgp_x"}
    other = tmp_path / "other.json"
    write_credentials(other, {"token": "t", "email": "a@b.co"})
    assert remove_tokens(other) is True
    assert not other.exists()
    assert remove_tokens(other) is False


def test_a_corrupt_file_is_a_config_error_with_a_fix(tmp_path: Path) -> None:
    """Not JSON: say to delete it and log in again."""
    path = tmp_path / "auth.json"
    path.write_text("[1, 2")
    with pytest.raises(ConfigError, match="lgetl auth login"):
        read_credentials(path)


def test_path_comes_from_flag_then_env_then_home(tmp_path: Path) -> None:
    """--auth-file, LEADGENIUS_AUTH_FILE, ~/.leadgenius_auth.json."""
    env = {"HOME": "/h", "LEADGENIUS_AUTH_FILE": "/e/auth.json"}
    assert auth_file_path(env, "/f/auth.json") == Path("/f/auth.json")
    assert auth_file_path(env) == Path("/e/auth.json")
    assert auth_file_path({"HOME": "/h"}) == Path("/h/.leadgenius_auth.json")
