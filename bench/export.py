"""Benchmark ``lgetl export leads`` against a naive baseline, on one sandbox, in one run.

Starts ``lgetl sandbox --synthetic-leads N --rate-limit 0`` in a subprocess, then runs, each
in its own subprocess so their CPU time and peak RSS are theirs alone (``os.wait4``):

- the exporter: ``lgetl export leads`` (Parquet, default page and part sizes);
- the naive baseline: GET every page (httpx + orjson), keep all records in one list, then
  one ``polars.DataFrame(records).write_parquet()``;
- for calibration, the "plain loop" of ../shared/MEASURED.md: per page, httpx + orjson +
  ``polars.DataFrame(items)`` + ``write_parquet`` (no fixed schema, no dedupe, no resume).

Prints wall time, rows/s, CPU seconds (user + system), CPU seconds per million rows and
peak RSS for both, and the ratios. Figures only, no asserts (targets: exporter peak RSS
under 400 MB whatever N; exporter CPU under 15 s per million rows).

Usage::

    .venv/bin/python bench/export.py [--rows 1000000] [--page-size 5000] [--skip-naive]
                                     [--skip-plain]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Measured:
    """One child process's cost."""

    name: str
    rows: int
    wall: float
    cpu: float
    peak_rss_mb: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall if self.wall else 0.0

    @property
    def cpu_per_million(self) -> float:
        return self.cpu * 1_000_000 / self.rows if self.rows else 0.0


def measure(name: str, command: list[str], *, rows_from: Path | None = None) -> Measured:
    """Run ``command`` to completion; its own CPU and peak RSS come from ``wait4``."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}):\n{err[-2000:]}")
    if rows_from is not None:
        rows = int(json.loads(rows_from.read_text())["rows"])
    else:
        rows = int(out.strip().splitlines()[-1])
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(name, rows, wall, cpu, usage.ru_maxrss / 1024)  # Linux: KiB


def start_sandbox(rows: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start the sandbox; return it and the base URL + demo account from its banner."""
    command = [sys.executable, "-m", "etl.cli", "sandbox", "--port", "0", "--rate-limit", "0",
               "--synthetic-leads", str(rows)]  # fmt: skip
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    info: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not {"url", "api_key"} <= info.keys():
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the sandbox exited before printing its banner")
        if match := re.search(r"listening on (http://\S+)", line):
            info["url"] = match.group(1)
        if line.strip().startswith("demo "):
            info.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return proc, info


def _pages(url: str, api_key: str, user_id: str, company: str, size: int) -> Iterator[list[Any]]:
    import httpx
    import orjson

    token = None
    headers = {"x-api-key": api_key, "x-user-id": user_id}
    with httpx.Client(base_url=url, headers=headers, timeout=300) as http:
        while True:
            params = {"companyId": company, "limit": str(size)}
            if token:
                params["nextToken"] = token
            response = http.get("/api/enrich-leads/list", params=params)
            response.raise_for_status()
            body = orjson.loads(response.content)
            yield body["items"]
            token = body.get("nextToken")
            if not token:
                return


def naive_child(url: str, api_key: str, user_id: str, company: str, out: str, size: int) -> None:
    """The baseline: every page into one list, then one DataFrame and one write_parquet."""
    import polars as pl

    records: list[Any] = []
    for items in _pages(url, api_key, user_id, company, size):
        records.extend(items)
    pl.DataFrame(records, infer_schema_length=None).write_parquet(out)
    print(len(records))


def plain_child(url: str, api_key: str, user_id: str, company: str, out: str, size: int) -> None:
    """The plain loop: one DataFrame (types inferred per page) and one file per page."""
    import polars as pl

    Path(out).mkdir()
    rows = 0
    for n, items in enumerate(_pages(url, api_key, user_id, company, size)):
        pl.DataFrame(items, infer_schema_length=None).write_parquet(f"{out}/page-{n:05d}.parquet")
        rows += len(items)
    print(rows)


def _row(m: Measured) -> str:
    return (
        f"{m.name:<10} {m.rows:>9,} {m.wall:>8.1f} {m.rows_per_s:>10,.0f} {m.cpu:>8.1f} "
        f"{m.cpu_per_million:>10.1f} {m.peak_rss_mb:>9.0f}"
    )


def main() -> None:
    """Parse arguments, run both contenders, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--skip-naive", action="store_true", help="only the exporter")
    parser.add_argument("--skip-plain", action="store_true", help="no plain-loop row")
    parser.add_argument("--child", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, url, key, user, company, out, size = args.child
        (naive_child if kind == "naive" else plain_child)(url, key, user, company, out, int(size))
        return

    sandbox, demo = start_sandbox(args.rows)
    try:
        with tempfile.TemporaryDirectory(prefix="lgetl-bench-") as tmp:
            work = Path(tmp)
            summary = work / "summary.json"
            exporter = measure(
                "exporter",
                [sys.executable, "-m", "etl.cli", "export", "leads", "--base-url", demo["url"],
                 "--api-key", demo["api_key"], "--user-id", demo["user_id"],
                 "--company-id", demo["company_id"], "--out", str(work / "export"),
                 "--state", str(work / "state.sqlite"), "--rate", "0", "--progress", "off",
                 "--page-size", str(args.page_size), "--summary-json", str(summary)],
                rows_from=summary,
            )  # fmt: skip
            results = [exporter]
            for kind, skip in (("naive", args.skip_naive), ("plain", args.skip_plain)):
                if not skip:
                    child = [sys.executable, str(Path(__file__).resolve()), "--child", kind,
                             demo["url"], demo["api_key"], demo["user_id"], demo["company_id"],
                             str(work / kind), str(args.page_size)]  # fmt: skip
                    results.append(measure(kind, child))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)

    print(f"export of {args.rows:,} synthetic enrich leads, page size {args.page_size}")
    print(f"{'':<10} {'rows':>9} {'wall s':>8} {'rows/s':>10} {'CPU s':>8} {'CPU s/1M':>10} "
          f"{'peak MB':>9}")  # fmt: skip
    for m in results:
        print(_row(m))
    for other in results[1:]:
        e = exporter
        print(
            f"exporter / {other.name}: wall {e.wall / other.wall:.2f}x, CPU "
            f"{e.cpu / other.cpu:.2f}x, peak RSS {e.peak_rss_mb / other.peak_rss_mb:.2f}x"
        )
    print(
        f"targets: peak RSS < 400 MB -> {exporter.peak_rss_mb:.0f} MB; "
        f"CPU < 15 s per million rows -> {exporter.cpu_per_million:.1f} s"
    )


if __name__ == "__main__":
    main()
