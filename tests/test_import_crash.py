"""Crash tests: ``lgetl import csv`` killed at random moments and re-run until it exits 0
ends with every accepted identity stored exactly once in the client, none missing, and no
rejected row stored. SIGKILL is safe by the protocol; SIGTERM stops cleanly with 143.

The sandbox injects 10% faults (half of the create failures after storing the lead) and
index lag, so ambiguous writes and reconciliation happen on every run.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROWS = 2000
BAD_EVERY = 100  # every 100th row has an invalid email: 20 rejects


def write_file(path: Path) -> tuple[Path, set[str]]:
    accepted: set[str] = set()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First Name", "Last Name", "Email", "Company"])
        for i in range(ROWS):
            email = f"k.{i}@crash{i % 13}.io"
            if i % BAD_EVERY == 7:
                email = f"broken-{i}"
            else:
                accepted.add(email)
            writer.writerow([f"Kim{i}", f"Ng{i}", email, f"Crash {i % 13}"])
    return path, accepted


def command(sb: Any, path: Path, state: str) -> list[str]:
    return [
        sys.executable, "-m", "etl.cli", "import", "csv", str(path),
        "--client-name", "Crash Test", "--state", state, "--base-url", sb.base_url,
        "--api-key", sb.demo.api_key, "--user-id", sb.demo.user_id, "--rate", "0",
        "--consistency-window", "0.3", "--quiet",
    ]  # fmt: skip


def kill_and_rerun(sb: Any, cmd: list[str], sig: int, kills: int, seed: int) -> list[int]:
    """Start the import, send ``sig`` at a random moment, ``kills`` times; then run it to the
    end. Returns the exit codes of the interrupted runs."""
    rnd = random.Random(seed)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    codes = []
    for _ in range(kills):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rnd.uniform(1.0, 3.5))  # start-up takes ~1 s; the whole load ~3 s
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        codes.append(proc.returncode)
        assert b"Traceback" not in err, err.decode()
    for _ in range(10):
        done = subprocess.run(cmd, env=env, capture_output=True, timeout=120, check=False)
        assert b"Traceback" not in done.stderr, done.stderr.decode()
        if done.returncode == 0:
            return codes
        assert done.returncode == 1, done.stderr.decode()
    pytest.fail("the import never completed")


def check_exactly_once(sb: Any, accepted: set[str]) -> None:
    sb.admin.set_config(fault_rate=0.0)  # the check itself must not meet injected faults
    with sb.http(sb.demo) as http:
        clients = http.get("/api/clients").json()["clients"]
    slugs = [c["client_id"] for c in clients if c["clientName"] == "Crash Test"]
    assert len(slugs) == 1, "the client must be created once, even across crashes"
    stored = sb.admin.stored_by_identity(slugs[0])
    duplicates = {k: n for k, n in stored.items() if n > 1}
    assert not duplicates
    assert set(stored) == accepted  # none missing, no rejected row stored


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "expected"), [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGTERM, 143)]
)
def test_killed_import_resumes_to_exactly_once_on_sqlite(
    make_sandbox: Any, tmp_path: Path, sig: int, expected: int
) -> None:
    sb = make_sandbox(fault_rate=0.1, seed=3, latency_ms=10, index_lag_ms=50)
    path, accepted = write_file(tmp_path / "crash.csv")
    codes = kill_and_rerun(sb, command(sb, path, f"sqlite:///{tmp_path}/s.sqlite"), sig, 10, 7)
    assert expected in codes, f"no run was interrupted mid-way: {codes}"
    check_exactly_once(sb, accepted)


@pytest.mark.slow
@pytest.mark.postgres
def test_killed_import_resumes_to_exactly_once_on_postgresql(
    make_sandbox: Any, tmp_path: Path, pg_url: str
) -> None:
    sb = make_sandbox(fault_rate=0.1, seed=4, latency_ms=10, index_lag_ms=50)
    path, accepted = write_file(tmp_path / "crash.csv")
    codes = kill_and_rerun(sb, command(sb, path, pg_url), signal.SIGKILL, 10, 8)
    assert -signal.SIGKILL in codes
    check_exactly_once(sb, accepted)
