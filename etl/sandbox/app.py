"""Build the sandbox ASGI app: the emulated LeadGenius API plus the admin routes."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from etl.clock import Clock
from etl.sandbox.config import SandboxConfig
from etl.sandbox.http import error
from etl.sandbox.routes import all_routes
from etl.sandbox.state import Sandbox


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    kind = "not_found" if status == 404 else None
    return error(status, f"{request.method} {request.url.path}: {exc}", kind)


def create_app(
    config: SandboxConfig,
    *,
    clock: Clock | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """Create the sandbox app. Its state is ``app.state.sandbox`` (a :class:`Sandbox`).

    Args:
        config: the knobs; the app keeps this object and the admin route mutates it.
        clock: drives token expiry, rate-limit windows, index lag and latency
            (default: the system clock).
        extra_routes: more routes to serve (e.g. another emulated API mounted beside).

    Example:
        >>> from starlette.testclient import TestClient
        >>> client = TestClient(create_app(SandboxConfig(rate_limit=0)))
    """
    sandbox = Sandbox(config, clock)
    app = Starlette(
        routes=[*all_routes(sandbox), *extra_routes],
        exception_handlers={404: _http_error, 405: _http_error},
    )
    app.state.sandbox = sandbox
    return app
