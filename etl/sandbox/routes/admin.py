"""Sandbox-only admin routes under ``/_sandbox``: no auth, never delayed, limited or faulted.

Tests use them to look behind the API: every stored lead (including invisible ones),
counters, POSTs per identity, and to change knobs at runtime.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from etl.sandbox.errors import SandboxConfigError
from etl.sandbox.http import JSON, error, read_object
from etl.sandbox.state import Sandbox
from etl.sandbox.store import identity_key


def routes(sb: Sandbox) -> list[BaseRoute]:
    """The admin routes, bound to ``sb``."""

    async def config(request: Request) -> Response:
        if request.method == "POST":
            body, problem = await read_object(request)
            if problem is not None:
                return problem
            try:
                sb.apply_config(body)
            except SandboxConfigError as exc:
                return error(400, str(exc), "invalid_value")
        return JSON(sb.config.to_dict())

    async def accounts(request: Request) -> Response:
        return JSON({name: a.to_dict() for name, a in sb.accounts.items()})

    def _client_id(request: Request) -> str | None:
        return request.query_params.get("client_id") or None

    async def leads(request: Request) -> Response:
        ref = _client_id(request)
        if ref is None:
            return error(400, "client_id is required", "missing_required_field", "client_id")
        return JSON({"leads": [lead.data for lead in sb.store.leads_with_client_id(ref)]})

    async def stored(request: Request) -> Response:
        ref = _client_id(request)
        if ref is None:
            return error(400, "client_id is required", "missing_required_field", "client_id")
        counts: dict[str, int] = {}
        for lead in sb.store.leads_with_client_id(ref):
            key = identity_key(lead.data) or "<no identity>"
            counts[key] = counts.get(key, 0) + 1
        return JSON(counts)

    async def counters(request: Request) -> Response:
        return JSON(sb.counters.to_dict())

    async def posts(request: Request) -> Response:
        return JSON(sb.posts)

    async def synthetic(request: Request) -> Response:
        cat = sb.synthetic
        return JSON(
            {
                "company_id": cat.account.company_id,
                "total": cat.total,
                "clients": cat.counts(),
                "client_ids": {c.client_id: c.id for c in cat.clients},
            }
        )

    async def reset(request: Request) -> Response:
        sb.reset()
        return JSON({"success": True})

    async def revoke(request: Request) -> Response:
        return JSON({"success": True, "revoked": sb.tokens.revoke_refresh_tokens()})

    return [
        Route("/_sandbox/config", config, methods=["GET", "POST"]),
        Route("/_sandbox/accounts", accounts, methods=["GET"]),
        Route("/_sandbox/leads", leads, methods=["GET"]),
        Route("/_sandbox/stored", stored, methods=["GET"]),
        Route("/_sandbox/counters", counters, methods=["GET"]),
        Route("/_sandbox/posts", posts, methods=["GET"]),
        Route("/_sandbox/synthetic", synthetic, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/revoke-refresh-tokens", revoke, methods=["POST"]),
    ]
