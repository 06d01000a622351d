"""Benchmark: how many requests/s the sandbox sustains, against a trivial baseline.

Starts each server in its own subprocess (uvicorn + uvloop + httptools, as ``lgetl
sandbox`` does), drives it with several load-generator processes that each keep one
``http.client`` keep-alive connection busy, and prints:

1. single-lead ``POST /api/leads`` requests/s (faults off, rate limit off);
2. the same load on a baseline starlette route that reads the body and returns ``{}``;
3. the ratio, and the server CPU per request (psutil);
4. bulk export: synthetic enrich-lead records/s through ``/api/enrich-leads/list``.

Figures only, no asserts: this machine is shared and noisy.

Usage: python bench/sandbox.py [--seconds 4] [--workers 3] [--export-records 200000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import psutil


def serve(kind: str, synthetic: int) -> None:
    """Child process: serve the sandbox or the baseline app on a free port; print its URL."""
    from etl.sandbox.server import base_url_of, bind, make_server

    if kind == "sandbox":
        from etl.sandbox import SandboxConfig, create_app

        app: Any = create_app(SandboxConfig(port=0, rate_limit=0, synthetic_leads=synthetic))
    else:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.routing import Route

        from etl.sandbox.http import JSON

        async def empty(request: Request) -> JSON:
            await request.body()
            return JSON({})

        app = Starlette(routes=[Route("/baseline", empty, methods=["POST"])])
    sock = bind("127.0.0.1", 0)
    print(base_url_of(sock), flush=True)
    make_server(app).run(sockets=[sock])


def start_server(kind: str, synthetic: int = 0) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--synthetic", str(synthetic)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def call(url: str, method: str, path: str, body: Any = None, headers: Any = None) -> Any:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    payload = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, payload, {"content-type": "application/json", **(headers or {})})
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    return data


def worker(
    url: str, path: str, headers: dict[str, str], seconds: float, wid: int, start: Any, out: Any
) -> None:
    """One keep-alive connection posting unique single leads as fast as answers come."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    start.wait()
    done = errors = 0
    begin = time.perf_counter()
    end = begin + seconds
    while time.perf_counter() < end:
        body = b'{"client_id":"bench","firstName":"Bench","email":"w%d-%d@bench.io"}' % (wid, done)
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        response.read()
        if response.status not in (200, 201):
            errors += 1
        done += 1
    out.put((done, errors, time.perf_counter() - begin))


def load(url: str, path: str, headers: dict[str, str], seconds: float, workers: int) -> float:
    """Run ``workers`` processes for ``seconds``; return requests/s."""
    start, out = mp.Event(), mp.Queue()
    procs = [
        mp.Process(target=worker, args=(url, path, headers, seconds, w, start, out))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    time.sleep(0.3)
    start.set()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    total, errors = sum(r[0] for r in results), sum(r[1] for r in results)
    if errors:
        print(f"   ({errors} non-2xx answers)")
    return total / max(r[2] for r in results)


def measure(kind: str, seconds: float, workers: int) -> tuple[float, float]:
    """(requests/s, server CPU ms per request) for one server kind."""
    process, url = start_server(kind)
    try:
        headers = {"content-type": "application/json"}
        path = "/baseline"
        if kind == "sandbox":
            demo = call(url, "GET", "/_sandbox/accounts")["demo"]
            headers |= {"x-api-key": demo["api_key"], "x-user-id": demo["user_id"]}
            call(url, "POST", "/api/clients", {"clientName": "Bench"}, headers)
            path = "/api/leads"
        load(url, path, headers, 0.5, workers)  # warm-up
        server = psutil.Process(process.pid)
        cpu0 = sum(server.cpu_times()[:2])
        rate = load(url, path, headers, seconds, workers)
        cpu = sum(server.cpu_times()[:2]) - cpu0
        return rate, 1000.0 * cpu / (rate * seconds)
    finally:
        stop_server(process)


def export(records: int) -> tuple[float, float, int]:
    """(records/s, server CPU ms per 5,000-record page, pages) over the synthetic set."""
    process, url = start_server("sandbox", synthetic=records)
    try:
        demo = call(url, "GET", "/_sandbox/accounts")["demo"]
        headers = {"x-api-key": demo["api_key"], "x-user-id": demo["user_id"]}
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        server = psutil.Process(process.pid)
        cpu0, t0 = sum(server.cpu_times()[:2]), time.perf_counter()
        token, got, pages = None, 0, 0
        while True:
            query = f"/api/enrich-leads/list?companyId={demo['company_id']}&limit=5000"
            conn.request("GET", query + (f"&nextToken={token}" if token else ""), None, headers)
            body = json.loads(conn.getresponse().read())
            got += body["count"]
            pages += 1
            token = body["nextToken"]
            if not token:
                break
        elapsed = time.perf_counter() - t0
        cpu = sum(server.cpu_times()[:2]) - cpu0
        assert got == records, (got, records)
        return got / elapsed, 1000.0 * cpu / pages, pages
    finally:
        stop_server(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--export-records", type=int, default=200_000)
    parser.add_argument("--serve", choices=["sandbox", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--synthetic", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.synthetic)
        return
    print(f"sandbox bench: {args.workers} load processes x 1 keep-alive connection, "
          f"{args.seconds:g} s each, {psutil.cpu_count()} CPUs")  # fmt: skip
    posts, posts_cpu = measure("sandbox", args.seconds, args.workers)
    base, base_cpu = measure("baseline", args.seconds, args.workers)
    print(
        f"  single-lead POST /api/leads : {posts:8.0f} req/s  ({posts_cpu:.3f} ms server CPU/req)"
    )
    print(f"  baseline POST -> {{}}        : {base:8.0f} req/s  ({base_cpu:.3f} ms server CPU/req)")
    print(f"  ratio sandbox/baseline      : {posts / base:8.2f}")
    if args.export_records:
        rate, page_ms, pages = export(args.export_records)
        print(f"  bulk export {args.export_records} records : {rate:8.0f} records/s "
              f"({pages} pages of 5,000; {page_ms:.1f} ms server CPU/page)")  # fmt: skip


if __name__ == "__main__":
    main()
