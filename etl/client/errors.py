"""Errors raised by the LeadGenius client, grouped by what the caller should do.

Every HTTP status and ``errorType`` is turned into one of these by :func:`error_for_status`
(the only place that mapping lives)::

    EtlError (etl.errors)
    +-- LeadGeniusError                 any failure talking to the API
        +-- AuthError                   exit 2: credentials missing, wrong or not renewable
        +-- PermissionDeniedError       exit 2: 403, the credentials may not do this
        +-- RejectedError               exit 2: the server refused the data (400/422, or
        |                                      500 "no data returned"); never retry unchanged
        +-- NotFoundError               exit 2: 404, or nothing matched
        |   +-- ClientNotFoundError     exit 2: a client reference matched no client
        +-- ConflictError               exit 2: 409, already exists / conflicting state
        +-- RateLimitedError            exit 1: still 429 after every retry
        +-- ServerError                 exit 1: still 5xx after every retry
        +-- TransportError              exit 1: network failure (refused, timeout, reset)
        +-- AmbiguousWriteError         exit 1: a create may or may not have been stored;
        |                                      reconcile (find-lead) before sending it again
        +-- UnexpectedResponseError     exit 1: a 2xx body the client does not understand
            +-- PaginationLoopError     exit 1: the server handed back a nextToken twice

Messages say what to do next. They never contain secrets: server text is passed through
:func:`etl.logs.redact` and no exception keeps the request (whose headers hold the token or
API key) or the response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from etl.errors import EtlError
from etl.logs import redact

#: What the real server (and the sandbox) answers when its GraphQL layer refuses the data
#: (bugs 3, 4 and 6: a ``phone`` key, an empty string, a punctuation-only lastName).
NO_DATA_MESSAGE = "Failed to create lead - no data returned"

_LOGIN_HINT = (
    "run `lgetl auth login`, or set LEADGENIUS_API_KEY and LEADGENIUS_USER_ID "
    "(or LEADGENIUS_EMAIL and LEADGENIUS_PASSWORD)"
)


class LeadGeniusError(EtlError):
    """A failure talking to the LeadGenius API.

    Attributes:
        status: the HTTP status, or ``None`` when no response arrived.
        error_type: the server's ``errorType`` (e.g. ``token_expired``), if any.
        server_message: the server's ``error`` text (redacted), if any.
        method: the HTTP method of the failed request.
        path: the path of the failed request (no query string, no host).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        server_message: str | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.server_message = server_message
        self.method = method
        self.path = path


class AuthError(LeadGeniusError):
    """The credentials are missing, wrong, expired and not renewable: log in again."""

    exit_code = 2


class PermissionDeniedError(LeadGeniusError):
    """403: the credentials are valid but may not touch this resource."""

    exit_code = 2


class RejectedError(LeadGeniusError):
    """The server refused the request because of its data; sending it again fails again."""

    exit_code = 2


class NotFoundError(LeadGeniusError):
    """404, or a lookup matched nothing."""

    exit_code = 2


class ClientNotFoundError(NotFoundError):
    """A client reference (slug, UUID or name) matched no client of this account.

    Attributes:
        suggestions: close matches (slugs or names), best first.
    """

    def __init__(self, message: str, *, suggestions: list[str] | None = None) -> None:
        super().__init__(message, status=None)
        self.suggestions = suggestions or []


class ConflictError(LeadGeniusError):
    """409: the resource already exists or is in a conflicting state."""

    exit_code = 2


class RateLimitedError(LeadGeniusError):
    """429 that persisted through every retry.

    Attributes:
        retry_after: seconds the server asked to wait, if it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(LeadGeniusError):
    """A 5xx that persisted through every retry (or one that may not be retried)."""


class TransportError(LeadGeniusError):
    """The network failed: connection refused, DNS, timeout, connection reset.

    Attributes:
        kind: the underlying exception class name (e.g. ``ConnectError``).
        sent: ``False`` when the request certainly never left (safe to repeat),
            ``True`` when it may have reached the server.
    """

    def __init__(self, message: str, *, kind: str, sent: bool, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.kind = kind
        self.sent = sent


class AmbiguousWriteError(LeadGeniusError):
    """A creating POST failed after it may have reached the server.

    The lead (or client) may or may not be stored. Do not send it again blindly: look it
    up by its identity (``find_leads``) after the index consistency window, then decide.

    Attributes:
        identity: the payload's identity hints (client_id, email, linkedinUrl,
            firstName, lastName, companyName: those present).
        kind: what went wrong: ``"http 502"`` or an exception name such as ``ReadTimeout``.
    """

    def __init__(self, message: str, *, identity: Mapping[str, Any], kind: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.identity = dict(identity)
        self.kind = kind


class UnexpectedResponseError(LeadGeniusError):
    """A successful response whose body the client cannot interpret."""


class PaginationLoopError(UnexpectedResponseError):
    """The server returned a ``nextToken`` it had already returned: paging would never end."""


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return redact(str(value))


def error_for_status(
    status: int,
    error_type: str | None,
    body: Mapping[str, Any] | None,
    *,
    method: str = "",
    path: str = "",
) -> LeadGeniusError:
    """Map one error response to the exception the caller should see.

    This is the single place where statuses and ``errorType`` values become errors.

    Args:
        status: the HTTP status (>= 400).
        error_type: the body's ``errorType``, if any.
        body: the parsed error body (``error``, ``details``, ``recommendation``), if JSON.
        method: the request's method, for the message.
        path: the request's path (no query string), for the message.

    Returns:
        The error to raise (not raised here, so retry logic can inspect it first).
    """
    body = body or {}
    server = _text(body.get("error")) or _text(body.get("message"))
    details = _text(body.get("details"))
    advice = _text(body.get("recommendation"))
    what = f"{method} {path}".strip() or "request"
    said = f"{server}" if server else "no message"
    if details:
        said += f" ({details})"
    tag = f"{status} {error_type}" if error_type else str(status)
    base = f"{what} failed with {tag}: {said}"
    kw: dict[str, Any] = {
        "status": status,
        "error_type": error_type,
        "server_message": server,
        "method": method,
        "path": path,
    }
    if status == 401:
        return AuthError(f"{base}; {_LOGIN_HINT}", **kw)
    if status == 403:
        return PermissionDeniedError(
            f"{base}; check that these credentials own this client/company "
            "(every lead call needs the client's slug, not its UUID)",
            **kw,
        )
    if status == 404:
        return NotFoundError(f"{base}; check the id or slug (`lgetl clients list`)", **kw)
    if status == 409:
        return ConflictError(f"{base}; it already exists: look it up instead of creating", **kw)
    if status == 429:
        return RateLimitedError(
            f"{base}; the API's rate limit was hit repeatedly: lower --rate and run again",
            **kw,
        )
    if status == 500 and server == NO_DATA_MESSAGE:
        # Bugs 3/4/6: the server's opaque refusal of the *data* (a `phone` key, an empty
        # string, a punctuation-only lastName). Deterministic, so it is a rejection, not a
        # fault: retrying or reconciling cannot help.
        return RejectedError(
            f"{base}; the server refuses this data: drop empty fields, use phoneNumber "
            "not phone, use '-' for a missing lastName",
            **kw,
        )
    if 400 <= status < 500:
        hint = advice or "fix the request data; sending it unchanged fails again"
        return RejectedError(f"{base}; {hint}", **kw)
    return ServerError(
        f"{base}; the LeadGenius API failed: run the command again later (completed work is kept)",
        **kw,
    )
