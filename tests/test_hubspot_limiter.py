"""The rolling-window limiters: HubSpot's 10-second app limit and search's per-second one."""

from __future__ import annotations

import asyncio

from etl.clock import FakeClock
from etl.sources.hubspot_limiter import RollingLimiter, budget_for


def _send_times(limiter: RollingLimiter, clock: FakeClock, n: int) -> list[float]:
    async def go() -> list[float]:
        times = []
        for _ in range(n):
            await limiter.acquire()
            times.append(clock.monotonic())
        return times

    return asyncio.run(go())


def _max_in_window(times: list[float], seconds: float) -> int:
    return max(sum(1 for t in times if start <= t < start + seconds) for start in times)


def test_budget_keeps_a_margin_below_the_server_limit() -> None:
    """The limiter aims 5 % below HubSpot's limit (at least one request below), never 0."""
    assert budget_for(100) == 95
    assert budget_for(190) == 180
    assert budget_for(10) == 9
    assert budget_for(1) == 1
    assert budget_for(4, margin=0) == 4


def test_no_rolling_10_second_window_ever_holds_more_than_the_budget(
    fake_clock: FakeClock,
) -> None:
    """300 requests under a 100/10 s limit: any 10-second span holds at most 95, and the
    waits come from the injected clock (no real sleeping)."""
    limiter = RollingLimiter(100, 10.0, clock=fake_clock)
    times = _send_times(limiter, fake_clock, 300)
    assert _max_in_window(times, 10.0) <= 95
    assert times[94] == 0.0  # the first budget goes out at once
    assert times[95] > 10.0  # the next waits for the first hit to leave the window
    assert fake_clock.sleeps and limiter.waits > 0


def test_limit_and_interval_are_learned_from_hubspot_headers(fake_clock: FakeClock) -> None:
    """``X-HubSpot-RateLimit-Max``/``-Interval-Milliseconds`` replace the starting guess:
    a Professional portal (190) gets 180 per window."""
    limiter = RollingLimiter(100, 10.0, clock=fake_clock)
    limiter.observe(
        {
            "X-HubSpot-RateLimit-Max": "190",
            "X-HubSpot-RateLimit-Remaining": "190",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        }
    )
    assert limiter.limit == 190 and limiter.budget == 180 and limiter.interval == 10.0
    times = _send_times(limiter, fake_clock, 181)
    assert times[179] == 0.0 and times[180] > 10.0


def test_requests_counted_by_someone_else_slow_us_down(fake_clock: FakeClock) -> None:
    """When HubSpot's ``-Remaining`` says more of the window is used than we sent (another
    integration on the same app), the difference counts against our budget."""
    limiter = RollingLimiter(100, 10.0, clock=fake_clock)
    limiter.observe({"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "20"})
    assert limiter.in_window() == 80
    times = _send_times(limiter, fake_clock, 16)
    assert times[14] == 0.0 and times[15] > 10.0


def test_a_429_treats_the_window_as_full(fake_clock: FakeClock) -> None:
    """After a 429 nothing more is sent until the window has turned over."""
    limiter = RollingLimiter(10, 10.0, clock=fake_clock)
    _send_times(limiter, fake_clock, 3)
    limiter.saturate()
    assert limiter.in_window() == 10
    times = _send_times(limiter, fake_clock, 1)
    assert times[0] >= 10.0


def test_a_configured_cap_wins_over_a_higher_advertised_limit(fake_clock: FakeClock) -> None:
    """``cap=True`` keeps the configured limit as an upper bound (search: 4 per second)."""
    limiter = RollingLimiter(4, 1.0, clock=fake_clock, cap=True, margin=0, slack=0.1)
    limiter.observe({"X-HubSpot-RateLimit-Max": "50"})
    assert limiter.budget == 4
    times = _send_times(limiter, fake_clock, 20)
    assert _max_in_window(times, 1.0) <= 4
