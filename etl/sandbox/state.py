"""The running sandbox's state and its request gate (latency, auth, rate limit, faults).

Every ``/api`` route goes through :meth:`Sandbox.gate`; ``/_sandbox`` admin routes never
do, so they are never delayed, rate-limited or faulted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from etl.clock import Clock, SystemClock
from etl.sandbox.accounts import Account, seeded_accounts
from etl.sandbox.config import SandboxConfig
from etl.sandbox.faults import Fault, FaultInjector
from etl.sandbox.http import JSON, DroppedResponse, error
from etl.sandbox.limiter import RateLimiter
from etl.sandbox.store import Store
from etl.sandbox.synthetic import SyntheticCatalog
from etl.sandbox.tokens import TokenError, TokenIssuer

_MUTATING = frozenset({"POST", "PUT", "DELETE", "PATCH"})


class Counters:
    """What the sandbox saw, for ``GET /_sandbox/counters``."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, int]] = {}
        self.rate_limited = 0
        self.faults: dict[str, int] = {}
        self.faults_after_store = 0

    def count(self, key: str, status: str) -> None:
        by_status = self.requests.get(key)
        if by_status is None:
            by_status = self.requests[key] = {}
        by_status[status] = by_status.get(status, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "faults": self.faults,
            "faults_after_store": self.faults_after_store,
        }


class Sandbox:
    """Everything the emulated API holds: accounts, tokens, data, limiter, faults, counters.

    Args:
        config: the (mutable) configuration.
        clock: drives token expiry, rate-limit windows, index lag and latency sleeps.
    """

    def __init__(self, config: SandboxConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.accounts: dict[str, Account] = seeded_accounts()
        self._by_email = {a.email: a for a in self.accounts.values()}
        self._by_sub = {a.user_id: a for a in self.accounts.values()}
        self.tokens = TokenIssuer(hashlib.sha256(f"sandbox-jwt:{config.seed}".encode()).digest())
        self.limiter = RateLimiter()
        self.faults = FaultInjector(config.seed)
        self.reset()

    def __repr__(self) -> str:
        return f"Sandbox(config={self.config!r})"

    def reset(self) -> None:
        """Drop all data, counters, windows and refresh tokens; re-seed faults."""
        self.store = Store()
        self.counters = Counters()
        self.posts: dict[str, int] = {}
        self.limiter.reset()
        self.tokens.revoke_refresh_tokens()
        self.faults.reseed(self.config.seed)
        self.synthetic = SyntheticCatalog(
            self.accounts["demo"], seed=self.config.seed, store=self.store, now=self.clock.time()
        )
        self.synthetic.resize(self.config.synthetic_leads)

    def apply_config(self, changes: Mapping[str, Any]) -> None:
        """Change knobs at runtime (validated as a whole; see :meth:`SandboxConfig.apply`)."""
        changed = self.config.apply(changes)
        if "seed" in changed:
            self.faults.reseed(self.config.seed)
            self.synthetic.reseed(self.config.seed)
        if "synthetic_leads" in changed or "seed" in changed:
            self.synthetic.resize(self.config.synthetic_leads)

    def account_by_email(self, email: str) -> Account | None:
        """The seeded account with this login (case-insensitive)."""
        return self._by_email.get(email.strip().lower())

    def account_by_sub(self, sub: str) -> Account | None:
        """The seeded account with this user id."""
        return self._by_sub.get(sub)

    def visible_at(self) -> float:
        """When a lead written now becomes visible to list/find routes (monotonic)."""
        return self.clock.monotonic() + self.config.index_lag_ms / 1000.0

    def authenticate(self, request: Request) -> tuple[Account | None, JSON | None]:
        """Resolve the caller: Bearer JWT first, then ``x-api-key`` + ``x-user-id``."""
        headers = request.headers
        auth = headers.get("authorization")
        if auth is not None:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None, error(401, "Unsupported Authorization header", "no_valid_tokens")
            try:
                claims = self.tokens.verify(token.strip(), now=self.clock.time())
            except TokenError as exc:
                return None, error(401, str(exc), exc.error_type)
            account = self._by_sub.get(claims.sub)
            if account is None:
                return None, error(401, "Unknown user", "no_valid_tokens")
            return account, None
        key = headers.get("x-api-key")
        if key is not None:
            user_id = headers.get("x-user-id")
            if not user_id:
                return None, error(
                    401, "x-api-key requires x-user-id", "no_valid_credentials", "x-user-id"
                )
            account = self._by_sub.get(user_id)
            if account is None or account.api_key != key:
                return None, error(401, "Invalid API key for this user", "no_valid_credentials")
            return account, None
        return None, error(401, "No valid credentials", "no_valid_credentials")

    async def gate(
        self,
        request: Request,
        account: Account | None,
        problem: Response | None,
        run: Callable[[], Awaitable[Response]],
    ) -> Response:
        """Apply latency, rate limit and faults around one ``/api`` request.

        Args:
            request: the incoming request.
            account: the resolved caller (rate-limit identity), or ``None``.
            problem: an auth error to answer instead of running the handler.
            run: produces the handler's response.
        """
        config, clock = self.config, self.clock
        key = f"{request.method} {request.scope['path']}"
        if config.latency_ms > 0:
            await clock.sleep(self.faults.latency(config.latency_ms))
        headers: dict[str, str] | None = None
        if config.rate_limit > 0:
            ident = account.user_id if account else f"anon:{_host(request)}"
            decision = self.limiter.hit(
                ident, config.rate_limit, mono=clock.monotonic(), wall=clock.time()
            )
            headers = decision.headers()
            if not decision.allowed:
                self.counters.rate_limited += 1
                self.counters.count(key, "429")
                return error(
                    429, "Rate limit exceeded", "rate_limited", f"{decision.limit}/minute",
                    headers=headers,
                )  # fmt: skip
        fault = None
        if config.fault_rate > 0:
            fault = self.faults.draw(config.fault_rate, mutating=request.method in _MUTATING)
        if fault is not None and not fault.after:
            response = self._fault(fault)
        elif problem is not None:
            response = problem
        else:
            response = await run()
            if fault is not None:
                response = self._fault(fault)
        if headers is not None:
            response.headers.update(headers)
        self.counters.count(
            key, "drop" if isinstance(response, DroppedResponse) else str(response.status_code)
        )
        return response

    def _fault(self, fault: Fault) -> Response:
        counters = self.counters
        counters.faults[fault.kind] = counters.faults.get(fault.kind, 0) + 1
        if fault.after:
            counters.faults_after_store += 1
        if fault.kind == "drop":
            return DroppedResponse()
        if fault.kind == "502":
            return JSON({"message": "Bad Gateway"}, status_code=502)
        if fault.kind == "504":
            return JSON({"message": "Endpoint request timed out"}, status_code=504)
        if fault.kind == "503":
            return error(503, "Service unavailable", None, "Try again shortly")
        return error(500, "Internal server error")


def _host(request: Request) -> str:
    return request.client.host if request.client else "unknown"
