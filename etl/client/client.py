"""``LeadGeniusClient``: the one async client every pipeline and command uses.

Endpoint methods are thin: build the request, let :class:`~etl.client.core.ApiCore` pace,
authenticate, retry and map errors, then pick the payload out of the body.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, Literal, overload

import httpx

from etl.client.auth import PasswordPrompt, Session
from etl.client.clients import ClientRef, match_client
from etl.client.core import ApiCore, ClientStats, identity_hints, parse_json
from etl.client.errors import (
    AmbiguousWriteError,
    NotFoundError,
    RejectedError,
    UnexpectedResponseError,
)
from etl.client.limiter import RateLimiter
from etl.client.pagination import BulkPage, RawBulkPage, paginate, parse_bulk_page, parse_page
from etl.client.settings import ClientSettings
from etl.clock import Clock, SystemClock

log = logging.getLogger("etl.client")

#: Methods that may be repeated after reaching the server.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: POSTs without side effects (they only issue tokens).
AUTH_PATHS = frozenset({"/api/auth", "/api/auth/refresh"})
#: The server's batch limit for PUT/DELETE of leads.
BATCH_SIZE = 50
BULK_PATHS = {"enrich": "/api/enrich-leads/list", "source": "/api/source-leads/list"}

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _field(doc: Any, key: str, what: str) -> Any:
    if isinstance(doc, dict) and key in doc:
        return doc[key]
    raise UnexpectedResponseError(
        f"the response to {what} has no {key!r}; check --base-url points at the LeadGenius API"
    )


class LeadGeniusClient:
    """Async client for the LeadGenius Pro API (use as ``async with``).

    Args:
        settings: validated settings (see :func:`~etl.client.resolve_settings`).
        clock: time source for pacing, expiry and backoff (default: the system clock).
        transport: an httpx transport; ``httpx.MockTransport`` in unit tests.
        password_prompt: asks for the password if the session must be re-established and
            none is configured; pass one only when a user is at a terminal.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        password_prompt: PasswordPrompt | None = None,
    ) -> None:
        self.settings = settings
        self._core = ApiCore(
            settings,
            clock=clock or SystemClock(),
            transport=transport,
            password_prompt=password_prompt,
        )

    def __repr__(self) -> str:
        return f"LeadGeniusClient(base_url={self.settings.base_url!r}, auth={self._core.auth.kind})"

    async def __aenter__(self) -> LeadGeniusClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._core.aclose()

    @property
    def stats(self) -> ClientStats:
        """Counters: requests, retries, 429s, refreshes, re-logins, ambiguous writes."""
        return self._core.stats

    @property
    def limiter(self) -> RateLimiter:
        """The rate limiter (its ``rate`` and ``limit`` show what it learned)."""
        return self._core.limiter

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send any API request and return the parsed JSON body (``None`` if empty).

        GET/PUT/DELETE and the auth routes are retried on transient failures; other POSTs
        only when the request certainly did not reach the server (else
        :class:`~etl.client.errors.AmbiguousWriteError`).

        Args:
            method: HTTP method.
            path: path starting with ``/api/``.
            params: query parameters.
            json: JSON body.
        """
        method = method.upper()
        path = "/" + path.lstrip("/")
        is_auth = path in AUTH_PATHS
        response = await self._core.send(
            method,
            path,
            params=params,
            json=json,
            safe=method in SAFE_METHODS or is_auth,
            authenticated=not is_auth,
        )
        return parse_json(response.content)

    async def login(self) -> Session:
        """Log in with the configured email/password now and return the new session."""
        session = await self._core.auth.login()
        self._core.stats.relogins = self._core.auth.counters.relogins
        return session

    async def create_lead(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Create one lead (``POST /api/leads``) and return it, ``id`` included.

        Never blindly retried: a failure after the request may have reached the server
        raises :class:`~etl.client.errors.AmbiguousWriteError`; a failure before it left, a
        429 and a 401 (the server refused without storing) are retried. A 500 "Failed to
        create lead - no data returned" is the server refusing the *data* (bugs 3/4/6), so it
        raises :class:`~etl.client.errors.RejectedError`, like a 4xx.

        Args:
            payload: the lead; ``client_id`` must be the client's slug.

        Raises:
            RejectedError: the server (or the bug-1 guard) refused the data.
            AmbiguousWriteError: it may or may not have been stored: reconcile.
        """
        client_id = str(payload.get("client_id") or "")
        if _UUID.match(client_id):
            raise RejectedError(
                f"client_id {client_id!r} is a client's UUID: leads posted under it are stored "
                "but never listed (bug 1); use the client's slug (resolve_client(ref).slug)"
            )
        doc = await self.request("POST", "/api/leads", json=payload)
        lead = doc.get("lead") if isinstance(doc, dict) else None
        if not isinstance(lead, dict) or not lead.get("id"):
            self._core.stats.ambiguous += 1
            raise AmbiguousWriteError(
                "POST /api/leads succeeded but the response names no lead id: it may or may "
                "not have been stored; look it up (find-lead) before sending it again",
                identity=identity_hints(payload),
                kind="no lead id in response",
                method="POST",
                path="/api/leads",
            )
        return lead

    async def update_lead(self, lead: dict[str, Any]) -> dict[str, Any]:
        """Update one lead by its ``id`` (``PUT /api/leads``) and return it."""
        if not lead.get("id"):
            raise RejectedError("update_lead needs the lead's 'id'")
        doc = await self.request("PUT", "/api/leads", json=lead)
        return dict(_field(doc, "lead", "PUT /api/leads"))

    async def update_leads(self, leads: list[dict[str, Any]]) -> int:
        """Update many leads by ``id`` with batch PUTs of at most 50; return the count updated."""
        updated = 0
        for start in range(0, len(leads), BATCH_SIZE):
            chunk = leads[start : start + BATCH_SIZE]
            doc = await self.request("PUT", "/api/leads", json={"leads": chunk})
            count = doc.get("updated") if isinstance(doc, dict) else None
            updated += int(count) if isinstance(count, int) else len(chunk)
        return updated

    async def delete_leads(self, ids: Sequence[str]) -> int:
        """Delete leads by id in batches of at most 50; return the count deleted."""
        deleted = 0
        for start in range(0, len(ids), BATCH_SIZE):
            chunk = list(ids[start : start + BATCH_SIZE])
            doc = await self.request("DELETE", "/api/leads", json={"ids": chunk})
            count = doc.get("deleted") if isinstance(doc, dict) else None
            deleted += int(count) if isinstance(count, int) else len(chunk)
        return deleted

    async def find_leads(
        self, client_id: str, *, email: str | None = None, linkedin_url: str | None = None
    ) -> list[dict[str, Any]]:
        """Look leads up by email and/or LinkedIn URL within a client (``GET /api/find-lead``).

        The index is eventually consistent: a lead created a moment ago may not show yet.
        """
        if not (email or linkedin_url):
            raise ValueError("find_leads needs an email or a linkedin_url")
        params = {"client_id": client_id, "email": email, "linkedinUrl": linkedin_url}
        try:
            doc = await self.request("GET", "/api/find-lead", params=params)
        except NotFoundError:
            return []
        leads = doc.get("leads") if isinstance(doc, dict) else None
        if leads is None and isinstance(doc, dict) and isinstance(doc.get("lead"), dict):
            leads = [doc["lead"]]
        return list(leads or [])

    async def iter_leads(
        self, client_id: str, *, page_size: int = 1000
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield a client's leads page by page (``GET /api/leads``), never trusting ``total``.

        Args:
            client_id: the client's slug.
            page_size: leads per page, 1 to 1,000.
        """

        async def fetch(token: str | None) -> tuple[list[dict[str, Any]], str | None]:
            params = {"client_id": client_id, "limit": page_size, "nextToken": token}
            page = parse_page(await self.request("GET", "/api/leads", params=params))
            return page.items, page.next_token

        async for items in paginate(fetch):
            yield items

    async def list_clients(self) -> list[dict[str, Any]]:
        """All clients of the account (``GET /api/clients``)."""
        doc = await self.request("GET", "/api/clients")
        return list(_field(doc, "clients", "GET /api/clients"))

    async def create_client(
        self, name: str, *, company_url: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        """Create a client and return it (with ``id`` and slug ``client_id``).

        Not retried after it may have reached the server: on
        :class:`~etl.client.errors.AmbiguousWriteError`, list the clients before creating again.
        """
        body = {"clientName": name, "companyURL": company_url, "description": description}
        doc = await self.request(
            "POST", "/api/clients", json={k: v for k, v in body.items() if v is not None}
        )
        return dict(_field(doc, "client", "POST /api/clients"))

    async def delete_client(self, client_uuid: str, *, purge: bool = False) -> None:
        """Delete a client record by its UUID ``id``.

        With ``purge``, its leads are deleted first in batches of 50 (a server-side purge of
        a big client times out), then the client with ``purge=true`` for any stragglers.
        """
        if purge:
            slug = next(
                (
                    str(c["client_id"])
                    for c in await self.list_clients()
                    if c.get("id") == client_uuid
                ),
                None,
            )
            if slug:
                ids = [str(lead["id"]) async for page in self.iter_leads(slug) for lead in page]
                deleted = await self.delete_leads(ids)
                log.info("deleted %d leads of client %s", deleted, slug)
        params = {"id": client_uuid, "purge": "true" if purge else None}
        await self.request("DELETE", "/api/clients", params=params)

    async def resolve_client(self, ref: str) -> ClientRef:
        """Resolve a slug, client UUID or exact client name to the client (always its slug).

        Given the UUID, logs a warning: leads must be posted under the slug (bug 1).

        Raises:
            ClientNotFoundError: nothing matched; the message lists close matches.
        """
        found = match_client(ref, await self.list_clients())
        if found.matched_by == "id":
            log.warning(
                "%s is the UUID of client %r; using its slug %r (leads posted under the UUID "
                "are stored but never listed)",
                ref,
                found.name,
                found.slug,
            )
        return found

    @overload
    async def bulk_page(
        self,
        source: Literal["enrich", "source"],
        *,
        company_id: str,
        client_id: str | None = None,
        limit: int = 5000,
        next_token: str | None = None,
        fields: Sequence[str] | None = None,
        raw: Literal[False] = False,
    ) -> BulkPage: ...

    @overload
    async def bulk_page(
        self,
        source: Literal["enrich", "source"],
        *,
        company_id: str,
        client_id: str | None = None,
        limit: int = 5000,
        next_token: str | None = None,
        fields: Sequence[str] | None = None,
        raw: Literal[True],
    ) -> RawBulkPage: ...

    @overload
    async def bulk_page(
        self,
        source: Literal["enrich", "source"],
        *,
        company_id: str,
        client_id: str | None = None,
        limit: int = 5000,
        next_token: str | None = None,
        fields: Sequence[str] | None = None,
        raw: bool = False,
    ) -> BulkPage | RawBulkPage: ...

    async def bulk_page(
        self,
        source: Literal["enrich", "source"],
        *,
        company_id: str,
        client_id: str | None = None,
        limit: int = 5000,
        next_token: str | None = None,
        fields: Sequence[str] | None = None,
        raw: bool = False,
    ) -> BulkPage | RawBulkPage:
        """Fetch one page of the bulk list endpoints (API-key auth).

        Args:
            source: ``"enrich"`` (``/api/enrich-leads/list``) or ``"source"``.
            company_id: the company to export.
            client_id: a client slug; ``None``/``"ALL"`` = every client.
            limit: records per page (max 5,000).
            next_token: the cursor from the previous page.
            fields: projection (sent comma-separated).
            raw: return the body unparsed (:class:`RawBulkPage`), for callers that read
                it with their own parser; its ``parse()`` gives what ``raw=False`` does.
        """
        params = {
            "companyId": company_id,
            "clientId": client_id,
            "limit": limit,
            "nextToken": next_token,
            "fields": ",".join(fields) if fields else None,
        }
        response = await self._core.send("GET", BULK_PATHS[source], params=params, safe=True)
        if raw:
            return RawBulkPage(response.content)
        return parse_bulk_page(response.content)

    async def whoami(self) -> dict[str, Any]:
        """Check the credentials with one request and describe them (no secret inside).

        Returns:
            ``auth`` ("bearer"/"api_key"), ``source``, ``base_url``, ``sub``, ``email``,
            ``company_id`` (from the account's clients, if any), ``expires_at`` (epoch s,
            bearer only) and ``clients`` (how many).
        """
        clients = await self.list_clients()
        auth = self._core.auth
        session = auth.session
        company = next((c.get("company_id") for c in clients if c.get("company_id")), None)
        return {
            "auth": auth.kind,
            "source": self.settings.source,
            "base_url": self.settings.base_url,
            "sub": auth.user_id,
            "email": auth.email,
            "company_id": company,
            "expires_at": session.expires_at if session else None,
            "clients": len(clients),
        }
