"""``GET /api/enrich-leads/list`` and ``GET /api/source-leads/list``: bulk extraction.

Enrich-lead pages hold the synthetic records first, then the company's really stored
leads; source-lead pages hold synthetic source records only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from etl.sandbox.accounts import Account
from etl.sandbox.http import JSON, error
from etl.sandbox.routes import api_route
from etl.sandbox.routes.params import decode_token, encode_token, parse_limit
from etl.sandbox.state import Sandbox
from etl.sandbox.store import StoredLead

_ALL_CLIENTS = frozenset({"", "ALL", "DEFAULT"})


def _project(lead: StoredLead, fields: list[str] | None) -> dict[str, object]:
    if fields is None:
        return lead.data
    return {f: lead.data[f] for f in ["id", *fields] if f in lead.data}


async def _list(sb: Sandbox, request: Request, account: Account, kind: str) -> Response:
    params = request.query_params
    company = params.get("companyId")
    if not company:
        return error(400, "companyId is required", "missing_required_field", "companyId")
    if company != account.company_id:
        return error(404, "Company not found", "not_found", "companyId")
    ref = params.get("clientId") or ""
    slug: str | None = None
    if ref not in _ALL_CLIENTS:
        client = sb.store.client_by_ref(company, ref)
        if client is None:
            return error(404, f"Client {ref!r} not found", "not_found", "clientId")
        slug = client.client_id
    limit, problem = parse_limit(params.get("limit"), default=1000, maximum=5000)
    if problem is not None:
        return problem
    raw_fields = params.get("fields")
    fields = [f.strip() for f in raw_fields.split(",") if f.strip()] if raw_fields else None
    scope = f"{kind}:{slug or '*'}"
    state, problem = decode_token(params.get("nextToken"), scope=scope)
    if problem is not None:
        return problem
    pos = int(state["p"]) if state else 0
    seq = int(state["s"]) if state else 0

    synthetic = sb.synthetic
    if company != synthetic.account.company_id:
        total, index = 0, None
    elif slug is None:
        total, index = synthetic.count(None), None
    else:
        index = synthetic.client_index(slug)
        total = synthetic.count(index) if index is not None else 0
    items: list[dict[str, object]] = []
    if pos < total:
        items = synthetic.page(kind, index, pos, limit, fields)
        pos += len(items)
    more_stored: int | None = None
    if kind == "enrich" and pos >= total:
        now, room = sb.clock.monotonic(), limit - len(items)
        if slug is None:
            stored, more_stored = sb.store.company_page(company, after=seq, limit=room, now=now)
        else:
            stored, more_stored = sb.store.page(company, slug, after=seq, limit=room, now=now)
        items.extend(_project(lead, fields) for lead in stored)
    if pos < total:
        token: str | None = encode_token({"scope": scope, "p": pos, "s": seq})
    elif more_stored is not None:
        token = encode_token({"scope": scope, "p": pos, "s": more_stored})
    else:
        token = None
    return JSON({"success": True, "items": items, "count": len(items), "nextToken": token})


async def enrich_leads(sb: Sandbox, request: Request, account: Account) -> Response:
    """Enrich-lead records of the caller's company."""
    return await _list(sb, request, account, "enrich")


async def source_leads(sb: Sandbox, request: Request, account: Account) -> Response:
    """Source-lead records of the caller's company."""
    return await _list(sb, request, account, "source")


def routes(sb: Sandbox) -> list[BaseRoute]:
    """The bulk extraction routes."""
    return [
        api_route(sb, "/api/enrich-leads/list", enrich_leads, ["GET"]),
        api_route(sb, "/api/source-leads/list", source_leads, ["GET"]),
    ]
