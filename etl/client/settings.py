"""Client settings: where the API is, how to authenticate, how fast to go.

:func:`resolve_settings` turns command-line flags and the environment into a validated,
immutable :class:`ClientSettings`. Authentication sources are tried in this order (the
first complete one wins; an explicit flag beats the environment):

1. ``--api-key`` (+ ``--user-id``), then ``LEADGENIUS_API_KEY`` / ``LGP_API_KEY``, with the
   user id from ``--user-id``, ``LEADGENIUS_USER_ID`` / ``LGP_USER_ID`` or the credentials file;
2. ``--token``, then ``LEADGENIUS_TOKEN`` (a bearer access token);
3. the credentials file: ``--auth-file``, ``LEADGENIUS_AUTH_FILE``, ``~/.leadgenius_auth.json``;
4. ``--email``/``--password``, then ``LEADGENIUS_EMAIL`` / ``LEADGENIUS_PASSWORD``.

(Explicit flags of any kind are considered before any environment variable.)
Secrets never show in a ``repr``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from etl import __version__
from etl.client.credentials import auth_file_path, read_credentials
from etl.errors import ConfigError

DEFAULT_BASE_URL = "https://last.leadgenius.app"
DEFAULT_RATE = 100.0

_NO_AUTH_HINT = (
    "no LeadGenius credentials found: run `lgetl auth login`, or set LEADGENIUS_API_KEY and "
    "LEADGENIUS_USER_ID, or LEADGENIUS_TOKEN, or LEADGENIUS_EMAIL and LEADGENIUS_PASSWORD"
)


@dataclass(frozen=True)
class ApiKeyAuth:
    """``x-api-key`` + ``x-user-id`` headers (bulk and service endpoints)."""

    api_key: str
    user_id: str

    def __repr__(self) -> str:
        return f"ApiKeyAuth(api_key='***', user_id={self.user_id!r})"


@dataclass(frozen=True)
class BearerAuth:
    """A bearer access token (and optionally its refresh token)."""

    token: str
    refresh_token: str | None = None

    def __repr__(self) -> str:
        has_refresh = self.refresh_token is not None
        return f"BearerAuth(token='***', refresh_token={'***' if has_refresh else None!r})"


@dataclass(frozen=True)
class StoredCredentials:
    """The credentials file; refreshed tokens are written back to it."""

    path: Path


@dataclass(frozen=True)
class PasswordAuth:
    """Email and password: the client logs in (``POST /api/auth``) and refreshes."""

    email: str
    password: str

    def __repr__(self) -> str:
        return f"PasswordAuth(email={self.email!r}, password='***')"


Auth = ApiKeyAuth | BearerAuth | StoredCredentials | PasswordAuth


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, insecure: bool) -> str:
    """Validate a base URL and return it without a trailing slash.

    Raises:
        ConfigError: not an http(s) URL, or plain http to a non-loopback host without
            ``insecure`` (credentials would cross the network in clear text).
    """
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--base-url {url!r} is not an http(s) URL; use e.g. https://last.leadgenius.app"
        )
    if parts.scheme == "http" and not insecure and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing to send credentials over plain http to {parts.hostname}: use https, "
            "or pass --insecure if this network is trusted"
        )
    return url


@dataclass(frozen=True)
class ClientSettings:
    """Everything a :class:`~etl.client.LeadGeniusClient` needs; validated on creation.

    Attributes:
        base_url: API root without ``/api`` (e.g. ``https://last.leadgenius.app``).
        auth: how to authenticate.
        rate: client-side limit in requests/minute; 0 = none of our own (the server's
            advertised limit is still respected).
        insecure: allow plain http to a non-loopback host.
        timeout: seconds per request (connect, read, write, pool).
        max_retries: retries of a failed safe request (429s get a larger budget).
        user_agent: the ``User-Agent`` header.
        relogin: email/password to log in again when a bearer session cannot be
            refreshed (from the environment), if available.
        source: where ``auth`` came from, for ``lgetl auth status`` (never a secret).
    """

    base_url: str
    auth: Auth
    rate: float = DEFAULT_RATE
    insecure: bool = False
    timeout: float = 30.0
    max_retries: int = 5
    user_agent: str = f"lgetl/{__version__}"
    relogin: PasswordAuth | None = None
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", check_base_url(self.base_url, insecure=self.insecure))
        if self.rate < 0:
            raise ConfigError(
                f"--rate must be >= 0 requests/minute (0 = no limit), not {self.rate}"
            )
        if self.timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, not {self.timeout}")
        if self.max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, not {self.max_retries}")
        if isinstance(self.auth, ApiKeyAuth) and not (self.auth.api_key and self.auth.user_id):
            raise ConfigError(
                "an API key needs its user id: pass --user-id or set LEADGENIUS_USER_ID"
            )
        if isinstance(self.auth, PasswordAuth) and not (self.auth.email and self.auth.password):
            raise ConfigError("logging in needs both an email and a password")


def _first(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = env.get(name)
        if value:
            return value
    return None


def resolve_base_url(
    base_url: str | None, env: Mapping[str, str], *, stored: str | None = None
) -> str:
    """``--base-url``, else ``LEADGENIUS_BASE_URL``, else the credentials file's, else default."""
    return base_url or env.get("LEADGENIUS_BASE_URL") or stored or DEFAULT_BASE_URL


def _pick_auth(
    *,
    api_key: str | None,
    token: str | None,
    auth_file: bool,
    email: str | None,
    password: str | None,
    env: Mapping[str, str],
    user: str,
    path: Path,
    file_auth: bool,
    relogin: PasswordAuth | None,
) -> tuple[Auth, str] | None:
    """The first complete auth source in the documented order, and its label."""
    if api_key:
        return ApiKeyAuth(api_key, user), "--api-key"
    if token:
        return BearerAuth(token), "--token"
    if auth_file:
        return StoredCredentials(path), f"credentials file {path}"
    if email and password:
        return PasswordAuth(email, password), "--email"
    env_key = _first(env, "LEADGENIUS_API_KEY", "LGP_API_KEY")
    if env_key:
        return ApiKeyAuth(env_key, user), "LEADGENIUS_API_KEY"
    env_token = _first(env, "LEADGENIUS_TOKEN")
    if env_token:
        return BearerAuth(env_token), "LEADGENIUS_TOKEN"
    if file_auth:
        return StoredCredentials(path), f"credentials file {path}"
    if relogin is not None:
        return relogin, "LEADGENIUS_EMAIL"
    return None


def resolve_settings(
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    user_id: str | None = None,
    token: str | None = None,
    auth_file: str | os.PathLike[str] | None = None,
    email: str | None = None,
    password: str | None = None,
    rate: float | None = None,
    insecure: bool = False,
    env: Mapping[str, str],
    timeout: float = 30.0,
    max_retries: int = 5,
) -> ClientSettings:
    """Build validated settings from flags (``None`` = not given) and the environment.

    Args:
        base_url: ``--base-url``.
        api_key: ``--api-key``.
        user_id: ``--user-id`` (the ``sub`` an API key belongs to).
        token: ``--token`` (a bearer access token).
        auth_file: ``--auth-file`` (the credentials file).
        email: ``--email``.
        password: ``--password``.
        rate: ``--rate`` in requests/minute (default 100; 0 = no client-side limit).
        insecure: ``--insecure`` (allow plain http to a non-loopback host).
        env: the environment (``os.environ`` in the CLI, a dict in tests).
        timeout: seconds per request.
        max_retries: retries of a failed safe request.

    Returns:
        The settings; nothing is sent anywhere yet.

    Raises:
        ConfigError: no credentials, an API key without a user id, a bad base URL or plain
            http to a remote host without ``insecure``.
    """
    path = auth_file_path(env, auth_file)
    stored = read_credentials(path) if (auth_file or path.exists()) else {}
    if auth_file and not (stored.get("token") or stored.get("api_key")):
        raise ConfigError(
            f"the credentials file {path} holds no token or API key; run `lgetl auth login`"
        )
    env_user = user_id or _first(env, "LEADGENIUS_USER_ID", "LGP_USER_ID") or stored.get("user_id")
    env_email = email or _first(env, "LEADGENIUS_EMAIL") or stored.get("email")
    env_password = password or _first(env, "LEADGENIUS_PASSWORD")
    relogin = PasswordAuth(env_email, env_password) if env_email and env_password else None
    file_auth = bool(stored.get("token") or stored.get("api_key"))

    picked = _pick_auth(
        api_key=api_key,
        token=token,
        auth_file=bool(auth_file),
        email=email,
        password=env_password,
        env=env,
        user=env_user or "",
        path=path,
        file_auth=file_auth,
        relogin=relogin,
    )
    if picked is None:
        raise ConfigError(_NO_AUTH_HINT)
    auth, source = picked
    if isinstance(auth, ApiKeyAuth) and not auth.user_id:
        raise ConfigError(
            f"an API key ({source}) needs its user id: pass --user-id or set LEADGENIUS_USER_ID"
        )
    from_file = isinstance(auth, StoredCredentials)
    url = resolve_base_url(base_url, env, stored=stored.get("base_url") if from_file else None)
    return ClientSettings(
        base_url=url,
        auth=auth,
        rate=DEFAULT_RATE if rate is None else float(rate),
        insecure=insecure,
        timeout=timeout,
        max_retries=max_retries,
        relogin=relogin if not isinstance(auth, (ApiKeyAuth, PasswordAuth)) else None,
        source=source,
    )
