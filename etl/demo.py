"""``make demo``: the main job end to end against a faulty local sandbox, in under a minute.

1. start the sandbox: 5% faults (some after the lead was stored), 30 ms latency, index
   lag, 20-second tokens, a 1,200/min rate limit;
2. dry-run the bundled messy CSV (what will be sent, what is rejected and why);
3. import it with email/password auth, and interrupt the import part-way (SIGINT);
4. re-run the same command: it resumes, reconciles what was in flight, finishes;
5. ``lgetl verify``: every lead the job created is listed by the API, none twice;
6. export the company's leads to Parquet (``lgetl export leads``);
7. what happened, from the sandbox's own counters.

Every step runs the real ``lgetl`` command in a subprocess, as a user would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from etl.sandbox import SandboxConfig, serve_in_thread

CLIENT = "Demo Import"
INTERRUPT_AFTER_S = 5.0


def _step(n: int, text: str) -> None:
    print(f"\n\033[1m[{n}] {text}\033[0m", flush=True)


def _lgetl(args: list[str], env: dict[str, str], *, check: bool = True) -> int:
    print("$ lgetl " + " ".join(args), flush=True)
    code = subprocess.run([sys.executable, "-m", "etl.cli", *args], env=env, check=False).returncode
    if check and code != 0:
        raise SystemExit(f"demo failed: `lgetl {' '.join(args)}` exited {code}")
    return code


def _interrupted_run(args: list[str], env: dict[str, str]) -> int:
    print("$ lgetl " + " ".join(args) + f"   # Ctrl-C after {INTERRUPT_AFTER_S:.0f} s", flush=True)
    proc = subprocess.Popen([sys.executable, "-m", "etl.cli", *args], env=env)
    time.sleep(INTERRUPT_AFTER_S)
    proc.send_signal(signal.SIGINT)
    return proc.wait(timeout=60)


def run() -> None:
    """Run the demo against an in-process sandbox on a free port."""
    started = time.perf_counter()
    sample = resources.files("etl.demo_data") / "leads_sample.csv"
    config = SandboxConfig(
        port=0,
        rate_limit=1200,
        latency_ms=30,
        fault_rate=0.05,
        index_lag_ms=300,
        token_ttl=20,
        seed=7,
        synthetic_leads=20_000,
    )
    with tempfile.TemporaryDirectory(prefix="lgetl-demo-") as tmp, serve_in_thread(config) as sb:
        demo = sb.accounts["demo"]
        work = Path(tmp)
        state = str(work / "state.sqlite")
        env = {
            **os.environ,
            "LEADGENIUS_BASE_URL": sb.base_url,
            "LEADGENIUS_EMAIL": demo.email,
            "LEADGENIUS_PASSWORD": demo.password,
            "LEADGENIUS_AUTH_FILE": str(work / "auth.json"),
            "LGETL_STATE": state,
        }
        _step(1, f"sandbox at {sb.base_url}: 5% faults, 30 ms latency, 300 ms index lag, "
                 "20 s tokens, 1,200 requests/min")  # fmt: skip
        with resources.as_file(sample) as csv_path:
            import_args = ["import", "csv", str(csv_path), "--client-name", CLIENT,
                           "--rejects", str(work / "rejects.csv"),
                           "--summary-json", str(work / "summary.json"),
                           "--consistency-window", "1", "--rate", "1200"]  # fmt: skip
            _step(2, "dry run: read, map and validate the messy sample (no network)")
            _lgetl(["import", "csv", str(csv_path), "--dry-run"], env)
            _step(3, "import, interrupted part-way")
            code = _interrupted_run(import_args, env)
            print(f"exit code {code} (130 = interrupted cleanly; progress is saved)")
            _step(4, "the same command again: resumes the job")
            _lgetl(import_args, env)
        summary = json.loads((work / "summary.json").read_text())
        _step(5, "verify: the API lists every lead the job created")
        _lgetl(["verify", "--job", str(summary["job_id"])], env)
        _step(6, "export the company's leads to Parquet")
        out = work / "export"
        env_key = {**env, "LEADGENIUS_API_KEY": demo.api_key, "LEADGENIUS_USER_ID": demo.user_id}
        _lgetl(["export", "leads", "--company-id", demo.company_id, "--out", str(out),
                "--page-size", "5000"], env_key)  # fmt: skip
        _step(7, "what happened, seen from the sandbox")
        _report(sb.base_url, summary, out)
    print(f"\ndemo finished in {time.perf_counter() - started:.0f} s")


def _report(base_url: str, summary: dict[str, Any], export_dir: Path) -> None:
    with httpx.Client(base_url=f"{base_url}/_sandbox", timeout=10) as admin:
        counters = admin.get("/counters").json()
        stored = admin.get("/stored", params={"client_id": summary["client"]["slug"]}).json()
    posts = counters["requests"].get("POST /api/leads", {})
    faults = counters.get("faults", {})
    print(f"create POSTs answered: {dict(sorted(posts.items()))}")
    print(f"faults injected: {faults} (each one reconciled or retried, never duplicated)")
    duplicates = sum(1 for n in stored.values() if n > 1)
    print(f"leads stored in {summary['client']['slug']}: {len(stored)}, duplicates: {duplicates}; "
          f"accepted rows: {summary['accepted']}, rejected: {summary['rejected']} "
          f"{summary['rejected_by_reason']}")  # fmt: skip
    manifest = json.loads((export_dir / "_manifest.json").read_text())
    rows = manifest.get("rows", manifest.get("total_rows"))
    print(f"export: {rows} rows in {len(manifest.get('parts', []))} Parquet parts")


def main() -> None:
    """Entry point of ``python -m etl.demo``."""
    try:
        run()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
