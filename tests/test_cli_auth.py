"""`lgetl auth login|status|logout`: a private credentials file, and no token ever shown."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl.cli import app

_VARS = (
    "LEADGENIUS_API_KEY", "LGP_API_KEY", "LEADGENIUS_USER_ID", "LGP_USER_ID", "LEADGENIUS_TOKEN",
    "LEADGENIUS_AUTH_FILE", "LEADGENIUS_EMAIL", "LEADGENIUS_PASSWORD", "LEADGENIUS_BASE_URL",
)  # fmt: skip


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> dict[str, str]:
    """A clean environment: HOME in tmp, no LeadGenius variables, base URL = the sandbox."""
    for name in _VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return {"LEADGENIUS_BASE_URL": sandbox.base_url}


def _login(sandbox: Any, env: dict[str, str]) -> Any:
    demo = sandbox.demo
    return CliRunner().invoke(
        app,
        ["auth", "login", "--email", demo.email],
        env={**env, "LEADGENIUS_PASSWORD": demo.password},
    )


def test_login_saves_a_private_vendor_compatible_file(
    sandbox: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """Tokens go to ~/.leadgenius_auth.json (0600), never to the terminal."""
    result = _login(sandbox, env)
    assert result.exit_code == 0, result.output
    path = tmp_path / ".leadgenius_auth.json"
    saved = json.loads(path.read_text())
    assert set(saved) >= {"token", "id_token", "refresh_token", "email", "user_id", "base_url"}
    assert saved["user_id"] == sandbox.demo.user_id
    assert saved["base_url"] == sandbox.base_url
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for secret in (saved["token"], saved["refresh_token"], sandbox.demo.password):
        assert secret not in result.output
    assert "logged in as demo@example.com" in result.output


def test_status_shows_who_company_and_expiry_but_not_the_token(
    sandbox: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """After login, status names the user, the company (from a client) and the expiry."""
    assert _login(sandbox, env).exit_code == 0
    runner = CliRunner()
    assert runner.invoke(app, ["clients", "create", "Acme Corp"], env=env).exit_code == 0
    result = runner.invoke(app, ["auth", "status"], env=env)
    assert result.exit_code == 0, result.output
    assert "demo@example.com" in result.output
    assert sandbox.demo.company_id in result.output
    assert "expires:" in result.output and "min" in result.output
    token = json.loads((tmp_path / ".leadgenius_auth.json").read_text())["token"]
    assert token not in result.output


def test_status_with_an_api_key_from_the_environment(sandbox: Any, env: dict[str, str]) -> None:
    """LEADGENIUS_API_KEY + LEADGENIUS_USER_ID are used first; the key is not printed."""
    demo = sandbox.demo
    key_env = {**env, "LEADGENIUS_API_KEY": demo.api_key, "LEADGENIUS_USER_ID": demo.user_id}
    result = CliRunner().invoke(app, ["auth", "status", "--json"], env=key_env)
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["auth"] == "api_key" and info["sub"] == demo.user_id
    assert demo.api_key not in result.output


def test_status_without_credentials_exits_2_with_a_hint(env: dict[str, str]) -> None:
    """No credentials anywhere: one line saying how to log in, exit 2."""
    result = CliRunner().invoke(app, ["auth", "status"], env=env)
    assert result.exit_code == 2
    assert "lgetl auth login" in result.stderr
    assert "Traceback" not in result.output


def test_wrong_password_exits_2_without_echoing_it(sandbox: Any, env: dict[str, str]) -> None:
    """A refused login is an auth error; the password is not repeated."""
    result = CliRunner().invoke(
        app,
        ["auth", "login", "--email", sandbox.demo.email, "--password", "not-the-password"],
        env=env,
    )
    assert result.exit_code == 2
    assert "refused" in result.stderr
    assert "not-the-password" not in result.output


def test_logout_forgets_the_session(sandbox: Any, env: dict[str, str], tmp_path: Path) -> None:
    """After logout the file holds no token and status asks to log in again."""
    assert _login(sandbox, env).exit_code == 0
    runner = CliRunner()
    result = runner.invoke(app, ["auth", "logout"], env=env)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / ".leadgenius_auth.json").exists()
    assert runner.invoke(app, ["auth", "status"], env=env).exit_code == 2


def test_plain_http_to_a_remote_host_is_refused_without_insecure(env: dict[str, str]) -> None:
    """Credentials never go over http to a non-loopback host unless --insecure."""
    result = CliRunner().invoke(
        app,
        ["auth", "login", "--email", "a@b.co", "--password", "pw-123456",
         "--base-url", "http://api.example.com"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--insecure" in result.stderr
