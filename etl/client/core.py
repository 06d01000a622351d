"""The request pipeline every API call goes through: pace, authenticate, send, map, retry.

One attempt = wait for the rate limiter, add auth headers (renewing the session if due),
send, feed the response headers back to the limiter, and turn an error status into the
exception from :func:`~etl.client.errors.error_for_status`. A 401 is answered by renewing
the session and replaying once (the server refused the request, so replaying is safe even
for a creating POST). A first attempt that fails in a way the tenacity policy of
:mod:`etl.client.retry` would retry enters that policy as its attempt 1 (so most requests,
which succeed at once, never build one); a request that is not safe to repeat turns "may
have reached the server" failures into :class:`~etl.client.errors.AmbiguousWriteError`.
Requests go straight to the httpx transport while AsyncClient's extra machinery (env
proxies, cookies) has nothing to do: see :class:`ApiCore`.
"""

from __future__ import annotations

import logging
import urllib.request
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from tenacity import RetryCallState

from etl.client.auth import Authenticator, PasswordPrompt
from etl.client.errors import (
    AmbiguousWriteError,
    LeadGeniusError,
    ServerError,
    TransportError,
    error_for_status,
)
from etl.client.limiter import RateLimiter
from etl.client.retry import is_retryable, retry_policy
from etl.client.settings import ClientSettings
from etl.clock import Clock
from etl.logs import redact

log = logging.getLogger("etl.client")

#: Failures raised before a single byte of the request left: always safe to repeat.
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)

#: Payload keys that identify a lead, carried by an AmbiguousWriteError.
IDENTITY_KEYS: tuple[str, ...] = (
    "client_id",
    "email",
    "linkedinUrl",
    "firstName",
    "lastName",
    "companyName",
    "clientName",
)


@dataclass
class ClientStats:
    """Counters a pipeline shows in its progress line and summary.

    Attributes:
        requests: HTTP requests sent (every attempt, auth calls included).
        retries: attempts repeated after a retryable failure.
        throttled: 429 responses received.
        refreshes: sessions renewed with the refresh token.
        relogins: sessions re-established by logging in again.
        ambiguous: creating POSTs that may or may not have been stored.
        by_status: responses by HTTP status.
    """

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    refreshes: int = 0
    relogins: int = 0
    ambiguous: int = 0
    by_status: Counter[int] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (for ``--summary-json``)."""
        return {
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "refreshes": self.refreshes,
            "relogins": self.relogins,
            "ambiguous": self.ambiguous,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
        }


def parse_json(content: bytes) -> Any:
    """Parse a body with orjson; ``None`` for an empty body, ``{}`` for non-JSON."""
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return {}


def identity_hints(payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """The identity fields present in a payload (what reconciliation looks up by)."""
    if not payload:
        return {}
    return {k: payload[k] for k in IDENTITY_KEYS if payload.get(k) not in (None, "")}


class ApiCore:
    """Owns the HTTP connection pool, limiter, authenticator and counters.

    Args:
        settings: validated settings.
        clock: time source for the limiter, expiry and retry sleeps.
        transport: an httpx transport (``httpx.MockTransport`` in unit tests).
        password_prompt: see :class:`~etl.client.auth.Authenticator`.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
        password_prompt: PasswordPrompt | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.stats = ClientStats()
        self.limiter = RateLimiter(settings.rate, clock=clock)
        timeout = httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout))
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        # Sending straight to the transport skips AsyncClient's per-request URL merging,
        # auth/redirect/hook machinery and cookie handling (~0.15 ms CPU a request, a fifth
        # of it). Only while that machinery has nothing to do: no proxy from the environment
        # (AsyncClient routes through it, and honours it only if it builds the transport
        # itself) and no cookie received (then AsyncClient sends it back).
        env_proxy = transport is None and any(
            key in urllib.request.getproxies() for key in ("http", "https", "all")
        )
        if transport is None and not env_proxy:
            transport = httpx.AsyncHTTPTransport(limits=limits)  # what AsyncClient would build
        self._transport = transport
        self.http = httpx.AsyncClient(
            base_url=settings.base_url,
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": settings.user_agent, "Accept": "application/json"},
            limits=limits,
            follow_redirects=False,  # a redirect could carry our auth headers elsewhere
        )
        self._base_headers = dict(self.http.headers)
        self._timeouts = timeout.as_dict()
        self._urls: dict[str, httpx.URL] = {}
        self.auth = Authenticator(
            settings,
            clock=clock,
            post_json=self._post_unauthenticated,
            password_prompt=password_prompt,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()

    def _sync_auth_counters(self) -> None:
        self.stats.refreshes = self.auth.counters.refreshes
        self.stats.relogins = self.auth.counters.relogins

    async def _post_unauthenticated(self, path: str, body: dict[str, Any]) -> Any:
        response = await self.send("POST", path, json=body, safe=True, authenticated=False)
        return parse_json(response.content)

    def _on_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        log.debug("retrying after %s", type(exc).__name__ if exc else "failure")

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        safe: bool,
        authenticated: bool = True,
    ) -> httpx.Response:
        """Send one logical request, with retries as the request's safety allows.

        Args:
            method: HTTP method.
            path: path under the base URL (``/api/...``).
            params: query parameters (``None`` values dropped).
            json: body to send as JSON.
            safe: whether the request may be repeated after reaching the server.
            authenticated: add auth headers (not for login/refresh themselves).

        Returns:
            The successful (< 400) response.

        Raises:
            LeadGeniusError: the mapped error once retries are exhausted or not allowed.
        """
        method = method.upper()
        query = {k: v for k, v in params.items() if v is not None} if params else None
        body = orjson.dumps(json) if json is not None else None
        payload = json if isinstance(json, Mapping) else None
        try:
            # Fast path: most requests succeed at once, so the first attempt runs without
            # building a tenacity policy; a failure the policy would retry enters it as
            # its first attempt, so budgets, waits and counters are the same as before.
            try:
                return await self._attempt(
                    method, path, query, body, safe=safe, authenticated=authenticated,
                    payload=payload,
                )  # fmt: skip
            except LeadGeniusError as exc:
                if not is_retryable(exc, safe=safe):
                    raise
                first: LeadGeniusError | None = exc
            policy = retry_policy(
                safe=safe,
                max_retries=self.settings.max_retries,
                sleep=self.clock.sleep,
                on_retry=self._on_retry,
            )
            async for attempt in policy:
                with attempt:
                    if first is not None:
                        failed, first = first, None
                        raise failed
                    return await self._attempt(
                        method, path, query, body, safe=safe, authenticated=authenticated,
                        payload=payload,
                    )  # fmt: skip
        finally:
            self._sync_auth_counters()
        raise AssertionError("unreachable: tenacity reraises the last failure")

    async def _http(
        self, method: str, path: str, query: Mapping[str, Any] | None, body: bytes | None,
        headers: dict[str, str],
    ) -> httpx.Response:  # fmt: skip
        """One HTTP exchange, body read; straight to the transport when nothing is lost."""
        if self._transport is None or self.http.cookies:
            return await self.http.request(
                method, path, params=query, content=body, headers=headers
            )
        url = self._urls.get(path)
        if url is None:
            base = self.http.base_url  # merged as AsyncClient merges it
            url = base.copy_with(path=base.path + path.lstrip("/"))
            if len(self._urls) < 64:  # API routes are few; don't grow on odd paths
                self._urls[path] = url
        request = httpx.Request(
            method, url, params=query, content=body, headers={**self._base_headers, **headers},
            extensions={"timeout": self._timeouts},
        )  # fmt: skip
        response = await self._transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        if "set-cookie" in response.headers:  # kept and sent back, as AsyncClient does
            self.http.cookies.extract_cookies(response)
        return response

    async def _attempt(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None,
        body: bytes | None,
        *,
        safe: bool,
        authenticated: bool,
        payload: Mapping[str, Any] | None,
    ) -> httpx.Response:
        replayed = False
        while True:
            await self.limiter.acquire()
            headers = {"Content-Type": "application/json"} if body is not None else {}
            used = await self.auth.apply(headers) if authenticated else None
            self.stats.requests += 1
            try:
                response = await self._http(method, path, query, body, headers)
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, method, path, safe, payload) from None
            status = response.status_code
            self.stats.by_status[status] += 1
            self.limiter.observe(status, response.headers)
            if status < 400:
                return response
            doc = parse_json(response.content)
            doc = doc if isinstance(doc, dict) else {}
            error_type = doc.get("errorType")
            if status == 429:
                self.stats.throttled += 1
            if status == 401 and authenticated and not replayed and self.auth.can_recover:
                log.info("request refused with 401 %s: renewing the session", error_type or "")
                await self.auth.recover(used)
                replayed = True
                continue
            error = error_for_status(
                status, error_type if isinstance(error_type, str) else None, doc,
                method=method, path=path,
            )  # fmt: skip
            if not safe and isinstance(error, ServerError):
                raise self._ambiguous(f"http {status}", method, path, payload, status=status)
            raise error

    def _transport_error(
        self,
        exc: httpx.HTTPError,
        method: str,
        path: str,
        safe: bool,
        payload: Mapping[str, Any] | None,
    ) -> LeadGeniusError:
        kind = type(exc).__name__
        sent = not isinstance(exc, _NOT_SENT)
        if sent and not safe:
            return self._ambiguous(kind, method, path, payload, status=None)
        detail = redact(str(exc)) or kind
        where = "reaching" if not sent else "waiting for"
        return TransportError(
            f"{method} {path}: network failure {where} {self.settings.base_url} ({kind}: "
            f"{detail}); check the network and --base-url, then run again",
            kind=kind,
            sent=sent,
            method=method,
            path=path,
        )

    def _ambiguous(
        self,
        kind: str,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        *,
        status: int | None,
    ) -> AmbiguousWriteError:
        self.stats.ambiguous += 1
        return AmbiguousWriteError(
            f"{method} {path} failed after it may have reached the server ({kind}): it may "
            "or may not have been stored; look it up (find-lead) after the consistency "
            "window before sending it again",
            identity=identity_hints(payload),
            kind=kind,
            status=status,
            method=method,
            path=path,
        )
