"""Auth, the 10-second rolling limit, search's per-second limit and the daily quota."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from etl.clock import FakeClock
from etl.sandbox.hubspot.limits import DailyQuota, RollingWindow
from tests.fixtures.hubspot import HubSpotServer

CONTACTS = "/crm/v3/objects/contacts"
SEARCH = "/crm/v3/objects/contacts/search"
HEADER = "X-HubSpot-RateLimit-"


def test_rolling_window_refuses_the_hit_over_the_limit(fake_clock: FakeClock) -> None:
    """Three hits fit in a window of 3; the fourth inside the same 10 s is refused."""
    window = RollingWindow(10.0, fake_clock)
    assert [window.try_hit(3) for _ in range(4)] == [True, True, True, False]


def test_rolling_window_frees_each_hit_ten_seconds_after_it(fake_clock: FakeClock) -> None:
    """The window rolls: a slot frees when its own hit is 10 s old, not at a fixed boundary."""
    window = RollingWindow(10.0, fake_clock)
    assert window.try_hit(3)
    fake_clock.advance(6)
    assert window.try_hit(3) and window.try_hit(3)
    fake_clock.advance(3.9)  # t = 9.9: the first hit is still inside
    assert not window.try_hit(3)
    fake_clock.advance(0.1)  # t = 10: the first hit leaves
    assert window.try_hit(3)
    assert not window.try_hit(3)  # the two hits of t = 6 are still inside


def test_refused_hits_do_not_use_up_the_window(fake_clock: FakeClock) -> None:
    """Hammering a full window does not push the reopening further away."""
    window = RollingWindow(1.0, fake_clock)
    assert window.try_hit(1)
    for _ in range(50):
        fake_clock.advance(0.01)
        assert not window.try_hit(1)
    fake_clock.advance(0.5)  # t = 1.0
    assert window.try_hit(1)


def test_zero_limit_means_unlimited(fake_clock: FakeClock) -> None:
    """A limit of 0 never refuses."""
    window = RollingWindow(10.0, fake_clock)
    assert all(window.try_hit(0) for _ in range(1000))


def test_daily_quota_resets_at_utc_midnight(fake_clock: FakeClock) -> None:
    """The daily count starts over when the clock passes midnight UTC."""
    quota = DailyQuota(fake_clock)
    assert quota.try_hit(2) and quota.try_hit(2)
    assert not quota.try_hit(2)
    fake_clock.advance(86_400 - fake_clock.time() % 86_400)
    assert quota.try_hit(2)


def _limited(make_hubspot: Any, clock: FakeClock, **knobs: Any) -> HubSpotServer:
    return make_hubspot(contacts=30, clock=clock, **knobs)


def test_responses_carry_the_rate_limit_headers(make_hubspot: Any, fake_clock: FakeClock) -> None:
    """Max, Remaining (counting down), Interval-Milliseconds, Daily and Daily-Remaining."""
    server = _limited(make_hubspot, fake_clock, rate_limit_per_10s=3, daily_limit=1000)
    with server.client() as http:
        responses = [http.get(CONTACTS) for _ in range(3)]
    assert [r.headers[f"{HEADER}Remaining"] for r in responses] == ["2", "1", "0"]
    assert [r.headers[f"{HEADER}Daily-Remaining"] for r in responses] == ["999", "998", "997"]
    headers = responses[0].headers
    assert headers[f"{HEADER}Max"] == "3"
    assert headers[f"{HEADER}Interval-Milliseconds"] == "10000"
    assert headers[f"{HEADER}Daily"] == "1000"


def test_over_the_ten_second_limit_is_a_429_until_the_window_rolls(
    make_hubspot: Any, fake_clock: FakeClock
) -> None:
    """The request over the limit gets HubSpot's 429 body without Retry-After."""
    server = _limited(make_hubspot, fake_clock, rate_limit_per_10s=2)
    with server.client() as http:
        assert [http.get(CONTACTS).status_code for _ in range(2)] == [200, 200]
        refused = http.get(CONTACTS)
        fake_clock.advance(10)
        again = http.get(CONTACTS)
    assert refused.status_code == 429
    body = refused.json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["status"] == "error" and body["correlationId"]
    assert "ten_secondly_rolling" in body["message"]
    assert "retry-after" not in refused.headers
    assert again.status_code == 200


def test_search_has_its_own_per_second_limit_without_headers(
    make_hubspot: Any, fake_clock: FakeClock
) -> None:
    """Search is limited per second, answers without rate-limit headers, and does not
    consume the 10-second window of the other routes."""
    server = _limited(make_hubspot, fake_clock, rate_limit_per_10s=1, search_rate_per_s=2)
    with server.client() as http:
        searches = [http.post(SEARCH, json={}) for _ in range(3)]
        listed = http.get(CONTACTS)
        fake_clock.advance(1)
        later = http.post(SEARCH, json={})
    assert [r.status_code for r in searches] == [200, 200, 429]
    assert searches[2].json()["policyName"] == "SECONDLY"
    assert not any(h.lower().startswith("x-hubspot-ratelimit") for h in searches[0].headers)
    assert not any(h.lower().startswith("x-hubspot-ratelimit") for h in searches[2].headers)
    assert listed.status_code == 200
    assert later.status_code == 200


def test_daily_quota_exhausted_is_a_429(make_hubspot: Any, fake_clock: FakeClock) -> None:
    """After daily_limit requests the API answers 429 with policyName DAILY."""
    server = _limited(make_hubspot, fake_clock, daily_limit=2)
    with server.client() as http:
        statuses = [http.get(CONTACTS).status_code for _ in range(2)]
        refused = http.post(SEARCH, json={})
    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert refused.json()["policyName"] == "DAILY"


@pytest.mark.parametrize("header", [None, "Bearer pat-na1-wrong", "Basic abc", "Bearer"])
def test_missing_or_bad_token_is_a_401(hubspot_portal: HubSpotServer, header: str | None) -> None:
    """Anything but the right bearer token is 401 INVALID_AUTHENTICATION."""
    headers = {} if header is None else {"Authorization": header}
    with httpx.Client(base_url=hubspot_portal.base_url, headers=headers) as http:
        response = http.get(CONTACTS)
    assert response.status_code == 401
    body = response.json()
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found")
    assert body["status"] == "error" and body["correlationId"]


def test_unauthenticated_requests_do_not_use_the_rate_limit(
    make_hubspot: Any, fake_clock: FakeClock
) -> None:
    """401s are not counted against the token's window."""
    server = _limited(make_hubspot, fake_clock, rate_limit_per_10s=1)
    with server.client(token="pat-na1-wrong") as bad:
        assert [bad.get(CONTACTS).status_code for _ in range(3)] == [401] * 3
    with server.client() as http:
        assert http.get(CONTACTS).status_code == 200


def test_counters_report_requests_by_route_and_status(
    make_hubspot: Any, fake_clock: FakeClock
) -> None:
    """_sandbox/counters counts each response by route and status, 429s by policy."""
    server = _limited(make_hubspot, fake_clock, rate_limit_per_10s=1)
    with server.client() as http:
        http.get(CONTACTS)
        http.get(CONTACTS)
        http.post(SEARCH, json={"limit": 500})
    counters = server.admin("GET", "counters")
    assert counters["requests"][f"GET {CONTACTS}"] == {"200": 1, "429": 1}
    assert counters["requests"][f"POST {SEARCH}"] == {"400": 1}
    assert counters["rate_limited"] == {"TEN_SECONDLY_ROLLING": 1}
    assert counters["status_429"] == 1 and counters["total"] == 3
    assert server.admin("DELETE", "counters")["total"] == 0


def test_config_route_changes_limits_while_running(
    make_hubspot: Any, fake_clock: FakeClock
) -> None:
    """POST _sandbox/config tightens the 10 s limit at once; unknown knobs are refused."""
    server = _limited(make_hubspot, fake_clock)
    knobs = server.admin("POST", "config", {"rate_limit_per_10s": 1, "search_lag_ms": 250})
    assert knobs["rate_limit_per_10s"] == 1 and knobs["search_lag_ms"] == 250
    assert server.token not in str(server.admin("GET", "config"))
    with server.client() as http:
        assert [http.get(CONTACTS).status_code for _ in range(2)] == [200, 429]
        bad = http.post("/_sandbox/config", json={"token": "pat-x"})
        wrong_type = http.post("/_sandbox/config", json={"daily_limit": "many"})
    assert bad.status_code == 400 and wrong_type.status_code == 400
