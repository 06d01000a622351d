"""The issue-2 demo (`make demo`) runs the sandbox end to end and prints each step."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_and_reports_each_step():
    """`python -m etl.demo` starts the sandbox, logs in, creates a client, lists leads."""
    result = subprocess.run(
        [sys.executable, "-m", "etl.demo"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for text in ("sandbox running at http://127.0.0.1:", "logged in as demo@example.com",
                 "created client", "listed 2 leads", "sandbox stopped"):  # fmt: skip
        assert text in result.stdout
