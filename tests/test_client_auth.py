"""Bearer sessions are renewed before expiry, after a 401, by refresh or by a new login."""

from __future__ import annotations

import asyncio
import base64
import json
import stat
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from etl.client import (
    ApiKeyAuth,
    AuthError,
    BearerAuth,
    ClientSettings,
    LeadGeniusClient,
    PasswordAuth,
    StoredCredentials,
    jwt_claims,
)
from etl.clock import FakeClock

EMAIL = "ann@acme.example"
PASSWORD = "pw-auth-test-0001"


def make_jwt(claims: dict[str, Any]) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return f"{b64(b'{}')}.{b64(json.dumps(claims).encode())}.{b64(b'sig')}"


class FakeAuthApi:
    """Login, refresh and one protected route, judging expiry by the shared fake clock."""

    def __init__(self, clock: FakeClock, *, ttl: float = 100.0) -> None:
        self.clock = clock
        self.ttl = ttl
        self.refresh_tokens = {"refresh-0"}
        self.logins = 0
        self.refreshes = 0
        self.protected = 0
        self.expired_401s = 0
        self.serial = 0

    def tokens(self, refresh: str | None = None) -> dict[str, Any]:
        self.serial += 1
        now = self.clock.time()
        access = make_jwt({"sub": "user-1", "iat": now, "exp": now + self.ttl, "n": self.serial})
        refresh = refresh or f"refresh-{self.serial}"
        self.refresh_tokens.add(refresh)
        return {"accessToken": access, "idToken": access, "refreshToken": refresh, "expiresIn": 1}

    def token(self) -> str:
        return self.tokens()["accessToken"]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/auth":
            body = orjson.loads(request.content)
            if body != {"username": EMAIL, "password": PASSWORD}:
                return httpx.Response(
                    401, json={"error": "Incorrect", "errorType": "no_valid_credentials"}
                )
            self.logins += 1
            return httpx.Response(200, json={"success": True, "tokens": self.tokens()})
        if path == "/api/auth/refresh":
            for _ in range(5):  # let concurrent requests pile up behind the lock
                await asyncio.sleep(0)
            token = orjson.loads(request.content)["refreshToken"]
            if token not in self.refresh_tokens:
                return httpx.Response(
                    401, json={"error": "revoked", "errorType": "no_valid_tokens"}
                )
            self.refreshes += 1
            return httpx.Response(200, json={"success": True, "tokens": self.tokens(token)})
        self.protected += 1
        auth = request.headers.get("authorization", "")
        exp = jwt_claims(auth.removeprefix("Bearer ")).get("exp", 0)
        if exp <= self.clock.time():
            self.expired_401s += 1
            return httpx.Response(401, json={"error": "expired", "errorType": "token_expired"})
        return httpx.Response(200, json={"success": True, "clients": []})


def client_for(api: FakeAuthApi, clock: FakeClock, auth: Any, **kw: Any) -> LeadGeniusClient:
    settings = ClientSettings(
        base_url="https://api.test", auth=auth, rate=0, **kw.pop("settings", {})
    )
    return LeadGeniusClient(settings, clock=clock, transport=httpx.MockTransport(api), **kw)


def test_jwt_claims_are_read_without_a_signature_check() -> None:
    """sub and exp come out of any well-formed JWT; garbage gives {}."""
    assert jwt_claims(make_jwt({"sub": "u", "exp": 5})) == {"sub": "u", "exp": 5}
    assert jwt_claims("not-a-jwt") == {}
    assert jwt_claims("a.!!!.c") == {}


def test_password_auth_logs_in_lazily_and_refreshes_before_expiry(fake_clock: FakeClock) -> None:
    """Near exp the session is refreshed before the request: the server never sees it expired."""
    api = FakeAuthApi(fake_clock, ttl=100)

    async def go() -> LeadGeniusClient:
        async with client_for(api, fake_clock, PasswordAuth(EMAIL, PASSWORD)) as client:
            for _ in range(30):
                await client.list_clients()
                fake_clock.advance(30)  # 30 lifetimes of 100 s over 900 s
            return client

    client = asyncio.run(go())
    assert api.logins == 1
    assert api.refreshes >= 8
    assert api.expired_401s == 0
    assert client.stats.refreshes == api.refreshes


def test_many_coroutines_hitting_expiry_cause_one_refresh(fake_clock: FakeClock) -> None:
    """Fifty concurrent requests on an expiring session share a single refresh."""
    api = FakeAuthApi(fake_clock, ttl=100)

    async def go() -> None:
        auth = BearerAuth(api.token(), refresh_token="refresh-0")
        async with client_for(api, fake_clock, auth) as client:
            fake_clock.advance(95)
            await asyncio.gather(*(client.list_clients() for _ in range(50)))

    asyncio.run(go())
    assert api.refreshes == 1
    assert api.protected == 50


def test_a_401_token_expired_is_answered_by_one_refresh_and_a_replay(
    fake_clock: FakeClock,
) -> None:
    """A token the client thought valid but the server calls expired: refresh, replay, done."""
    api = FakeAuthApi(fake_clock, ttl=100)
    stale = make_jwt({"sub": "user-1"})  # no exp: the client cannot refresh ahead

    async def go() -> list[Any]:
        async with client_for(api, fake_clock, BearerAuth(stale, "refresh-0")) as client:
            return await asyncio.gather(*(client.list_clients() for _ in range(10)))

    assert asyncio.run(go()) == [[]] * 10
    assert api.refreshes == 1
    assert api.expired_401s == 10


def test_a_refused_refresh_falls_back_to_logging_in_again(fake_clock: FakeClock) -> None:
    """Refresh token revoked + LEADGENIUS_EMAIL/PASSWORD known: log in again, keep going."""
    api = FakeAuthApi(fake_clock, ttl=100)
    auth = BearerAuth(api.token(), refresh_token="revoked-token")

    async def go() -> LeadGeniusClient:
        relogin = PasswordAuth(EMAIL, PASSWORD)
        async with client_for(api, fake_clock, auth, settings={"relogin": relogin}) as client:
            fake_clock.advance(200)
            await client.list_clients()
            return client

    client = asyncio.run(go())
    assert api.logins == 1
    assert client.stats.relogins == 1


def test_an_unrenewable_session_is_an_auth_error_with_a_fix(fake_clock: FakeClock) -> None:
    """No refresh token and no password: AuthError (exit 2) naming `lgetl auth login`."""
    api = FakeAuthApi(fake_clock, ttl=100)
    auth = BearerAuth(api.token())

    async def go() -> None:
        async with client_for(api, fake_clock, auth) as client:
            fake_clock.advance(200)
            await client.list_clients()

    with pytest.raises(AuthError, match="lgetl auth login") as info:
        asyncio.run(go())
    assert info.value.exit_code == 2


def test_a_terminal_user_is_asked_for_the_password_when_needed(
    fake_clock: FakeClock, tmp_path: Path
) -> None:
    """With a prompt (interactive only) the client asks once and logs in again."""
    api = FakeAuthApi(fake_clock, ttl=100)
    path = tmp_path / "auth.json"
    path.write_text(json.dumps({"token": api.token(), "refresh_token": "gone", "email": EMAIL}))
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return PASSWORD

    async def go() -> None:
        async with client_for(
            api, fake_clock, StoredCredentials(path), password_prompt=prompt
        ) as client:
            fake_clock.advance(200)
            await client.list_clients()

    asyncio.run(go())
    assert asked == [f"LeadGenius password for {EMAIL}"]
    assert api.logins == 1


def test_renewed_tokens_are_written_back_to_the_credentials_file(
    fake_clock: FakeClock, tmp_path: Path
) -> None:
    """A session from the file is saved back after refresh, mode 0600, other keys kept."""
    api = FakeAuthApi(fake_clock, ttl=100)
    path = tmp_path / "auth.json"
    first = api.token()
    path.write_text(
        json.dumps({"token": first, "refresh_token": "refresh-0", "email": EMAIL, "api_key": "k"})
    )

    async def go() -> None:
        async with client_for(api, fake_clock, StoredCredentials(path)) as client:
            fake_clock.advance(95)
            await client.list_clients()

    asyncio.run(go())
    saved = json.loads(path.read_text())
    assert saved["token"] != first
    assert jwt_claims(saved["token"])["exp"] > fake_clock.time()
    assert saved["refresh_token"] == "refresh-0"
    assert saved["api_key"] == "k" and saved["email"] == EMAIL
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_refused_api_key_is_final(fake_clock: FakeClock) -> None:
    """API keys cannot be renewed: a 401 raises AuthError after one request."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(
            401, json={"error": "Invalid API key", "errorType": "no_valid_credentials"}
        )

    settings = ClientSettings(base_url="https://api.test", auth=ApiKeyAuth("lgp_bad_key_000", "u"))

    async def go() -> None:
        async with LeadGeniusClient(
            settings, clock=fake_clock, transport=httpx.MockTransport(handler)
        ) as client:
            await client.list_clients()

    with pytest.raises(AuthError):
        asyncio.run(go())
    assert len(requests) == 1


def test_wrong_password_says_to_check_the_credentials(fake_clock: FakeClock) -> None:
    """A refused login is an AuthError naming the email, not the password."""
    api = FakeAuthApi(fake_clock)

    async def go() -> None:
        async with client_for(api, fake_clock, PasswordAuth(EMAIL, "wrong-password-1")) as client:
            await client.list_clients()

    with pytest.raises(AuthError, match=EMAIL) as info:
        asyncio.run(go())
    assert "wrong-password-1" not in str(info.value)
