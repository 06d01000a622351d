"""The root command shows help and maps project errors to one line and an exit code."""

from __future__ import annotations

import subprocess
import sys


def test_help_lists_the_tool_and_exits_zero() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "etl.cli", "--help"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "LeadGenius" in out.stdout
