"""Incremental extraction: contacts modified since a high-water mark, via CRM search.

HubSpot's search returns at most 10,000 results per query (paging past them is a 400),
so the scan runs in *windows* of ``lastmodifieddate >= start``, sorted ascending:

1. Page through the window (200 per request) until it ends or reaches the cap.
2. At the cap, open a new window at the last timestamp seen (not one ms later: the
   contacts sharing that millisecond may straddle the cut) and skip the ids already
   emitted at exactly that timestamp. Bulk imports give dozens of contacts one
   millisecond; HubSpot does not promise an order among them, so skipping by id is
   what keeps each contact exactly once.
3. If a whole window shares one millisecond (the cap reached without moving forward),
   read that millisecond alone, ``lastmodifieddate == t`` sorted by ``hs_object_id``
   with ``hs_object_id > last id`` windows, then go on from ``t + 1``.

The scan starts ``overlap_ms`` before the high-water mark, because changes take a
moment to reach the search index: a contact changed just before the last run may only
now be visible. Re-reading a few unchanged contacts is harmless (the loader skips an
unchanged payload by its content hash).

Search returns no associations: each page's companies come from the v4 batch read.
Every page carries an opaque resume token (:class:`SearchCursor` as compact JSON).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from etl.sources.hubspot_client import HubSpotClient
from etl.sources.hubspot_companies import CompanyCache, read_associations
from etl.sources.hubspot_errors import HubSpotConfigError, HubSpotResponseError
from etl.sources.hubspot_pages import ContactPage, build_page, parse_instant_ms, results_of
from schemas.hubspot import CONTACT_PROPERTIES

SEARCH = "/crm/v3/objects/contacts/search"
#: Results one search query can page through.
RESULT_CAP = 10_000
#: Search allows at most 200 results per request.
SEARCH_PAGE = 200
#: Default look-back before the high-water mark (search index lag, clock skew).
DEFAULT_OVERLAP_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class SearchCursor:
    """Where a windowed search scan stands (everything needed to resume it).

    Attributes:
        start_ms: the window's lower bound (``lastmodifieddate >= start_ms``).
        offset: the search ``after`` within the window.
        skip: ids already emitted whose ``lastmodifieddate`` is exactly ``start_ms``.
        tail_ms: the highest ``lastmodifieddate`` seen in the window so far.
        tail_ids: ids seen at ``tail_ms`` in the window so far.
        tie_after: set while reading one crowded millisecond by id: only ids above it.
    """

    start_ms: int
    offset: int = 0
    skip: frozenset[str] = field(default_factory=frozenset)
    tail_ms: int | None = None
    tail_ids: frozenset[str] = field(default_factory=frozenset)
    tie_after: int | None = None

    def encode(self) -> str:
        """The resume token (compact JSON)."""
        return orjson.dumps(
            {
                "v": 1,
                "start": self.start_ms,
                "offset": self.offset,
                "skip": sorted(self.skip),
                "tail": self.tail_ms,
                "tail_ids": sorted(self.tail_ids),
                "tie_after": self.tie_after,
            }
        ).decode()

    @classmethod
    def decode(cls, token: str) -> SearchCursor:
        """Read a token made by :meth:`encode`.

        Raises:
            HubSpotConfigError: the token is not one (a corrupt or foreign checkpoint).
        """
        try:
            data = orjson.loads(token)
            if data.get("v") != 1:
                raise ValueError("unknown version")
            tail, tie = data["tail"], data["tie_after"]
            return cls(
                start_ms=int(data["start"]),
                offset=int(data["offset"]),
                skip=frozenset(str(i) for i in data["skip"]),
                tail_ms=None if tail is None else int(tail),
                tail_ids=frozenset(str(i) for i in data["tail_ids"]),
                tie_after=None if tie is None else int(tie),
            )
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            raise HubSpotConfigError(
                "the saved HubSpot search position is unreadable: run the import again "
                "with --restart"
            ) from None


def search_body(cursor: SearchCursor, page_size: int) -> dict[str, Any]:
    """The search request for the cursor's window and offset."""
    if cursor.tie_after is None:
        filters = [
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(cursor.start_ms)}
        ]
        sort = "lastmodifieddate"
    else:
        filters = [
            {"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(cursor.start_ms)},
            {"propertyName": "hs_object_id", "operator": "GT", "value": str(cursor.tie_after)},
        ]
        sort = "hs_object_id"
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
        "properties": list(CONTACT_PROPERTIES),
        "limit": page_size,
        "after": str(cursor.offset),
    }


def advance(
    cursor: SearchCursor, results: Sequence[Mapping[str, Any]], next_offset: int | None
) -> tuple[list[Mapping[str, Any]], SearchCursor | None]:
    """Apply one search page to the cursor (a pure function: the windowing rules).

    Args:
        cursor: the cursor the page was requested with.
        results: the page's contacts, in the order HubSpot returned them.
        next_offset: ``paging.next.after`` as a number, or ``None`` on the last page.

    Returns:
        (the contacts to emit, the cursor after this page or ``None`` when done).

    Raises:
        HubSpotResponseError: a result without a readable ``lastmodifieddate``, or a
            crowded millisecond that does not move forward.
    """
    emit: list[Mapping[str, Any]] = []
    tail_ms, tail_ids = cursor.tail_ms, set(cursor.tail_ids)
    last_id = cursor.tie_after
    for contact in results:
        contact_id = str(contact["id"])
        stamp = parse_instant_ms((contact.get("properties") or {}).get("lastmodifieddate"))
        if stamp is None:
            raise HubSpotResponseError(
                f"HubSpot search returned contact {contact_id} without a lastmodifieddate; "
                "please report it",
                route=f"POST {SEARCH}",
            )
        if not (stamp == cursor.start_ms and contact_id in cursor.skip):
            emit.append(contact)
        if tail_ms is None or stamp > tail_ms:
            tail_ms, tail_ids = stamp, {contact_id}
        elif stamp == tail_ms:
            tail_ids.add(contact_id)
        if cursor.tie_after is not None and contact_id.isdigit():
            last_id = max(last_id or 0, int(contact_id))
    if next_offset is not None and next_offset < RESULT_CAP:
        after = replace(cursor, offset=next_offset, tail_ms=tail_ms, tail_ids=frozenset(tail_ids))
        return emit, after
    if cursor.tie_after is not None:
        if next_offset is None:  # the crowded millisecond is done: on to the next one
            return emit, SearchCursor(start_ms=cursor.start_ms + 1)
        if last_id is None or last_id <= cursor.tie_after:
            raise HubSpotResponseError(
                "HubSpot search did not move forward within one millisecond; please report it",
                route=f"POST {SEARCH}",
            )
        return emit, replace(
            cursor, offset=0, tie_after=last_id, tail_ms=None, tail_ids=frozenset()
        )
    if next_offset is None:
        return emit, None
    # The window reached the cap: reopen it at the last timestamp seen.
    if tail_ms is None or tail_ms <= cursor.start_ms:
        seen = cursor.skip | tail_ids
        return emit, SearchCursor(start_ms=cursor.start_ms, skip=frozenset(seen), tie_after=0)
    return emit, SearchCursor(start_ms=tail_ms, skip=frozenset(tail_ids))


def _next_offset(body: Mapping[str, Any]) -> int | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    if after in (None, ""):
        return None
    try:
        return int(str(after))
    except ValueError:
        raise HubSpotResponseError(
            f"HubSpot search paging token {after!r} is not a number; please report it",
            route=f"POST {SEARCH}",
        ) from None


async def search_modified_since(
    client: HubSpotClient,
    since_ms: int,
    *,
    overlap_ms: int = DEFAULT_OVERLAP_MS,
    resume: str | None = None,
    page_size: int = SEARCH_PAGE,
    cache: CompanyCache | None = None,
) -> AsyncIterator[ContactPage]:
    """Yield the contacts modified since ``since_ms - overlap_ms``, each exactly once.

    Args:
        client: the HubSpot client.
        since_ms: the high-water mark of the last complete run (epoch ms).
        overlap_ms: how far before it to start (search index lag, clock skew).
        resume: a committed :attr:`ContactPage.next_after` of this scan to resume after
            (``since_ms`` and ``overlap_ms`` are then ignored).
        page_size: contacts per search request (1..200).
        cache: the run's company cache (a new one when ``None``).

    Yields:
        One :class:`ContactPage` per search request (possibly empty when every result
        was already emitted); the last has ``next_after=None``. The new high-water mark
        is the max of :attr:`ContactPage.max_modified_ms` over the pages.

    Raises:
        HubSpotError: (a subclass of) a failure that retries could not overcome.
    """
    if not 1 <= page_size <= SEARCH_PAGE:
        raise ValueError(f"page_size must be between 1 and {SEARCH_PAGE}")
    cache = cache if cache is not None else CompanyCache()
    cursor: SearchCursor | None
    if resume is not None:
        cursor = SearchCursor.decode(resume)
    else:
        cursor = SearchCursor(start_ms=max(0, since_ms - max(0, overlap_ms)))
    total: int | None = None
    route = f"POST {SEARCH}"
    while cursor is not None:
        requests_before = client.stats.requests
        body = await client.post(SEARCH, search_body(cursor, page_size), search=True)
        if total is None and isinstance(body.get("total"), int):
            total = body["total"]
        results = results_of(body, route)
        emit, cursor = advance(cursor, results, _next_offset(body))
        ids = [str(c["id"]) for c in emit]
        links = await read_associations(client, dict.fromkeys(ids)) if ids else {}
        yield await build_page(
            client,
            emit,
            links,
            cache,
            next_after=None if cursor is None else cursor.encode(),
            requests_before=requests_before,
            total=total,
        )
