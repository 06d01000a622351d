"""`lgetl leads list --client REF` pages through every lead, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
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


@pytest.fixture
def acme(sandbox: Any) -> dict[str, Any]:
    """Client acme-corp with 25 leads (created over plain HTTP, not through the client)."""
    http = sandbox.http(sandbox.demo, api_key=True)
    client = http.post("/api/clients", json={"clientName": "Acme Corp"}).json()["client"]
    for i in range(25):
        lead = {"client_id": "acme-corp", "email": f"p{i:02d}@acme.example", "firstName": f"P{i}"}
        assert http.post("/api/leads", json=lead).status_code == httpx.codes.CREATED
    return client


def test_json_lists_every_lead_across_pages(env: dict[str, str], acme: dict[str, Any]) -> None:
    """Page size 10 over 25 leads: all 25 come out as one JSON array."""
    result = CliRunner().invoke(
        app, ["leads", "list", "--client", "acme-corp", "--json", "--page-size", "10"], env=env
    )
    assert result.exit_code == 0, result.output
    leads = json.loads(result.stdout)
    assert sorted(lead["email"] for lead in leads) == [f"p{i:02d}@acme.example" for i in range(25)]


def test_limit_stops_early(env: dict[str, str], acme: dict[str, Any]) -> None:
    """--limit 7 prints exactly seven leads."""
    result = CliRunner().invoke(
        app, ["leads", "list", "--client", "acme-corp", "--json", "--limit", "7"], env=env
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 7


def test_a_client_uuid_is_resolved_to_its_slug_with_a_warning(
    env: dict[str, str], acme: dict[str, Any]
) -> None:
    """Bug 1 guard: --client <UUID> lists the slug's leads and says so on stderr."""
    result = CliRunner().invoke(app, ["leads", "list", "--client", acme["id"]], env=env)
    assert result.exit_code == 0, result.output
    assert "25 lead(s) in client acme-corp" in result.stdout
    assert "UUID" in result.stderr


def test_an_empty_client_prints_an_empty_array(sandbox: Any, env: dict[str, str]) -> None:
    """No leads: valid JSON, []."""
    sandbox.http(sandbox.demo, api_key=True).post("/api/clients", json={"clientName": "Empty"})
    result = CliRunner().invoke(app, ["leads", "list", "--client", "Empty", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
