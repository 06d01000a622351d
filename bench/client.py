"""Benchmark: LeadGeniusClient throughput against a rate-limited sandbox, and its CPU cost.

Starts ``lgetl sandbox`` in a subprocess (so the client's CPU is measured alone) with a
limit of 1,000 requests/minute and 150 ms mean latency, then:

1. drives single-lead creates through one ``LeadGeniusClient`` (``--rate`` = the limit) with
   a few coroutines for ``--seconds`` and prints the achieved requests/minute as a fraction
   of the server's limit (target >= 0.97), the most requests any rolling 60 s window held,
   and the 429 count (server and client side);
2. turns the server's limit and latency off and measures client CPU per request (process
   CPU time / requests) for the client and, as the baseline in the same run, for a bare
   ``httpx.AsyncClient`` posting the same payloads.

Figures only, no asserts: the machine is shared and noisy.

Usage: python bench/client.py [--seconds 65] [--workers 8] [--cpu-requests 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time

import httpx


def start_sandbox(limit: int, latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    """``lgetl sandbox --port 0`` in a subprocess; returns it and its base URL."""
    process = subprocess.Popen(
        [
            sys.executable, "-m", "etl.cli", "sandbox", "--port", "0",
            "--rate-limit", str(limit), "--latency-ms", str(latency_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return process, line.rsplit(" ", 1)[-1].strip()


def max_in_window(times: list[float], window: float = 60.0) -> int:
    """Most events in any rolling window of ``window`` seconds."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def throughput(base_url: str, account: dict[str, str], seconds: float, workers: int) -> None:
    from etl.client import ApiKeyAuth, ClientSettings, LeadGeniusClient

    limit = 1000
    settings = ClientSettings(
        base_url=base_url, auth=ApiKeyAuth(account["api_key"], account["user_id"]), rate=limit
    )
    done: list[float] = []
    async with LeadGeniusClient(settings) as client:
        slug = (await client.create_client("Bench Throughput"))["client_id"]
        start = time.monotonic()
        deadline = start + seconds
        counter = iter(range(10**9))

        async def worker() -> None:
            while time.monotonic() < deadline:
                n = next(counter)
                await client.create_lead({"client_id": slug, "email": f"t{n}@bench.example"})
                done.append(time.monotonic())

        await asyncio.gather(*(worker() for _ in range(workers)))
        stats = client.stats
        learned = client.limiter.server_limit
    done.sort()
    elapsed = done[-1] - start
    warm = [t for t in done if t >= start + 5.0]
    steady = (len(warm) - 1) / (warm[-1] - warm[0]) * 60 if len(warm) > 1 else 0.0
    overall = len(done) / elapsed * 60
    print(f"server limit (learned from headers): {learned:.0f}/min; workers: {workers}")
    print(f"requests: {len(done)} in {elapsed:.1f} s")
    print(f"achieved overall:            {overall:7.1f}/min = {overall / limit:.3f} of the limit")
    print(f"achieved steady (after 5 s): {steady:7.1f}/min = {steady / limit:.3f} of the limit")
    print(f"most completions in any rolling 60 s window: {max_in_window(done)}")
    print(f"client: 429s={stats.throttled} retries={stats.retries} requests={stats.requests}")
    async with httpx.AsyncClient(base_url=f"{base_url}/_sandbox") as admin:
        counters = (await admin.get("/counters")).json()
    print(f"server: 429s={counters['rate_limited']}")


async def cpu_client(base_url: str, account: dict[str, str], n: int, workers: int) -> float:
    from etl.client import ApiKeyAuth, ClientSettings, LeadGeniusClient

    settings = ClientSettings(
        base_url=base_url, auth=ApiKeyAuth(account["api_key"], account["user_id"]), rate=0
    )
    async with LeadGeniusClient(settings) as client:
        slug = (await client.create_client("Bench CPU"))["client_id"]
        queue = iter(range(n))

        async def worker() -> None:
            for i in queue:
                await client.create_lead({"client_id": slug, "email": f"c{i}@bench.example"})

        cpu = time.process_time()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return (time.process_time() - cpu) / n


async def cpu_baseline(base_url: str, account: dict[str, str], n: int, workers: int) -> float:
    headers = {"x-api-key": account["api_key"], "x-user-id": account["user_id"]}
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as http:
        made = await http.post("/api/clients", json={"clientName": "Bench Baseline"})
        slug = made.json()["client"]["client_id"]
        queue = iter(range(n))

        async def worker() -> None:
            for i in queue:
                response = await http.post(
                    "/api/leads", json={"client_id": slug, "email": f"b{i}@bench.example"}
                )
                response.raise_for_status()
                response.json()

        cpu = time.process_time()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return (time.process_time() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=65.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--cpu-requests", type=int, default=3000)
    args = parser.parse_args()

    process, base_url = start_sandbox(limit=1000, latency_ms=150)
    try:
        account = httpx.get(f"{base_url}/_sandbox/accounts").json()["demo"]
        print(f"== throughput: sandbox {base_url} limit 1000/min, latency 150 ms")
        asyncio.run(throughput(base_url, account, args.seconds, args.workers))
        httpx.post(f"{base_url}/_sandbox/config", json={"rate_limit": 0, "latency_ms": 0})
        print(f"== client CPU per request (limit and latency off, {args.cpu_requests} creates)")
        baseline = asyncio.run(cpu_baseline(base_url, account, args.cpu_requests, 4))
        ours = asyncio.run(cpu_client(base_url, account, args.cpu_requests, 4))
        print(f"bare httpx (baseline): {baseline * 1000:.3f} ms CPU/request")
        print(f"LeadGeniusClient:      {ours * 1000:.3f} ms CPU/request ({ours / baseline:.2f}x)")
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
