"""SIGKILL at random moments: re-running ``lgetl export leads`` until it exits 0 gives
the same part files as an uninterrupted export, with no duplicate or missing id."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
KILLS = 5


def _command(sb: Any, out: Path, state: Path) -> list[str]:
    return [
        sys.executable, "-m", "etl.cli", "export", "leads", "--base-url", sb.base_url,
        "--api-key", sb.demo.api_key, "--user-id", sb.demo.user_id,
        "--company-id", sb.demo.company_id, "--out", str(out), "--state", str(state),
        "--rate", "0", "--progress", "off", "--page-size", "1000", "--part-rows", "3000",
    ]  # fmt: skip


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADGENIUS_", "LGP_"))}
    env["HOME"] = str(home)
    return env


def _last_write(out: Path) -> float:
    """Newest modification time of anything in the export directory (0 if none)."""
    newest = 0.0
    for path in out.rglob("*") if out.exists() else []:
        try:
            newest = max(newest, path.stat().st_mtime)
        except FileNotFoundError:  # renamed or removed by the running export meanwhile
            continue
    return newest


def _parts(out: Path) -> dict[str, Any]:
    manifest = json.loads((out / "_manifest.json").read_text())
    return {p["path"]: pq.read_table(out / p["path"]) for p in manifest["parts"]}


@pytest.mark.slow
def test_sigkill_at_random_moments_then_rerun_gives_the_same_export(make_sandbox, tmp_path):
    """Five kill -9 at random times, then re-runs until exit 0: the same parts, row for
    row, as an uninterrupted export, and every sandbox lead exactly once."""
    # 40 pages of 1,000 with 30 ms of latency each: the export outlasts 5 short runs.
    sb = make_sandbox(synthetic_leads=40_000, seed=8, latency_ms=30)
    env = _env(tmp_path)
    reference = tmp_path / "reference"
    done = subprocess.run(
        _command(sb, reference, tmp_path / "ref.sqlite"), cwd=REPO, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    seed = int(os.environ.get("LGETL_KILL_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    out, state = tmp_path / "out", tmp_path / "state.sqlite"
    outcomes = []
    for _ in range(KILLS):
        started = time.time()
        proc = subprocess.Popen(
            _command(sb, out, state), cwd=REPO, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        # A random moment once this run writes (so the kill lands in the export itself,
        # not in the interpreter's start-up): mid-page, mid-part, rename or commit.
        while proc.poll() is None and _last_write(out) < started:
            time.sleep(0.005)
        try:
            proc.wait(timeout=rng.uniform(0.0, 0.4))
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        outcomes.append(proc.returncode)
        assert proc.returncode in (0, -signal.SIGKILL), (seed, proc.stderr.read())
        proc.stderr.close()
    assert outcomes.count(-signal.SIGKILL) == KILLS, (seed, outcomes)

    for _ in range(5):
        final = subprocess.run(
            _command(sb, out, state), cwd=REPO, env=env,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if final.returncode == 0:
            break
    assert final.returncode == 0, (seed, final.stderr)

    got, want = _parts(out), _parts(reference)
    assert sorted(got) == sorted(want), seed
    for path, table in want.items():
        assert got[path].equals(table), (seed, path)
    ids = [i for table in got.values() for i in table.column("id").to_pylist()]
    assert len(ids) == len(set(ids)) == sb.admin.synthetic()["total"]
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers == [], seed
