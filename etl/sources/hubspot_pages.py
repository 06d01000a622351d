"""One page of HubSpot contacts: the :class:`ContactPage` both extraction modes yield.

A page is assembled by :func:`build_page` from HubSpot contact objects and their complete
company links: the companies are resolved through the run's
:class:`~etl.sources.hubspot_companies.CompanyCache` (primary-company rule there) and the
rows laid out with the fixed :data:`~schemas.hubspot.CONTACT_FRAME_SCHEMA`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from etl.sources.hubspot_client import HubSpotClient
from etl.sources.hubspot_companies import CompanyCache, Links, company_columns
from etl.sources.hubspot_errors import HubSpotResponseError
from schemas.hubspot import CONTACT_FRAME_SCHEMA, CONTACT_PROPERTIES


@dataclass(frozen=True)
class ContactPage:
    """One page of contacts, ready to map and stage.

    Attributes:
        rows: raw strings with :data:`~schemas.hubspot.CONTACT_FRAME_SCHEMA` (contact
            properties plus the chosen company's ``company_*`` columns); feed it to
            :func:`schemas.hubspot.prepare_contacts`.
        next_after: the cursor to resume from after this page (commit it with the page's
            rows), or ``None`` when this is the last page. For the list it is HubSpot's
            ``after``; for search an opaque token (see ``hubspot_search``).
        max_modified_ms: the highest ``lastmodifieddate`` (epoch ms) on this page, or
            ``None`` for an empty page: the high-water mark is the max over all pages.
        companies_read: companies requested from HubSpot for this page (cache misses).
        missing_companies: associated companies HubSpot could not return (archived or
            deleted), first found on this page; recorded, not fatal.
        requests: HTTP attempts spent on this page (retries included).
        total: the number of matching contacts HubSpot reported (search only), for
            progress; ``None`` for the list.
    """

    rows: pl.DataFrame
    next_after: str | None
    max_modified_ms: int | None
    companies_read: int
    missing_companies: tuple[str, ...]
    requests: int
    total: int | None = None


def parse_instant_ms(value: Any) -> int | None:
    """A HubSpot timestamp (ISO-8601 such as ``2024-03-05T10:11:12.345Z``, or epoch ms)
    as epoch milliseconds; ``None`` when absent or unreadable."""
    if value is None:
        return None
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _string(value: Any) -> str | None:
    return None if value is None else str(value)


async def build_page(
    client: HubSpotClient,
    contacts: Sequence[Mapping[str, Any]],
    links: Mapping[str, Links],
    cache: CompanyCache,
    *,
    next_after: str | None,
    requests_before: int,
    total: int | None = None,
) -> ContactPage:
    """Resolve the contacts' companies and assemble a :class:`ContactPage`.

    Args:
        client: the HubSpot client.
        contacts: HubSpot contact objects (``id``, ``properties``), in page order.
        links: contact id -> complete, de-duplicated company links.
        cache: the run's company cache.
        next_after: the resume cursor after this page.
        requests_before: ``client.stats.requests`` when the page started.
        total: search's match count, if any.
    """
    ids = [str(c["id"]) for c in contacts]
    reads_before = cache.reads
    chosen, missing = await cache.resolve(client, {cid: links.get(cid, {}) for cid in ids})
    data: dict[str, list[str | None]] = {"id": list(ids)}
    for name in CONTACT_PROPERTIES:
        data[name] = [_string((c.get("properties") or {}).get(name)) for c in contacts]
    data.update(company_columns(chosen, cache, ids))
    stamps = [parse_instant_ms(v) for v in data["lastmodifieddate"]]
    known = [s for s in stamps if s is not None]
    return ContactPage(
        rows=pl.DataFrame(data, schema=CONTACT_FRAME_SCHEMA),
        next_after=next_after,
        max_modified_ms=max(known) if known else None,
        companies_read=cache.reads - reads_before,
        missing_companies=tuple(missing),
        requests=client.stats.requests - requests_before,
        total=total,
    )


def next_after_of(body: Mapping[str, Any]) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


def results_of(body: Mapping[str, Any], route: str) -> list[dict[str, Any]]:
    results = body.get("results")
    if not isinstance(results, list) or not all(
        isinstance(r, dict) and r.get("id") is not None for r in results
    ):
        raise HubSpotResponseError(
            f"HubSpot {route} answered without a results list of objects with ids; check "
            "--hubspot-base-url",
            route=route,
        )
    return results
