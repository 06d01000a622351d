"""Sandbox-only routes under ``_sandbox/`` (no auth, no rate limit, not counted).

- ``POST _sandbox/modify``  ``{"ids": [...]}`` or ``{"count": N}``, optional
  ``"properties": {...}`` -> changes those contacts, bumps ``lastmodifieddate``.
- ``POST _sandbox/create``  ``{"count": N}`` -> new contacts with an email.
- ``GET _sandbox/contacts`` -> what a correct importer should end with, and mess counts.
- ``GET _sandbox/counters`` -> requests per route and status, 429s per policy;
  ``DELETE`` resets them.
- ``GET``/``POST _sandbox/config`` -> read / partly update the live knobs.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from etl.errors import ConfigError
from etl.sandbox.hubspot.records import CONTACT_PROPERTIES, READ_ONLY_CONTACT_PROPERTIES
from etl.sandbox.hubspot.state import HubSpotState
from etl.sandbox.hubspot.wire import (
    ApiError,
    error_response,
    json_response,
    read_json,
    validation_error,
)

#: Most contacts one ``_sandbox/create`` call makes (keeps a typo from eating memory).
MAX_CREATE = 100_000


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise validation_error("the body must be a JSON object")
    return body


def _properties(raw: Any) -> dict[str, str | None] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw:
        raise validation_error("properties must be a non-empty object")
    writable = set(CONTACT_PROPERTIES) - READ_ONLY_CONTACT_PROPERTIES
    for name, value in raw.items():
        if name not in writable:
            raise validation_error(f"property {name!r} cannot be set; writable: {sorted(writable)}")
        if value is not None and not isinstance(value, str):
            raise validation_error(f"property {name!r} must be a string or null")
    return dict(raw)


def _count(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise validation_error(f"count must be a non-negative integer, got {raw!r}")
    return raw


def admin_routes(state: HubSpotState) -> list[Route]:
    """Build the ``_sandbox/`` routes over ``state``."""

    async def modify(request: Request) -> Response:
        try:
            body = _object(await read_json(request))
            ids, count = body.get("ids"), body.get("count")
            if (ids is None) == (count is None):
                raise validation_error('give either "ids" or "count"')
            if ids is not None and (
                not isinstance(ids, list) or not all(isinstance(i, str | int) for i in ids)
            ):
                raise validation_error("ids must be a list of contact ids")
            done = state.modify(
                ids=None if ids is None else [str(i) for i in ids],
                count=None if count is None else _count(count),
                properties=_properties(body.get("properties")),
            )
        except ApiError as exc:
            return error_response(exc)
        return json_response({"ids": done, "modified": len(done)})

    async def create(request: Request) -> Response:
        try:
            count = _count(_object(await read_json(request)).get("count"))
            if count > MAX_CREATE:
                raise validation_error(f"count must be at most {MAX_CREATE}")
        except ApiError as exc:
            return error_response(exc)
        made = state.create(count)
        return json_response({"ids": made, "created": len(made)})

    async def contacts(request: Request) -> Response:
        return json_response(state.summary())

    async def counters(request: Request) -> Response:
        if request.method == "DELETE":
            state.counters.reset()
        return json_response(state.counters.snapshot())

    async def config(request: Request) -> Response:
        if request.method == "POST":
            try:
                state.update_config(_object(await read_json(request)))
            except ApiError as exc:
                return error_response(exc)
            except ConfigError as exc:
                return error_response(validation_error(str(exc)))
        return json_response(state.config.knobs())

    return [
        Route("/_sandbox/modify", modify, methods=["POST"]),
        Route("/_sandbox/create", create, methods=["POST"]),
        Route("/_sandbox/contacts", contacts, methods=["GET"]),
        Route("/_sandbox/counters", counters, methods=["GET", "DELETE"]),
        Route("/_sandbox/config", config, methods=["GET", "POST"]),
    ]
