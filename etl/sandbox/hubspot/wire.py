"""HubSpot's wire format: JSON in and out, error bodies, and the one exception behind them.

::

    ApiError            an HTTP error answer: status, category, message, context
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

VALIDATION_ERROR = "VALIDATION_ERROR"
OBJECT_NOT_FOUND = "OBJECT_NOT_FOUND"
INVALID_AUTHENTICATION = "INVALID_AUTHENTICATION"

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
    "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)

_RATE_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "SECONDLY": "You have reached your secondly limit.",
    "DAILY": "You have reached your daily limit.",
}


class ApiError(Exception):
    """An error answer in HubSpot's shape (``status: error`` plus a category).

    Args:
        status: the HTTP status.
        category: HubSpot's error category, e.g. ``VALIDATION_ERROR``.
        message: what went wrong, for the caller.
        context: optional details (HubSpot puts ids and field names here).
    """

    def __init__(
        self, status: int, category: str, message: str, context: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.context = context

    def body(self) -> dict[str, Any]:
        """Return the JSON error body."""
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id(),
            "category": self.category,
        }
        if self.context is not None:
            body["context"] = self.context
        return body


def validation_error(message: str, **context: Any) -> ApiError:
    """Return a 400 ``VALIDATION_ERROR`` (the request itself is wrong)."""
    return ApiError(400, VALIDATION_ERROR, message, context or None)


def correlation_id() -> str:
    """Return a fresh correlation id, as HubSpot puts in every error body."""
    return str(uuid.uuid4())


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialize ``data`` with orjson into a JSON response."""
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def error_response(error: ApiError) -> Response:
    """Turn an :class:`ApiError` into its response."""
    return json_response(error.body(), error.status)


def rate_limit_body(policy: str) -> dict[str, Any]:
    """Return the 429 body for the limit ``policy`` (``TEN_SECONDLY_ROLLING``, ...)."""
    return {
        "status": "error",
        "message": _RATE_MESSAGES[policy],
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
    }


async def read_json(request: Request) -> Any:
    """Parse the request body as JSON.

    Raises:
        ApiError: 400 when the body is not JSON.
    """
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise validation_error(f"Invalid input JSON: {exc}") from None
