"""Rolling-window limiters for HubSpot: the 10-second app limit and search's per-second one.

HubSpot counts requests per private app in a *rolling* window (100 or 190 per 10 s) and
says so in every response (``X-HubSpot-RateLimit-Max``, ``-Remaining``,
``-Interval-Milliseconds``); search has its own limit (about 5 per second) and sends no
headers at all. A token bucket does not model a rolling count well, so the limiter keeps
the send times of the last window and admits a request only while fewer than its budget
were sent in it: the same arithmetic as the server, with a small margin.

What it learns (:meth:`RollingLimiter.observe`):

* ``-Max`` and ``-Interval-Milliseconds``: the window itself (the configured cap, if lower,
  still wins).
* ``-Remaining``: when the server counts more requests in the window than we sent (another
  integration shares the app), the difference is added as hits "now", so we slow down
  instead of running into 429s.
* a 429: the window is treated as full (the retry policy then waits).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Mapping

from etl.clock import Clock

#: Seconds added to each hit's lifetime: the server admits a request a little after we
#: send it, so its window lets go of the hit a little later than ours would.
DEFAULT_SLACK = 0.25
#: Longest window a header may impose (a bogus value must not stall a job).
MAX_INTERVAL = 60.0


def _number(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def budget_for(limit: int, margin: float = 0.05) -> int:
    """Requests to allow per window for a server limit: ``margin`` below it, at least one.

    Args:
        limit: the server's limit per window.
        margin: fraction kept in reserve (rounded up to whole requests when > 0).
    """
    if margin <= 0:
        return max(1, limit)
    return max(1, limit - max(1, math.ceil(limit * margin)))


class RollingLimiter:
    """At most ``budget`` requests in any rolling window; safe for many coroutines.

    Args:
        limit: requests allowed per window before headers say otherwise (and the cap
            afterwards when ``cap`` is true).
        interval: window length in seconds.
        clock: time source and sleeper (a ``FakeClock`` in tests).
        cap: keep ``limit`` as an upper bound even when the server advertises more.
        margin: fraction of the limit kept in reserve (:func:`budget_for`).
        slack: seconds added to each hit's lifetime (see :data:`DEFAULT_SLACK`).
    """

    def __init__(
        self,
        limit: int,
        interval: float,
        *,
        clock: Clock,
        cap: bool = False,
        margin: float = 0.05,
        slack: float = DEFAULT_SLACK,
    ) -> None:
        if limit < 1 or interval <= 0:
            raise ValueError("a rolling limiter needs limit >= 1 and interval > 0")
        self._clock = clock
        self._configured = limit
        self._cap = cap
        self._margin = margin
        self._server_limit: int | None = None
        self.interval = interval
        self._slack = slack
        self._hits: deque[float] = deque()
        self._lock = asyncio.Lock()
        self.waited = 0.0
        self.waits = 0

    @property
    def limit(self) -> int:
        """The limit per window in force (learned from headers, bounded by a cap)."""
        if self._server_limit is None:
            return self._configured
        return min(self._server_limit, self._configured) if self._cap else self._server_limit

    @property
    def budget(self) -> int:
        """Requests admitted per window: :func:`budget_for` of :attr:`limit`."""
        return budget_for(self.limit, self._margin)

    def _expire(self, now: float) -> None:
        life = self.interval + self._slack
        while self._hits and self._hits[0] <= now - life:
            self._hits.popleft()

    def in_window(self) -> int:
        """Hits counted in the current window (ours plus any the server reported)."""
        self._expire(self._clock.monotonic())
        return len(self._hits)

    async def acquire(self) -> float:
        """Wait until one more request fits in the window, and count it.

        Returns:
            Seconds spent waiting.
        """
        start = self._clock.monotonic()
        async with self._lock:
            while True:
                now = self._clock.monotonic()
                self._expire(now)
                if len(self._hits) < self.budget:
                    self._hits.append(now)
                    break
                # The oldest hit leaves the window first; the loop re-checks after it.
                wait = self._hits[0] + self.interval + self._slack - now
                self.waits += 1
                await self._clock.sleep(max(wait, 0.001))
        waited = self._clock.monotonic() - start
        self.waited += waited
        return waited

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the window from one response's ``X-HubSpot-RateLimit-*`` headers.

        Args:
            headers: response headers (any capitalization).
        """
        lower = {k.lower(): v for k, v in headers.items()}
        limit = _number(lower, "x-hubspot-ratelimit-max")
        if limit is not None and limit >= 1:
            self._server_limit = int(limit)
        interval_ms = _number(lower, "x-hubspot-ratelimit-interval-milliseconds")
        if interval_ms:
            self.interval = min(interval_ms / 1000.0, MAX_INTERVAL)
        remaining = _number(lower, "x-hubspot-ratelimit-remaining")
        if remaining is not None and limit:
            self._sync(int(limit) - int(remaining))

    def _sync(self, server_used: int) -> None:
        now = self._clock.monotonic()
        self._expire(now)
        # Only ever add: our own in-flight requests may not be counted by the server yet.
        missing = min(server_used, self.limit) - len(self._hits)
        self._hits.extend([now] * max(0, missing))

    def saturate(self) -> None:
        """Treat the window as full (after a 429): nothing more is sent until hits expire."""
        self._sync(self.limit)
