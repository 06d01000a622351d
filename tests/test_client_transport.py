"""Requests sent straight to the httpx transport match what AsyncClient would send."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from etl.client import ApiKeyAuth, ClientSettings, LeadGeniusClient
from etl.clock import FakeClock

KEY = "lgp_transporttestkey00001"
LEAD = {"client_id": "acme-corp", "email": "ann@acme.example", "firstName": "Ann"}


def _created(request: httpx.Request) -> httpx.Response:
    return httpx.Response(201, content=orjson.dumps({"lead": {**LEAD, "id": "lead-1"}}))


def _run(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: FakeClock,
    action: Callable[[LeadGeniusClient], Any],
    **kw: Any,
) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    settings = ClientSettings(
        base_url="https://api.test/v1", auth=ApiKeyAuth(KEY, "user-1"), rate=0, **kw
    )

    async def go() -> None:
        transport = httpx.MockTransport(record)
        async with LeadGeniusClient(settings, clock=clock, transport=transport) as client:
            await action(client)

    asyncio.run(go())
    return seen


def test_direct_request_has_the_clients_url_headers_and_timeouts(fake_clock: FakeClock) -> None:
    """Base path, default and auth headers, JSON body and per-request timeouts all present."""
    seen = _run(_created, fake_clock, lambda c: c.create_lead(dict(LEAD)), timeout=7.0)
    (request,) = seen
    assert str(request.url) == "https://api.test/v1/api/leads"
    assert request.headers["user-agent"].startswith("lgetl/")
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["x-user-id"] == "user-1"
    assert orjson.loads(request.content) == LEAD
    assert request.extensions["timeout"] == {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0}


def test_query_parameters_drop_none_values(fake_clock: FakeClock) -> None:
    """GET parameters are encoded into the URL; ``None`` values are left out."""

    def found(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"leads": []}')

    seen = _run(found, fake_clock, lambda c: c.find_leads("acme", email="a@b.c"))
    assert seen[0].url.params == httpx.QueryParams({"client_id": "acme", "email": "a@b.c"})


def test_a_cookie_the_server_sets_is_sent_back(fake_clock: FakeClock) -> None:
    """As with AsyncClient: a Set-Cookie answer is stored and sent on later requests."""

    def with_cookie(request: httpx.Request) -> httpx.Response:
        response = _created(request)
        response.headers["set-cookie"] = "lb=node-2; Path=/"
        return response

    async def twice(client: LeadGeniusClient) -> None:
        await client.create_lead(dict(LEAD))
        await client.create_lead(dict(LEAD))

    first, second = _run(with_cookie, fake_clock, twice)
    assert "cookie" not in first.headers
    assert second.headers["cookie"] == "lb=node-2"


def test_a_proxy_from_the_environment_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """With HTTP_PROXY set, requests go through that proxy, never straight to the API."""
    lines: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines.append(head.split(b"\r\n", 1)[0])
        body = b'{"clients": []}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    async def go() -> list[Any]:
        server = await asyncio.start_server(proxy, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        settings = ClientSettings(
            base_url="http://api.test/v1",
            auth=ApiKeyAuth(KEY, "user-1"),
            rate=0,
            max_retries=0,
            insecure=True,
        )
        async with server, LeadGeniusClient(settings, clock=FakeClock()) as client:
            return await client.list_clients()

    assert asyncio.run(go()) == []
    assert lines == [b"GET http://api.test/v1/api/clients HTTP/1.1"]
