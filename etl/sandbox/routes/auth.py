"""``POST /api/auth`` (login) and ``POST /api/auth/refresh``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from etl.sandbox.http import JSON, error, read_object
from etl.sandbox.routes import open_route
from etl.sandbox.state import Sandbox


async def login(sb: Sandbox, request: Request) -> Response:
    """Exchange username + password for tokens."""
    body, problem = await read_object(request)
    if problem is not None:
        return problem
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return error(
            400, "username and password are required", "missing_required_field",
            "username, password",
        )  # fmt: skip
    account = sb.account_by_email(username)
    if account is None or account.password != password:
        return error(401, "Incorrect username or password", "no_valid_credentials")
    tokens = sb.tokens.issue(
        sub=account.user_id, email=account.email, now=sb.clock.time(), ttl=sb.config.token_ttl
    )
    return JSON({"success": True, "tokens": tokens})


async def refresh(sb: Sandbox, request: Request) -> Response:
    """Exchange a refresh token for new access/id tokens (the refresh token is kept)."""
    body, problem = await read_object(request)
    if problem is not None:
        return problem
    token = body.get("refreshToken")
    if not isinstance(token, str) or not token:
        return error(400, "refreshToken is required", "missing_required_field", "refreshToken")
    sub = sb.tokens.refresh_owner(token)
    account = sb.account_by_sub(sub) if sub else None
    if account is None:
        return error(401, "Invalid or revoked refresh token", "no_valid_tokens")
    tokens = sb.tokens.issue(
        sub=account.user_id,
        email=account.email,
        now=sb.clock.time(),
        ttl=sb.config.token_ttl,
        refresh_token=token,
    )
    return JSON({"success": True, "tokens": tokens})


def routes(sb: Sandbox) -> list[BaseRoute]:
    """The auth routes."""
    return [
        open_route(sb, "/api/auth", login, ["POST"]),
        open_route(sb, "/api/auth/refresh", refresh, ["POST"]),
    ]
