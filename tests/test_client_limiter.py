"""The rate limiter paces below the limit, learns it from headers and backs off on 429."""

from __future__ import annotations

import asyncio

from etl.client import RateLimiter
from etl.clock import FakeClock


def max_in_rolling_window(times: list[float], window: float = 60.0) -> int:
    """Most requests the server's rolling window (t - 60, t] would ever hold."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def acquire_times(limiter: RateLimiter, clock: FakeClock, n: int, workers: int = 1) -> list[float]:
    times: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            await limiter.acquire()
            times.append(clock.monotonic())

    async def main() -> None:
        await asyncio.gather(*(worker(n // workers) for _ in range(workers)))

    asyncio.run(main())
    return sorted(times)


def test_steady_pace_is_just_below_the_configured_rate(fake_clock: FakeClock) -> None:
    """Sustained pace is 97-100 % of --rate and no 60 s window ever holds more than the rate."""
    limiter = RateLimiter(100, clock=fake_clock)
    times = acquire_times(limiter, fake_clock, 400)
    achieved = (len(times) - 1) / (times[-1] - times[0]) * 60
    assert 97.0 <= achieved <= 100.0
    assert max_in_rolling_window(times) <= 100


def test_many_concurrent_callers_share_one_budget(fake_clock: FakeClock) -> None:
    """Sixteen coroutines together still stay under 1,000/min in every rolling window."""
    limiter = RateLimiter(1000, clock=fake_clock)
    times = acquire_times(limiter, fake_clock, 3200, workers=16)
    assert max_in_rolling_window(times) <= 1000
    achieved = (len(times) - 1) / (times[-1] - times[0]) * 60
    assert achieved >= 970


def test_a_lower_server_limit_from_headers_wins_over_the_configured_rate(
    fake_clock: FakeClock,
) -> None:
    """X-RateLimit-Limit below --rate becomes the effective limit."""
    limiter = RateLimiter(1000, clock=fake_clock)
    limiter.observe(200, {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "59"})
    assert limiter.limit == 60
    times = acquire_times(limiter, fake_clock, 200)
    assert max_in_rolling_window(times) <= 60


def test_a_higher_server_limit_does_not_raise_the_configured_rate(fake_clock: FakeClock) -> None:
    """--rate is the user's ceiling even when the server would allow more."""
    limiter = RateLimiter(100, clock=fake_clock)
    limiter.observe(200, {"X-RateLimit-Limit": "1000"})
    assert limiter.limit == 100


def test_zero_rate_means_no_client_limit_until_the_server_states_one(
    fake_clock: FakeClock,
) -> None:
    """--rate 0 does not wait at all, but a learned server limit is still respected."""
    limiter = RateLimiter(0, clock=fake_clock)
    acquire_times(limiter, fake_clock, 50)
    assert fake_clock.monotonic() == 0.0
    limiter.observe(200, {"X-RateLimit-Limit": "100"})
    times = acquire_times(limiter, fake_clock, 150)
    assert max_in_rolling_window(times) <= 100


def test_429_pauses_for_retry_after_then_halves_the_rate(fake_clock: FakeClock) -> None:
    """A 429 with Retry-After: 7 makes the next request wait >= 7 s, at half the pace."""
    limiter = RateLimiter(100, clock=fake_clock)
    asyncio.run(limiter.acquire())
    limiter.observe(429, {"Retry-After": "7", "X-RateLimit-Limit": "100"})
    start = fake_clock.monotonic()
    asyncio.run(limiter.acquire())
    assert fake_clock.monotonic() - start >= 7.0
    assert limiter.rate is not None and limiter.rate < 0.6 * 98.5


def test_the_rate_recovers_gradually_after_a_429(fake_clock: FakeClock) -> None:
    """After a 429 the pace climbs back to the target over tens of seconds, not at once."""
    limiter = RateLimiter(100, clock=fake_clock)
    limiter.observe(429, {"Retry-After": "1", "X-RateLimit-Limit": "100"})
    halved = limiter.rate
    fake_clock.advance(10)
    asyncio.run(limiter.acquire())
    partly = limiter.rate
    fake_clock.advance(60)
    asyncio.run(limiter.acquire())
    assert halved is not None and partly is not None
    assert halved < partly < 98.5
    assert limiter.rate == 98.5


def test_simultaneous_429s_of_in_flight_requests_decrease_the_rate_once(
    fake_clock: FakeClock,
) -> None:
    """Several 429s arriving together are one episode: one halving, not one per response."""
    limiter = RateLimiter(100, clock=fake_clock)
    for _ in range(4):
        limiter.observe(429, {"Retry-After": "2", "X-RateLimit-Limit": "100"})
    assert limiter.rate == 98.5 / 2


def test_remaining_zero_pauses_until_the_reset_time(fake_clock: FakeClock) -> None:
    """X-RateLimit-Remaining: 0 holds every request until X-RateLimit-Reset (epoch s)."""
    limiter = RateLimiter(100, clock=fake_clock)
    asyncio.run(limiter.acquire())
    reset = fake_clock.time() + 12
    limiter.observe(
        200,
        {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    start = fake_clock.monotonic()
    asyncio.run(limiter.acquire())
    assert fake_clock.monotonic() - start >= 12.0


def test_nonsense_headers_are_ignored(fake_clock: FakeClock) -> None:
    """Garbage or negative header values neither crash nor change the limit."""
    limiter = RateLimiter(100, clock=fake_clock)
    limiter.observe(200, {"X-RateLimit-Limit": "lots", "X-RateLimit-Remaining": "-3"})
    assert limiter.limit == 100
