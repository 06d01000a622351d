"""Route tables of the emulated API (``/api``) and the sandbox-only admin routes (``/_sandbox``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from etl.sandbox.accounts import Account
from etl.sandbox.state import Sandbox

AuthedHandler = Callable[[Sandbox, Request, Account], Awaitable[Response]]
OpenHandler = Callable[[Sandbox, Request], Awaitable[Response]]


def api_route(sb: Sandbox, path: str, handler: AuthedHandler, methods: Sequence[str]) -> Route:
    """An authenticated ``/api`` route behind the gate (latency, rate limit, faults)."""

    async def endpoint(request: Request) -> Response:
        account, problem = sb.authenticate(request)

        async def run() -> Response:
            assert account is not None  # the gate only runs us when auth succeeded
            return await handler(sb, request, account)

        return await sb.gate(request, account, problem, run)

    return Route(path, endpoint, methods=list(methods))


def open_route(sb: Sandbox, path: str, handler: OpenHandler, methods: Sequence[str]) -> Route:
    """An unauthenticated ``/api`` route (login, refresh), still behind the gate."""

    async def endpoint(request: Request) -> Response:
        return await sb.gate(request, None, None, lambda: handler(sb, request))

    return Route(path, endpoint, methods=list(methods))


def all_routes(sb: Sandbox) -> list[BaseRoute]:
    """Every route of the sandbox."""
    from etl.sandbox.routes import admin, auth, bulk, clients, leads

    return [
        *auth.routes(sb),
        *clients.routes(sb),
        *leads.routes(sb),
        *bulk.routes(sb),
        *admin.routes(sb),
    ]


__all__ = ["AuthedHandler", "OpenHandler", "all_routes", "api_route", "open_route"]
