"""An async token-bucket rate limiter that learns the server's limit from its headers.

The LeadGenius API counts requests per identity in a *rolling* 60-second window and answers
429 beyond its limit (100 or 1,000/minute). A token bucket refilling at rate ``r`` with
capacity ``b`` lets at most ``b + 60 r`` requests through in any 60 s window, so the limiter
aims at ``r = aim * limit`` (98.5 %) and keeps ``b`` to half of the leftover margin: a
steady state that never crosses the server's window, with room for latency jitter, while
a bucket deeper than one token absorbs late wake-ups of the event loop (which would
otherwise lose throughput).

What it learns (:meth:`RateLimiter.observe`):

* ``X-RateLimit-Limit``: the server's limit; the effective limit is the lower of it and
  the configured ``--rate``.
* ``X-RateLimit-Remaining: 0`` with ``X-RateLimit-Reset`` (epoch seconds): pause until then.
* 429 (+ ``Retry-After``): pause everyone for that long, empty the bucket, and halve the
  rate (multiplicative decrease, at most once per pause); the rate then recovers linearly
  to the target over ``recovery_seconds`` of wall time.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping

from etl.clock import Clock

log = logging.getLogger(__name__)

#: Fraction of the limit to aim at: 1.5 % below it leaves room for jitter and clock skew.
DEFAULT_AIM = 0.985
#: Never throttle below this fraction of the target after repeated 429s.
MIN_FACTOR = 0.1
#: Pause after a 429 that says nothing about when to come back.
DEFAULT_RETRY_AFTER = 1.0
_EPSILON = 1e-9
#: Longest pause a header may impose (a bogus Reset must not stall a job for hours).
MAX_PAUSE = 120.0


def _number(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


class RateLimiter:
    """Paces requests below a requests-per-minute limit; safe for many coroutines.

    Args:
        rate_per_minute: the configured limit (``--rate``); 0 means none of our own, in which
            case only a limit learned from the server (if any) applies.
        clock: time source and sleeper (a ``FakeClock`` in tests).
        aim: fraction of the effective limit to pace at.
        recovery_seconds: time for the rate to climb from 0 to the target after a 429
            (from half the target: half this time).
    """

    def __init__(
        self,
        rate_per_minute: float,
        *,
        clock: Clock,
        aim: float = DEFAULT_AIM,
        recovery_seconds: float = 60.0,
    ) -> None:
        self._clock = clock
        self._configured = float(rate_per_minute) if rate_per_minute > 0 else None
        self._server_limit: float | None = None
        self._aim = aim
        self._recovery = recovery_seconds
        self._factor = 1.0
        self._updated = clock.monotonic()
        # One token, not a full bucket, until the server's limit is known: the configured
        # rate may be far above it, and a first burst would be counted for a whole minute.
        self._tokens = 1.0
        self._paused_until = 0.0
        self._last_decrease = -math.inf
        self._lock = asyncio.Lock()
        self.throttles = 0

    @property
    def limit(self) -> float | None:
        """The effective limit in requests/minute (configured vs learned), or ``None``."""
        known = [x for x in (self._configured, self._server_limit) if x]
        return min(known) if known else None

    @property
    def server_limit(self) -> float | None:
        """The limit the server advertised in ``X-RateLimit-Limit``, if seen."""
        return self._server_limit

    @property
    def rate(self) -> float | None:
        """The current pace in requests/minute (below the limit after a 429), or ``None``."""
        limit = self.limit
        return None if limit is None else limit * self._aim * self._factor

    @property
    def capacity(self) -> float:
        """Bucket depth: half of what ``limit - 60 s x target`` leaves, at least one token."""
        limit = self.limit
        if limit is None:
            return 1.0
        return max(1.0, math.floor(limit * (1.0 - self._aim) / 2.0))

    def _refill(self, now: float) -> None:
        # Nothing accrues during a pause: neither tokens (no burst when it ends) nor the
        # recovery of the rate (it recovers from the moment requests flow again).
        since = max(self._updated, self._paused_until)
        self._updated = max(self._updated, now)
        elapsed = max(0.0, now - since)
        rate = self.rate
        if rate is not None:
            self._tokens = min(self.capacity, self._tokens + elapsed * rate / 60.0)
        if self._factor < 1.0:
            self._factor = min(1.0, self._factor + elapsed / self._recovery)

    async def acquire(self) -> float:
        """Wait until one more request may be sent, and take its token.

        Returns:
            Seconds spent waiting.
        """
        start = self._clock.monotonic()
        async with self._lock:
            while True:
                now = self._clock.monotonic()
                self._refill(now)
                if self._paused_until > now:
                    await self._clock.sleep(self._paused_until - now)
                    continue
                rate = self.rate
                if rate is None:
                    break
                if self._tokens >= 1.0 - _EPSILON:  # float sums land a hair below 1
                    self._tokens = max(0.0, self._tokens - 1.0)
                    break
                await self._clock.sleep((1.0 - self._tokens) * 60.0 / rate)
        return self._clock.monotonic() - start

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from one response's status and rate-limit headers.

        Args:
            status: the HTTP status.
            headers: response headers (any capitalization).
        """
        headers = {k.lower(): v for k, v in headers.items()}
        limit = _number(headers, "x-ratelimit-limit")
        if limit and limit != self._server_limit:
            if self._server_limit is None:
                log.debug("server rate limit: %.0f requests/minute", limit)
            self._server_limit = limit
            self._tokens = min(self._tokens, self.capacity)
        now = self._clock.monotonic()
        reset = _number(headers, "x-ratelimit-reset")
        reset_in = None if reset is None else reset - self._clock.time()
        if status == 429:
            retry_after = _number(headers, "retry-after")
            if retry_after is None:
                retry_after = reset_in if reset_in and reset_in > 0 else DEFAULT_RETRY_AFTER
            self._throttle(now, retry_after)
        elif _number(headers, "x-ratelimit-remaining") == 0 and reset_in and reset_in > 0:
            self._pause(now, reset_in)

    def _pause(self, now: float, seconds: float) -> None:
        self._paused_until = max(self._paused_until, now + min(seconds, MAX_PAUSE))

    def _throttle(self, now: float, retry_after: float) -> None:
        self.throttles += 1
        self._refill(now)
        self._tokens = 0.0
        self._pause(now, retry_after)
        # Requests already in flight come back 429 together: one decrease per episode.
        if now >= self._last_decrease + max(1.0, retry_after):
            self._factor = max(MIN_FACTOR, self._factor * 0.5)
            self._last_decrease = now
            log.info(
                "rate limited (429): pausing %.1f s, then %.0f requests/minute",
                retry_after,
                self.rate or 0.0,
            )
