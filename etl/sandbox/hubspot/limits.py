"""HubSpot's rate limits, driven by an injected clock, and the sandbox's request counters.

Three independent limits, checked in this order: the daily quota (all requests), the
10-second rolling window (every route but search) and search's own per-second window.
A refused request does not use up the window, as on the real API.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from typing import Any

from etl.clock import Clock

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
SECONDLY = "SECONDLY"
DAILY = "DAILY"


class RollingWindow:
    """At most ``limit`` hits in any ``seconds``-long window of monotonic time.

    Args:
        seconds: the window length.
        clock: where "now" comes from.
    """

    def __init__(self, seconds: float, clock: Clock) -> None:
        self.seconds = seconds
        self._clock = clock
        self._hits: deque[float] = deque()

    def _expire(self) -> float:
        now = self._clock.monotonic()
        while self._hits and self._hits[0] <= now - self.seconds:
            self._hits.popleft()
        return now

    def try_hit(self, limit: int) -> bool:
        """Record one hit and return ``True``, or return ``False`` if the window is full.

        Args:
            limit: hits allowed per window; 0 means unlimited (hits are still recorded).
        """
        now = self._expire()
        if limit and len(self._hits) >= limit:
            return False
        self._hits.append(now)
        return True

    def used(self) -> int:
        """Hits in the current window."""
        self._expire()
        return len(self._hits)


class DailyQuota:
    """Requests per UTC day, reset at midnight of the clock's wall time.

    Args:
        clock: where "now" comes from.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._day = -1
        self._used = 0

    def _roll(self) -> None:
        day = int(self._clock.time() // 86_400)
        if day != self._day:
            self._day, self._used = day, 0

    def try_hit(self, limit: int) -> bool:
        """Count one request and return ``True``, or ``False`` when the day's quota is spent."""
        self._roll()
        if limit and self._used >= limit:
            return False
        self._used += 1
        return True

    def used(self) -> int:
        """Requests counted today."""
        self._roll()
        return self._used


@dataclass(frozen=True)
class Verdict:
    """The outcome of a rate-limit check: the policy that refused (if any) and the headers."""

    refused_by: str | None
    headers: dict[str, str]


class RateLimits:
    """The per-token limits of one private app (the sandbox accepts a single token).

    Args:
        clock: drives every window.
    """

    def __init__(self, clock: Clock) -> None:
        self.ten_second = RollingWindow(10.0, clock)
        self.search = RollingWindow(1.0, clock)
        self.daily = DailyQuota(clock)

    def check(self, *, search: bool, per_10s: int, search_per_s: int, daily_limit: int) -> Verdict:
        """Admit or refuse one authenticated request and say which headers to send.

        Search responses carry no rate-limit headers, like HubSpot's.

        Args:
            search: the request is a CRM search (its own per-second limit, no headers).
            per_10s: the 10-second limit (0 = unlimited).
            search_per_s: the search limit per second (0 = unlimited).
            daily_limit: the daily quota (0 = unlimited).
        """
        if not self.daily.try_hit(daily_limit):
            return Verdict(DAILY, {} if search else self._headers(per_10s, daily_limit))
        if search:
            refused = None if self.search.try_hit(search_per_s) else SECONDLY
            return Verdict(refused, {})
        refused = None if self.ten_second.try_hit(per_10s) else TEN_SECONDLY
        return Verdict(refused, self._headers(per_10s, daily_limit))

    def _headers(self, per_10s: int, daily_limit: int) -> dict[str, str]:
        headers: dict[str, str] = {}
        if per_10s:
            headers["X-HubSpot-RateLimit-Max"] = str(per_10s)
            headers["X-HubSpot-RateLimit-Remaining"] = str(max(0, per_10s - self.ten_second.used()))
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = "10000"
        if daily_limit:
            headers["X-HubSpot-RateLimit-Daily"] = str(daily_limit)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(
                max(0, daily_limit - self.daily.used())
            )
        return headers


class Counters:
    """Requests seen per route and status, and refusals per rate-limit policy."""

    def __init__(self) -> None:
        self.by_route: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.rate_limited: Counter[str] = Counter()

    def record(self, route: str, status: int, *, policy: str | None = None) -> None:
        """Count one response; ``policy`` names the limit behind a 429."""
        self.by_route[route][status] += 1
        if policy:
            self.rate_limited[policy] += 1

    def snapshot(self) -> dict[str, Any]:
        """Return the counters as JSON-ready data."""
        requests = {
            route: {str(status): n for status, n in sorted(statuses.items())}
            for route, statuses in sorted(self.by_route.items())
        }
        return {
            "total": sum(sum(s.values()) for s in self.by_route.values()),
            "requests": requests,
            "rate_limited": dict(sorted(self.rate_limited.items())),
            "status_429": sum(s[429] for s in self.by_route.values()),
        }

    def reset(self) -> None:
        """Forget everything counted so far."""
        self.by_route.clear()
        self.rate_limited.clear()
