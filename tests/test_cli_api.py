"""`lgetl api METHOD PATH [--data JSON]`: raw authenticated calls, errors as one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl.cli import app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> dict[str, str]:
    """Email/password credentials from the environment, HOME isolated."""
    for name in ("LEADGENIUS_TOKEN", "LEADGENIUS_AUTH_FILE", "LEADGENIUS_API_KEY", "LGP_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return {
        "LEADGENIUS_BASE_URL": sandbox.base_url,
        "LEADGENIUS_EMAIL": sandbox.demo.email,
        "LEADGENIUS_PASSWORD": sandbox.demo.password,
    }


def test_post_then_get_round_trips_json(env: dict[str, str]) -> None:
    """A POST body from --data and a GET with --param both work and print JSON."""
    runner = CliRunner()
    made = runner.invoke(
        app, ["api", "POST", "/api/clients", "-d", '{"clientName": "Acme"}'], env=env
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["client"]["client_id"] == "acme"
    got = runner.invoke(app, ["api", "get", "api/clients", "-p", "clientId=acme"], env=env)
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["client"]["clientName"] == "Acme"


def test_data_can_come_from_a_file(env: dict[str, str], tmp_path: Path) -> None:
    """--data @file.json reads the body from the file."""
    body = tmp_path / "client.json"
    body.write_text('{"clientName": "From File"}')
    result = CliRunner().invoke(app, ["api", "POST", "/api/clients", "-d", f"@{body}"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["client"]["client_id"] == "from-file"


def test_a_server_refusal_exits_non_zero_with_its_message(env: dict[str, str]) -> None:
    """GET /api/leads without client_id: the server's 400 becomes one red line, exit 2."""
    result = CliRunner().invoke(app, ["api", "GET", "/api/leads"], env=env)
    assert result.exit_code == 2
    assert "client_id is required" in result.stderr
    assert "Traceback" not in result.output


def test_invalid_json_data_is_a_usage_error(env: dict[str, str]) -> None:
    """Bad --data is caught before anything is sent."""
    result = CliRunner().invoke(app, ["api", "POST", "/api/clients", "-d", "{nope"], env=env)
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr


def test_paths_outside_the_api_are_refused(env: dict[str, str]) -> None:
    """Only /api/... routes: the raw command is not a generic HTTP client."""
    result = CliRunner().invoke(app, ["api", "GET", "/_sandbox/config"], env=env)
    assert result.exit_code == 2
