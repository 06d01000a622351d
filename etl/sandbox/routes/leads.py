"""``/api/leads`` (list, create single/batch, update single/batch, delete single/batch)
and ``/api/find-lead``, with bugs 1, 2, 3, 4, 6 and 7 of the contract.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from etl.sandbox.accounts import Account
from etl.sandbox.fields import SERVER_FIELDS
from etl.sandbox.http import JSON, error, read_json, read_object
from etl.sandbox.routes import api_route
from etl.sandbox.routes.params import decode_token, encode_token, parse_limit
from etl.sandbox.rules import LeadProblem, check_lead
from etl.sandbox.state import Sandbox
from etl.sandbox.store import identity_key, iso_utc


def _problem(p: LeadProblem) -> JSON:
    return error(p.status, p.error, p.error_type, p.details)


def _client_not_found(ref: object) -> JSON:
    return error(404, f"Client {ref!r} not found", "not_found", "client_id")


def stored_client_id(sb: Sandbox, account: Account, ref: object) -> str | None:
    """The client_id string a lead is stored under, or ``None`` when no such client.

    The slug is the right value; the client's UUID is accepted too and the lead is
    stored under the UUID, where slug listings never see it (bug 1).
    """
    if not isinstance(ref, str) or sb.store.client_by_ref(account.company_id, ref) is None:
        return None
    return ref


async def leads(sb: Sandbox, request: Request, account: Account) -> Response:
    """Dispatch ``/api/leads`` by method."""
    method = request.method
    if method == "POST":
        return await _create(sb, request, account)
    if method == "GET":
        return _list(sb, request, account)
    if method == "PUT":
        return await _update(sb, request, account)
    return await _delete(sb, request, account)


def _list(sb: Sandbox, request: Request, account: Account) -> Response:
    params = request.query_params
    ref = params.get("client_id")
    if not ref:
        return error(400, "client_id is required", "missing_required_field", "client_id")
    stored = stored_client_id(sb, account, ref)
    if stored is None:
        return _client_not_found(ref)
    limit, problem = parse_limit(params.get("limit"), default=100, maximum=1000)
    if problem is not None:
        return problem
    scope = f"leads:{stored}"
    state, problem = decode_token(params.get("nextToken"), scope=scope)
    if problem is not None:
        return problem
    after = int(state["seq"]) if state else 0
    items, nxt = sb.store.page(
        account.company_id, stored, after=after, limit=limit, now=sb.clock.monotonic()
    )
    token = encode_token({"scope": scope, "seq": nxt}) if nxt is not None else None
    # Bug 7: "total" is the size of this page, not the number of leads.
    body = {"success": True, "leads": [lead.data for lead in items], "total": len(items)}
    body["nextToken"] = token
    return JSON(body)


def _new_lead(
    sb: Sandbox, account: Account, payload: dict[str, Any]
) -> tuple[dict[str, Any] | None, JSON | None]:
    """Validate one create payload; return the lead to store, or the refusal."""
    problem = check_lead(payload)
    if problem is not None:
        return None, _problem(problem)
    stored = stored_client_id(sb, account, payload["client_id"])
    if stored is None:
        return None, _client_not_found(payload["client_id"])
    stamp = iso_utc(sb.clock.time())
    data = {k: v for k, v in payload.items() if v is not None and k not in SERVER_FIELDS}
    data["id"] = str(uuid.uuid4())
    data["client_id"] = stored
    data["owner"] = account.user_id
    data["company_id"] = account.company_id
    data["createdAt"] = data["updatedAt"] = stamp
    return data, None


async def _create(sb: Sandbox, request: Request, account: Account) -> Response:
    body, problem = await read_object(request)
    if problem is not None:
        return problem
    if "leads" in body:
        return _create_batch(sb, account, body["leads"])
    key = identity_key(body) or "<no identity>"
    sb.posts[key] = sb.posts.get(key, 0) + 1
    data, problem = _new_lead(sb, account, body)
    if problem is not None:
        return problem
    assert data is not None
    sb.store.add_lead(data, visible_at=sb.visible_at())
    return JSON({"success": True, "lead": data}, status_code=201)


def _create_batch(sb: Sandbox, account: Account, items: object) -> Response:
    if not isinstance(items, list):
        return error(400, "leads must be an array", "invalid_format", "leads")
    created, skipped = 0, []
    persist = sb.config.batch_persist == "always"
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            skipped.append({"index": index, **_message(None)})
            continue
        data, problem = _new_lead(sb, account, item)
        if problem is not None or data is None:
            skipped.append({"index": index, **_message(problem)})
            continue
        created += 1
        if persist:  # bug 2: the real server answers 201 and stores nothing
            sb.store.add_lead(data, visible_at=sb.visible_at())
    return JSON({"success": True, "created": created, "skipped": skipped}, status_code=201)


def _message(problem: JSON | None) -> dict[str, Any]:
    """What a batch reports for one refused item: status, error and errorType."""
    if problem is None:
        return {"status": 400, "error": "invalid lead", "errorType": "invalid_value"}
    body = orjson.loads(problem.body)
    return {"status": problem.status_code, "error": body["error"], "errorType": body["errorType"]}


def _apply_update(sb: Sandbox, account: Account, payload: dict[str, Any]) -> JSON | None:
    """Validate and apply one update payload; return the refusal, or ``None`` when applied."""
    lead_id = payload.get("id")
    if not isinstance(lead_id, str) or not lead_id:
        return error(400, "id is required", "missing_required_field", "id")
    problem = check_lead(payload, require_client_id=False)
    if problem is not None:
        return _problem(problem)
    lead = sb.store.get_lead(account.company_id, lead_id)
    if lead is None:
        return error(404, "Lead not found", "not_found", "id")
    changes = {k: v for k, v in payload.items() if k not in SERVER_FIELDS}
    if "client_id" in changes:
        stored = stored_client_id(sb, account, changes["client_id"])
        if stored is None:
            return _client_not_found(changes["client_id"])
        changes["client_id"] = stored
    changes["updatedAt"] = iso_utc(sb.clock.time())
    sb.store.update_lead(lead, changes, visible_at=sb.visible_at())
    return None


async def _update(sb: Sandbox, request: Request, account: Account) -> Response:
    body, problem = await read_object(request)
    if problem is not None:
        return problem
    if "leads" in body:
        items = body["leads"]
        if not isinstance(items, list):
            return error(400, "leads must be an array", "invalid_format", "leads")
        updated, skipped = 0, []
        for index, item in enumerate(items):
            problem = (
                _apply_update(sb, account, item)
                if isinstance(item, dict)
                else error(400, "lead must be an object", "invalid_format")
            )
            if problem is None:
                updated += 1
            else:
                ident = item.get("id") if isinstance(item, dict) else None
                skipped.append({"index": index, "id": ident, **_message(problem)})
        return JSON({"success": True, "updated": updated, "skipped": skipped})
    problem = _apply_update(sb, account, body)
    if problem is not None:
        return problem
    lead = sb.store.get_lead(account.company_id, body["id"])
    assert lead is not None
    return JSON({"success": True, "lead": lead.data})


async def _delete(sb: Sandbox, request: Request, account: Account) -> Response:
    store, company = sb.store, account.company_id
    lead_id = request.query_params.get("id")
    if lead_id:
        lead = store.get_lead(company, lead_id)
        if lead is None:
            return error(404, "Lead not found", "not_found", "id")
        store.delete_lead(lead)
        return JSON({"success": True, "deleted": 1, "id": lead_id})
    body, problem = await read_json(request)
    if problem is not None:
        return error(
            400, 'Pass ?id=<lead id> or a body {"ids": [...]}', "missing_required_field", "id"
        )
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return error(400, "ids must be an array of lead ids", "invalid_format", "ids")
    deleted, not_found = 0, []
    for one in ids:
        lead = store.get_lead(company, one)
        if lead is None:
            not_found.append(one)
            continue
        store.delete_lead(lead)
        deleted += 1
    return JSON({"success": True, "deleted": deleted, "notFound": not_found})


async def find_lead(sb: Sandbox, request: Request, account: Account) -> Response:
    """``GET /api/find-lead``: visible leads matching email and/or linkedinUrl."""
    params = request.query_params
    email, linkedin = params.get("email") or None, params.get("linkedinUrl") or None
    if email is None and linkedin is None:
        return error(
            400, "email or linkedinUrl is required", "missing_required_field", "email, linkedinUrl"
        )
    ref = params.get("client_id")
    stored = None
    if ref:
        stored = stored_client_id(sb, account, ref)
        if stored is None:
            return _client_not_found(ref)
    now = sb.clock.monotonic()
    found = [
        lead.data
        for lead in sb.store.find(account.company_id, email=email, linkedin=linkedin)
        if lead.visible_at <= now and (stored is None or lead.data["client_id"] == stored)
    ]
    return JSON({"success": True, "leads": found})


def routes(sb: Sandbox) -> list[BaseRoute]:
    """The lead routes."""
    return [
        api_route(sb, "/api/leads", leads, ["GET", "POST", "PUT", "DELETE"]),
        api_route(sb, "/api/find-lead", find_lead, ["GET"]),
    ]
