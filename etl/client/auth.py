"""Authentication that never lets a long job die of an expired token.

:class:`Authenticator` puts the right headers on every request:

* API key: ``x-api-key`` + ``x-user-id``; nothing to renew (a 401 is final).
* Bearer: the access token is renewed *before* it expires (the JWT's ``exp``, read without
  checking the signature), and again after a 401 ``token_expired``. Renewal tries the refresh
  token first; if that is refused it logs in again with the email/password it has (settings,
  environment, or a prompt on a terminal). Renewal is single-flight: an ``asyncio.Lock``
  makes a hundred coroutines hitting expiry together cause one refresh. When the session
  came from the credentials file, renewed tokens are written back to it (atomically, 0600).

No token, password or key is ever logged or put in an exception.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from etl.client.credentials import read_credentials, update_credentials
from etl.client.errors import AuthError, LeadGeniusError, UnexpectedResponseError
from etl.client.settings import (
    ApiKeyAuth,
    BearerAuth,
    ClientSettings,
    PasswordAuth,
    StoredCredentials,
)
from etl.clock import Clock
from etl.logs import register_secret, register_secrets

log = logging.getLogger(__name__)

#: Sends a JSON POST without auth headers and returns the parsed body (the core's job).
PostJson = Callable[[str, dict[str, Any]], Awaitable[Any]]
#: Asks the user for a password (given a prompt text); only passed in on a terminal.
PasswordPrompt = Callable[[str], str]

#: Renew this long before expiry at most (and at most a fifth of the token's lifetime).
REFRESH_MARGIN = 60.0

_RENEW_HINT = (
    "run `lgetl auth login` (or set LEADGENIUS_EMAIL and LEADGENIUS_PASSWORD so the "
    "session can be renewed, or use LEADGENIUS_API_KEY)"
)


def jwt_claims(token: str) -> dict[str, Any]:
    """Decode a JWT's payload without verifying it; ``{}`` if it is not a JWT.

    The client only needs ``exp`` and ``sub``: the server checks the signature.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


@dataclass
class Session:
    """A bearer session. Its ``repr`` shows no token."""

    access_token: str
    refresh_token: str | None = None
    id_token: str | None = None
    expires_at: float | None = None
    issued_at: float | None = None

    def __repr__(self) -> str:
        return f"Session(expires_at={self.expires_at!r}, refreshable={bool(self.refresh_token)})"

    @classmethod
    def from_token(
        cls, token: str, *, refresh_token: str | None = None, id_token: str | None = None
    ) -> Session:
        """A session from a stored or given access token (expiry read from its ``exp``)."""
        claims = jwt_claims(token)
        exp = claims.get("exp")
        iat = claims.get("iat")
        return cls(
            access_token=token,
            refresh_token=refresh_token,
            id_token=id_token,
            expires_at=float(exp) if isinstance(exp, int | float) else None,
            issued_at=float(iat) if isinstance(iat, int | float) else None,
        )

    @classmethod
    def from_response(cls, doc: Any, *, now: float, previous_refresh: str | None) -> Session:
        """A session from a login/refresh body ``{"tokens": {...}}``.

        Raises:
            UnexpectedResponseError: no access token in the body.
        """
        tokens = doc.get("tokens") if isinstance(doc, dict) else None
        if not isinstance(tokens, dict) or not tokens.get("accessToken"):
            raise UnexpectedResponseError(
                "the auth response has no access token; check --base-url points at the "
                "LeadGenius API"
            )
        session = cls.from_token(
            str(tokens["accessToken"]),
            refresh_token=tokens.get("refreshToken") or previous_refresh,
            id_token=tokens.get("idToken"),
        )
        expires_in = tokens.get("expiresIn")
        if session.expires_at is None and isinstance(expires_in, int | float):
            session.expires_at = now + float(expires_in)
        if session.issued_at is None:
            session.issued_at = now
        return session

    @property
    def claims(self) -> dict[str, Any]:
        """The access token's claims (``sub``, ``exp``...)."""
        return jwt_claims(self.access_token)

    def file_fields(self) -> dict[str, Any]:
        """The credentials-file keys for this session (vendor-compatible names)."""
        return {
            "token": self.access_token,
            "id_token": self.id_token,
            "refresh_token": self.refresh_token,
            "user_id": self.claims.get("sub"),
        }

    def renew_at(self) -> float | None:
        """Epoch second from which the session should be renewed, or ``None`` (unknown)."""
        if self.expires_at is None:
            return None
        lifetime = self.expires_at - self.issued_at if self.issued_at else REFRESH_MARGIN * 5
        return self.expires_at - min(REFRESH_MARGIN, max(0.0, lifetime) / 5.0)


@dataclass
class AuthCounters:
    """How often the session was renewed."""

    refreshes: int = 0
    logins: int = 0
    relogins: int = 0


class Authenticator:
    """Adds auth headers to requests and keeps a bearer session alive.

    Args:
        settings: the client settings (``auth`` and ``relogin`` are used).
        clock: for expiry decisions.
        post_json: sends an unauthenticated JSON POST (login, refresh) with retries.
        password_prompt: asks for a password when a session must be re-established and
            no password is configured; pass one only when a user is at a terminal.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        clock: Clock,
        post_json: PostJson,
        password_prompt: PasswordPrompt | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._post_json = post_json
        self._prompt = password_prompt
        self._lock = asyncio.Lock()
        self._api_key: ApiKeyAuth | None = None
        self._session: Session | None = None
        self._file: Path | None = None
        self._email: str | None = None
        self.counters = AuthCounters()
        self._load(settings)

    def _load(self, settings: ClientSettings) -> None:
        auth = settings.auth
        if settings.relogin is not None:
            register_secret(settings.relogin.password)
            self._email = settings.relogin.email
        if isinstance(auth, ApiKeyAuth):
            register_secret(auth.api_key)
            self._api_key = auth
        elif isinstance(auth, BearerAuth):
            register_secrets([auth.token, auth.refresh_token])
            self._session = Session.from_token(auth.token, refresh_token=auth.refresh_token)
        elif isinstance(auth, PasswordAuth):
            register_secret(auth.password)
            self._email = auth.email
        elif isinstance(auth, StoredCredentials):
            self._file = auth.path
            stored = read_credentials(auth.path)
            self._email = self._email or stored.get("email")
            register_secrets([stored.get(k) for k in ("token", "refresh_token", "api_key")])
            if stored.get("token"):
                self._session = Session.from_token(
                    str(stored["token"]),
                    refresh_token=stored.get("refresh_token"),
                    id_token=stored.get("id_token"),
                )
            elif stored.get("api_key") and stored.get("user_id"):
                self._api_key = ApiKeyAuth(str(stored["api_key"]), str(stored["user_id"]))
            else:
                raise AuthError(f"the credentials file {auth.path} holds no session; {_RENEW_HINT}")

    @property
    def kind(self) -> str:
        """``"api_key"`` or ``"bearer"``."""
        return "api_key" if self._api_key is not None else "bearer"

    @property
    def session(self) -> Session | None:
        """The current bearer session, if any (``None`` with an API key or before login)."""
        return self._session

    @property
    def email(self) -> str | None:
        """The account's email when known (settings, credentials file or token claims)."""
        if self._email:
            return self._email
        claim = self._session.claims.get("email") if self._session else None
        return str(claim) if claim else None

    @property
    def user_id(self) -> str | None:
        """The ``sub`` of the credentials (API key's user id or the token's ``sub``)."""
        if self._api_key is not None:
            return self._api_key.user_id
        sub = self._session.claims.get("sub") if self._session else None
        return str(sub) if sub else None

    async def apply(self, headers: dict[str, str]) -> str | None:
        """Set the auth headers for one request, renewing the session first if due.

        Returns:
            The access token used (to tell :meth:`recover` which token failed), or
            ``None`` for an API key.
        """
        if self._api_key is not None:
            headers["x-api-key"] = self._api_key.api_key
            headers["x-user-id"] = self._api_key.user_id
            return None
        session = await self._current()
        headers["Authorization"] = f"Bearer {session.access_token}"
        return session.access_token

    def _due(self, session: Session) -> bool:
        renew_at = session.renew_at()
        return renew_at is not None and self._clock.time() >= renew_at

    def _can_renew(self) -> bool:
        session = self._session
        return bool((session is not None and session.refresh_token) or self._credentials(ask=False))

    async def _current(self) -> Session:
        session = self._session
        if session is not None and (not self._due(session) or not self._can_renew()):
            return session
        async with self._lock:
            session = self._session
            if session is not None and not self._due(session):
                return session  # another coroutine renewed it while we waited
            return await self._renew()

    @property
    def can_recover(self) -> bool:
        """Whether a 401 may be answered by renewing the session and replaying."""
        return self._api_key is None

    async def recover(self, failed_token: str | None) -> None:
        """Renew the session after a 401 on ``failed_token`` (once for many coroutines).

        Raises:
            AuthError: the session cannot be renewed.
        """
        if self._api_key is not None:
            raise AuthError(f"the API key was refused; {_RENEW_HINT}")
        async with self._lock:
            current = self._session
            if current is not None and current.access_token != failed_token:
                return  # already renewed by another coroutine: just replay
            await self._renew()

    async def _renew(self) -> Session:
        """Refresh, else log in again; caller holds the lock."""
        session = self._session
        if session is not None and session.refresh_token:
            try:
                return await self._refresh(session)
            except LeadGeniusError as exc:
                if exc.status is None or exc.status >= 500:
                    raise  # the API is down: logging in would fail the same way
                log.warning(
                    "refreshing the session was refused (%s); logging in again",
                    exc.error_type or exc.status,
                )
        credentials = self._credentials(ask=True)
        if credentials is None:
            raise AuthError(f"the session expired and cannot be renewed; {_RENEW_HINT}")
        return await self.login(credentials)

    def _credentials(self, *, ask: bool) -> PasswordAuth | None:
        auth = self._settings.auth
        if isinstance(auth, PasswordAuth):
            return auth
        if self._settings.relogin is not None:
            return self._settings.relogin
        email = self.email
        if ask and self._prompt is not None and email:
            password = self._prompt(f"LeadGenius password for {email}")
            register_secret(password)
            return PasswordAuth(email, password) if password else None
        return None

    async def _refresh(self, session: Session) -> Session:
        doc = await self._post_json("/api/auth/refresh", {"refreshToken": session.refresh_token})
        fresh = Session.from_response(
            doc, now=self._clock.time(), previous_refresh=session.refresh_token
        )
        self.counters.refreshes += 1
        log.info("session refreshed (valid %.0f s)", self._valid_for(fresh))
        return self._install(fresh)

    async def login(self, credentials: PasswordAuth | None = None) -> Session:
        """Log in with email/password (``POST /api/auth``) and use the new session.

        Args:
            credentials: defaults to the settings' (or environment's) email/password.

        Raises:
            AuthError: no credentials, or the server refused them.
        """
        credentials = credentials or self._credentials(ask=True)
        if credentials is None:
            raise AuthError(f"no email/password to log in with; {_RENEW_HINT}")
        register_secret(credentials.password)
        try:
            doc = await self._post_json(
                "/api/auth", {"username": credentials.email, "password": credentials.password}
            )
        except LeadGeniusError as exc:
            if exc.status in (400, 401, 403):
                raise AuthError(
                    f"login as {credentials.email} was refused ({exc.status}): check the email "
                    "and password (LEADGENIUS_EMAIL / LEADGENIUS_PASSWORD, or `lgetl auth login`)",
                    status=exc.status,
                    error_type=exc.error_type,
                ) from None
            raise
        fresh = Session.from_response(doc, now=self._clock.time(), previous_refresh=None)
        if self._session is not None:
            self.counters.relogins += 1
        self.counters.logins += 1
        self._email = credentials.email
        log.info("logged in as %s (valid %.0f s)", credentials.email, self._valid_for(fresh))
        return self._install(fresh)

    def _valid_for(self, session: Session) -> float:
        return (session.expires_at or self._clock.time()) - self._clock.time()

    def _install(self, session: Session) -> Session:
        # JWT-shaped tokens are masked by pattern; registering each renewed one would only
        # grow the redaction list of a long job.
        register_secrets(
            t
            for t in (session.refresh_token, session.id_token, session.access_token)
            if t and not jwt_claims(t)
        )
        self._session = session
        if self._file is not None:
            fields = session.file_fields()
            if self._email:
                fields["email"] = self._email
            update_credentials(self._file, fields)
        return session
