"""Synthetic enrich-lead and source-lead records for the export path.

Wide (fields drawn from every group of :mod:`etl.sandbox.fields`), sparse (a handful of
optional fields per record), drifting (some fields appear only in the later part of the
data set; scores are sometimes ``"85"``, sometimes ``85``; a few nested lists/objects).
Record ``i`` is a pure function of ``(seed, kind, N, i)`` and is built only when a page
needs it, so ``N = 1,000,000`` costs no memory.

Records are spread over four seeded clients of the demo company in a fixed 4:3:2:1
pattern, so the ``p``-th record of one client is found in O(1).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from etl.sandbox.accounts import Account
from etl.sandbox.fields import (
    AI_FIELDS,
    COMPANY_FIELDS,
    ENGAGEMENT_FIELDS,
    IDENTITY_FIELDS,
    META_FIELDS,
)
from etl.sandbox.store import Client, Store

KINDS: tuple[str, ...] = ("enrich", "source")
CLIENT_NAMES: tuple[str, ...] = (
    "Synthetic Alpha",
    "Synthetic Beta",
    "Synthetic Gamma",
    "Synthetic Delta",
)
#: Record i belongs to client PATTERN[i % 10].
PATTERN: tuple[int, ...] = (0, 0, 0, 0, 1, 1, 1, 2, 2, 3)
_SLOTS: tuple[tuple[int, ...], ...] = tuple(
    tuple(j for j, c in enumerate(PATTERN) if c == k) for k in range(len(CLIENT_NAMES))
)
_MASK = (1 << 64) - 1
_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z

_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus",
          "Frances", "Donald", "Radia", "Tim", "Sophie", "Hedy", "John", "Karen", "Niklaus",
          "Anita")  # fmt: skip
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton",
         "Torvalds", "Allen", "Knuth", "Perlman", "Berners-Lee", "Wilson", "Lamarr", "O'Neil",
         "Spärck Jones", "Wirth", "Borg", "-")  # fmt: skip
_COMPANIES = ("Acme Corp", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries",
              "Wayne Enterprises", "Soylent", "Tyrell", "Cyberdyne", "Wonka",
              "Vandelay")  # fmt: skip
_TITLES = ("CEO", "CTO", "VP Sales", "Head of Marketing", "SDR", "Data Engineer",
           "Founder", "Director of Operations", "Account Executive")  # fmt: skip
_TECH = ("aws", "gcp", "azure", "salesforce", "hubspot", "snowflake", "react", "postgres",
         "kafka", "stripe", "segment", "zendesk")  # fmt: skip
_TAGS = ("hot", "cold", "warm", "event-2025", "webinar", "partner", "churned", "vip")
_WORDS = ("alpha", "beta", "gamma", "delta", "omega", "north", "south", "prime", "nova")
_COUNTRIES = ("US", "FR", "DE", "GB", "CA", "BR", "JP", "IN", "ES", "NL")

_SCORES = frozenset({"aiLeadScore", "leadScore", "icpFit", "buyingIntentScore", "engagementScore"})
_INTS = frozenset({
    "employeeCount", "annualRevenue", "foundedYear", "emailOpens", "emailClicks",
    "emailReplies", "emailBounces", "meetingsBooked", "callsMade", "linkedinConnections",
    "linkedinMessages", "websiteVisits", "sequenceStep",
})  # fmt: skip
_TIMES = frozenset({"lastFundingDate", "lastContactedAt", "lastRepliedAt", "lastActivityAt",
                    "emailVerifiedAt", "enrichedAt"})  # fmt: skip
_BASE = frozenset({"client_id", "firstName", "lastName", "email", "title", "linkedinUrl",
                   "companyName", "companyDomain"})  # fmt: skip
_ALL = IDENTITY_FIELDS + COMPANY_FIELDS + AI_FIELDS + ENGAGEMENT_FIELDS + META_FIELDS
ENRICH_OPTIONAL: tuple[str, ...] = tuple(f for f in _ALL if f not in _BASE)
SOURCE_OPTIONAL: tuple[str, ...] = tuple(
    f
    for f in IDENTITY_FIELDS + COMPANY_FIELDS + ("source", "sourceId", "listName", "tags")
    if f not in _BASE
)
#: Drift: these appear only in the second third (LATE_1) or last third (LATE_2) of records.
LATE_1: frozenset[str] = frozenset({"aiPersona", "aiIntent", "technologies", "fundingStage"})
LATE_2: frozenset[str] = frozenset({"buyingIntentScore", "aiNextBestAction", "totalFunding",
                                    "hubspotId", "salesforceId"})  # fmt: skip


def _mix(x: int) -> int:
    """splitmix64 finalizer: a fast, well-spread 64-bit hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


_DAYS: dict[int, str] = {}


def _iso(epoch: int) -> str:
    """ISO-8601 UTC, seconds precision; the date part is cached (hot path of big exports)."""
    day, sec = divmod(epoch, 86_400)
    date = _DAYS.get(day)
    if date is None:
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        date = _DAYS[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))
    return f"{date}T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}Z"


def _value(name: str) -> Callable[[int], Any]:
    """A generator of plausible values for one field, from 64 random bits."""
    if name in _SCORES:
        return lambda h: str(h % 101) if h & 0x100 else h % 101
    if name in _INTS:
        return lambda h: h % 5000
    if name in _TIMES:
        return lambda h: _iso(_EPOCH + h % 50_000_000)
    if name == "technologies":
        return lambda h: [_TECH[(h >> s) % len(_TECH)] for s in range(0, 8 * (1 + h % 4), 8)]
    if name == "tags":
        return lambda h: [_TAGS[(h >> s) % len(_TAGS)] for s in range(0, 8 * (1 + h % 3), 8)]
    if name == "totalFunding":
        return lambda h: {"amount": (h % 500) * 100_000, "currency": "USD"}
    if name in ("country", "companyCountry"):
        return lambda h: _COUNTRIES[h % len(_COUNTRIES)]
    if name in ("companyDescription", "notes", "aiJustification", "aiSdrSynthesis"):
        return lambda h: f"{_WORDS[h % 9]} {_WORDS[(h >> 8) % 9]} {name} #{h % 99_991}"
    return lambda h: f"{_WORDS[h % 9]}-{h % 9973}"


_GENERATORS: dict[str, Callable[[int], Any]] = {f: _value(f) for f in set(_ALL)}


class SyntheticCatalog:
    """The synthetic data set of the demo company, plus its four seeded clients.

    Args:
        account: the owner (the demo account).
        seed: the sandbox seed.
        store: where the seeded clients are registered (so ``GET /api/clients`` lists them).
        now: creation time of the seeded clients.
    """

    def __init__(self, account: Account, *, seed: int, store: Store, now: float) -> None:
        self.account = account
        self.total = 0
        self._store = store
        self._now = now
        self.clients: list[Client] = []
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Change the seed: every record changes, the clients stay."""
        self.seed = seed

    def resize(self, total: int) -> None:
        """Hold ``total`` records; the seeded clients are created the first time it is > 0."""
        self.total = total
        if total > 0 and not self.clients:
            ns = uuid.UUID(self.account.company_id)
            for name in CLIENT_NAMES:
                self.clients.append(
                    self._store.add_client(
                        company_id=self.account.company_id,
                        owner=self.account.user_id,
                        name=name,
                        url=None,
                        description="Seeded by the sandbox for --synthetic-leads",
                        now=self._now,
                        client_uuid=str(uuid.uuid5(ns, name)),
                    )
                )

    def client_index(self, slug: str) -> int | None:
        """Which seeded client a slug names, or ``None``."""
        for k, client in enumerate(self.clients):
            if client.client_id == slug:
                return k
        return None

    def count(self, client: int | None) -> int:
        """How many records the whole set (``None``) or seeded client ``client`` holds."""
        if client is None:
            return self.total
        full, rest = divmod(self.total, len(PATTERN))
        slots = _SLOTS[client]
        return full * len(slots) + sum(1 for j in slots if j < rest)

    def counts(self) -> dict[str, int]:
        """True record count per seeded client slug."""
        return {c.client_id: self.count(k) for k, c in enumerate(self.clients)}

    def page(
        self, kind: str, client: int | None, start: int, limit: int, fields: Sequence[str] | None
    ) -> list[dict[str, Any]]:
        """Records ``start .. start+limit`` of the whole set or of one seeded client."""
        stop = min(self.count(client), start + limit)
        if client is None:
            indexes: Sequence[int] = range(start, stop)
        else:
            slots = _SLOTS[client]
            width = len(slots)
            indexes = [(p // width) * len(PATTERN) + slots[p % width] for p in range(start, stop)]
        build = self.record
        if fields is None:
            return [build(kind, i) for i in indexes]
        wanted = ["id", *(f for f in fields if f != "id")]
        out = []
        for i in indexes:
            rec = build(kind, i)
            out.append({f: rec[f] for f in wanted if f in rec})
        return out

    def record(self, kind: str, i: int) -> dict[str, Any]:
        """Record ``i`` (0-based) of the ``kind`` (``"enrich"`` or ``"source"``) data set."""
        salt = 0x5EED if kind == "enrich" else 0x50CE
        h1 = _mix((self.seed << 40) ^ (salt << 32) ^ i)
        h2 = _mix(h1)
        h3 = _mix(h2)
        account = self.account
        client = self.clients[PATTERN[i % len(PATTERN)]]
        first = _FIRST[h1 % len(_FIRST)]
        last = _LAST[(h1 >> 8) % len(_LAST)]
        company = _COMPANIES[(h1 >> 16) % len(_COMPANIES)]
        domain = company.lower().replace(" ", "") + ".com"
        created = _EPOCH + i * 31
        rec: dict[str, Any] = {
            "id": f"{h2 >> 32:08x}-{(h2 >> 16) & 0xFFFF:04x}-4{h2 & 0xFFF:03x}-"
            f"{0x8000 | (h3 >> 48) & 0x3FFF:04x}-{h3 & 0xFFFFFFFFFFFF:012x}",
            "client_id": client.client_id,
            "company_id": account.company_id,
            "owner": account.user_id,
            "firstName": first,
            "createdAt": _iso(created),
            "updatedAt": _iso(created + h3 % 2_000_000),
            "companyName": company,
        }
        bits = h1 >> 24
        if bits & 0x1F:
            rec["lastName"] = last
        if bits & 0x60:
            rec["email"] = f"{first.lower()}.{i}@{domain}"
        if bits & 0x180:
            rec["title"] = _TITLES[h3 % len(_TITLES)]
        if bits & 0x200:
            rec["linkedinUrl"] = f"https://www.linkedin.com/in/{first.lower()}-{i}"
        if bits & 0xC00:
            rec["companyDomain"] = domain
        optional = ENRICH_OPTIONAL if kind == "enrich" else SOURCE_OPTIONAL
        n_opt = len(optional)
        third = self.total // 3 or 1
        late = i // third  # 0, 1, 2 (3 for the last few when total % 3)
        h = h2
        for _ in range(3 + (h3 >> 20) % 9):
            h = (h * 6364136223846793005 + 1442695040888963407) & _MASK  # LCG step: cheap
            name = optional[(h >> 33) % n_opt]
            if (late < 1 and name in LATE_1) or (late < 2 and name in LATE_2):
                continue
            rec[name] = _GENERATORS[name](h >> 17)
        return rec
