"""`lgetl clients list|create|delete` against the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl.cli import app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> dict[str, str]:
    """API-key credentials for the demo account, HOME isolated."""
    for name in ("LEADGENIUS_TOKEN", "LEADGENIUS_AUTH_FILE", "LEADGENIUS_EMAIL", "LGP_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return {
        "LEADGENIUS_BASE_URL": sandbox.base_url,
        "LEADGENIUS_API_KEY": sandbox.demo.api_key,
        "LEADGENIUS_USER_ID": sandbox.demo.user_id,
    }


def test_create_then_list_shows_the_slug(sandbox: Any, env: dict[str, str]) -> None:
    """A created client appears in the list with its slug, name and UUID."""
    runner = CliRunner()
    made = runner.invoke(app, ["clients", "create", "Acme Corp", "--json"], env=env)
    assert made.exit_code == 0, made.output
    client = json.loads(made.stdout)
    assert client["client_id"] == "acme-corp"
    listed = runner.invoke(app, ["clients", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert [c["id"] for c in json.loads(listed.stdout)] == [client["id"]]
    table = runner.invoke(app, ["clients", "list"], env=env)
    assert "acme-corp" in table.stdout and "1 client(s)" in table.stdout


def test_delete_by_name_with_purge_removes_client_and_leads(
    sandbox: Any, env: dict[str, str]
) -> None:
    """Delete accepts the exact name; --purge deletes the client's leads too."""
    runner = CliRunner()
    assert runner.invoke(app, ["clients", "create", "Globex"], env=env).exit_code == 0
    lead = '{"client_id": "globex", "email": "hank@globex.example"}'
    assert runner.invoke(app, ["api", "POST", "/api/leads", "-d", lead], env=env).exit_code == 0
    result = runner.invoke(app, ["clients", "delete", "Globex", "--purge", "--yes"], env=env)
    assert result.exit_code == 0, result.output
    assert "deleted client 'Globex'" in result.stdout
    assert sandbox.admin.leads("globex") == []
    assert json.loads(runner.invoke(app, ["clients", "list", "--json"], env=env).stdout) == []


def test_delete_without_yes_is_refused_when_not_interactive(env: dict[str, str]) -> None:
    """No terminal to confirm on: exit 2 asking for --yes, nothing deleted."""
    runner = CliRunner()
    assert runner.invoke(app, ["clients", "create", "Initech"], env=env).exit_code == 0
    result = runner.invoke(app, ["clients", "delete", "initech"], env=env)
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert "initech" in runner.invoke(app, ["clients", "list", "--json"], env=env).stdout


def test_delete_of_an_unknown_client_suggests_close_matches(env: dict[str, str]) -> None:
    """A typo names the likely client and exits 2."""
    runner = CliRunner()
    assert runner.invoke(app, ["clients", "create", "Umbrella"], env=env).exit_code == 0
    result = runner.invoke(app, ["clients", "delete", "umbrela", "--yes"], env=env)
    assert result.exit_code == 2
    assert "umbrella" in result.stderr
