"""Settings of the HubSpot source: where the API is, the private app token, how fast to go.

:func:`hubspot_settings` turns command-line values and the environment into a validated,
immutable :class:`HubSpotSettings` before the first request. The token is read from
``HUBSPOT_ACCESS_TOKEN`` (or the variable named by ``--hubspot-token-env``), never from a
flag, so it does not end up in shell history or ``ps``; it never shows in a ``repr``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from etl.sources.hubspot_errors import REQUIRED_SCOPES, HubSpotConfigError

DEFAULT_BASE_URL = "https://api.hubapi.com"
DEFAULT_TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"
#: Free/Starter private apps: 100 requests per 10 s (Professional/Enterprise: 190). The
#: limiter starts here and follows ``X-HubSpot-RateLimit-Max`` from the first response.
DEFAULT_RATE_PER_10S = 100
#: Search allows about 5 requests per second and says nothing in headers: stay under it.
DEFAULT_SEARCH_PER_SECOND = 4

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class HubSpotSettings:
    """Validated settings of one HubSpot portal connection.

    Attributes:
        token: the private app access token (masked in ``repr``).
        base_url: API root without a trailing slash (``https://api.hubapi.com``).
        token_env: the environment variable the token came from (named in messages).
        rate_per_10s: requests per 10 s until the server's headers say otherwise.
        search_per_second: search requests per second (search sends no headers).
        timeout: seconds per request (connect, read, write, pool).
        max_retries: retries of 5xx, timeouts and connection errors per request.
        throttle_retries: retries of 429s per request.
    """

    token: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    token_env: str = DEFAULT_TOKEN_ENV
    rate_per_10s: int = DEFAULT_RATE_PER_10S
    search_per_second: int = DEFAULT_SEARCH_PER_SECOND
    timeout: float = 30.0
    max_retries: int = 5
    throttle_retries: int = 20

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", check_base_url(self.base_url))
        if not self.token or any(ch.isspace() for ch in self.token):
            raise HubSpotConfigError(
                f"the HubSpot token in {self.token_env} is empty or contains whitespace: "
                "copy the private app's access token again"
            )
        if self.rate_per_10s < 1 or self.search_per_second < 1:
            raise HubSpotConfigError("HubSpot rate limits must be at least 1 request")
        if self.timeout <= 0 or self.max_retries < 0 or self.throttle_retries < 0:
            raise HubSpotConfigError("HubSpot timeout must be > 0 and retries >= 0")

    def __repr__(self) -> str:
        return (
            f"HubSpotSettings(token='***', base_url={self.base_url!r}, "
            f"token_env={self.token_env!r}, rate_per_10s={self.rate_per_10s}, "
            f"search_per_second={self.search_per_second})"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """Validate a HubSpot base URL and return it without a trailing slash.

    Plain ``http`` is accepted only for loopback hosts (the sandbox): anywhere else it
    would send the token in clear text.

    Raises:
        HubSpotConfigError: not an absolute http(s) URL, or http to a remote host.
    """
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment:
        raise HubSpotConfigError(
            f"--hubspot-base-url {url!r} is not an http(s) URL such as {DEFAULT_BASE_URL} "
            "or http://127.0.0.1:PORT/hubspot"
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise HubSpotConfigError(
            f"--hubspot-base-url {url!r}: use https (plain http is only allowed to "
            "localhost, for the sandbox), or the token would travel in clear text"
        )
    return url.strip().rstrip("/")


def hubspot_settings(
    *,
    base_url: str | None = None,
    token_env: str | None = None,
    environ: Mapping[str, str] | None = None,
    rate_per_10s: int = DEFAULT_RATE_PER_10S,
    search_per_second: int = DEFAULT_SEARCH_PER_SECOND,
    timeout: float = 30.0,
    max_retries: int = 5,
) -> HubSpotSettings:
    """Build the settings from command-line values and the environment.

    Args:
        base_url: ``--hubspot-base-url`` (default :data:`DEFAULT_BASE_URL`).
        token_env: ``--hubspot-token-env``: the variable holding the token
            (default :data:`DEFAULT_TOKEN_ENV`).
        environ: the environment (default: ``os.environ`` at call time).
        rate_per_10s: starting limit per 10 s (the server's headers then rule).
        search_per_second: search requests per second.
        timeout: seconds per request.
        max_retries: retries of 5xx/timeouts/connection errors per request.

    Raises:
        HubSpotConfigError: the variable is unset or empty, or the URL is unusable.
    """
    env = os.environ if environ is None else environ
    name = (token_env or DEFAULT_TOKEN_ENV).strip()
    if not _ENV_NAME.match(name):
        raise HubSpotConfigError(
            # The value is not echoed: a user may have pasted the token itself here.
            "--hubspot-token-env takes the name of an environment variable (letters, digits, "
            "underscores, e.g. HUBSPOT_ACCESS_TOKEN), never the token itself"
        )
    token = env.get(name, "").strip()
    if not token:
        raise HubSpotConfigError(
            f"no HubSpot token: set {name} to the access token of a HubSpot private app "
            f"(Settings > Integrations > Private Apps) with the scopes {', '.join(REQUIRED_SCOPES)}"
        )
    return HubSpotSettings(
        token=token,
        base_url=base_url or DEFAULT_BASE_URL,
        token_env=name,
        rate_per_10s=rate_per_10s,
        search_per_second=search_per_second,
        timeout=timeout,
        max_retries=max_retries,
    )
