"""``/api/clients``: list/get, create (with slug), update, delete (with the purge timeout)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from etl.sandbox.accounts import Account
from etl.sandbox.http import JSON, error, read_object
from etl.sandbox.routes import api_route
from etl.sandbox.state import Sandbox
from etl.sandbox.store import iso_utc

#: Above this many leads, ``DELETE ?purge=true`` times out like the real server.
PURGE_TIMEOUT_LEADS = 1_000
_EDITABLE = ("clientName", "companyURL", "description")


async def clients(sb: Sandbox, request: Request, account: Account) -> Response:
    """Dispatch ``/api/clients`` by method."""
    if request.method == "GET":
        return _get(sb, request, account)
    if request.method == "POST":
        return await _create(sb, request, account)
    if request.method == "PUT":
        return await _update(sb, request, account)
    return _delete(sb, request, account)


def _get(sb: Sandbox, request: Request, account: Account) -> Response:
    ref = request.query_params.get("clientId")
    if ref:
        client = sb.store.client_by_ref(account.company_id, ref)
        if client is None:
            return error(404, "Client not found", "not_found", "clientId")
        data = client.to_dict()
        return JSON({"success": True, "client": data, "clients": [data]})
    items = [c.to_dict() for c in sb.store.list_clients(account.company_id)]
    return JSON({"success": True, "clients": items})


def _fields(body: dict[str, Any]) -> JSON | None:
    for key in _EDITABLE:
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            return error(400, f"{key} must be a string", "invalid_format", key)
    return None


async def _create(sb: Sandbox, request: Request, account: Account) -> Response:
    body, problem = await read_object(request)
    if problem is not None:
        return problem
    name = body.get("clientName")
    if not isinstance(name, str) or not name.strip():
        return error(400, "clientName is required", "missing_required_field", "clientName")
    problem = _fields(body)
    if problem is not None:
        return problem
    client = sb.store.add_client(
        company_id=account.company_id,
        owner=account.user_id,
        name=name.strip(),
        url=body.get("companyURL"),
        description=body.get("description"),
        now=sb.clock.time(),
    )
    return JSON({"success": True, "client": client.to_dict()}, status_code=201)


async def _update(sb: Sandbox, request: Request, account: Account) -> Response:
    body, problem = await read_object(request)
    if problem is not None:
        return problem
    client_uuid = body.get("id")
    if not isinstance(client_uuid, str) or not client_uuid:
        return error(400, "id is required", "missing_required_field", "id")
    client = sb.store.client_by_id(account.company_id, client_uuid)
    if client is None:
        return error(404, "Client not found", "not_found", "id")
    problem = _fields(body)
    if problem is not None:
        return problem
    name = body.get("clientName")
    if name is not None and not name.strip():
        return error(400, "clientName cannot be blank", "invalid_value", "clientName")
    for key in _EDITABLE:
        if key in body:
            setattr(client, key, body[key].strip() if key == "clientName" else body[key])
    client.updatedAt = iso_utc(sb.clock.time())
    return JSON({"success": True, "client": client.to_dict()})


def _delete(sb: Sandbox, request: Request, account: Account) -> Response:
    params = request.query_params
    client_uuid = params.get("id")
    if not client_uuid:
        return error(400, "id is required", "missing_required_field", "id")
    client = sb.store.client_by_id(account.company_id, client_uuid)
    if client is None:
        return error(404, "Client not found", "not_found", "id")
    purged = 0
    if params.get("purge", "").lower() in ("true", "1", "yes"):
        store, company = sb.store, account.company_id
        keys = (client.client_id, client.id)
        total = sum(store.lead_count(company, key) for key in keys)
        if total > PURGE_TIMEOUT_LEADS:
            # The real purge deletes lead by lead inside one Lambda call and times out.
            return JSON({"message": "Endpoint request timed out"}, status_code=504)
        for key in keys:
            bucket = store.buckets.get((company, key))
            for lead in list(bucket.after(0)) if bucket else []:
                store.delete_lead(lead)
                purged += 1
    sb.store.delete_client(client)
    return JSON({"success": True, "deleted": True, "id": client.id, "leadsDeleted": purged})


def routes(sb: Sandbox) -> list[BaseRoute]:
    """The clients route."""
    return [api_route(sb, "/api/clients", clients, ["GET", "POST", "PUT", "DELETE"])]
