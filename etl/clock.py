"""Clocks passed into everything that waits or measures time.

Production code takes a :class:`Clock`; tests pass a :class:`FakeClock` so that rate
limits, token expiry and retry backoff are checked without sleeping.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """What time-dependent code needs: wall time, monotonic time and sleeping."""

    def time(self) -> float:
        """Seconds since the epoch (for token expiry, ``X-RateLimit-Reset``)."""

    def monotonic(self) -> float:
        """Monotonic seconds (for rate limiting and durations)."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (asynchronously)."""


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that only moves when told to; ``sleep`` advances it instantly.

    Args:
        start: initial wall-clock value (epoch seconds).
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._mono = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        self._now += seconds
        self._mono += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
