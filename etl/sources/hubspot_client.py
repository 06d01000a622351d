"""The HubSpot HTTP client: one async connection pool, two limiters, retries, error mapping.

One attempt = wait for the limiter of the route (search has its own), send with the
private app token, feed the rate-limit headers back to the limiter, and turn an error
status into the exception from :func:`~etl.sources.hubspot_errors.error_for_response`.
Every request this source sends is a read (list GET, batch-read POSTs, search POST), so
all of them may be repeated: 429s, 5xx, timeouts and connection errors are retried with
tenacity, sleeping on the injected clock. HubSpot documents no ``Retry-After``, so 429s
back off exponentially on their own (with jitter), while the limiter treats the window
as full.

The token is registered with :func:`etl.logs.register_secret` (masked in every log line)
and never appears in an exception, a ``repr`` or a log record of this module.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from etl.clock import Clock
from etl.logs import register_secret
from etl.sources.hubspot_errors import (
    HubSpotDailyLimitError,
    HubSpotError,
    HubSpotRateLimitError,
    HubSpotResponseError,
    HubSpotServerError,
    HubSpotTransportError,
    error_for_response,
)
from etl.sources.hubspot_limiter import RollingLimiter
from etl.sources.hubspot_settings import HubSpotSettings

log = logging.getLogger("etl.sources.hubspot")

#: First wait after a 429, doubled per further 429 of the same request, capped at the
#: 10-second window (by then the whole window has turned over).
THROTTLE_BASE = 1.0
THROTTLE_CAP = 10.0
#: Waits after 5xx/network failures: full jitter between 0 and min(cap, base * 2^n).
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
_SEARCH_SLACK = 0.1


@dataclass
class HubSpotStats:
    """Counters for progress lines and summaries.

    Attributes:
        requests: HTTP attempts sent (retries included).
        retries: attempts repeated after a retryable failure.
        throttled: 429 responses received.
        by_route: attempts per ``METHOD /path``.
        by_status: responses per HTTP status.
    """

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (for ``--summary-json``)."""
        return {
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "by_route": dict(sorted(self.by_route.items())),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
        }


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed read may be sent again (every request of this source is a read).

    Args:
        exc: what the attempt raised.
    """
    if isinstance(exc, HubSpotDailyLimitError):
        return False  # the quota resets at midnight: seconds of backoff cannot help
    return isinstance(exc, HubSpotRateLimitError | HubSpotServerError | HubSpotTransportError)


class _Budget:
    """Counts failures per kind, tells tenacity when to stop and how long to wait."""

    def __init__(self, max_retries: int, throttle_retries: int, rand: Callable[[], float]):
        self.max_retries = max_retries
        self.throttle_retries = throttle_retries
        self.failures = 0
        self.throttled = 0
        self._rand = rand

    @staticmethod
    def _exc(state: RetryCallState) -> BaseException | None:
        return state.outcome.exception() if state.outcome is not None else None

    def stop(self, state: RetryCallState) -> bool:
        if isinstance(self._exc(state), HubSpotRateLimitError):
            self.throttled += 1
            return self.throttled > self.throttle_retries
        self.failures += 1
        return self.failures > self.max_retries

    def wait(self, state: RetryCallState) -> float:
        # tenacity asks for the wait before stop() counts this failure: hence the + 1.
        if isinstance(self._exc(state), HubSpotRateLimitError):
            return throttle_wait(self.throttled + 1, rand=self._rand)
        return self._rand() * min(BACKOFF_CAP, BACKOFF_BASE * 2**self.failures)


def throttle_wait(attempt: int, *, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the ``attempt``-th 429 (1-based) of one request.

    Exponential from :data:`THROTTLE_BASE`, capped at :data:`THROTTLE_CAP`, with "equal
    jitter" (half fixed, half random): never zero, so a throttled request always backs off,
    and spread out, so concurrent requests do not come back together.
    """
    ceiling = min(THROTTLE_CAP, THROTTLE_BASE * 2 ** max(0, attempt - 1))
    return ceiling / 2 + rand() * ceiling / 2


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


class HubSpotClient:
    """Async HubSpot CRM client for reads; use as ``async with HubSpotClient(...) as hs``.

    Args:
        settings: validated settings (token, base URL, limits).
        clock: time source for the limiters and the retry sleeps.
        transport: an httpx transport (a recording or mock transport in tests).
        rand: random source for the backoff jitter (seedable in tests).
    """

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        register_secret(settings.token)
        self.settings = settings
        self.clock = clock
        self.stats = HubSpotStats()
        self.limiter = RollingLimiter(settings.rate_per_10s, 10.0, clock=clock)
        self.search_limiter = RollingLimiter(
            settings.search_per_second, 1.0, clock=clock, cap=True, margin=0, slack=_SEARCH_SLACK
        )
        self._rand = rand
        timeout = httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout))
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            transport=transport,
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {settings.token}",
                "Accept": "application/json",
            },
            follow_redirects=False,  # a redirect could carry the token elsewhere
        )

    def __repr__(self) -> str:
        return f"HubSpotClient(base_url={self.settings.base_url!r})"

    async def __aenter__(self) -> HubSpotClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """``GET`` a JSON resource (retried as a read).

        Args:
            path: path under the base URL (``/crm/v3/objects/contacts``).
            params: query parameters.

        Returns:
            The parsed JSON body.

        Raises:
            HubSpotError: the mapped error once retries are exhausted or not allowed.
        """
        return await self._send("GET", path, params=params)

    async def post(self, path: str, body: Any, *, search: bool = False) -> Any:
        """``POST`` a read request (batch read or search; retried as a read).

        Args:
            path: path under the base URL.
            body: the JSON body.
            search: paced by the search limiter instead of the 10-second one.

        Returns:
            The parsed JSON body (a 207 multi-status counts as success).

        Raises:
            HubSpotError: the mapped error once retries are exhausted or not allowed.
        """
        return await self._send("POST", path, json=body, search=search)

    def _on_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.upcoming_sleep
        log.debug("HubSpot: retrying in %.2f s after %s", wait, type(exc).__name__)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        search: bool = False,
    ) -> Any:
        content = orjson.dumps(json) if json is not None else None
        budget = _Budget(self.settings.max_retries, self.settings.throttle_retries, self._rand)
        retrying = AsyncRetrying(
            sleep=self.clock.sleep,
            stop=budget.stop,
            wait=budget.wait,
            retry=retry_if_exception(is_retryable),
            before_sleep=self._on_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(method, path, params, content, search=search)
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        content: bytes | None,
        *,
        search: bool,
    ) -> Any:
        route = f"{method} {path}"
        limiter = self.search_limiter if search else self.limiter
        await limiter.acquire()
        headers = {"Content-Type": "application/json"} if content is not None else None
        self.stats.requests += 1
        self.stats.by_route[route] += 1
        try:
            response = await self._http.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.TransportError as exc:
            # The exception text may quote the URL; only its class name goes out.
            kind = type(exc).__name__
            raise HubSpotTransportError(
                f"HubSpot {route}: network failure ({kind}); check the connection and "
                f"--hubspot-base-url ({self.settings.base_url}), then run again (the job resumes)",
                kind=kind,
                route=route,
            ) from None
        status = response.status_code
        self.stats.by_status[status] += 1
        if not search:
            limiter.observe(response.headers)
        body = _json(response)
        if status >= 400:
            if status == 429:
                self.stats.throttled += 1
                limiter.saturate()
            error = error_for_response(
                status,
                body if isinstance(body, dict) else None,
                route=route,
                token_env=self.settings.token_env,
            )
            log.debug("HubSpot %s -> %s", route, status)
            raise error
        if not isinstance(body, dict):
            raise HubSpotResponseError(
                f"HubSpot {route} answered {status} without a JSON object; check "
                "--hubspot-base-url points at the HubSpot API",
                status=status,
                route=route,
            )
        return body


__all__ = ["HubSpotClient", "HubSpotError", "HubSpotStats", "is_retryable", "throttle_wait"]
