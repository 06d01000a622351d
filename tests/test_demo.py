"""`make demo` runs the whole main job against a faulty sandbox and proves exactly-once."""

from __future__ import annotations

import re
import subprocess
import sys


def test_demo_interrupts_resumes_verifies_and_exports() -> None:
    """`python -m etl.demo`: interrupted import (exit 130), resumed to completion, verify
    OK, no duplicate stored, an export with a manifest."""
    result = subprocess.run(
        [sys.executable, "-m", "etl.demo"], capture_output=True, text=True, timeout=150, check=False
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "exit code 130" in out, out
    assert "OK: every done row is listed exactly once" in out
    stored = re.search(r"leads stored in \S+: (\d+), duplicates: 0; accepted rows: (\d+)", out)
    assert stored is not None, out
    assert stored.group(1) == stored.group(2)
    assert re.search(r"export: \d+ rows in \d+ Parquet parts", out)
    assert "Traceback" not in out
