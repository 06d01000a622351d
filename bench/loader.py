"""Loader benchmark: throughput against a rate-limited sandbox, and client CPU per lead.

Starts ``lgetl sandbox`` in a subprocess (so its CPU is not counted), then in one run:

1. the exactly-once loader (``run_csv_import``) at the server's limit of 1,000/min with
   150 ms mean latency: leads/min achieved as a fraction of the limit, and 429s;
2. a sequential loop in the vendor's style (one POST, then sleep 150 ms), same server;
3. the loader with the limit and latency off: client CPU ms per lead, checkpointing in
   SQLite included, next to a bare httpx POST loop at the same concurrency (baseline).

Prints figures only; nothing is asserted. Run: ``.venv/bin/python bench/loader.py``
(about 2.5 minutes; ``--quick`` for a ~40 s smoke run; ``--cpu-only`` for phase 3 alone).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from etl.client import LeadGeniusClient, resolve_settings
from etl.clock import SystemClock
from etl.progress import NoProgress
from etl.signals import StopRequest
from etl.sinks.leadgenius import default_concurrency
from pipelines.csv_import import ImportOptions, run_csv_import
from pipelines.csv_prepare import CsvOptions
from state import open_store

LIMIT = 1000  # requests/minute on the server
LATENCY_MS = 150


def start_sandbox() -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    """Start ``lgetl sandbox`` and read its banner: base URL and the demo account."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl.cli", "sandbox", "--port", "0", "--rate-limit", str(LIMIT),
         "--latency-ms", str(LATENCY_MS), "--seed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    url, demo = "", {}
    for line in proc.stdout:
        if m := re.search(r"listening on (http://\S+)", line):
            url = m.group(1)
        if line.strip().startswith("demo "):
            demo = dict(re.findall(r"(\w+)=(\S+)", line))
        if line.startswith("Press Ctrl-C"):
            break
    return proc, url, demo


def write_csv(path: Path, start: int, count: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First Name", "Last Name", "Email", "Company", "Phone"])
        for i in range(start, start + count):
            writer.writerow([f"Bo{i}", f"Ek{i}", f"bo.ek{i}@firm{i % 50}.com", f"Firm {i % 50}",
                             f"+46 8 {i:07d}"])  # fmt: skip
    return path


class Timeline:
    """A progress reporter that remembers (time, leads done) at every commit."""

    def __init__(self) -> None:
        self.points: list[tuple[float, int]] = []

    def start(self, total: int | None, description: str, initial: int = 0) -> None:
        self.points = [(time.monotonic(), initial)]

    def update(self, done: int, stats: Any = None) -> None:
        self.points.append((time.monotonic(), done))

    def finish(self) -> None:
        return None

    def steady_rate(self, skip_s: float = 5.0) -> float:
        """Leads/min between ``skip_s`` after the first send and the last commit."""
        t_first = self.points[0][0]
        steady = [(t, n) for t, n in self.points if t - t_first >= skip_s]
        (t0, n0), (t1, n1) = steady[0], steady[-1]
        return 60.0 * (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


def run_import(
    url: str, demo: dict[str, str], path: Path, state: str, rate: float, progress: Any = None
) -> Any:
    settings = resolve_settings(
        base_url=url, api_key=demo["api_key"], user_id=demo["user_id"], rate=rate, env={}
    )

    async def main() -> Any:
        with open_store(state) as store:
            async with LeadGeniusClient(settings) as api:
                return await run_csv_import(
                    path, CsvOptions(),
                    ImportOptions(client_name=path.stem, consistency_window=1.0, rate=rate),
                    api=api, store=store, clock=SystemClock(), progress=progress or NoProgress(),
                    stop=StopRequest(),
                )  # fmt: skip

    return asyncio.run(main())


def vendor_loop(url: str, demo: dict[str, str], seconds: float) -> float:
    """One POST, then sleep 150 ms, as the vendor's guide recommends: leads/min."""
    headers = {"x-api-key": demo["api_key"], "x-user-id": demo["user_id"]}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        slug = http.post("/api/clients", json={"clientName": "vendor loop"}).json()["client"][
            "client_id"
        ]
        created, t0, i = 0, time.monotonic(), 0
        while time.monotonic() - t0 < seconds:
            lead = {"client_id": slug, "firstName": "V", "lastName": f"L{i}",
                    "email": f"v.l{i}@vendor.com"}  # fmt: skip
            created += http.post("/api/leads", json=lead).status_code == 201
            i += 1
            time.sleep(0.150)
        return 60.0 * created / (time.monotonic() - t0)


def bare_httpx(url: str, demo: dict[str, str], requests: int, concurrency: int) -> float:
    """Baseline: a bare ``httpx.AsyncClient`` POST loop at the loader's concurrency (no
    limiter, retries, store or validation): client CPU ms per request."""
    headers = {"x-api-key": demo["api_key"], "x-user-id": demo["user_id"]}

    async def main() -> float:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            response = await http.post("/api/clients", json={"clientName": "bare httpx"})
            slug = response.json()["client"]["client_id"]
            counter = iter(range(requests))

            async def worker() -> None:
                for i in counter:
                    lead = {"client_id": slug, "firstName": "B", "lastName": f"H{i}",
                            "email": f"b.h{i}@bare.com"}  # fmt: skip
                    (await http.post("/api/leads", json=lead)).raise_for_status()

            cpu0 = time.process_time()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return 1000.0 * (time.process_time() - cpu0) / requests

    return asyncio.run(main())


def cpu_phase(url: str, demo: dict[str, str], tmp: Path, state: str, rows: int) -> str:
    """Phase 3: the limit and latency off; the loader's client CPU per lead, and a bare
    httpx POST loop at the same concurrency as the baseline."""
    httpx.post(f"{url}/_sandbox/config", json={"rate_limit": 0, "latency_ms": 0})
    path = write_csv(tmp / "unlimited.csv", 10**6, rows)
    cpu0, w0 = time.process_time(), time.monotonic()
    fast = run_import(url, demo, path, state, rate=0)
    cpu_ms = 1000.0 * (time.process_time() - cpu0) / fast["created"]
    wall = time.monotonic() - w0
    bare_ms = bare_httpx(url, demo, rows, default_concurrency(0, 0))
    return (
        f"limit off:   {fast['created']} leads in {wall:.1f} s "
        f"({60 * fast['created'] / wall:.0f} leads/min); client CPU {cpu_ms:.2f} ms/lead "
        "(read + validate + stage + POST + checkpoint)\n"
        f"bare httpx:  {bare_ms:.2f} ms CPU/request (POST loop, same concurrency); "
        f"loader / bare = {cpu_ms / bare_ms:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short phases (smoke run)")
    parser.add_argument("--cpu-only", action="store_true", help="only phase 3 (CPU per lead)")
    args = parser.parse_args()
    limited_rows, vendor_s, cpu_rows = (300, 10, 1500) if args.quick else (1150, 30, 5000)

    proc, url, demo = start_sandbox()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            state = f"sqlite:///{tmp}/state.sqlite"
            if args.cpu_only:
                print(cpu_phase(url, demo, Path(tmp), state, cpu_rows))
                return
            # 1. loader at the limit
            timeline = Timeline()
            t0 = time.monotonic()
            summary = run_import(url, demo, write_csv(Path(tmp, "limited.csv"), 0, limited_rows),
                                 state, rate=LIMIT, progress=timeline)  # fmt: skip
            wall = time.monotonic() - t0
            loader_rate = timeline.steady_rate()
            throttled = summary["this_run"]["throttled_429"]
            # 2. vendor-style sequential loop
            vendor_rate = vendor_loop(url, demo, vendor_s)
            # 3. CPU per lead with the limit and latency off
            cpu_report = cpu_phase(url, demo, Path(tmp), state, cpu_rows)
    finally:
        proc.terminate()
        proc.wait(timeout=15)

    print(f"server limit {LIMIT}/min, mean latency {LATENCY_MS} ms")
    print(f"loader:      {summary['created']} leads in {wall:.1f} s (start-up included); "
          f"steady state {loader_rate:.0f} leads/min = {loader_rate / LIMIT:.3f} of the limit, "
          f"429s: {throttled}")  # fmt: skip
    print(f"vendor loop: {vendor_rate:.0f} leads/min = {vendor_rate / LIMIT:.3f} of the limit "
          f"(loader / vendor = {loader_rate / vendor_rate:.1f}x)")  # fmt: skip
    print(cpu_report)


if __name__ == "__main__":
    main()
