"""A vendor-style e2e script for the real API passes, unmodified, against `lgetl sandbox`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("leadgenius_e2e.py")


def _run(base_url: str, email: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LGP_BASE_URL": base_url, "LGP_EMAIL": email, "LGP_PASSWORD": password}
    return subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def test_thirdparty_script_passes_against_the_cli_sandbox(cli_sandbox):
    """Default knobs (rate limit 100/min, batch POST not persisting): exit 0, bug 2 noted."""
    running = cli_sandbox()
    result = _run(running.base_url, "demo@example.com", "demo-password")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout
    assert "batch create did not persist" in result.stdout


def test_thirdparty_script_passes_when_batch_create_persists(cli_sandbox):
    """With --batch-persist always the script still passes and cleans the batch leads up."""
    running = cli_sandbox("--batch-persist", "always", "--index-lag-ms", "300")
    result = _run(running.base_url, "other@example.com", "other-password")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "batch create persisted 3 of 3" in result.stdout


def test_thirdparty_script_fails_with_wrong_credentials(cli_sandbox):
    """A failing check makes the script exit non-zero (it can fail)."""
    running = cli_sandbox()
    result = _run(running.base_url, "demo@example.com", "wrong")
    assert result.returncode == 1
    assert "FAILED" in result.stderr
