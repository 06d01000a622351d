"""Settings come from flags and the environment in the documented order, validated, masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.client import (
    DEFAULT_BASE_URL,
    ApiKeyAuth,
    BearerAuth,
    ClientSettings,
    PasswordAuth,
    StoredCredentials,
    resolve_settings,
)
from etl.errors import ConfigError

KEY = "lgp_settingstestkey0001"
TOKEN = "tok-settings-0001"


def _file(tmp_path: Path, **data: str) -> Path:
    path = tmp_path / "auth.json"
    path.write_text(json.dumps(data))
    return path


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment whose default credentials file does not exist."""
    return {"HOME": str(tmp_path / "home"), **extra}


def test_api_key_from_env_beats_token_file_and_password(tmp_path: Path) -> None:
    """Order: API key, then token, then credentials file, then email/password."""
    path = _file(tmp_path, token=TOKEN, refresh_token="r")
    env = _env(
        tmp_path,
        LEADGENIUS_API_KEY=KEY,
        LEADGENIUS_USER_ID="u1",
        LEADGENIUS_TOKEN=TOKEN,
        LEADGENIUS_AUTH_FILE=str(path),
        LEADGENIUS_EMAIL="a@b.co",
        LEADGENIUS_PASSWORD="pw-123456",
    )
    assert resolve_settings(env=env).auth == ApiKeyAuth(KEY, "u1")
    del env["LEADGENIUS_API_KEY"]
    assert resolve_settings(env=env).auth == BearerAuth(TOKEN)
    del env["LEADGENIUS_TOKEN"]
    assert resolve_settings(env=env).auth == StoredCredentials(path)
    del env["LEADGENIUS_AUTH_FILE"]
    assert resolve_settings(env=env).auth == PasswordAuth("a@b.co", "pw-123456")


def test_vendor_variable_names_are_accepted(tmp_path: Path) -> None:
    """LGP_API_KEY / LGP_USER_ID work like the LEADGENIUS_ names."""
    settings = resolve_settings(env=_env(tmp_path, LGP_API_KEY=KEY, LGP_USER_ID="u2"))
    assert settings.auth == ApiKeyAuth(KEY, "u2")


def test_explicit_flags_beat_the_environment(tmp_path: Path) -> None:
    """--api-key given on the command line wins over LEADGENIUS_TOKEN."""
    env = _env(tmp_path, LEADGENIUS_TOKEN=TOKEN)
    settings = resolve_settings(api_key=KEY, user_id="u3", env=env)
    assert settings.auth == ApiKeyAuth(KEY, "u3")
    assert settings.source == "--api-key"


def test_api_key_user_id_may_come_from_the_credentials_file(tmp_path: Path) -> None:
    """The vendor's file holds user_id; an env API key can use it."""
    path = _file(tmp_path, token=TOKEN, user_id="from-file")
    env = _env(tmp_path, LEADGENIUS_API_KEY=KEY, LEADGENIUS_AUTH_FILE=str(path))
    assert resolve_settings(env=env).auth == ApiKeyAuth(KEY, "from-file")


def test_api_key_without_user_id_is_a_config_error(tmp_path: Path) -> None:
    """A key without x-user-id would be a 401: refuse before sending."""
    with pytest.raises(ConfigError, match="LEADGENIUS_USER_ID"):
        resolve_settings(env=_env(tmp_path, LEADGENIUS_API_KEY=KEY))


def test_no_credentials_at_all_says_how_to_get_some(tmp_path: Path) -> None:
    """Nothing configured: exit 2 naming `lgetl auth login`."""
    with pytest.raises(ConfigError, match="lgetl auth login") as info:
        resolve_settings(env=_env(tmp_path))
    assert info.value.exit_code == 2


def test_default_credentials_file_is_in_home(tmp_path: Path) -> None:
    """~/.leadgenius_auth.json is used when it exists, with its base_url."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".leadgenius_auth.json").write_text(
        json.dumps({"token": TOKEN, "base_url": "http://127.0.0.1:9"})
    )
    settings = resolve_settings(env={"HOME": str(home)})
    assert settings.auth == StoredCredentials(home / ".leadgenius_auth.json")
    assert settings.base_url == "http://127.0.0.1:9"


def test_base_url_flag_beats_env_beats_default(tmp_path: Path) -> None:
    """--base-url, then LEADGENIUS_BASE_URL, then https://last.leadgenius.app."""
    env = _env(tmp_path, LEADGENIUS_TOKEN=TOKEN)
    assert resolve_settings(env=env).base_url == DEFAULT_BASE_URL
    env["LEADGENIUS_BASE_URL"] = "https://staging.example.com/"
    assert resolve_settings(env=env).base_url == "https://staging.example.com"
    assert resolve_settings(base_url="http://localhost:1", env=env).base_url == "http://localhost:1"


@pytest.mark.parametrize("url", ["http://api.example.com", "http://10.0.0.5:8080"])
def test_plain_http_to_a_remote_host_needs_insecure(tmp_path: Path, url: str) -> None:
    """Credentials never cross the network in clear text unless --insecure."""
    env = _env(tmp_path, LEADGENIUS_TOKEN=TOKEN)
    with pytest.raises(ConfigError, match="--insecure"):
        resolve_settings(base_url=url, env=env)
    assert resolve_settings(base_url=url, insecure=True, env=env).base_url == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "http://localhost", "http://[::1]:80"])
def test_plain_http_to_loopback_is_allowed(tmp_path: Path, url: str) -> None:
    """The local sandbox needs no --insecure."""
    env = _env(tmp_path, LEADGENIUS_TOKEN=TOKEN)
    assert resolve_settings(base_url=url, env=env).base_url == url


def test_settings_are_validated_when_built_directly() -> None:
    """ClientSettings itself refuses bad values before any request."""
    auth = BearerAuth(TOKEN)
    with pytest.raises(ConfigError):
        ClientSettings(base_url="ftp://x", auth=auth)
    with pytest.raises(ConfigError):
        ClientSettings(base_url="https://x", auth=auth, rate=-1)
    with pytest.raises(ConfigError):
        ClientSettings(base_url="https://x", auth=ApiKeyAuth(KEY, ""))


def test_repr_never_shows_secrets(tmp_path: Path) -> None:
    """Settings and auth objects print without their key, token or password."""
    env = _env(tmp_path, LEADGENIUS_EMAIL="a@b.co", LEADGENIUS_PASSWORD="hunter2-pass")
    text = repr(resolve_settings(env=env))
    text += repr(ApiKeyAuth(KEY, "u")) + repr(BearerAuth(TOKEN, "refresh-secret-1"))
    for secret in ("hunter2-pass", KEY, TOKEN, "refresh-secret-1"):
        assert secret not in text
    assert "a@b.co" in text


def test_relogin_credentials_come_from_the_environment(tmp_path: Path) -> None:
    """A token source keeps LEADGENIUS_EMAIL/PASSWORD for logging in again."""
    env = _env(
        tmp_path, LEADGENIUS_TOKEN=TOKEN, LEADGENIUS_EMAIL="a@b.co", LEADGENIUS_PASSWORD="pw-1234"
    )
    assert resolve_settings(env=env).relogin == PasswordAuth("a@b.co", "pw-1234")
