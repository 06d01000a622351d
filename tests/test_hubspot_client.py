"""The HubSpot client: settings from the environment, error mapping, retries, 429 backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from etl.clock import FakeClock
from etl.sources.hubspot import extract_contacts, search_modified_since
from etl.sources.hubspot_client import HubSpotClient, throttle_wait
from etl.sources.hubspot_errors import (
    HubSpotAuthError,
    HubSpotConfigError,
    HubSpotDailyLimitError,
    HubSpotRequestError,
    HubSpotScopeError,
    HubSpotServerError,
    HubSpotTransportError,
)
from etl.sources.hubspot_settings import HubSpotSettings, hubspot_settings
from tests.fixtures.hubspot import HubSpotServer
from tests.fixtures.hubspot_source import ClientFactory, collect, rows_of, run

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
PATH = "/crm/v3/objects/contacts"


def _mock_client(
    handler: Callable[[httpx.Request], httpx.Response], clock: FakeClock, **settings: Any
) -> HubSpotClient:
    config = HubSpotSettings(token=TOKEN, base_url="https://api.hubapi.com", **settings)
    return HubSpotClient(
        config, clock=clock, transport=httpx.MockTransport(handler), rand=lambda: 0.5
    )


def _get(client: HubSpotClient) -> Any:
    async def go() -> Any:
        async with client:
            return await client.get(PATH, {"limit": 1})

    return asyncio.run(go())


def _script(*responses: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    """A handler answering each request with the next scripted response (or raising)."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


OK = httpx.Response(200, json={"results": []})


# --- settings -----------------------------------------------------------------------


def test_token_comes_from_hubspot_access_token_or_the_named_variable() -> None:
    """The token is read from HUBSPOT_ACCESS_TOKEN, or from the variable named by
    --hubspot-token-env; the base URL defaults to api.hubapi.com."""
    default = hubspot_settings(environ={"HUBSPOT_ACCESS_TOKEN": TOKEN})
    assert default.token == TOKEN and default.base_url == "https://api.hubapi.com"
    other = hubspot_settings(token_env="ACME_HS", environ={"ACME_HS": f" {TOKEN}\n"})
    assert other.token == TOKEN and other.token_env == "ACME_HS"


def test_a_missing_token_is_a_config_error_naming_the_variable_and_scopes() -> None:
    """No token: exit 2 with what to set and which scopes the private app needs."""
    with pytest.raises(HubSpotConfigError) as caught:
        hubspot_settings(token_env="ACME_HS", environ={"HUBSPOT_ACCESS_TOKEN": TOKEN})
    assert caught.value.exit_code == 2
    message = str(caught.value)
    assert "ACME_HS" in message
    assert "crm.objects.contacts.read" in message and "crm.objects.companies.read" in message


def test_a_token_pasted_as_the_variable_name_is_refused_without_echoing_it() -> None:
    """--hubspot-token-env takes a name: a token there is refused and never repeated."""
    with pytest.raises(HubSpotConfigError) as caught:
        hubspot_settings(token_env=TOKEN, environ={})
    assert TOKEN not in str(caught.value) and "11111111" not in str(caught.value)


def test_plain_http_is_only_allowed_to_localhost() -> None:
    """The token must not travel in clear text: http only for the local sandbox."""
    env = {"HUBSPOT_ACCESS_TOKEN": TOKEN}
    local = hubspot_settings(base_url="http://127.0.0.1:8765/hubspot/", environ=env)
    assert local.base_url == "http://127.0.0.1:8765/hubspot"
    with pytest.raises(HubSpotConfigError, match="https"):
        hubspot_settings(base_url="http://api.hubapi.com", environ=env)
    with pytest.raises(HubSpotConfigError):
        hubspot_settings(base_url="ftp://example.com", environ=env)


def test_settings_and_client_reprs_mask_the_token(fake_clock: FakeClock) -> None:
    """Neither repr shows the token."""
    settings = HubSpotSettings(token=TOKEN)
    client = HubSpotClient(settings, clock=fake_clock)
    assert TOKEN not in repr(settings) and "***" in repr(settings)
    assert TOKEN not in repr(client)
    asyncio.run(client.aclose())


# --- error mapping and retries ---------------------------------------------------------


def test_401_is_an_auth_error_that_says_to_check_the_token_and_scopes(
    fake_clock: FakeClock,
) -> None:
    """401 INVALID_AUTHENTICATION -> exit 2, naming the variable and both scopes; not retried."""
    body = {"status": "error", "message": "Authentication credentials not found.",
            "category": "INVALID_AUTHENTICATION", "correlationId": "x"}  # fmt: skip
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(401, json=body)

    with pytest.raises(HubSpotAuthError) as caught:
        _get(_mock_client(handler, fake_clock))
    assert caught.value.exit_code == 2 and len(calls) == 1
    message = str(caught.value)
    assert "HUBSPOT_ACCESS_TOKEN" in message and "private app" in message
    assert "crm.objects.contacts.read" in message and "crm.objects.companies.read" in message
    assert TOKEN not in message


def test_403_missing_scopes_names_the_scopes_hubspot_asks_for(fake_clock: FakeClock) -> None:
    """403 MISSING_SCOPES -> exit 2 listing the scopes from HubSpot's error context."""
    body = {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "category": "MISSING_SCOPES",
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": ["crm.objects.companies.read"]},
            }
        ],
    }
    with pytest.raises(HubSpotScopeError) as caught:
        _get(_mock_client(_script(httpx.Response(403, json=body)), fake_clock))
    assert caught.value.exit_code == 2
    assert caught.value.scopes == ("crm.objects.companies.read",)
    assert "crm.objects.companies.read" in str(caught.value)


def test_5xx_and_network_failures_are_retried_with_backoff_on_the_clock(
    fake_clock: FakeClock,
) -> None:
    """Reads are safe: 502, a read timeout and a connection error are retried (sleeping
    on the injected clock) until the answer comes."""
    handler = _script(
        httpx.Response(502, json={"status": "error", "message": "bad gateway"}),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        OK,
    )
    client = _mock_client(handler, fake_clock)
    assert _get(client) == {"results": []}
    assert client.stats.retries == 3 and client.stats.requests == 4
    assert len(fake_clock.sleeps) == 3 and all(s > 0 for s in fake_clock.sleeps)


def test_persistent_failures_give_up_after_max_retries(fake_clock: FakeClock) -> None:
    """A 500 that never ends -> HubSpotServerError (exit 1) after 1 + max_retries attempts;
    a network failure that never ends -> HubSpotTransportError."""
    server_down = _mock_client(
        _script(httpx.Response(500, json={"message": "x"})), fake_clock, max_retries=2
    )
    with pytest.raises(HubSpotServerError) as caught:
        _get(server_down)
    assert caught.value.exit_code == 1 and server_down.stats.requests == 3
    unreachable = _mock_client(_script(httpx.ConnectError("no")), fake_clock, max_retries=1)
    with pytest.raises(HubSpotTransportError, match="ConnectError"):
        _get(unreachable)


def test_429_backs_off_exponentially_without_retry_after(fake_clock: FakeClock) -> None:
    """HubSpot sends no Retry-After: each further 429 of a request waits longer (1 s,
    2 s, 4 s ... capped at the 10 s window), then the request succeeds."""
    limited = httpx.Response(
        429,
        json={"status": "error", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING",
              "message": "You have reached your ten_secondly_rolling limit."},
    )  # fmt: skip
    client = _mock_client(_script(limited, limited, limited, OK), fake_clock)
    assert _get(client) == {"results": []}
    assert client.stats.throttled == 3
    assert [throttle_wait(n, rand=lambda: 0.5) for n in (1, 2, 3, 5, 9)] == [
        0.75, 1.5, 3.0, 7.5, 7.5,
    ]  # fmt: skip
    backoffs = [s for s in fake_clock.sleeps if s in (0.75, 1.5, 3.0)]
    assert backoffs == [0.75, 1.5, 3.0]


def test_daily_limit_and_bad_requests_are_not_retried(fake_clock: FakeClock) -> None:
    """A spent daily quota cannot be waited out in seconds, a 400 fails again: one attempt."""
    daily = httpx.Response(429, json={"policyName": "DAILY", "message": "daily"})
    client = _mock_client(_script(daily), fake_clock)
    with pytest.raises(HubSpotDailyLimitError, match="midnight"):
        _get(client)
    assert client.stats.requests == 1
    bad = _mock_client(
        _script(httpx.Response(400, json={"category": "VALIDATION_ERROR"})), fake_clock
    )
    with pytest.raises(HubSpotRequestError):
        _get(bad)
    assert bad.stats.requests == 1


# --- over HTTP against the sandbox ------------------------------------------------------


def test_a_wrong_token_fails_cleanly_and_the_token_never_reaches_logs(
    hubspot_portal: HubSpotServer, hubspot_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Against the sandbox: a wrong token is a HubSpotAuthError; neither it nor the right
    token shows in any log record (DEBUG included) or exception text."""
    wrong = "pat-na1-00000000-dead-beef-0000-000000000000"
    caplog.set_level(logging.DEBUG)

    async def extract(token: str | None) -> Any:
        async with hubspot_client(hubspot_portal, token=token) as client:
            return await collect(extract_contacts(client), limit=2)

    with pytest.raises(HubSpotAuthError) as caught:
        run(extract(wrong))
    pages = run(extract(None))
    assert rows_of(pages).height == 200
    texts = [caplog.text, str(caught.value), repr(caught.value), repr(caught.value.args)]
    for secret in (wrong, hubspot_portal.token):
        assert all(secret not in text for text in texts)
    assert caplog.records  # the run did log (so the check above could have failed)


def test_extraction_rides_out_429s_under_a_low_rate_limit(
    make_hubspot: Any, hubspot_client: ClientFactory, fake_clock: FakeClock
) -> None:
    """Another app used up the 10-second window (20 requests): the extraction gets a 429,
    backs off on the shared fake clock, learns the limit from the headers and completes
    with every contact, without a storm of 429s."""
    server = make_hubspot(contacts=600, seed=5, rate_limit_per_10s=20, clock=fake_clock)
    with server.client() as other_app:
        for _ in range(20):
            other_app.get(PATH, params={"limit": 1}).raise_for_status()
    client = hubspot_client(server, clock=fake_clock)

    async def extract() -> Any:
        async with client:
            return await collect(extract_contacts(client))

    pages = run(extract())
    assert rows_of(pages).height == server.admin("GET", "contacts")["contacts"]
    counters = server.admin("GET", "counters")
    assert counters["rate_limited"].get("TEN_SECONDLY_ROLLING", 0) >= 1
    assert client.stats.throttled == counters["status_429"] <= 3
    assert client.limiter.limit == 20 and fake_clock.monotonic() > 10.0


def test_search_is_paced_under_its_per_second_limit_without_headers(
    make_hubspot: Any, hubspot_client: ClientFactory, fake_clock: FakeClock
) -> None:
    """Search sends no rate-limit headers; its own limiter keeps under 5 requests/s, so a
    scan of many pages (instant on the fake clock) meets no 429 at all."""
    server = make_hubspot(contacts=3000, seed=2, search_rate_per_s=5, clock=fake_clock)

    async def scan() -> Any:
        async with hubspot_client(server, clock=fake_clock) as client:
            return await collect(search_modified_since(client, 0, overlap_ms=0, page_size=100))

    pages = run(scan())
    assert len(pages) >= 25
    counters = server.admin("GET", "counters")
    assert counters["status_429"] == 0
    assert counters["requests"]["POST /crm/v3/objects/contacts/search"] == {"200": len(pages)}
