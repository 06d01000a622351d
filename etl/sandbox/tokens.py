"""HS256 JWTs built with the standard library, and the opaque refresh tokens.

Access and id tokens are real JWTs (``header.payload.signature``, base64url, HMAC-SHA256)
so a client can decode ``sub`` and ``exp`` like it would from Cognito.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson

_HEADER = base64.urlsafe_b64encode(orjson.dumps({"alg": "HS256", "typ": "JWT"})).rstrip(b"=")


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


@dataclass(frozen=True)
class Claims:
    """The verified claims the sandbox needs from an access token."""

    sub: str
    exp: float
    token_use: str


class TokenError(Exception):
    """A token was refused; ``error_type`` is the API's ``errorType``."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class TokenIssuer:
    """Signs and verifies sandbox JWTs; keeps the refresh tokens it issued.

    Args:
        secret: HMAC key (the sandbox derives it from its seed; it never leaves the server).
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._refresh: dict[str, str] = {}
        self._verified: dict[str, Claims] = {}

    def __repr__(self) -> str:
        return f"TokenIssuer(refresh_tokens={len(self._refresh)})"

    def sign(self, claims: dict[str, object]) -> str:
        """Return a compact HS256 JWT carrying ``claims``."""
        body = _HEADER + b"." + _b64(orjson.dumps(claims))
        sig = hmac.new(self._secret, body, hashlib.sha256).digest()
        return (body + b"." + _b64(sig)).decode("ascii")

    def issue(
        self, *, sub: str, email: str, now: float, ttl: float, refresh_token: str | None = None
    ) -> dict[str, object]:
        """Tokens for a login or refresh, shaped like the API's ``tokens`` object.

        Args:
            sub: the user id.
            email: the user's login.
            now: epoch seconds (``iat``).
            ttl: lifetime of the access and id tokens.
            refresh_token: keep this refresh token (refresh flow) instead of issuing one.
        """
        iat, exp = int(now), int(now + ttl)
        common = {"sub": sub, "email": email, "iat": iat, "exp": exp}
        refresh = refresh_token or secrets.token_urlsafe(32)
        self._refresh[refresh] = sub
        return {
            "accessToken": self.sign({**common, "token_use": "access"}),
            "idToken": self.sign({**common, "token_use": "id", "email_verified": True}),
            "refreshToken": refresh,
            "expiresIn": int(ttl),
        }

    def refresh_owner(self, token: str) -> str | None:
        """The ``sub`` a refresh token was issued to, or ``None`` if unknown/revoked."""
        return self._refresh.get(token)

    def revoke_refresh_tokens(self) -> int:
        """Forget every refresh token; return how many there were."""
        count = len(self._refresh)
        self._refresh.clear()
        return count

    def verify(self, token: str, *, now: float) -> Claims:
        """Check signature and expiry of an access token.

        Raises:
            TokenError: ``no_valid_tokens`` (malformed, bad signature) or ``token_expired``.
        """
        claims = self._verified.get(token)
        if claims is None:
            claims = self._decode(token)
            if len(self._verified) > 10_000:
                self._verified.clear()  # bound memory; re-verifying is cheap
            self._verified[token] = claims
        if claims.exp <= now:
            raise TokenError("token_expired", "Access token expired")
        return claims

    def _decode(self, token: str) -> Claims:
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("no_valid_tokens", "Malformed token")
        body = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
        expected = _b64(hmac.new(self._secret, body, hashlib.sha256).digest()).decode("ascii")
        if not hmac.compare_digest(expected, parts[2]):
            raise TokenError("no_valid_tokens", "Invalid token signature")
        try:
            payload = orjson.loads(_unb64(parts[1]))
            return Claims(
                sub=str(payload["sub"]),
                exp=float(payload["exp"]),
                token_use=str(payload.get("token_use", "")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenError("no_valid_tokens", "Malformed token payload") from exc
