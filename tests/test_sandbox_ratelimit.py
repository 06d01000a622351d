"""Sandbox rate limiter: rolling 60 s window per identity, headers, 429 + Retry-After.

Driven by a fake clock: nothing sleeps.
"""

from __future__ import annotations

import pytest

from etl.sandbox.limiter import RateLimiter


@pytest.fixture
def limited(fake_clock, make_inprocess_sandbox):
    app = make_inprocess_sandbox(fake_clock, rate_limit=3)
    app.demo = app.login(app.sandbox.accounts["demo"])
    return app


def test_every_api_response_carries_rate_limit_headers(limited, fake_clock):
    """X-RateLimit-Limit/Remaining/Reset on each response; Remaining counts down."""
    remaining = []
    for _ in range(3):
        response = limited.get("/api/clients", headers=limited.demo)
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert int(response.headers["X-RateLimit-Reset"]) == int(fake_clock.time()) + 60
        remaining.append(response.headers["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]


def test_past_the_limit_429_with_retry_after_and_error_body(limited, fake_clock):
    """The 4th request in a minute -> 429, Retry-After in whole seconds, the error body."""
    for _ in range(3):
        limited.get("/api/clients", headers=limited.demo)
        fake_clock.advance(10)
    response = limited.get("/api/clients", headers=limited.demo)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"  # first slot frees at t=60
    assert response.headers["X-RateLimit-Remaining"] == "0"
    body = response.json()
    assert body["success"] is False
    assert body["errorType"] == "rate_limited"
    assert limited.get("/_sandbox/counters").json()["rate_limited"] == 1


def test_refused_requests_do_not_consume_the_window_and_slots_free_as_it_rolls(limited, fake_clock):
    """Hammering while limited changes nothing; each slot frees 60 s after its request."""
    for _ in range(3):
        limited.get("/api/clients", headers=limited.demo)
        fake_clock.advance(1)
    for _ in range(5):
        assert limited.get("/api/clients", headers=limited.demo).status_code == 429
    fake_clock.advance(57)  # t=60: the first request (t=0) leaves the window
    assert limited.get("/api/clients", headers=limited.demo).status_code == 200
    assert limited.get("/api/clients", headers=limited.demo).status_code == 429
    fake_clock.advance(1)
    assert limited.get("/api/clients", headers=limited.demo).status_code == 200


def test_retry_after_is_at_least_one_second(limited, fake_clock):
    """Retry-After never says 0, even when the slot frees in a fraction of a second."""
    for _ in range(3):
        limited.get("/api/clients", headers=limited.demo)
    fake_clock.advance(59.9)
    response = limited.get("/api/clients", headers=limited.demo)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"


def test_limits_are_per_identity_and_api_key_shares_the_users_window(limited):
    """The other user has its own window; demo's API key counts against demo's window."""
    demo_account = limited.sandbox.accounts["demo"]
    api_key = {"x-api-key": demo_account.api_key, "x-user-id": demo_account.user_id}
    assert limited.get("/api/clients", headers=limited.demo).status_code == 200
    assert limited.get("/api/clients", headers=api_key).status_code == 200
    assert limited.get("/api/clients", headers=limited.demo).status_code == 200
    assert limited.get("/api/clients", headers=api_key).status_code == 429
    other = limited.login(limited.sandbox.accounts["other"])
    assert limited.get("/api/clients", headers=other).status_code == 200


def test_rate_limit_zero_means_unlimited_without_headers(fake_clock, make_inprocess_sandbox):
    """rate_limit=0: no 429 ever, no X-RateLimit headers."""
    app = make_inprocess_sandbox(fake_clock, rate_limit=0)
    headers = app.login(app.sandbox.accounts["demo"])
    for _ in range(150):
        response = app.get("/api/clients", headers=headers)
        assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response.headers


def test_admin_routes_are_never_rate_limited(limited):
    """/_sandbox routes do not count and carry no headers."""
    for _ in range(10):
        response = limited.get("/_sandbox/counters")
        assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response.headers
    assert limited.get("/api/clients", headers=limited.demo).headers["X-RateLimit-Remaining"] == "2"


def test_rate_limit_changed_at_runtime_takes_effect(limited):
    """Raising the limit through the admin route lets the same identity continue."""
    for _ in range(3):
        limited.get("/api/clients", headers=limited.demo)
    assert limited.get("/api/clients", headers=limited.demo).status_code == 429
    limited.post("/_sandbox/config", json={"rate_limit": 5})
    assert limited.get("/api/clients", headers=limited.demo).status_code == 200


def test_limiter_reset_header_points_at_the_oldest_slot():
    """Reset = wall time when the oldest request in the window leaves it (rounded up)."""
    limiter = RateLimiter()
    limiter.hit("u", 2, mono=0.0, wall=1000.0)
    decision = limiter.hit("u", 2, mono=30.5, wall=1030.5)
    assert decision.reset_at == 1060
    refused = limiter.hit("u", 2, mono=45.0, wall=1045.0)
    assert not refused.allowed
    assert refused.retry_after == 15
    assert refused.reset_at == 1060
