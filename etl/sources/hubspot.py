"""The HubSpot source: contacts with their primary company, page by page, resumable.

Two ways in, both async iterators of :class:`ContactPage`:

* :func:`extract_contacts` - every live contact, in id order (the contacts list with
  ``associations=companies``), for the first, full import;
* :func:`~etl.sources.hubspot_search.search_modified_since` - contacts modified since a
  high-water mark (the search API, windowed past its 10,000-result cap), for nightly runs.

Each page carries its rows, its company data already resolved (truncated associations
completed with the v4 batch read, companies batch-read 100 at a time through a
:class:`~etl.sources.hubspot_companies.CompanyCache`), and the cursor to resume *after*
it. The pipeline stages a page's rows and commits ``page.next_after`` in the same
transaction; after a crash it passes the committed cursor back and gets the remaining
contacts exactly once. ``docs/hubspot.md`` describes the whole source.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from etl.sources.hubspot_client import HubSpotClient, HubSpotStats
from etl.sources.hubspot_companies import (
    CompanyCache,
    Links,
    add_link,
    embedded_links,
    read_associations,
)
from etl.sources.hubspot_errors import (
    HubSpotError,
    HubSpotPermissionError,
    HubSpotRequestError,
    HubSpotResponseError,
    HubSpotScopeError,
)
from etl.sources.hubspot_pages import ContactPage, build_page, next_after_of, results_of
from etl.sources.hubspot_search import DEFAULT_OVERLAP_MS, SearchCursor, search_modified_since
from etl.sources.hubspot_settings import HubSpotSettings, hubspot_settings
from schemas.hubspot import CONTACT_PROPERTIES

CONTACTS = "/crm/v3/objects/contacts"
ACCOUNT_DETAILS = "/account-info/v3/details"
#: The contacts list allows at most 100 per page.
LIST_PAGE = 100


async def portal_key(client: HubSpotClient) -> str:
    """A stable name of the portal the token reads, for keying high-water marks.

    ``hubspot:portal:<portalId>`` from the account-info API; where that route is not
    available (the sandbox, or a token refused there), ``hubspot:<base URL>#<token
    fingerprint>``: a SHA-256 prefix, never the token, which changes when the token is
    rotated (the next incremental run then reads everything, and the loader skips the
    unchanged leads).

    Raises:
        HubSpotError: HubSpot failed in another way (auth, 5xx after retries).
    """
    try:
        body = await client.get(ACCOUNT_DETAILS)
    except (HubSpotRequestError, HubSpotPermissionError, HubSpotScopeError):
        body = {}
    portal = body.get("portalId")
    if isinstance(portal, int | str) and str(portal).isdigit():
        return f"hubspot:portal:{portal}"
    settings = client.settings
    digest = hashlib.sha256(f"{settings.base_url}\n{settings.token}".encode()).hexdigest()
    return f"hubspot:{settings.base_url}#{digest[:16]}"


async def extract_contacts(
    client: HubSpotClient,
    *,
    after: str | None = None,
    page_size: int = LIST_PAGE,
    cache: CompanyCache | None = None,
) -> AsyncIterator[ContactPage]:
    """Page through every live contact with its primary company.

    Args:
        client: the HubSpot client.
        after: a cursor from a committed :attr:`ContactPage.next_after` to resume after
            (``None``: from the first contact).
        page_size: contacts per request (1..100).
        cache: the run's company cache (a new one when ``None``), so a company is read
            once per run even across several iterators.

    Yields:
        One :class:`ContactPage` per list page; the last has ``next_after=None``.

    Raises:
        HubSpotError: (a subclass of) a failure that retries could not overcome.
    """
    if not 1 <= page_size <= LIST_PAGE:
        raise ValueError(f"page_size must be between 1 and {LIST_PAGE}")
    cache = cache if cache is not None else CompanyCache()
    route = f"GET {CONTACTS}"
    while True:
        requests_before = client.stats.requests
        params: dict[str, str | int] = {
            "limit": page_size,
            "properties": ",".join(CONTACT_PROPERTIES),
            "associations": "companies",
            "archived": "false",
        }
        if after is not None:
            params["after"] = after
        body = await client.get(CONTACTS, params)
        contacts = results_of(body, route)
        next_after = next_after_of(body)
        if next_after is not None and next_after == after:
            raise HubSpotResponseError(
                f"HubSpot {route} returned the cursor it was given ({after}): paging would "
                "never end; please report it",
                route=route,
            )
        links: dict[str, Links] = {}
        truncated: dict[str, str | None] = {}
        for contact in contacts:
            contact_id = str(contact["id"])
            links[contact_id], cut = embedded_links(contact)
            if cut is not None:
                truncated[contact_id] = cut
        if truncated:
            # Only the entries past the cut come back; the company at the cut may repeat,
            # which the merge absorbs.
            for contact_id, more in (await read_associations(client, truncated)).items():
                for company_id, primary in more.items():
                    add_link(links[contact_id], company_id, primary=primary)
        yield await build_page(
            client, contacts, links, cache, next_after=next_after, requests_before=requests_before
        )
        if next_after is None:
            return
        after = next_after


__all__ = [
    "DEFAULT_OVERLAP_MS",
    "CompanyCache",
    "ContactPage",
    "HubSpotClient",
    "HubSpotError",
    "HubSpotSettings",
    "HubSpotStats",
    "SearchCursor",
    "extract_contacts",
    "hubspot_settings",
    "portal_key",
    "search_modified_since",
]
