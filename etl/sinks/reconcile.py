"""Reconcile rows whose create may or may not have reached the server.

A row left ``in_flight`` (the process died mid-request) or ``unknown`` (the response was
lost) is looked up by its identity key before it may be sent again: found -> ``done`` with
the server's lead id, not found -> ``pending``. The list/find indexes are eventually
consistent, so the caller waits a consistency window after the last attempt first.

Identity kinds (see :mod:`schemas.identity`): ``email`` and ``linkedin`` use
``GET /api/find-lead``; ``name`` pages the client's leads once per call and matches them
on the same normalised first|last|company key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from etl.client import LeadGeniusClient, LeadGeniusError
from schemas.identity import split_identity
from state import Outcome


class OpenRow(Protocol):
    """What reconciling needs of a stored row."""

    @property
    def row_no(self) -> int: ...

    @property
    def identity(self) -> str | None: ...

    @property
    def payload(self) -> dict[str, Any] | None: ...

    @property
    def attempts(self) -> int: ...


def name_identities(leads: Sequence[dict[str, Any]]) -> dict[str, str]:
    """``name:first|last|company`` key -> lead id, for leads found by listing a client."""
    import polars as pl

    from schemas.identity import identity_key

    if not leads:
        return {}

    def column(field: str) -> pl.Series:
        return pl.Series(field, [lead.get(field) or None for lead in leads], dtype=pl.String)

    first, last, company = column("firstName"), column("lastName"), column("companyName")
    normalised = pl.DataFrame({"f": first, "l": last, "c": company}).select(
        [pl.col(c).str.strip_chars() for c in ("f", "l", "c")]
    )
    keys = identity_key(
        email=None,
        linkedin=None,
        first=normalised["f"],
        last=normalised["l"],
        company=normalised["c"],
        height=len(leads),
    )
    found: dict[str, str] = {}
    for key, lead in zip(keys.to_list(), leads, strict=True):
        if key is not None and lead.get("id"):
            found.setdefault(key, str(lead["id"]))
    return found


class Reconciler:
    """Looks rows up on the server and decides ``done`` / ``pending`` / still ``unknown``.

    Args:
        api: the LeadGenius client.
        client_id: the target client's slug.
        max_attempts: a row not found after this many attempts is ``failed``
            (``lgetl jobs retry`` re-queues it).
        concurrency: lookups in flight at once (they share the client's rate limiter).
    """

    def __init__(
        self,
        api: LeadGeniusClient,
        client_id: str,
        *,
        max_attempts: int = 5,
        concurrency: int = 4,
    ) -> None:
        self._api = api
        self._client_id = client_id
        self._max_attempts = max_attempts
        self._concurrency = max(1, concurrency)
        self._by_name: dict[str, str] | None = None

    async def reconcile(self, rows: Iterable[OpenRow]) -> list[Outcome]:
        """One outcome per row: ``done`` (found), ``pending``/``failed`` (not found) or
        ``unknown`` again (the lookup itself failed: try later)."""
        rows = list(rows)
        self._by_name = None
        if any((r.identity or "").startswith("name:") for r in rows):
            self._by_name = await self._list_names()
        gate = asyncio.Semaphore(self._concurrency)

        async def one(row: OpenRow) -> Outcome:
            async with gate:
                return await self._reconcile_one(row)

        return list(await asyncio.gather(*(one(r) for r in rows)))

    async def _reconcile_one(self, row: OpenRow) -> Outcome:
        try:
            lead_id = await self._lookup(row)
        except LeadGeniusError as exc:
            return Outcome.unknown(row.row_no, f"reconcile lookup failed: {exc}")
        if lead_id is not None:
            from etl.sinks.leadgenius import content_hash

            return Outcome.done(row.row_no, lead_id, content_hash=content_hash(row.payload or {}))
        if row.attempts >= self._max_attempts:
            return Outcome.failed(
                row.row_no, "gave_up", f"not created after {row.attempts} attempts"
            )
        return Outcome.pending(row.row_no, "not found on the server: will be sent again")

    async def _lookup(self, row: OpenRow) -> str | None:
        if not row.identity:
            return None
        kind, value = split_identity(row.identity)
        payload = row.payload or {}
        if kind == "name":
            return (self._by_name or {}).get(row.identity)
        if kind == "email":
            leads = await self._api.find_leads(self._client_id, email=value)
            matches = [x for x in leads if str(x.get("email", "")).lower() == value]
        else:
            url = str(payload.get("linkedinUrl") or value)
            leads = await self._api.find_leads(self._client_id, linkedin_url=url)
            matches = [
                x
                for x in leads
                if str(x.get("linkedinUrl", "")).lower().rstrip("/") == value.rstrip("/")
            ]
        for lead in matches:
            if lead.get("client_id", self._client_id) == self._client_id and lead.get("id"):
                return str(lead["id"])
        return None

    async def _list_names(self) -> dict[str, str]:
        leads: list[dict[str, Any]] = []
        async for page in self._api.iter_leads(self._client_id, page_size=1000):
            leads.extend(page)
        return name_identities(leads)
