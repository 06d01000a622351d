"""No token, refresh token, password or API key ever reaches a log line or an exception."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from etl.client import (
    AmbiguousWriteError,
    ApiKeyAuth,
    AuthError,
    ClientSettings,
    LeadGeniusClient,
    LeadGeniusError,
    PasswordAuth,
    StoredCredentials,
)
from etl.client.credentials import update_credentials
from etl.logs import redact, register_secret, setup_logging


class RecordingTransport(httpx.AsyncBaseTransport):
    """Real HTTP, remembering every credential that crossed the wire in either direction."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.secrets: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for name in ("authorization", "x-api-key"):
            if name in request.headers:
                self.secrets.add(request.headers[name].removeprefix("Bearer "))
        if request.url.path.startswith("/api/auth"):
            body = orjson.loads(request.content)
            self.secrets.update(str(v) for k, v in body.items() if k != "username")
        response = await self.inner.handle_async_request(request)
        if request.url.path.startswith("/api/auth"):
            await response.aread()
            tokens = orjson.loads(response.content).get("tokens") or {}
            self.secrets.update(str(tokens[k]) for k in tokens if k != "expiresIn")
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_logs_and_errors_over_a_full_session_contain_no_secret(
    make_sandbox: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """Login, refreshes, revoked refresh + re-login, 400, 401, 5xx, network error: all clean."""
    sb = make_sandbox(token_ttl=2)
    demo = sb.demo
    wire = RecordingTransport()
    stream = io.StringIO()
    setup_logging("json", verbose=True, stream=stream)
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    texts: list[str] = []
    path = tmp_path / "auth.json"

    def keep(exc: BaseException) -> None:
        texts.extend([str(exc), repr(exc), repr(exc.args), repr(vars(exc))])
        logging.getLogger("etl.test").error("operation failed: %s", exc, exc_info=exc)

    async def go() -> None:
        login = PasswordAuth(demo.email, demo.password)
        first = ClientSettings(base_url=sb.base_url, auth=login, rate=0)
        async with LeadGeniusClient(first, transport=wire) as client:
            session = await client.login()
            texts.append(repr(session) + repr(first) + repr(client))
        update_credentials(path, {**session.file_fields(), "email": demo.email})
        stored = ClientSettings(
            base_url=sb.base_url, auth=StoredCredentials(path), relogin=login, rate=0
        )
        async with LeadGeniusClient(stored, transport=wire) as client:
            for _ in range(6):
                await client.list_clients()
                await asyncio.sleep(0.4)
            sb.admin.revoke_refresh_tokens()
            await asyncio.sleep(2.2)
            await client.list_clients()
            assert client.stats.refreshes >= 1 and client.stats.relogins >= 1
            texts.append(repr(stored) + repr(client.stats) + repr(await client.whoami()))
            try:
                await client.request("GET", "/api/leads")  # 400: client_id missing
            except LeadGeniusError as exc:
                keep(exc)
            slug = (await client.create_client("Secretive"))["client_id"]
            sb.admin.set_config(fault_rate=1.0)
            try:
                await client.create_lead({"client_id": slug, "email": "x@y.example"})
            except AmbiguousWriteError as exc:
                keep(exc)
            sb.admin.set_config(fault_rate=0.0)
        bad_key = ClientSettings(
            base_url=sb.base_url, auth=ApiKeyAuth(demo.api_key + "x", demo.user_id)
        )
        async with LeadGeniusClient(bad_key, transport=wire) as client:
            try:
                await client.list_clients()
            except AuthError as exc:
                keep(exc)
        wrong = PasswordAuth(demo.email, demo.password + "-wrong")
        async with LeadGeniusClient(
            ClientSettings(base_url=sb.base_url, auth=wrong), transport=wire
        ) as client:
            try:
                await client.list_clients()
            except AuthError as exc:
                keep(exc)
        down = ClientSettings(
            base_url=f"http://127.0.0.1:{_free_port()}", auth=login, max_retries=1
        )
        async with LeadGeniusClient(down) as client:
            try:
                await client.list_clients()
            except LeadGeniusError as exc:
                keep(exc)

    asyncio.run(go())
    out, err = capsys.readouterr()
    everything = "\n".join([caplog.text, stream.getvalue(), out, err, *texts])
    secrets = wire.secrets | {demo.password, demo.api_key, demo.password + "-wrong"}
    secrets |= {str(v) for k, v in json.loads(path.read_text()).items() if "token" in k}
    assert len(secrets) >= 8  # passwords, key, several access/id/refresh tokens
    leaked = sorted(s[:12] + "..." for s in secrets if s in everything)
    assert leaked == []
    # the captured text is about the session, so the check above had something to bite on
    assert "session refreshed" in everything and "logged in as" in everything
    assert "401" in everything and "ConnectError" in everything


def test_the_log_filter_masks_secret_shaped_text_and_registered_values() -> None:
    """Bearer values, JWTs, lgp_ keys, password fields and registered values are masked."""
    register_secret("correct-horse-battery")
    stream = io.StringIO()
    setup_logging("plain", stream=stream)
    log = logging.getLogger("etl.test.redact")
    log.warning("header Authorization: Bearer abc.def.ghi")
    log.warning("token %s", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig-part")
    log.warning("key=%s", "lgp_0123456789abcdef")
    log.warning('body {"username": "a@b.co", "password": "p@ss w0rd"}')
    log.warning("typed correct-horse-battery by mistake")
    text = stream.getvalue()
    for secret in ("abc.def.ghi", "eyJzdWIiOiJ1In0", "lgp_0123456789abcdef", "p@ss w0rd",
                   "correct-horse-battery"):  # fmt: skip
        assert secret not in text
    assert "a@b.co" in text and text.count("***") >= 5


def test_redact_leaves_ordinary_text_alone() -> None:
    """Pagination tokens, emails and ids are not secrets and stay readable."""
    text = "GET /api/leads?nextToken=abc123&client_id=acme for ann@acme.example"
    assert redact(text) == text
