"""Which failures are retried, and how long to wait: pure rules plus a tenacity policy.

A request is *safe* to repeat when repeating it cannot change the outcome: GET, PUT,
DELETE, login and refresh. A creating POST is not: a lost response followed by a retry
would create a duplicate. So:

============================  ==========  ===========
failure                       safe        creating POST
============================  ==========  ===========
connect error / DNS / pool    retry       retry (the request never left)
429                           retry       retry (refused, nothing stored)
500 502 503 504               retry       AmbiguousWriteError (never here)
timeout / reset after send    retry       AmbiguousWriteError (never here)
other 4xx                     raise       raise
============================  ==========  ===========

Waits are exponential with full jitter (uniform between 0 and ``min(cap, base * 2^n)``),
except after a 429, where the :class:`~etl.client.limiter.RateLimiter` already pauses every
request until the server's ``Retry-After``. 429s have their own, larger retry budget: with a
working limiter they are rare and always safe.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from etl.client.errors import RateLimitedError, ServerError, TransportError

#: Statuses worth another try for a safe request (all others are final).
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
#: Retries allowed for 429s, per request, on top of ``max_retries``.
THROTTLE_RETRIES = 20


def is_retryable(exc: BaseException, *, safe: bool) -> bool:
    """Whether a failed attempt may be sent again.

    Args:
        exc: what the attempt raised (already mapped to :mod:`etl.client.errors`).
        safe: the request is idempotent (GET/PUT/DELETE/auth).
    """
    if isinstance(exc, RateLimitedError):
        return True
    if isinstance(exc, TransportError):
        return safe or not exc.sent
    if isinstance(exc, ServerError):
        return safe and exc.status in RETRYABLE_STATUSES
    return False


def full_jitter(
    retry_number: int,
    *,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry ``retry_number`` (1-based): ``U(0, min(cap, base*2^(n-1)))``."""
    return rand() * min(cap, base * 2 ** max(0, retry_number - 1))


class RetryBudget:
    """Counts failures by kind and tells tenacity when to stop and how long to wait.

    Args:
        max_retries: retries allowed for non-429 failures.
        throttle_retries: retries allowed for 429s.
        rand: random source for the jitter (seedable in tests).
    """

    def __init__(
        self,
        max_retries: int,
        *,
        throttle_retries: int = THROTTLE_RETRIES,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.max_retries = max_retries
        self.throttle_retries = throttle_retries
        self.failures = 0
        self.throttled = 0
        self._rand = rand

    def _record(self, state: RetryCallState) -> BaseException | None:
        outcome = state.outcome
        return outcome.exception() if outcome is not None else None

    def stop(self, state: RetryCallState) -> bool:
        """Tenacity ``stop``: count this failure; stop when its kind's budget is spent."""
        exc = self._record(state)
        if isinstance(exc, RateLimitedError):
            self.throttled += 1
            return self.throttled > self.throttle_retries
        self.failures += 1
        return self.failures > self.max_retries

    def wait(self, state: RetryCallState) -> float:
        """Tenacity ``wait``: nothing after a 429 (the limiter pauses), else full jitter."""
        if isinstance(self._record(state), RateLimitedError):
            return 0.0
        return full_jitter(self.failures + 1, rand=self._rand)  # stop() counts it next


def retry_policy(
    *,
    safe: bool,
    max_retries: int,
    sleep: Callable[[float], Awaitable[None]],
    on_retry: Callable[[RetryCallState], None] | None = None,
    rand: Callable[[], float] = random.random,
) -> AsyncRetrying:
    """A tenacity policy for one request, sleeping on the injected clock.

    Args:
        safe: the request may be repeated after it reached the server.
        max_retries: retries allowed for non-429 failures.
        sleep: the clock's ``sleep`` (``FakeClock.sleep`` in tests).
        on_retry: called before each retry sleep (for counters and logs).
        rand: random source for the jitter.
    """
    budget = RetryBudget(max_retries, rand=rand)

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None:
            on_retry(state)

    return AsyncRetrying(
        sleep=sleep,
        stop=budget.stop,
        wait=budget.wait,
        retry=retry_if_exception(lambda exc: is_retryable(exc, safe=safe)),
        before_sleep=before_sleep,
        reraise=True,
    )
