"""``make demo``: start the sandbox, log in, create a client, post and list leads.

Runs in a few seconds on a fresh machine, needs no network beyond 127.0.0.1, and prints
each step. (Later issues grow this into the full import/export demo.)
"""

from __future__ import annotations

import sys
import time
from typing import Any

import httpx

from etl.sandbox import SandboxConfig, serve_in_thread

LEADS: tuple[dict[str, str], ...] = (
    {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@analytical.example",
     "companyName": "Analytical Engines", "title": "CTO"},
    {"firstName": "Cher", "lastName": "-", "email": "cher@music.example",
     "companyName": "Music Corp", "title": "Founder"},
)  # fmt: skip


def _step(n: int, text: str) -> None:
    print(f"[{n}] {text}", flush=True)


def _check(response: httpx.Response, expected: int) -> Any:
    if response.status_code != expected:
        raise SystemExit(
            f"demo failed: {response.request.method} {response.request.url.path} -> "
            f"{response.status_code} {response.text[:200]}"
        )
    return response.json()


def run() -> None:
    """Run the demo against an in-process sandbox on a free port."""
    started = time.perf_counter()
    config = SandboxConfig(port=0, latency_ms=20, rate_limit=100, seed=1)
    with serve_in_thread(config) as sandbox:
        demo = sandbox.accounts["demo"]
        _step(1, f"sandbox running at {sandbox.base_url} (20 ms latency, 100 requests/min)")
        with httpx.Client(base_url=sandbox.base_url, timeout=10) as http:
            tokens = _check(
                http.post("/api/auth", json={"username": demo.email, "password": demo.password}),
                200,
            )["tokens"]
            http.headers["Authorization"] = f"Bearer {tokens['accessToken']}"
            _step(2, f"logged in as {demo.email} (user {demo.user_id}), token valid "
                     f"{tokens['expiresIn']} s")  # fmt: skip
            body = {"clientName": "Demo Client", "companyURL": "https://demo.example"}
            client = _check(http.post("/api/clients", json=body), 201)["client"]
            slug = client["client_id"]
            _step(3, f"created client {client['clientName']!r}: client_id={slug} id={client['id']}")
            for lead in LEADS:
                created = _check(http.post("/api/leads", json={"client_id": slug, **lead}), 201)
                _step(4, f"posted lead {lead['email']} -> id {created['lead']['id']}")
            page = _check(http.get("/api/leads", params={"client_id": slug}), 200)
            _step(5, f"listed {len(page['leads'])} leads of {slug}:")
            for lead in page["leads"]:
                print(f"      {lead['firstName']} {lead['lastName']} <{lead['email']}>"
                      f" {lead['title']} at {lead['companyName']}")  # fmt: skip
            found = _check(http.get("/api/find-lead", params={"email": LEADS[0]["email"]}), 200)
            _step(6, f"find-lead {LEADS[0]['email']} -> {len(found['leads'])} match")
            remaining = http.get("/api/clients").headers.get("X-RateLimit-Remaining")
            _step(7, f"rate limit: {remaining} requests left this minute")
    _step(8, f"sandbox stopped; demo took {time.perf_counter() - started:.1f} s")


def main() -> None:
    """Entry point of ``python -m etl.demo``."""
    try:
        run()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
