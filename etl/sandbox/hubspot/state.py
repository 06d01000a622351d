"""The emulated portal: seeded objects, the lagging search index, limits and counters.

HTTP parsing lives in ``app.py``/``admin.py``; this module answers with JSON-ready data
and raises :class:`~etl.sandbox.hubspot.wire.ApiError` for errors.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import random
from collections.abc import Iterable, Sequence
from typing import Any

from etl.clock import Clock, SystemClock
from etl.sandbox.hubspot.config import HubSpotConfig
from etl.sandbox.hubspot.limits import Counters, RateLimits
from etl.sandbox.hubspot.records import (
    Company,
    Contact,
    association_entries,
    association_types,
    iso_ms,
    render_object,
)
from etl.sandbox.hubspot.search import RESULT_CAP, SearchQuery, matches, ordered
from etl.sandbox.hubspot.seed import GENERIC_MAIL_DOMAINS, SEED_END_MS, Seeder
from etl.sandbox.hubspot.wire import OBJECT_NOT_FOUND, ApiError, validation_error

#: Association entries embedded in a contact before HubSpot cuts them and adds paging.
EMBEDDED_ASSOCIATIONS = 100
#: Companies per contact in one v4 batch-read result before it pages.
V4_PAGE = 500
_TITLES = ("Head of Growth", "VP Operations", "Sales Manager", "Director of IT", "Buyer")


def encode_after(offset: int) -> str:
    """Return an opaque association paging token (HubSpot's look: base64 of the offset)."""
    return base64.b64encode(str(offset).encode()).decode()


def decode_after(token: str) -> int:
    """Read an association paging token back.

    Raises:
        ApiError: 400 when the token was not made by :func:`encode_after`.
    """
    try:
        return int(base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise validation_error(f"invalid paging token {token!r}") from None


class HubSpotState:
    """Everything the emulated portal knows; one instance per app.

    Args:
        config: seeding and limits; later changes go through :meth:`update_config`.
        clock: drives rate limits, search lag and modification timestamps.
    """

    def __init__(self, config: HubSpotConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self._seeder = Seeder(config.seed)
        contacts, companies, heavy = self._seeder.seed_portal(config.contacts)
        self.contacts: dict[int, Contact] = {c.id: c for c in contacts}
        self.contact_ids: list[int] = [c.id for c in contacts]  # ascending
        self.companies: dict[int, Company] = {c.id: c for c in companies}
        self.heavy_ids: list[int] = heavy
        self.limits = RateLimits(self.clock)
        self.counters = Counters()
        self.modified_count = 0
        self.created_count = 0
        self._modify_rng = random.Random(f"modify-{config.seed}")
        self._last_ms = max((c.modified_ms for c in contacts), default=SEED_END_MS)
        # Search sees each contact as it was when last indexed; changes wait in a heap.
        self._search_view: dict[int, Contact] = dict(self.contacts)
        self._pending: list[tuple[float, int, Contact]] = []
        self._pending_seq = 0
        self._search_version = 0
        self._search_cache: dict[tuple[object, ...], list[Contact]] = {}

    # --- configuration -------------------------------------------------------------

    def update_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change live knobs (rate limits, search lag) and return them all.

        Raises:
            ConfigError: unknown knob or bad value.
        """
        self.config = self.config.with_knobs(changes)
        return self.config.knobs()

    # --- contacts list ----------------------------------------------------------------

    def list_contacts(
        self,
        *,
        limit: int,
        after: int,
        properties: Sequence[str],
        associations: bool,
        archived: bool,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Return one page of contacts by ascending id and the next ``after`` (or ``None``)."""
        page: list[dict[str, Any]] = []
        start = bisect.bisect_left(self.contact_ids, after)
        for index in range(start, len(self.contact_ids)):
            contact = self.contacts[self.contact_ids[index]]
            if contact.archived != archived:
                continue
            if len(page) == limit:
                return page, contact.id
            item = render_object(contact, properties)
            if associations and contact.associations:
                item["associations"] = {"companies": self._embedded(contact)}
            page.append(item)
        return page, None

    def _embedded(self, contact: Contact) -> dict[str, Any]:
        entries = association_entries(contact)
        if len(entries) <= EMBEDDED_ASSOCIATIONS:
            return {"results": entries}
        # The token counts whole companies shown, so v4 resumes at the first company whose
        # entries were cut (that company may then be seen twice, as on HubSpot).
        shown, used = 0, 0
        for assoc in contact.associations:
            used += 2 if assoc.primary else 1
            if used > EMBEDDED_ASSOCIATIONS:
                break
            shown += 1
        return {
            "results": entries[:EMBEDDED_ASSOCIATIONS],
            "paging": {"next": {"after": encode_after(shown)}},
        }

    # --- batch reads ------------------------------------------------------------------

    def read_companies(
        self, ids: Iterable[str], properties: Sequence[str], *, archived: bool = False
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Return the companies found (sorted by id, not input order) and the missing ids."""
        found: list[Company] = []
        missing: list[str] = []
        for raw in dict.fromkeys(ids):
            company = self.companies.get(int(raw)) if raw.isdigit() else None
            if company is None or company.archived != archived:
                missing.append(raw)
            else:
                found.append(company)
        found.sort(key=lambda c: c.id)
        return [render_object(c, properties) for c in found], missing

    def read_associations(
        self, inputs: Iterable[tuple[str, str | None]]
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Return v4 association results per contact and the ids that have none.

        Args:
            inputs: (contact id, paging token or ``None``) pairs.
        """
        results: list[dict[str, Any]] = []
        empty: list[str] = []
        for raw_id, token in inputs:
            contact = self.contacts.get(int(raw_id)) if raw_id.isdigit() else None
            if contact is None or not contact.associations:
                empty.append(raw_id)
                continue
            start = decode_after(token) if token else 0
            chunk = contact.associations[start : start + V4_PAGE]
            result: dict[str, Any] = {
                "from": {"id": str(contact.id)},
                "to": [
                    {
                        # HubSpot returns ids as numbers, yet some clients see strings:
                        # the emulation mixes both so parsers must accept either.
                        "toObjectId": str(a.company_id)
                        if (contact.id + a.company_id) % 5 == 0
                        else a.company_id,
                        "associationTypes": association_types(a),
                    }
                    for a in chunk
                ],
            }
            if start + V4_PAGE < len(contact.associations):
                result["paging"] = {"next": {"after": encode_after(start + V4_PAGE)}}
            results.append(result)
        return results, empty

    # --- search -----------------------------------------------------------------------

    def _refresh_search(self) -> None:
        now = self.clock.monotonic()
        changed = False
        while self._pending and self._pending[0][0] <= now:
            _, _, contact = heapq.heappop(self._pending)
            self._search_view[contact.id] = contact
            changed = True
        if changed:
            self._search_version += 1
            self._search_cache.clear()

    def search(self, query: SearchQuery) -> tuple[int, list[dict[str, Any]], int | None]:
        """Run a search against the (possibly lagging) index.

        Returns:
            The total number of matches, the requested page, and the next ``after``. The
            next ``after`` may be :data:`RESULT_CAP`, which the next request refuses.
        """
        self._refresh_search()
        key = query.cache_key()
        hits = self._search_cache.get(key)
        if hits is None:
            live = [c for c in self._search_view.values() if not c.archived]
            hits = ordered(
                [c for c in live if matches(c, query.groups)], query.sort_prop, query.descending
            )
            if len(self._search_cache) > 64:
                self._search_cache.clear()
            self._search_cache[key] = hits
        end = min(query.after + query.limit, RESULT_CAP, len(hits))
        page = [render_object(c, query.properties) for c in hits[query.after : end]]
        return len(hits), page, (end if end < len(hits) else None)

    def _index_later(self, contact: Contact) -> None:
        visible_at = self.clock.monotonic() + self.config.search_lag_ms / 1000
        self._pending_seq += 1
        heapq.heappush(self._pending, (visible_at, self._pending_seq, contact))
        self._refresh_search()

    def _next_timestamp(self) -> int:
        # One distinct millisecond per change, never before the seed or an earlier change,
        # so a lastmodifieddate window can always split a bulk modification.
        self._last_ms = max(int(self.clock.time() * 1000), self._last_ms + 1)
        return self._last_ms

    # --- sandbox-only mutations -----------------------------------------------------

    def modify(
        self,
        *,
        ids: Sequence[str] | None = None,
        count: int | None = None,
        properties: dict[str, str | None] | None = None,
    ) -> list[str]:
        """Change contacts and bump their ``lastmodifieddate`` to now.

        Without ``properties``, ``jobtitle`` gets a new value, so a mapped lead field
        changes. ``count`` picks that many live contacts that have an email.

        Returns:
            The modified ids, in the order their timestamps were given.

        Raises:
            ApiError: 404 for unknown or archived ids, 400 for a bad count.
        """
        if ids is not None:
            targets = [self.contacts.get(int(i)) if str(i).isdigit() else None for i in ids]
            unknown = [str(i) for i, c in zip(ids, targets, strict=True) if c is None or c.archived]
            if unknown:
                raise ApiError(
                    404, OBJECT_NOT_FOUND, "unknown or archived contacts", {"ids": unknown}
                )
            chosen = [c for c in targets if c is not None]
        else:
            eligible = [
                self.contacts[i]
                for i in self.contact_ids
                if not self.contacts[i].archived and self.contacts[i].properties["email"]
            ]
            if count is None or not 0 <= count <= len(eligible):
                raise validation_error(
                    f"count must be between 0 and {len(eligible)} (live contacts with email)"
                )
            chosen = sorted(self._modify_rng.sample(eligible, count), key=lambda c: c.id)
        self.modified_count += 1
        changes = properties or {
            "jobtitle": f"{_TITLES[self.modified_count % len(_TITLES)]} (rev {self.modified_count})"
        }
        done: list[str] = []
        for old in chosen:
            stamp = self._next_timestamp()
            props = {**old.properties, **changes, "lastmodifieddate": iso_ms(stamp)}
            new = Contact(old.id, props, old.created_ms, stamp, False, old.associations)
            self.contacts[old.id] = new
            self._index_later(new)
            done.append(str(old.id))
        return done

    def create(self, count: int) -> list[str]:
        """Add ``count`` new live contacts with an email (for incremental-sync tests)."""
        made: list[str] = []
        next_id = (self.contact_ids[-1] if self.contact_ids else 1000) + 1
        for _ in range(count):
            stamp = self._next_timestamp()
            contact = self._seeder.contact(next_id, stamp, stamp, plain=True)
            self.contacts[next_id] = contact
            self.contact_ids.append(next_id)
            self._index_later(contact)
            made.append(str(next_id))
            next_id += 1
        self.created_count += count
        return made

    # --- summary ------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """What a correct importer of the live contacts should end with, and the mess counts."""
        live = [c for c in self.contacts.values() if not c.archived]
        with_email = [c for c in live if c.properties["email"]]

        def count(pred: Any) -> int:
            return sum(1 for c in live if pred(c))

        heavy = []
        for contact_id in self.heavy_ids:
            contact = self.contacts[contact_id]
            primary = next((a.company_id for a in contact.associations if a.primary), None)
            heavy.append(
                {
                    "id": str(contact_id),
                    "companies": len(contact.associations),
                    "association_entries": len(association_entries(contact)),
                    "primary_company_id": None if primary is None else str(primary),
                }
            )
        props = [c.properties for c in live]
        return {
            "contacts": len(live),
            "archived": len(self.contacts) - len(live),
            "with_email": len(with_email),
            "without_email": len(live) - len(with_email),
            "expected_import": {
                "read": len(live),
                "imported": len(with_email),
                "rejected_missing_email": len(live) - len(with_email),
            },
            "with_company_property": sum(1 for p in props if p["company"]),
            "with_associated_company": count(lambda c: c.associations),
            "with_primary_company": count(lambda c: any(a.primary for a in c.associations)),
            "phone_only": sum(1 for p in props if p["phone"] and not p["mobilephone"]),
            "mobilephone_only": sum(1 for p in props if p["mobilephone"] and not p["phone"]),
            "both_phones": sum(1 for p in props if p["phone"] and p["mobilephone"]),
            "generic_mail_domain": sum(
                1
                for c in with_email
                if str(c.properties["email"]).split("@")[1] in GENERIC_MAIL_DOMAINS
            ),
            "heavy_associations": heavy,
            "companies": len(self.companies),
            "archived_companies": sum(1 for c in self.companies.values() if c.archived),
            "modify_calls": self.modified_count,
            "created": self.created_count,
            "max_lastmodifieddate": iso_ms(self._last_ms),
            "pending_search_updates": len(self._pending),
        }
