"""The HubSpot CRM API routes, relative to wherever the app is mounted (e.g. ``/hubspot``).

Every API route goes through the same gate: bearer token, daily quota, then the
10-second window (or search's per-second window), then the handler; each response is
counted per route and status for ``GET _sandbox/counters``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from etl.clock import Clock
from etl.sandbox.hubspot.admin import admin_routes
from etl.sandbox.hubspot.config import HubSpotConfig
from etl.sandbox.hubspot.records import (
    DEFAULT_COMPANY_PROPERTIES,
    DEFAULT_CONTACT_PROPERTIES,
    iso_ms,
)
from etl.sandbox.hubspot.search import parse_search
from etl.sandbox.hubspot.state import HubSpotState
from etl.sandbox.hubspot.wire import (
    AUTH_MESSAGE,
    INVALID_AUTHENTICATION,
    OBJECT_NOT_FOUND,
    ApiError,
    error_response,
    json_response,
    rate_limit_body,
    read_json,
    validation_error,
)

MAX_LIST_LIMIT = 100
MAX_COMPANY_INPUTS = 100
MAX_ASSOCIATION_INPUTS = 1_000

CONTACTS = "/crm/v3/objects/contacts"
COMPANIES_READ = "/crm/v3/objects/companies/batch/read"
ASSOCIATIONS_READ = "/crm/v4/associations/contacts/companies/batch/read"
SEARCH = "/crm/v3/objects/contacts/search"

Handler = Callable[[Request, HubSpotState], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def _now_iso(state: HubSpotState) -> str:
    return iso_ms(int(state.clock.time() * 1000))


def _names(request: Request, param: str) -> list[str]:
    # HubSpot takes both `properties=a,b` and repeated `properties=a&properties=b`.
    return [
        n.strip()
        for raw in request.query_params.getlist(param)
        for n in raw.split(",")
        if n.strip()
    ]


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise validation_error(f"{name} must be a non-negative integer, got {raw!r}")
    return int(raw)


def _inputs(body: Any, maximum: int) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise validation_error("the body needs an inputs list")
    inputs = body["inputs"]
    if len(inputs) > maximum:
        raise validation_error(
            f"at most {maximum} inputs per batch, got {len(inputs)}", maxInputs=maximum
        )
    if not all(isinstance(i, dict) and isinstance(i.get("id"), str | int) for i in inputs):
        raise validation_error('each input must be an object with an "id"')
    return inputs


async def list_contacts(request: Request, state: HubSpotState) -> Response:
    """``GET crm/v3/objects/contacts``: one page by ascending id; ``paging`` absent at the end."""
    limit = _int_param(request, "limit", 10)
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise validation_error(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}")
    archived = request.query_params.get("archived", "false").lower()
    if archived not in ("true", "false"):
        raise validation_error(f"archived must be true or false, got {archived!r}")
    wanted = [a.lower() for a in _names(request, "associations")]
    results, next_after = state.list_contacts(
        limit=limit,
        after=_int_param(request, "after", 0),
        properties=_names(request, "properties") or DEFAULT_CONTACT_PROPERTIES,
        associations="companies" in wanted or "company" in wanted,
        archived=archived == "true",
    )
    body: dict[str, Any] = {"results": results}
    if next_after is not None:
        # request.url is the full URL, mount prefix included, so the link works as-is.
        link = str(request.url.include_query_params(after=str(next_after)))
        body["paging"] = {"next": {"after": str(next_after), "link": link}}
    return json_response(body)


async def read_companies(request: Request, state: HubSpotState) -> Response:
    """``POST crm/v3/objects/companies/batch/read``: 207 with an error for missing ids."""
    started = _now_iso(state)
    body = await read_json(request)
    inputs = _inputs(body, MAX_COMPANY_INPUTS)
    properties = body.get("properties") or list(DEFAULT_COMPANY_PROPERTIES)
    if not isinstance(properties, list) or not all(isinstance(p, str) for p in properties):
        raise validation_error("properties must be a list of property names")
    results, missing = state.read_companies(
        [str(i["id"]) for i in inputs], properties, archived=body.get("archived") is True
    )
    out: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if missing:
        out["numErrors"] = 1
        out["errors"] = [
            {
                "status": "error",
                "category": OBJECT_NOT_FOUND,
                "message": "Could not get some COMPANY objects, they may be deleted or not "
                "exist. Check that ids are valid.",
                "context": {"ids": missing},
            }
        ]
    out["startedAt"], out["completedAt"] = started, _now_iso(state)
    return json_response(out, 207 if missing else 200)


async def read_associations(request: Request, state: HubSpotState) -> Response:
    """``POST crm/v4/associations/contacts/companies/batch/read``: per-contact paging at 500."""
    started = _now_iso(state)
    inputs = _inputs(await read_json(request), MAX_ASSOCIATION_INPUTS)
    pairs = [(str(i["id"]), str(i["after"]) if i.get("after") else None) for i in inputs]
    results, empty = state.read_associations(pairs)
    out: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if empty:
        out["numErrors"] = len(empty)
        out["errors"] = [
            {
                "status": "error",
                "category": OBJECT_NOT_FOUND,
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "message": f"No company is associated with contact {contact_id}.",
                "context": {"fromObjectId": [contact_id]},
            }
            for contact_id in empty
        ]
    out["startedAt"], out["completedAt"] = started, _now_iso(state)
    return json_response(out, 207 if empty else 200)


async def search_contacts(request: Request, state: HubSpotState) -> Response:
    """``POST crm/v3/objects/contacts/search``: total, a page, ``paging`` while more remain."""
    query = parse_search(await read_json(request))
    total, results, next_after = state.search(query)
    body: dict[str, Any] = {"total": total, "results": results}
    if next_after is not None:
        body["paging"] = {"next": {"after": str(next_after)}}
    return json_response(body)


def _authorized(request: Request, token: str) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and value.strip() == token


def _gate(state: HubSpotState, route: str, handler: Handler, *, search: bool = False) -> Endpoint:
    """Wrap an API handler with auth, rate limits, error bodies and counting."""

    async def endpoint(request: Request) -> Response:
        key = f"{request.method} {route}"
        if not _authorized(request, state.config.token):
            state.counters.record(key, 401)
            return error_response(ApiError(401, INVALID_AUTHENTICATION, AUTH_MESSAGE))
        config = state.config
        verdict = state.limits.check(
            search=search,
            per_10s=config.rate_limit_per_10s,
            search_per_s=config.search_rate_per_s,
            daily_limit=config.daily_limit,
        )
        if verdict.refused_by is not None:
            state.counters.record(key, 429, policy=verdict.refused_by)
            return json_response(rate_limit_body(verdict.refused_by), 429, verdict.headers)
        try:
            response = await handler(request, state)
        except ApiError as exc:
            response = error_response(exc)
        response.headers.update(verdict.headers)
        state.counters.record(key, response.status_code)
        return response

    return endpoint


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    if status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        return error_response(ApiError(405, "VALIDATION_ERROR", message))
    message = f"No route {request.method} {request.url.path} in the HubSpot sandbox"
    return error_response(ApiError(404, OBJECT_NOT_FOUND, message))


def create_hubspot_app(config: HubSpotConfig, *, clock: Clock | None = None) -> Starlette:
    """Build the HubSpot emulation as an ASGI app to mount under a prefix.

    Seeds the portal at once (deterministic from ``config.seed``). The state is reachable
    as ``app.state.hubspot`` (a :class:`HubSpotState`) for in-process callers.

    Args:
        config: seed size, token and limits.
        clock: drives rate limits, search lag and modification timestamps; defaults to
            the system clock.

    Example:
        ``Mount("/hubspot", app=create_hubspot_app(HubSpotConfig(contacts=5000)))``
    """
    state = HubSpotState(config, clock)
    routes = [
        Route(CONTACTS, _gate(state, CONTACTS, list_contacts), methods=["GET"]),
        Route(COMPANIES_READ, _gate(state, COMPANIES_READ, read_companies), methods=["POST"]),
        Route(
            ASSOCIATIONS_READ,
            _gate(state, ASSOCIATIONS_READ, read_associations),
            methods=["POST"],
        ),
        Route(SEARCH, _gate(state, SEARCH, search_contacts, search=True), methods=["POST"]),
        *admin_routes(state),
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    app.state.hubspot = state
    return app
