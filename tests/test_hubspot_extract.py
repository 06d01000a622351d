"""Full extraction against the HubSpot sandbox: every contact once, with the right company."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import polars as pl
import pytest

from etl.clock import SystemClock
from etl.sources.hubspot import CompanyCache, ContactPage, extract_contacts, portal_key
from etl.sources.hubspot_client import HubSpotClient
from etl.sources.hubspot_companies import candidates, choose_company
from etl.sources.hubspot_errors import HubSpotResponseError
from etl.sources.hubspot_settings import HubSpotSettings
from tests.fixtures.hubspot import HubSpotServer
from tests.fixtures.hubspot_source import (
    ClientFactory,
    RecordingTransport,
    collect,
    rows_of,
    run,
)


def _extract(client: HubSpotClient, **kw: Any) -> list[ContactPage]:
    async def go() -> list[ContactPage]:
        async with client:
            return await collect(extract_contacts(client, **kw))

    return run(go())


@pytest.fixture(scope="module")
def portal_pages(hubspot_portal: HubSpotServer) -> list[ContactPage]:
    """One full extraction of the shared portal (read-only, reused by several tests)."""
    from etl.sources.hubspot_settings import hubspot_settings

    settings = hubspot_settings(
        base_url=hubspot_portal.base_url, environ={"HUBSPOT_ACCESS_TOKEN": hubspot_portal.token}
    )
    return _extract(HubSpotClient(settings, clock=SystemClock()))


def _expected_company(server: HubSpotServer, contact_id: int) -> str | None:
    """The primary-company rule computed from the server's own records."""
    contact = server.state.contacts[contact_id]
    links = {str(a.company_id): a.primary for a in contact.associations}
    readable = {
        str(a.company_id): True
        for a in contact.associations
        if not server.state.companies[a.company_id].archived
    }
    return choose_company(links, readable)


def test_full_extraction_reads_every_live_contact_exactly_once(
    hubspot_portal: HubSpotServer, portal_pages: list[ContactPage]
) -> None:
    """Paging the list reaches every live contact once; counts match the sandbox's
    expectations (with and without email); only the last page has no cursor."""
    expected = hubspot_portal.admin("GET", "contacts")
    rows = rows_of(portal_pages)
    assert rows.height == expected["contacts"] == expected["expected_import"]["read"]
    assert rows["id"].n_unique() == rows.height
    assert rows.filter(pl.col("email").is_not_null()).height == expected["with_email"]
    assert rows.filter(pl.col("email").is_null()).height == expected["without_email"]
    assert [p.next_after is None for p in portal_pages].count(True) == 1
    assert portal_pages[-1].next_after is None
    live = {c.id for c in hubspot_portal.state.contacts.values() if not c.archived}
    assert set(rows["id"].cast(pl.Int64).to_list()) == live


def test_each_contact_gets_the_company_of_the_primary_rule(
    hubspot_portal: HubSpotServer, portal_pages: list[ContactPage]
) -> None:
    """The company is the Primary association if readable, else the lowest readable id;
    company name and domain are the company record's, never the contact's property."""
    rows = rows_of(portal_pages)
    wrong = [
        (cid, got)
        for cid, got in rows.select("id", "company_id").iter_rows()
        if got != _expected_company(hubspot_portal, int(cid))
    ]
    assert wrong == []
    companies = hubspot_portal.state.companies
    for cid, name, domain in rows.select(
        "company_id", "company_name", "company_domain"
    ).iter_rows():
        if cid is not None:
            assert (name, domain) == (
                companies[int(cid)].properties["name"],
                companies[int(cid)].properties["domain"],
            )
    stale = rows.filter(pl.col("company").str.contains("Holdings \\(old\\)").fill_null(False))
    assert stale.height > 0  # the trap is there...
    assert stale.filter(pl.col("company_name") == pl.col("company")).height == 0  # ...and avoided
    with_primary = rows.filter(pl.col("company_id").is_not_null()).height
    assert with_primary >= hubspot_portal.admin("GET", "contacts")["with_primary_company"]


def test_truncated_associations_are_completed_so_heavy_contacts_get_their_primary(
    hubspot_portal: HubSpotServer, portal_pages: list[ContactPage]
) -> None:
    """Contacts with more than 100 association entries get the primary company that only
    the v4 batch read lists (it sorts beyond the embedded 100)."""
    heavy = hubspot_portal.admin("GET", "contacts")["heavy_associations"]
    assert heavy and all(h["association_entries"] > 100 for h in heavy)
    rows = rows_of(portal_pages)
    for contact in heavy:
        got = rows.filter(pl.col("id") == contact["id"])["company_id"].to_list()
        assert got == [contact["primary_company_id"]]


def test_each_company_is_read_once_per_run_in_batches_of_at_most_100(
    make_hubspot: Any, hubspot_client: ClientFactory
) -> None:
    """The company cache asks HubSpot for each company id at most once per run, 100 ids
    per batch read at most; the sandbox's own counters agree with the client's."""
    server = make_hubspot(contacts=2500, seed=3)
    recorder = RecordingTransport()
    client = hubspot_client(server, transport=recorder)
    cache = CompanyCache()
    pages = _extract(client, cache=cache)
    batches = recorder.bodies("/objects/companies/batch/read")
    asked = Counter(i["id"] for body in batches for i in body["inputs"])
    assert asked and max(asked.values()) == 1
    assert max(len(body["inputs"]) for body in batches) <= 100
    assert sum(p.companies_read for p in pages) == len(asked) == cache.reads
    counters = server.admin("GET", "counters")["requests"]
    served = sum(counters["POST /crm/v3/objects/companies/batch/read"].values())
    assert (
        served == len(batches) == client.stats.by_route["POST /crm/v3/objects/companies/batch/read"]
    )
    # Only the companies the rule needed were read, not every associated one.
    needed = {
        c.id: candidates({str(a.company_id): a.primary for a in c.associations})
        for c in server.state.contacts.values()
        if not c.archived and c.associations
    }
    assert len(asked) < len({cid for ids in needed.values() for cid in ids})


def test_archived_companies_are_recorded_as_missing_not_fatal(
    hubspot_portal: HubSpotServer, portal_pages: list[ContactPage]
) -> None:
    """Companies the batch read cannot return (207) are reported on the page that met
    them, once each, and never chosen."""
    missing = [cid for p in portal_pages for cid in p.missing_companies]
    assert missing and len(missing) == len(set(missing))
    assert all(hubspot_portal.state.companies[int(cid)].archived for cid in missing)
    chosen = set(rows_of(portal_pages)["company_id"].drop_nulls().to_list())
    assert chosen.isdisjoint(missing)


def test_resuming_from_a_committed_cursor_yields_the_rest_exactly_once(
    hubspot_portal: HubSpotServer, hubspot_client: ClientFactory, portal_pages: list[ContactPage]
) -> None:
    """A run stopped after page 7 and resumed with that page's ``next_after`` reads every
    remaining contact once: together they equal one uninterrupted run."""

    async def first_part() -> list[ContactPage]:
        async with hubspot_client(hubspot_portal) as client:
            return await collect(extract_contacts(client), limit=7)

    head = run(first_part())
    cursor = head[-1].next_after
    assert cursor is not None
    tail = _extract(hubspot_client(hubspot_portal), after=cursor)
    ids = rows_of(head + tail)["id"].to_list()
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(rows_of(portal_pages)["id"].to_list())
    assert rows_of(tail).height == rows_of(portal_pages).height - rows_of(head).height


def test_a_list_cursor_that_does_not_move_is_an_error_not_an_endless_loop() -> None:
    """A server handing back the cursor it was given stops the extraction with a clear
    error instead of paging forever."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = {
            "results": [{"id": "1", "properties": {"email": "a@b.co"}}],
            "paging": {"next": {"after": "5"}},
        }
        return httpx.Response(200, json=body)

    settings = HubSpotSettings(token="pat-na1-test", base_url="http://127.0.0.1:9")
    client = HubSpotClient(settings, clock=SystemClock(), transport=httpx.MockTransport(handler))
    with pytest.raises(HubSpotResponseError, match="never end"):
        _extract(client, after="5")


def test_the_portal_key_is_the_portal_id_or_a_token_fingerprint_never_the_token(
    hubspot_portal: HubSpotServer, hubspot_client: ClientFactory
) -> None:
    """High-water marks are keyed by the portal: its id from account-info when HubSpot
    answers it, else (the sandbox has no such route) a stable fingerprint of base URL and
    token that does not reveal the token."""

    async def key(client: HubSpotClient) -> str:
        async with client:
            return await portal_key(client)

    first, again = (
        run(key(hubspot_client(hubspot_portal))),
        run(key(hubspot_client(hubspot_portal))),
    )
    assert first == again and first.startswith(f"hubspot:{hubspot_portal.base_url}#")
    assert hubspot_portal.token not in first and hubspot_portal.token[8:20] not in first

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/account-info/v3/details"
        return httpx.Response(200, json={"portalId": 62515, "timeZone": "US/Eastern"})

    settings = HubSpotSettings(token="pat-na1-test", base_url="https://api.hubapi.com")
    client = HubSpotClient(settings, clock=SystemClock(), transport=httpx.MockTransport(handler))
    assert run(key(client)) == "hubspot:portal:62515"
