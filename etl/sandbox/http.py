"""Response helpers of the emulated API: orjson bodies, the error shape, dropped connections."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

#: What the API recommends per errorType (the ``recommendation`` field of error bodies).
_RECOMMEND: dict[str, str] = {
    "no_valid_credentials": "Send Authorization: Bearer <accessToken> or x-api-key + x-user-id.",
    "no_valid_tokens": "Log in again with POST /api/auth.",
    "token_expired": "Refresh the token with POST /api/auth/refresh or log in again.",
    "missing_required_field": "Add the missing field and retry.",
    "invalid_format": "Fix the field format and retry.",
    "invalid_value": "Fix the value and retry.",
    "not_found": "Check the id or client_id; it must belong to your company.",
    "rate_limited": "Wait Retry-After seconds, then retry.",
}


class JSON(Response):
    """A JSON response serialized with orjson (the hot path's serializer)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(
    status: int,
    message: str,
    error_type: str | None = None,
    details: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> JSON:
    """The API's error body.

    Shape: ``{"success":false,"error","errorType","details","recommendation"}``.
    """
    body = {
        "success": False,
        "error": message,
        "errorType": error_type,
        "details": details,
        "recommendation": _RECOMMEND.get(error_type or "", "Retry later or contact support."),
    }
    return JSON(body, status_code=status, headers=headers)


class DroppedConnection(Exception):
    """Raised inside the app to make the server abort the connection mid-response."""


class DroppedResponse(Response):
    """Sends the status line and headers, then aborts: the client sees a broken connection."""

    def __init__(self) -> None:
        super().__init__(b"", status_code=200, headers={"content-length": "64"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        # uvicorn closes the transport when the app raises after the response started.
        raise DroppedConnection("sandbox fault: connection dropped")


class _HideDroppedConnections(logging.Filter):
    """Keeps uvicorn from logging a traceback for every injected dropped connection."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


def quiet_dropped_connections() -> None:
    """Install the log filter on uvicorn's error logger (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDroppedConnections) for f in logger.filters):
        logger.addFilter(_HideDroppedConnections())


async def read_json(request: Request) -> tuple[Any, JSON | None]:
    """Parse the request body; return ``(value, None)`` or ``(None, 400 response)``."""
    try:
        raw = await request.body()
    except ClientDisconnect:  # the client went away mid-body (e.g. killed): nothing to do
        return None, error(400, "Client disconnected", "invalid_format", "body")
    if not raw:
        return None, error(400, "Request body is required", "missing_required_field", "body")
    try:
        return orjson.loads(raw), None
    except orjson.JSONDecodeError:
        return None, error(400, "Request body is not valid JSON", "invalid_format", "body")


async def read_object(request: Request) -> tuple[dict[str, Any], JSON | None]:
    """Parse the body as a JSON object; anything else is a 400."""
    value, problem = await read_json(request)
    if problem is not None:
        return {}, problem
    if not isinstance(value, dict):
        return {}, error(400, "Request body must be a JSON object", "invalid_format", "body")
    return value, None
