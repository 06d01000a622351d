"""The request pipeline: safe requests are retried, creating POSTs never blindly (MockTransport)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from etl.client import (
    AmbiguousWriteError,
    ApiKeyAuth,
    ClientSettings,
    ClientStats,
    LeadGeniusClient,
    PaginationLoopError,
    RejectedError,
    ServerError,
)
from etl.client.errors import NO_DATA_MESSAGE, TransportError
from etl.client.pagination import RawBulkPage
from etl.clock import FakeClock

KEY = "lgp_coretestkey000000001"
LEAD = {"client_id": "acme-corp", "email": "ann@acme.example", "firstName": "Ann"}

Handler = Callable[[httpx.Request], httpx.Response]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(body), headers=headers)


class Script:
    """Answers requests in order from a list of responses or exceptions; records requests."""

    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("scripted failure", request=request)
        if callable(step):
            return step(request)
        return step


def call(
    script: Script, clock: FakeClock, action: Callable[[LeadGeniusClient], Any], **kw: Any
) -> tuple[Any, ClientStats]:
    """Run ``action`` on a client wired to ``script``; return its result and the counters."""
    settings = ClientSettings(
        base_url="https://api.test", auth=ApiKeyAuth(KEY, "user-1"), rate=0, **kw
    )

    async def go() -> tuple[Any, ClientStats]:
        transport = httpx.MockTransport(script)
        async with LeadGeniusClient(settings, clock=clock, transport=transport) as client:
            return await action(client), client.stats

    return asyncio.run(go())


def run(
    script: Script, clock: FakeClock, action: Callable[[LeadGeniusClient], Any], **kw: Any
) -> Any:
    return call(script, clock, action, **kw)[0]


CREATED = _json(201, {"success": True, "lead": {**LEAD, "id": "lead-1"}})


def test_create_is_retried_when_the_connection_never_opened(fake_clock: FakeClock) -> None:
    """Connect errors happen before sending: the POST is repeated and succeeds."""
    script = Script(httpx.ConnectError, httpx.ConnectError, CREATED)
    lead, stats = call(script, fake_clock, lambda c: c.create_lead(dict(LEAD)))
    assert lead["id"] == "lead-1"
    assert len(script.requests) == 3
    assert stats.retries == 2


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
def test_create_failing_after_sending_is_ambiguous_not_retried(
    fake_clock: FakeClock, exc: type[Exception]
) -> None:
    """Timeout/reset after the request left: AmbiguousWriteError with identity, one attempt."""
    script = Script(exc, CREATED)
    with pytest.raises(AmbiguousWriteError) as info:
        run(script, fake_clock, lambda c: c.create_lead(dict(LEAD)))
    assert len(script.requests) == 1
    assert info.value.identity == LEAD
    assert info.value.kind == exc.__name__
    assert info.value.status is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_create_answered_by_a_5xx_is_ambiguous_not_retried(
    fake_clock: FakeClock, status: int
) -> None:
    """A 5xx may come after the lead was stored: report it, never send again."""
    script = Script(_json(status, {"error": "Internal server error"}), CREATED)
    with pytest.raises(AmbiguousWriteError) as info:
        run(script, fake_clock, lambda c: c.create_lead(dict(LEAD)))
    assert len(script.requests) == 1
    assert info.value.status == status
    assert "find-lead" in str(info.value)


def test_create_rejected_by_no_data_500_is_a_rejection(fake_clock: FakeClock) -> None:
    """Bugs 3/4/6: the NO_DATA 500 is the data's fault: RejectedError, not ambiguous."""
    script = Script(_json(500, {"success": False, "error": NO_DATA_MESSAGE}))
    with pytest.raises(RejectedError):
        run(script, fake_clock, lambda c: c.create_lead({**LEAD, "phone": "1"}))
    assert len(script.requests) == 1


def test_create_rejected_by_a_400_carries_the_server_reason(fake_clock: FakeClock) -> None:
    """A 400 names the errorType and the server's message."""
    body = {"success": False, "error": "email is invalid", "errorType": "invalid_format"}
    script = Script(_json(400, body))
    with pytest.raises(RejectedError) as info:
        run(script, fake_clock, lambda c: c.create_lead(dict(LEAD)))
    assert info.value.error_type == "invalid_format"
    assert info.value.server_message == "email is invalid"


def test_create_is_retried_after_429_honouring_retry_after(fake_clock: FakeClock) -> None:
    """429 means refused and not stored: wait Retry-After, then send again."""
    throttled = _json(429, {"error": "Rate limit exceeded"}, {"Retry-After": "9"})
    script = Script(throttled, CREATED)
    lead, stats = call(script, fake_clock, lambda c: c.create_lead(dict(LEAD)))
    assert lead["id"] == "lead-1"
    assert sum(fake_clock.sleeps) >= 9
    assert stats.throttled == 1


def test_create_under_a_client_uuid_is_refused_before_sending(fake_clock: FakeClock) -> None:
    """Bug 1 guard: a UUID client_id would store an invisible lead."""
    script = Script(CREATED)
    payload = {**LEAD, "client_id": "11111111-2222-3333-4444-555555555555"}
    with pytest.raises(RejectedError, match="slug"):
        run(script, fake_clock, lambda c: c.create_lead(payload))
    assert script.requests == []


def test_a_201_without_a_lead_id_is_ambiguous(fake_clock: FakeClock) -> None:
    """Created but unidentifiable: reconcile rather than trust."""
    script = Script(_json(201, {"success": True}))
    with pytest.raises(AmbiguousWriteError):
        run(script, fake_clock, lambda c: c.create_lead(dict(LEAD)))


def test_safe_requests_retry_5xx_with_growing_jittered_waits(fake_clock: FakeClock) -> None:
    """GET after two 503s succeeds; the waits come from the injected clock."""
    ok = _json(200, {"success": True, "clients": []})
    script = Script(_json(503, {}), _json(503, {}), ok)
    assert run(script, fake_clock, lambda c: c.list_clients()) == []
    assert len(script.requests) == 3
    assert len(fake_clock.sleeps) == 2
    assert all(0 <= s <= 1.0 for s in fake_clock.sleeps)


def test_safe_requests_give_up_after_max_retries_with_a_server_error(
    fake_clock: FakeClock,
) -> None:
    """A 503 storm ends with ServerError after 1 + max_retries attempts, exit code 1."""
    script = Script(_json(503, {"error": "Service unavailable"}))
    with pytest.raises(ServerError) as info:
        run(script, fake_clock, lambda c: c.list_clients(), max_retries=3)
    assert len(script.requests) == 4
    assert info.value.exit_code == 1


def test_safe_requests_retry_timeouts_and_resets(fake_clock: FakeClock) -> None:
    """A GET that timed out after sending is simply sent again."""
    ok = _json(200, {"success": True, "clients": [{"client_id": "a"}]})
    script = Script(httpx.ReadTimeout, httpx.RemoteProtocolError, ok)
    assert run(script, fake_clock, lambda c: c.list_clients()) == [{"client_id": "a"}]


def test_network_failure_after_retries_is_a_transport_error(fake_clock: FakeClock) -> None:
    """Connection refused throughout: TransportError saying what to check."""
    script = Script(httpx.ConnectError)
    with pytest.raises(TransportError, match="--base-url") as info:
        run(script, fake_clock, lambda c: c.list_clients(), max_retries=2)
    assert info.value.sent is False


def test_update_leads_sends_batches_of_at_most_50(fake_clock: FakeClock) -> None:
    """120 updates -> PUTs of 50, 50 and 20 leads."""

    def answer(request: httpx.Request) -> httpx.Response:
        n = len(orjson.loads(request.content)["leads"])
        return _json(200, {"success": True, "updated": n})

    script = Script(answer)
    leads = [{"id": f"l{i}", "title": "CTO"} for i in range(120)]
    assert run(script, fake_clock, lambda c: c.update_leads(leads)) == 120
    sizes = [len(orjson.loads(r.content)["leads"]) for r in script.requests]
    assert sizes == [50, 50, 20]
    assert {r.method for r in script.requests} == {"PUT"}


def test_bulk_page_sends_the_documented_parameters(fake_clock: FakeClock) -> None:
    """companyId, clientId, limit, nextToken and comma-joined fields; data.items accepted."""
    body = {"success": True, "data": {"items": [{"id": "1"}], "nextToken": "n2"}}
    script = Script(_json(200, body))
    page = run(
        script,
        fake_clock,
        lambda c: c.bulk_page(
            "enrich", company_id="co", client_id="acme", limit=10, next_token="n1",
            fields=["email", "title"],
        ),
    )  # fmt: skip
    assert page.items == [{"id": "1"}] and page.next_token == "n2"
    sent = script.requests[0]
    assert sent.url.path == "/api/enrich-leads/list"
    assert dict(sent.url.params) == {
        "companyId": "co", "clientId": "acme", "limit": "10", "nextToken": "n1",
        "fields": "email,title",
    }  # fmt: skip
    assert sent.headers["x-api-key"] == KEY and sent.headers["x-user-id"] == "user-1"


def test_bulk_page_can_return_the_raw_body_for_callers_with_their_own_parser(
    fake_clock: FakeClock,
) -> None:
    """raw=True: the body as sent (same request, retries and errors); parse() reads it
    exactly as raw=False does."""
    body = {"success": True, "data": {"leads": [{"id": "1"}], "nextToken": "n2"}}
    script = Script(_json(503, {"error": "busy"}), _json(200, body))
    page = run(script, fake_clock, lambda c: c.bulk_page("source", company_id="co", raw=True))
    assert isinstance(page, RawBulkPage)
    assert page.content == orjson.dumps(body)
    parsed = page.parse()
    assert parsed.items == [{"id": "1"}] and parsed.next_token == "n2"
    assert [r.url.path for r in script.requests] == ["/api/source-leads/list"] * 2


def test_iter_leads_pages_until_the_token_runs_out_and_ignores_total(
    fake_clock: FakeClock,
) -> None:
    """Bug 7: total says 1 but there are three pages."""
    script = Script(
        _json(200, {"leads": [{"id": "1"}], "total": 1, "nextToken": "a"}),
        _json(200, {"leads": [{"id": "2"}], "total": 1, "nextToken": "b"}),
        _json(200, {"leads": [{"id": "3"}], "total": 1, "nextToken": None}),
    )

    async def collect(c: LeadGeniusClient) -> list[str]:
        return [lead["id"] async for page in c.iter_leads("acme", page_size=1) for lead in page]

    assert run(script, fake_clock, collect) == ["1", "2", "3"]
    assert script.requests[1].url.params["nextToken"] == "a"


def test_iter_leads_stops_on_a_token_loop(fake_clock: FakeClock) -> None:
    """A server repeating a token raises PaginationLoopError instead of paging forever."""
    script = Script(
        _json(200, {"leads": [{"id": "1"}], "nextToken": "a"}),
        _json(200, {"leads": [{"id": "2"}], "nextToken": "a"}),
    )

    async def collect(c: LeadGeniusClient) -> None:
        async for _ in c.iter_leads("acme"):
            pass

    with pytest.raises(PaginationLoopError):
        run(script, fake_clock, collect)


def test_find_leads_treats_404_as_no_match(fake_clock: FakeClock) -> None:
    """Lookups answer [] when the server says not found."""
    script = Script(_json(404, {"error": "Lead not found", "errorType": "not_found"}))
    assert run(script, fake_clock, lambda c: c.find_leads("acme", email="x@y.z")) == []


def test_raw_post_is_not_retried_after_it_may_have_arrived(fake_clock: FakeClock) -> None:
    """request('POST', ...) outside the auth routes follows the creating-POST rules."""
    script = Script(httpx.ReadTimeout, _json(201, {"client": {}}))
    with pytest.raises(AmbiguousWriteError):
        run(
            script,
            fake_clock,
            lambda c: c.request("POST", "/api/clients", json={"clientName": "X"}),
        )
    assert len(script.requests) == 1
