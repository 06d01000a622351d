"""Contact -> company associations and the company cache: which company a contact maps to.

Associations come embedded in the contacts list (cut at 100 entries, with their own
``paging``) or from the v4 batch read (search results carry none). Both are folded into
one :class:`Links` per contact: company id -> "is primary", de-duplicated, because the
same company is listed once per association type (``contact_to_company`` and
``contact_to_company_unlabeled``, or typeIds 1 and 279).

The primary-company rule (:func:`choose_company`), in order:

1. the company associated with HubSpot's *Primary* type (v3 type ``contact_to_company``,
   v4 ``HUBSPOT_DEFINED`` typeId 1), if HubSpot can return it;
2. otherwise the associated company with the lowest id that HubSpot can return (stable
   across runs, unlike "first listed", which depends on the endpoint);
3. otherwise none: the lead gets no company (never the contact's ``company`` property).

"Can return": companies that are archived or deleted come back as 207 errors in the batch
read; they are recorded in :attr:`CompanyCache.missing` and skipped, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from etl.sources.hubspot_client import HubSpotClient
from etl.sources.hubspot_errors import HubSpotResponseError
from schemas.hubspot import COMPANY_PROPERTIES

COMPANIES_READ = "/crm/v3/objects/companies/batch/read"
ASSOCIATIONS_READ = "/crm/v4/associations/contacts/companies/batch/read"
#: Inputs per batch read, as HubSpot allows.
COMPANY_BATCH = 100
ASSOCIATION_BATCH = 1_000

#: v3 embedded association type of the primary company, and its v4 typeId.
PRIMARY_TYPE = "contact_to_company"
PRIMARY_TYPE_ID = 1

#: company id -> primary flag, in the order first seen.
Links = dict[str, bool]


def _sort_key(company_id: str) -> tuple[int, int | str]:
    # Numeric ids by value (HubSpot ids are numbers); anything else after them.
    return (0, int(company_id)) if company_id.isdigit() else (1, company_id)


def add_link(links: Links, company_id: object, *, primary: bool) -> None:
    """Record one association, merging duplicates (a company is primary if any entry says so).

    Args:
        links: the contact's links, updated in place.
        company_id: the company id (a number or a string, as HubSpot sends either).
        primary: this entry is the Primary association type.
    """
    key = str(company_id).strip()
    if key:
        links[key] = links.get(key, False) or primary


def embedded_links(contact: Mapping[str, Any]) -> tuple[Links, str | None]:
    """A v3 contact's embedded company associations and their paging token, if truncated.

    Args:
        contact: one contact object of the list response.

    Returns:
        (links, ``after`` token to pass to the v4 batch read, or ``None`` when complete).
    """
    links: Links = {}
    block = (contact.get("associations") or {}).get("companies") or {}
    for entry in block.get("results") or []:
        if isinstance(entry, dict) and entry.get("id") is not None:
            add_link(links, entry["id"], primary=entry.get("type") == PRIMARY_TYPE)
    after = ((block.get("paging") or {}).get("next") or {}).get("after")
    return links, (str(after) if after else None)


def _is_primary(types: Any) -> bool:
    return isinstance(types, list) and any(
        isinstance(t, dict)
        and t.get("typeId") == PRIMARY_TYPE_ID
        and t.get("category", "HUBSPOT_DEFINED") == "HUBSPOT_DEFINED"
        for t in types
    )


async def read_associations(
    client: HubSpotClient, wanted: Mapping[str, str | None]
) -> dict[str, Links]:
    """Read contacts' companies with the v4 batch read, following each input's paging.

    Args:
        client: the HubSpot client.
        wanted: contact id -> paging token to start from (``None``: from the start).

    Returns:
        contact id -> links (contacts without companies map to empty links).
    """
    out: dict[str, Links] = {contact_id: {} for contact_id in wanted}
    pending = list(wanted.items())
    seen_tokens: set[tuple[str, str]] = set()
    while pending:
        batch, pending = pending[:ASSOCIATION_BATCH], pending[ASSOCIATION_BATCH:]
        inputs = [{"id": cid} if not after else {"id": cid, "after": after} for cid, after in batch]
        body = await client.post(ASSOCIATIONS_READ, {"inputs": inputs})
        for result in body.get("results") or []:
            contact_id = str((result.get("from") or {}).get("id", ""))
            if contact_id not in out:
                continue
            for target in result.get("to") or []:
                if isinstance(target, dict) and target.get("toObjectId") is not None:
                    add_link(
                        out[contact_id],
                        target["toObjectId"],
                        primary=_is_primary(target.get("associationTypes")),
                    )
            after = ((result.get("paging") or {}).get("next") or {}).get("after")
            if after:
                token = (contact_id, str(after))
                if token in seen_tokens:
                    raise HubSpotResponseError(
                        f"HubSpot returned the same association paging token twice for "
                        f"contact {contact_id}: paging would never end; please report it",
                        route=f"POST {ASSOCIATIONS_READ}",
                    )
                seen_tokens.add(token)
                pending.append(token)
    return out


def candidates(links: Links) -> list[str]:
    """Company ids in the order the primary-company rule tries them.

    Primary-labelled companies first, then the others, each group by ascending id.
    """
    return sorted(links, key=lambda cid: (not links[cid], _sort_key(cid)))


def choose_company(links: Links, readable: Mapping[str, object]) -> str | None:
    """Apply the primary-company rule (see the module docstring).

    Args:
        links: the contact's de-duplicated links.
        readable: companies HubSpot returned (id -> anything); ids absent are unreadable.

    Returns:
        The chosen company id, or ``None``.
    """
    return next((cid for cid in candidates(links) if cid in readable), None)


@dataclass
class CompanyCache:
    """Companies read during one run: each id is asked of HubSpot at most once.

    Attributes:
        companies: id -> properties (strings or ``None``) of the companies read.
        missing: ids HubSpot could not return (archived, deleted): 207 errors.
        reads: companies requested from HubSpot so far (cache misses).
        requests: batch-read requests sent so far.
    """

    companies: dict[str, dict[str, str | None]] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    reads: int = 0
    requests: int = 0

    def known(self, company_id: str) -> bool:
        """Whether the id was already read (found or missing)."""
        return company_id in self.companies or company_id in self.missing

    async def fetch(self, client: HubSpotClient, ids: Iterable[str]) -> list[str]:
        """Read the ids not known yet, 100 per request.

        Returns:
            The ids newly found missing (207 ``OBJECT_NOT_FOUND``).
        """
        todo = sorted({i for i in ids if not self.known(i)}, key=_sort_key)
        newly_missing: list[str] = []
        for start in range(0, len(todo), COMPANY_BATCH):
            batch = todo[start : start + COMPANY_BATCH]
            body = await client.post(
                COMPANIES_READ,
                {"properties": list(COMPANY_PROPERTIES), "inputs": [{"id": i} for i in batch]},
            )
            self.reads += len(batch)
            self.requests += 1
            for company in body.get("results") or []:
                if isinstance(company, dict) and company.get("id") is not None:
                    props = company.get("properties") or {}
                    self.companies[str(company["id"])] = {
                        name: _string(props.get(name)) for name in COMPANY_PROPERTIES
                    }
            # Whatever was asked and not returned is missing, whether or not the 207 body
            # listed it: a silent gap must not make us ask again and again.
            gone = [i for i in batch if i not in self.companies]
            self.missing.update(gone)
            newly_missing += gone
        return newly_missing

    async def resolve(
        self, client: HubSpotClient, contacts: Mapping[str, Links]
    ) -> tuple[dict[str, str | None], list[str]]:
        """Choose each contact's company, reading only the candidates the rule needs.

        Round one reads every contact's first candidate; a contact whose candidate turns
        out missing moves to its next one in another round (rare: archived companies).

        Args:
            client: the HubSpot client.
            contacts: contact id -> links.

        Returns:
            (contact id -> chosen company id or ``None``, ids newly found missing).
        """
        chosen: dict[str, str | None] = {}
        order = {cid: candidates(links) for cid, links in contacts.items()}
        position = dict.fromkeys(contacts, 0)
        newly_missing: list[str] = []
        open_ = set(contacts)
        while open_:
            need: list[str] = []
            for contact_id in list(open_):
                queue, index = order[contact_id], position[contact_id]
                while index < len(queue) and queue[index] in self.missing:
                    index += 1
                position[contact_id] = index
                if index == len(queue):
                    chosen[contact_id] = None
                    open_.discard(contact_id)
                elif queue[index] in self.companies:
                    chosen[contact_id] = queue[index]
                    open_.discard(contact_id)
                else:
                    need.append(queue[index])
            if need:
                newly_missing += await self.fetch(client, need)
        return chosen, newly_missing


def _string(value: Any) -> str | None:
    return None if value is None else str(value)


def company_columns(
    chosen: Mapping[str, str | None], cache: CompanyCache, contact_ids: Sequence[str]
) -> dict[str, list[str | None]]:
    """The ``company_*`` columns of a page, aligned with ``contact_ids``."""
    columns: dict[str, list[str | None]] = {"company_id": []}
    columns.update({f"company_{name}": [] for name in COMPANY_PROPERTIES})
    for contact_id in contact_ids:
        company_id = chosen.get(contact_id)
        props = cache.companies.get(company_id, {}) if company_id else {}
        columns["company_id"].append(company_id)
        for name in COMPANY_PROPERTIES:
            columns[f"company_{name}"].append(props.get(name))
    return columns
