"""Acceptance of the client against the sandbox: token expiry, faults, 429s, bug guards."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import pytest

from etl.client import (
    AmbiguousWriteError,
    ApiKeyAuth,
    ClientSettings,
    LeadGeniusClient,
    PasswordAuth,
)
from etl.clock import FakeClock, SystemClock


class InstantSleepClock(SystemClock):
    """Real time, but backoff sleeps return at once (faults are random, not time-based)."""

    def __init__(self) -> None:
        self.slept = 0.0

    async def sleep(self, seconds: float) -> None:
        self.slept += max(0.0, seconds)
        await asyncio.sleep(0)


def password_settings(sandbox: Any, **kw: Any) -> ClientSettings:
    demo = sandbox.demo
    return ClientSettings(
        base_url=sandbox.base_url, auth=PasswordAuth(demo.email, demo.password), **kw
    )


def key_settings(sandbox: Any, **kw: Any) -> ClientSettings:
    demo = sandbox.demo
    return ClientSettings(
        base_url=sandbox.base_url, auth=ApiKeyAuth(demo.api_key, demo.user_id), **kw
    )


def test_a_job_spanning_many_token_lifetimes_never_fails_for_auth(make_sandbox: Any) -> None:
    """token_ttl=2 over ~6 s: refreshes keep it alive; after revocation it logs in again."""
    sb = make_sandbox(token_ttl=2)

    async def go() -> LeadGeniusClient:
        async with LeadGeniusClient(password_settings(sb, rate=0)) as client:
            deadline = time.monotonic() + 6.0
            revoked = False
            while time.monotonic() < deadline:
                await asyncio.gather(*(client.list_clients() for _ in range(4)))
                if not revoked and time.monotonic() > deadline - 3.0:
                    assert sb.admin.revoke_refresh_tokens() >= 1
                    revoked = True
                await asyncio.sleep(0.1)
            return client

    client = asyncio.run(go())
    assert client.stats.refreshes >= 1, client.stats
    assert client.stats.relogins >= 1, client.stats
    requests = sb.admin.counters()["requests"]
    assert requests["POST /api/auth/refresh"].get("200", 0) >= 1
    assert requests["POST /api/auth"]["200"] >= 2  # first login + re-login


def test_fault_storm_completes_safe_requests_and_never_duplicates_creates(
    make_sandbox: Any,
) -> None:
    """fault_rate 0.3: GET/PUT/DELETE finish; creates are stored at most once, never re-sent."""
    sb = make_sandbox(seed=7)
    clock = InstantSleepClock()
    outcomes = {"created": 0, "ambiguous": 0}

    async def go() -> tuple[LeadGeniusClient, str]:
        settings = key_settings(sb, rate=0, max_retries=12)
        async with LeadGeniusClient(settings, clock=clock) as client:
            slug = (await client.create_client("Storm Co"))["client_id"]
            base = [
                await client.create_lead({"client_id": slug, "email": f"base{i}@storm.example"})
                for i in range(60)
            ]
            sb.admin.set_config(fault_rate=0.3)
            for _ in range(10):
                assert len(await client.list_clients()) == 1
                await client.find_leads(slug, email="base1@storm.example")
            pages = [page async for page in client.iter_leads(slug, page_size=7)]
            assert sum(len(p) for p in pages) == 60
            updated = [{"id": lead["id"], "title": "VP"} for lead in base]
            await client.update_leads(updated)
            await client.delete_leads([lead["id"] for lead in base[:40]])
            for i in range(40):
                payload = {"client_id": slug, "email": f"new{i}@storm.example", "firstName": "N"}
                try:
                    await client.create_lead(payload)
                    outcomes["created"] += 1
                except AmbiguousWriteError as exc:
                    assert exc.identity["email"] == payload["email"]
                    outcomes["ambiguous"] += 1
            sb.admin.set_config(fault_rate=0.0)
            return client, slug

    client, slug = asyncio.run(go())
    faults = sb.admin.counters()["faults"]
    assert sum(faults.values()) >= 15
    assert outcomes["created"] + outcomes["ambiguous"] == 40
    assert outcomes["created"] > 0 and outcomes["ambiguous"] > 0
    assert client.stats.retries > 0
    posts = sb.admin.posts()
    assert all(n == 1 for n in posts.values()), {k: n for k, n in posts.items() if n > 1}
    stored = sb.admin.stored_by_identity(slug)
    assert all(n == 1 for n in stored.values())
    remaining = sb.admin.leads(slug)
    assert {lead.get("title") for lead in remaining if lead["email"].startswith("base")} == {"VP"}
    assert sum(1 for lead in remaining if lead["email"].startswith("base")) == 20
    created_new = sum(1 for lead in remaining if lead["email"].startswith("new"))
    assert outcomes["created"] <= created_new <= 40


def test_pacing_under_a_server_limit_causes_no_429(make_sandbox: Any) -> None:
    """Server 600/min, client --rate 1000: it learns 600 from the headers and stays under it."""
    sb = make_sandbox(rate_limit=600)

    async def go() -> LeadGeniusClient:
        async with LeadGeniusClient(key_settings(sb, rate=1000)) as client:

            async def worker() -> None:
                for _ in range(5):
                    await client.list_clients()

            await asyncio.gather(*(worker() for _ in range(8)))
            return client

    client = asyncio.run(go())
    assert client.limiter.server_limit == 600
    assert sb.admin.counters()["rate_limited"] == 0
    assert client.stats.throttled == 0


def test_a_burst_into_a_full_window_gets_one_429_and_waits_retry_after(
    make_inprocess_sandbox: Any, fake_clock: FakeClock
) -> None:
    """Limit 10/min, window already full: one 429, a pause of Retry-After, then all 25 succeed.

    The sandbox app and the client share a fake clock, so a minute passes instantly.
    """
    sb = make_inprocess_sandbox(fake_clock, rate_limit=10)
    demo = sb.sandbox.accounts["demo"]
    headers = {"x-api-key": demo.api_key, "x-user-id": demo.user_id}
    for _ in range(10):
        assert sb.get("/api/clients", headers=headers).status_code == 200
    settings = ClientSettings(
        base_url="http://127.0.0.1", auth=ApiKeyAuth(demo.api_key, demo.user_id)
    )

    async def go() -> LeadGeniusClient:
        transport = httpx.ASGITransport(app=sb.app)
        async with LeadGeniusClient(settings, clock=fake_clock, transport=transport) as client:

            async def worker() -> None:
                for _ in range(5):
                    await client.list_clients()

            await asyncio.gather(*(worker() for _ in range(5)))
            return client

    start = fake_clock.monotonic()
    client = asyncio.run(go())
    counters = sb.sandbox.counters.to_dict()
    assert counters["rate_limited"] == 1
    assert counters["requests"]["GET /api/clients"]["200"] == 35
    assert client.stats.throttled == 1
    assert max(fake_clock.sleeps) >= 50  # Retry-After of a window filled at t=0
    assert fake_clock.monotonic() - start >= 60 + 24 * 60 / 10 * 0.95


def test_resolving_a_client_uuid_warns_and_returns_the_slug(
    sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Bug 1 guard: the UUID is accepted, the slug comes back, and the user is told."""

    async def go() -> tuple[Any, Any, Any]:
        async with LeadGeniusClient(key_settings(sandbox, rate=0)) as client:
            made = await client.create_client("Acme Corp")
            by_uuid = await client.resolve_client(made["id"])
            by_name = await client.resolve_client("Acme Corp")
            return made, by_uuid, by_name

    with caplog.at_level(logging.WARNING, logger="etl.client"):
        made, by_uuid, by_name = asyncio.run(go())
    assert by_uuid.slug == by_name.slug == made["client_id"] == "acme-corp"
    assert any("UUID" in r.getMessage() and "acme-corp" in r.getMessage() for r in caplog.records)


def test_purging_a_big_client_deletes_its_leads_in_batches_first(make_sandbox: Any) -> None:
    """Over 1,000 leads the server's purge times out; the client deletes by 50s, then purges."""
    sb = make_sandbox(batch_persist="always")

    async def go() -> str:
        async with LeadGeniusClient(key_settings(sb, rate=0)) as client:
            made = await client.create_client("Big Co")
            slug = made["client_id"]
            leads = [{"client_id": slug, "email": f"p{i}@big.example"} for i in range(1010)]
            await client.request("POST", "/api/leads", json={"leads": leads})
            await client.delete_client(made["id"], purge=True)
            assert await client.list_clients() == []
            return str(slug)

    slug = asyncio.run(go())
    assert sb.admin.leads(slug) == []
    deletes = sb.admin.counters()["requests"]["DELETE /api/leads"]["200"]
    assert deletes == 21  # ceil(1010 / 50)
