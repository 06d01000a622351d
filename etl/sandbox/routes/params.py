"""Query-parameter parsing shared by the list routes: limits and opaque page tokens."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from etl.sandbox.http import JSON, error


def parse_limit(raw: str | None, *, default: int, maximum: int) -> tuple[int, JSON | None]:
    """``limit`` as an int in ``1..maximum``; ``(default, None)`` when absent."""
    if raw is None or raw == "":
        return default, None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        return 0, error(
            400, f"limit must be an integer from 1 to {maximum}", "invalid_value", "limit"
        )
    return value, None


def encode_token(state: dict[str, Any]) -> str:
    """An opaque page token for ``state``."""
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode("ascii").rstrip("=")


def decode_token(raw: str | None, *, scope: str) -> tuple[dict[str, Any] | None, JSON | None]:
    """Decode a token made by :func:`encode_token` for the same ``scope`` (route + filter).

    Returns ``(None, None)`` when there is no token, ``(None, 400)`` when it is not ours.
    """
    if raw is None or raw == "":
        return None, None
    try:
        state = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        state = None
    if not isinstance(state, dict) or state.get("scope") != scope:
        return None, error(400, "nextToken is invalid for this query", "invalid_value", "nextToken")
    return state, None
