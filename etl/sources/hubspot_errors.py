"""Errors raised while reading HubSpot, grouped by what the caller should do.

Every HTTP status and HubSpot error ``category`` becomes one of these in
:func:`error_for_response` (the only place that mapping lives)::

    EtlError (etl.errors)
    +-- HubSpotError                    any failure talking to HubSpot (exit 1, resumable)
        +-- HubSpotConfigError          exit 2: no token, bad base URL (also a ConfigError)
        +-- HubSpotAuthError            exit 2: 401, the private app token is wrong or revoked
        +-- HubSpotScopeError           exit 2: 403 MISSING_SCOPES, the app lacks a scope
        +-- HubSpotPermissionError      exit 2: another 403
        +-- HubSpotRateLimitError       exit 1: still 429 after every retry
        |   +-- HubSpotDailyLimitError  exit 1: the daily quota is spent (never retried)
        +-- HubSpotServerError          exit 1: still 5xx after every retry
        +-- HubSpotTransportError       exit 1: network failure (refused, timeout, reset)
        +-- HubSpotRequestError         exit 1: another 4xx (400, 404): a request we built wrong
        +-- HubSpotResponseError        exit 1: a 2xx body we cannot interpret

No message, ``repr`` or attribute ever holds the access token: server text goes through
:func:`etl.logs.redact` and no exception keeps the request or the response.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from etl.errors import ConfigError, EtlError
from etl.logs import redact

#: Scopes the private app needs for everything this source reads.
REQUIRED_SCOPES: tuple[str, ...] = ("crm.objects.contacts.read", "crm.objects.companies.read")

DAILY_POLICY = "DAILY"


class HubSpotError(EtlError):
    """A failure reading HubSpot; re-running the command resumes the job.

    Attributes:
        status: the HTTP status, or ``None`` when no response arrived.
        category: HubSpot's error ``category`` (``VALIDATION_ERROR``, ...) if any.
        route: ``METHOD /path`` of the failed request (no host, no query string).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        category: str | None = None,
        route: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.route = route


class HubSpotConfigError(HubSpotError, ConfigError):
    """The HubSpot settings cannot work (no token, bad base URL): fix the command or env."""

    exit_code = 2


class HubSpotAuthError(HubSpotError):
    """401: HubSpot does not accept the private app token."""

    exit_code = 2


class HubSpotScopeError(HubSpotError):
    """403 MISSING_SCOPES: the private app lacks a scope this source needs.

    Attributes:
        scopes: the scopes HubSpot (or this source) says are required.
    """

    exit_code = 2

    def __init__(self, message: str, *, scopes: Sequence[str], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.scopes = tuple(scopes)


class HubSpotPermissionError(HubSpotError):
    """403 other than missing scopes: the token may not read this object."""

    exit_code = 2


class HubSpotRateLimitError(HubSpotError):
    """429 that persisted through every retry.

    Attributes:
        policy: HubSpot's ``policyName`` (``TEN_SECONDLY_ROLLING``, ``SECONDLY``, ``DAILY``).
    """

    def __init__(self, message: str, *, policy: str | None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.policy = policy


class HubSpotDailyLimitError(HubSpotRateLimitError):
    """429 ``DAILY``: the portal's daily API quota is spent; waiting seconds cannot help."""


class HubSpotServerError(HubSpotError):
    """A 5xx that persisted through every retry."""


class HubSpotTransportError(HubSpotError):
    """The network failed (connection refused, DNS, timeout, reset) through every retry.

    Attributes:
        kind: the underlying exception class name (e.g. ``ReadTimeout``).
    """

    def __init__(self, message: str, *, kind: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.kind = kind


class HubSpotRequestError(HubSpotError):
    """A 4xx other than 401/403/429: HubSpot refused a request this tool built."""


class HubSpotResponseError(HubSpotError):
    """A successful response whose body this source cannot interpret."""


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return redact(str(value))


def required_scopes(body: Mapping[str, Any]) -> list[str]:
    """The scopes a 403 ``MISSING_SCOPES`` body names (HubSpot nests them in ``errors``).

    Args:
        body: the parsed error body.

    Returns:
        The scope names found, in order, without duplicates (possibly empty).
    """
    found: list[str] = []
    contexts: list[Any] = [body.get("context")]
    errors = body.get("errors")
    if isinstance(errors, list):
        contexts += [e.get("context") for e in errors if isinstance(e, dict)]
    for context in contexts:
        if not isinstance(context, dict):
            continue
        for key in ("requiredGranularScopes", "requiredScopes", "scopes"):
            values = context.get(key)
            if isinstance(values, list):
                found += [str(v) for v in values if isinstance(v, str)]
    return list(dict.fromkeys(found))


def error_for_response(
    status: int, body: Mapping[str, Any] | None, *, route: str, token_env: str
) -> HubSpotError:
    """Map one error response to the exception the caller should see.

    Args:
        status: the HTTP status (>= 400).
        body: the parsed JSON error body, if any.
        route: ``METHOD /path`` of the request, for the message.
        token_env: the environment variable the token came from (named, never shown).

    Returns:
        The error (not raised here, so the retry policy can inspect it first).
    """
    body = body or {}
    category = _text(body.get("category")) or _text(body.get("errorType"))
    server = _text(body.get("message")) or "no message"
    base = f"HubSpot {route} failed with {status}{f' {category}' if category else ''}: {server}"
    kw: dict[str, Any] = {"status": status, "category": category, "route": route}
    scopes = ", ".join(REQUIRED_SCOPES)
    if status == 401:
        return HubSpotAuthError(
            f"HubSpot refused the access token ({route}: 401 {category or ''}). Check that "
            f"{token_env} holds the access token of a private app (Settings > Integrations > "
            f"Private Apps) that is not revoked and has the scopes {scopes}",
            **kw,
        )
    if status == 403 and category == "MISSING_SCOPES":
        needed = required_scopes(body) or list(REQUIRED_SCOPES)
        return HubSpotScopeError(
            f"{base}; the private app behind {token_env} lacks the scope(s) "
            f"{', '.join(needed)}: add them in the app's Scopes tab (this source needs "
            f"{scopes}), then run again",
            scopes=needed,
            **kw,
        )
    if status == 403:
        return HubSpotPermissionError(
            f"{base}; the token may not read this object: check the private app's scopes "
            f"({scopes}) and the portal",
            **kw,
        )
    if status == 429:
        policy = _text(body.get("policyName"))
        if policy == DAILY_POLICY:
            return HubSpotDailyLimitError(
                f"{base}; the portal's daily API quota is spent: run again after midnight "
                "(the job resumes where it stopped)",
                policy=policy,
                **kw,
            )
        return HubSpotRateLimitError(
            f"{base}; HubSpot kept refusing for its {policy or 'rate'} limit: another app "
            "may share this quota; run again later (the job resumes)",
            policy=policy,
            **kw,
        )
    if status >= 500:
        return HubSpotServerError(
            f"{base}; HubSpot failed: run the command again later (the job resumes)", **kw
        )
    return HubSpotRequestError(
        f"{base}; this is a request the tool built wrong: please report it", **kw
    )
