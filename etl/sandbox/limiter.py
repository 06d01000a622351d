"""Rolling-window rate limiter: N requests per 60 seconds per identity.

Pure logic over an injected clock reading, so tests drive it with a fake clock.
A refused request does not take a slot.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Decision:
    """The limiter's answer for one request.

    Attributes:
        allowed: whether the request may proceed.
        limit: the configured requests per window.
        remaining: slots left after this request.
        reset_at: epoch seconds (rounded up) when the oldest slot in the window frees.
        retry_after: whole seconds (>= 1) to wait before retrying; 0 when allowed.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_at: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-*`` headers (and ``Retry-After`` when refused)."""
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter:
    """Per-identity rolling windows of request times (monotonic seconds)."""

    def __init__(self) -> None:
        self._windows: dict[str, deque[float]] = {}

    def reset(self) -> None:
        """Forget every window."""
        self._windows.clear()

    def hit(self, identity: str, limit: int, *, mono: float, wall: float) -> Decision:
        """Count one request of ``identity`` at monotonic time ``mono``, if it fits.

        Args:
            identity: the user ``sub`` (or ``anon:<address>`` before login).
            limit: requests allowed per rolling 60 s; must be > 0.
            mono: monotonic now (window arithmetic).
            wall: epoch now (for ``X-RateLimit-Reset``).
        """
        window = self._windows.get(identity)
        if window is None:
            window = self._windows[identity] = deque()
        horizon = mono - WINDOW_SECONDS
        while window and window[0] <= horizon:
            window.popleft()
        allowed = len(window) < limit
        if allowed:
            window.append(mono)
        wait = (window[0] + WINDOW_SECONDS - mono) if window else WINDOW_SECONDS
        return Decision(
            allowed=allowed,
            limit=limit,
            remaining=max(0, limit - len(window)),
            reset_at=math.ceil(wall + wait),
            retry_after=0 if allowed else max(1, math.ceil(wait)),
        )
