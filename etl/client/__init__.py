"""LeadGenius HTTP client: auth, rate limiting, retries, error mapping, pagination.

Typical use::

    settings = resolve_settings(base_url=None, api_key=None, user_id=None, token=None,
                                auth_file=None, email=None, password=None, rate=100,
                                insecure=False, env=os.environ)
    async with LeadGeniusClient(settings) as client:
        ref = await client.resolve_client("acme-corp")
        lead = await client.create_lead({"client_id": ref.slug, "email": "a@b.co"})
"""

from etl.client.auth import Session, jwt_claims
from etl.client.client import LeadGeniusClient
from etl.client.clients import ClientRef, match_client
from etl.client.core import ClientStats
from etl.client.errors import (
    AmbiguousWriteError,
    AuthError,
    ClientNotFoundError,
    ConflictError,
    LeadGeniusError,
    NotFoundError,
    PaginationLoopError,
    PermissionDeniedError,
    RateLimitedError,
    RejectedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    error_for_status,
)
from etl.client.limiter import RateLimiter
from etl.client.pagination import BulkPage, paginate, parse_bulk_page, parse_page
from etl.client.settings import (
    DEFAULT_BASE_URL,
    ApiKeyAuth,
    Auth,
    BearerAuth,
    ClientSettings,
    PasswordAuth,
    StoredCredentials,
    resolve_settings,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "AmbiguousWriteError",
    "ApiKeyAuth",
    "Auth",
    "AuthError",
    "BearerAuth",
    "BulkPage",
    "ClientNotFoundError",
    "ClientRef",
    "ClientSettings",
    "ClientStats",
    "ConflictError",
    "LeadGeniusClient",
    "LeadGeniusError",
    "NotFoundError",
    "PaginationLoopError",
    "PasswordAuth",
    "PermissionDeniedError",
    "RateLimitedError",
    "RateLimiter",
    "RejectedError",
    "ServerError",
    "Session",
    "StoredCredentials",
    "TransportError",
    "UnexpectedResponseError",
    "error_for_status",
    "jwt_claims",
    "match_client",
    "paginate",
    "parse_bulk_page",
    "parse_page",
    "resolve_settings",
]
