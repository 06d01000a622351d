"""In-memory tenant data of the emulated API: clients and leads, isolated by company.

Pure data structure: no HTTP, no clock of its own (callers pass ``now``). Leads live in
buckets keyed by ``(company_id, stored client_id)``; the stored client_id is whatever
string the lead was created with (the slug, or the client's UUID: bug 1). Pages are
addressed by a per-store sequence number, so deletes never shift a cursor.
"""

from __future__ import annotations

import re
import uuid
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def iso_utc(epoch: float) -> str:
    """ISO-8601 UTC timestamp with milliseconds and ``Z``, as the API writes them."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def slugify(name: str) -> str:
    """The client_id slug of a client name: lowercase, non-alphanumerics -> ``-``."""
    slug = _NON_ALNUM.sub("-", name.lower()).strip("-")
    return slug or "client"


def identity_key(lead: Mapping[str, Any]) -> str | None:
    """How the pipelines identify a person: email, else linkedinUrl, else first|last|company.

    Returns ``None`` when the lead carries none of them.
    """
    email = lead.get("email")
    if isinstance(email, str) and email.strip():
        return email.strip().lower()
    linkedin = lead.get("linkedinUrl")
    if isinstance(linkedin, str) and linkedin.strip():
        return linkedin.strip()
    parts = [lead.get(k) for k in ("firstName", "lastName", "companyName")]
    if not any(isinstance(p, str) and p.strip() for p in parts):
        return None
    return "|".join(str(p).strip() if p is not None else "" for p in parts).lower()


@dataclass
class Client:
    """A client record: ``id`` is the internal UUID, ``client_id`` the slug for leads."""

    id: str
    client_id: str
    clientName: str
    companyURL: str | None
    description: str | None
    owner: str
    company_id: str
    createdAt: str
    updatedAt: str

    def to_dict(self) -> dict[str, Any]:
        """The API representation."""
        return dict(self.__dict__)


class StoredLead:
    """One stored lead and its bookkeeping (never serialized)."""

    __slots__ = ("bucket", "data", "deleted", "seq", "visible_at")

    def __init__(self, data: dict[str, Any], seq: int, visible_at: float, bucket: Bucket) -> None:
        self.data = data
        self.seq = seq
        self.visible_at = visible_at
        self.bucket = bucket
        self.deleted = False

    def live_in(self, bucket: Bucket) -> bool:
        """Still stored, and still in ``bucket`` (an update may have moved it)."""
        return not self.deleted and self.bucket is bucket


class Bucket:
    """The leads of one (company, stored client_id), in creation order."""

    __slots__ = ("items", "live")

    def __init__(self) -> None:
        self.items: list[StoredLead] = []
        self.live = 0

    def add(self, lead: StoredLead) -> None:
        self.items.append(lead)
        self.live += 1

    def remove(self) -> None:
        self.live -= 1
        if len(self.items) > 64 and self.live * 2 < len(self.items):
            self.items = [lead for lead in self.items if lead.live_in(self)]

    def after(self, seq: int) -> Iterator[StoredLead]:
        """Live leads with a sequence number above ``seq``, in order."""
        start = bisect_right(self.items, seq, key=lambda lead: lead.seq)
        for lead in self.items[start:]:
            if lead.live_in(self):
                yield lead


class Store:
    """Clients and leads of every company. Callers enforce tenancy by passing company_id."""

    def __init__(self) -> None:
        self.clients: dict[str, dict[str, Client]] = {}  # company -> id -> client
        self.slugs: dict[str, dict[str, Client]] = {}  # company -> slug -> client
        self.leads: dict[str, StoredLead] = {}  # lead id -> lead (all companies)
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self._by_email: dict[tuple[str, str], dict[str, StoredLead]] = {}
        self._by_linkedin: dict[tuple[str, str], dict[str, StoredLead]] = {}
        self._seq = 0

    # ---- clients -------------------------------------------------------------------------

    def add_client(
        self,
        *,
        company_id: str,
        owner: str,
        name: str,
        url: str | None,
        description: str | None,
        now: float,
        client_uuid: str | None = None,
    ) -> Client:
        """Create a client with a slug unique within the company (``-2``, ``-3``, ...)."""
        slugs = self.slugs.setdefault(company_id, {})
        base = slugify(name)
        slug, n = base, 1
        while slug in slugs:
            n += 1
            slug = f"{base}-{n}"
        stamp = iso_utc(now)
        client = Client(
            id=client_uuid or str(uuid.uuid4()),
            client_id=slug,
            clientName=name,
            companyURL=url,
            description=description,
            owner=owner,
            company_id=company_id,
            createdAt=stamp,
            updatedAt=stamp,
        )
        self.clients.setdefault(company_id, {})[client.id] = client
        slugs[slug] = client
        return client

    def list_clients(self, company_id: str) -> list[Client]:
        """The company's clients in creation order."""
        return list(self.clients.get(company_id, {}).values())

    def client_by_id(self, company_id: str, client_uuid: str) -> Client | None:
        """The company's client with this UUID."""
        return self.clients.get(company_id, {}).get(client_uuid)

    def client_by_ref(self, company_id: str, ref: str) -> Client | None:
        """The company's client whose UUID or slug is ``ref``."""
        return self.client_by_id(company_id, ref) or self.slugs.get(company_id, {}).get(ref)

    def delete_client(self, client: Client) -> None:
        """Remove the client record (its leads stay unless purged first)."""
        self.clients[client.company_id].pop(client.id, None)
        self.slugs[client.company_id].pop(client.client_id, None)

    def lead_count(self, company_id: str, stored_client_id: str) -> int:
        """How many leads are stored under exactly this client_id string."""
        bucket = self.buckets.get((company_id, stored_client_id))
        return bucket.live if bucket else 0

    # ---- leads ---------------------------------------------------------------------------

    def add_lead(self, data: dict[str, Any], *, visible_at: float) -> StoredLead:
        """Store a complete lead (``id``, ``company_id``, ``client_id`` already set)."""
        self._seq += 1
        bucket = self._bucket(data["company_id"], data["client_id"])
        lead = StoredLead(data, self._seq, visible_at, bucket)
        bucket.add(lead)
        self.leads[data["id"]] = lead
        self._index(lead)
        return lead

    def get_lead(self, company_id: str, lead_id: str) -> StoredLead | None:
        """The company's lead with this id (another company's lead is ``None``)."""
        lead = self.leads.get(lead_id)
        if lead is None or lead.data["company_id"] != company_id:
            return None
        return lead

    def update_lead(
        self, lead: StoredLead, changes: Mapping[str, Any], *, visible_at: float
    ) -> None:
        """Merge ``changes`` into the lead (``None`` removes a field); may move its client."""
        self._unindex(lead)
        data = lead.data
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        bucket = self._bucket(data["company_id"], data["client_id"])
        if bucket is not lead.bucket:
            lead.bucket.remove()
            self._seq += 1
            lead.seq = self._seq
            lead.bucket = bucket
            bucket.add(lead)
        lead.visible_at = visible_at
        self._index(lead)

    def delete_lead(self, lead: StoredLead) -> None:
        """Remove a lead for good."""
        self._unindex(lead)
        lead.deleted = True
        lead.bucket.remove()
        self.leads.pop(lead.data["id"], None)

    def page(
        self, company_id: str, stored_client_id: str, *, after: int, limit: int, now: float
    ) -> tuple[list[StoredLead], int | None]:
        """Up to ``limit`` visible leads after sequence ``after``, and the next cursor.

        The cursor is ``None`` when no visible lead follows the page.
        """
        bucket = self.buckets.get((company_id, stored_client_id))
        if bucket is None:
            return [], None
        return _take(bucket.after(after), after=after, limit=limit, now=now)

    def company_page(
        self, company_id: str, *, after: int, limit: int, now: float
    ) -> tuple[list[StoredLead], int | None]:
        """Like :meth:`page` over every client of the company (bulk export of ALL)."""
        leads = sorted(
            (
                lead
                for lead in self.leads.values()
                if lead.seq > after and lead.data["company_id"] == company_id
            ),
            key=lambda lead: lead.seq,
        )
        return _take(iter(leads), after=after, limit=limit, now=now)

    def find(self, company_id: str, *, email: str | None, linkedin: str | None) -> list[StoredLead]:
        """Leads of the company matching every given identity field, in creation order."""
        found: dict[str, StoredLead] | None = None
        if email is not None:
            found = dict(self._by_email.get((company_id, email.strip().lower()), {}))
        if linkedin is not None:
            by_url = self._by_linkedin.get((company_id, linkedin.strip()), {})
            found = (
                dict(by_url) if found is None else {k: v for k, v in found.items() if k in by_url}
            )
        return sorted((found or {}).values(), key=lambda lead: lead.seq)

    def leads_with_client_id(self, stored_client_id: str) -> list[StoredLead]:
        """Admin view: every lead of any company stored under this client_id string."""
        out: list[StoredLead] = []
        for (_, key), bucket in self.buckets.items():
            if key == stored_client_id:
                out.extend(lead for lead in bucket.items if lead.live_in(bucket))
        return sorted(out, key=lambda lead: lead.seq)

    def _bucket(self, company_id: str, stored_client_id: str) -> Bucket:
        key = (company_id, stored_client_id)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket()
        return bucket

    def _index(self, lead: StoredLead) -> None:
        company, lead_id = lead.data["company_id"], lead.data["id"]
        email, url = lead.data.get("email"), lead.data.get("linkedinUrl")
        if isinstance(email, str):
            self._by_email.setdefault((company, email.strip().lower()), {})[lead_id] = lead
        if isinstance(url, str):
            self._by_linkedin.setdefault((company, url.strip()), {})[lead_id] = lead

    def _unindex(self, lead: StoredLead) -> None:
        company, lead_id = lead.data["company_id"], lead.data["id"]
        email, url = lead.data.get("email"), lead.data.get("linkedinUrl")
        if isinstance(email, str):
            self._by_email.get((company, email.strip().lower()), {}).pop(lead_id, None)
        if isinstance(url, str):
            self._by_linkedin.get((company, url.strip()), {}).pop(lead_id, None)


def _take(
    leads: Iterator[StoredLead], *, after: int, limit: int, now: float
) -> tuple[list[StoredLead], int | None]:
    out: list[StoredLead] = []
    for lead in leads:
        if lead.visible_at > now:
            continue
        if len(out) == limit:
            return out, out[-1].seq if out else after
        out.append(lead)
    return out, None
