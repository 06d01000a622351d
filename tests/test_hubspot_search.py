"""Incremental extraction with CRM search: windows past the 10,000 cap, ties, resume."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import orjson
import polars as pl
import pytest

from etl.clock import FakeClock
from etl.sandbox.hubspot.records import Contact, iso_ms, render_object
from etl.sandbox.hubspot.search import RESULT_CAP as SANDBOX_CAP
from etl.sandbox.hubspot.search import matches, ordered, parse_search
from etl.sources.hubspot import ContactPage, search_modified_since
from etl.sources.hubspot_client import HubSpotClient
from etl.sources.hubspot_errors import HubSpotConfigError
from etl.sources.hubspot_pages import parse_instant_ms
from etl.sources.hubspot_search import RESULT_CAP, SearchCursor, advance
from etl.sources.hubspot_settings import HubSpotSettings
from tests.fixtures.hubspot import HubSpotServer
from tests.fixtures.hubspot_source import ClientFactory, collect, rows_of, run

BASE_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z


def _scan(client: HubSpotClient, since_ms: int, **kw: Any) -> list[ContactPage]:
    async def go() -> list[ContactPage]:
        async with client:
            return await collect(search_modified_since(client, since_ms, **kw))

    return run(go())


def _ids(pages: list[ContactPage]) -> list[str]:
    return rows_of(pages)["id"].to_list()


def _live_by_time(server: HubSpotServer) -> list[tuple[int, int]]:
    """(lastmodifieddate ms, id) of the live contacts, in search order."""
    return sorted((c.modified_ms, c.id) for c in server.state.contacts.values() if not c.archived)


def _contact(cid: str, ms: int) -> dict[str, Any]:
    return {"id": cid, "properties": {"lastmodifieddate": str(ms)}}


# --- the windowing rules (pure) --------------------------------------------------------------


def test_the_client_cap_matches_hubspots_documented_cap() -> None:
    """10,000 results per query, as HubSpot (and the sandbox) enforce."""
    assert RESULT_CAP == SANDBOX_CAP == 10_000


def test_a_full_window_reopens_at_the_last_timestamp_skipping_ids_already_emitted() -> None:
    """At the cap the next window starts at the last timestamp seen (>=, not >), and the
    contacts already emitted at exactly that timestamp are skipped there."""
    cursor = SearchCursor(start_ms=100, offset=9_998)
    page = [_contact("7", 150), _contact("3", 150)]
    emit, after = advance(cursor, page, RESULT_CAP)
    assert [c["id"] for c in emit] == ["7", "3"]
    assert after == SearchCursor(start_ms=150, skip=frozenset({"3", "7"}))
    again = [_contact("3", 150), _contact("9", 150), _contact("7", 150), _contact("1", 151)]
    emit, after = advance(after, again, None)
    assert [c["id"] for c in emit] == ["9", "1"] and after is None


def test_the_tail_timestamp_group_is_tracked_across_pages_of_a_window() -> None:
    """Ids sharing the last timestamp are remembered even when they span two pages."""
    cursor = SearchCursor(start_ms=0)
    _, cursor2 = advance(cursor, [_contact("1", 10), _contact("2", 20)], 2)
    assert cursor2 is not None and (cursor2.tail_ms, cursor2.tail_ids) == (20, frozenset({"2"}))
    _, cursor3 = advance(cursor2, [_contact("5", 20)], RESULT_CAP)
    assert cursor3 == SearchCursor(start_ms=20, skip=frozenset({"2", "5"}))


def test_a_window_stuck_on_one_millisecond_switches_to_reading_it_by_id() -> None:
    """When a whole window shares the start millisecond, that millisecond is read alone
    (``== t``, by ``hs_object_id``), then the scan goes on from ``t + 1``."""
    cursor = SearchCursor(start_ms=50, skip=frozenset({"1"}))
    _, tie = advance(cursor, [_contact("4", 50), _contact("2", 50)], RESULT_CAP)
    assert tie == SearchCursor(start_ms=50, skip=frozenset({"1", "2", "4"}), tie_after=0)
    emit, tie2 = advance(tie, [_contact("1", 50), _contact("2", 50), _contact("8", 50)], RESULT_CAP)
    assert [c["id"] for c in emit] == ["8"]
    assert tie2 is not None and tie2.tie_after == 8 and tie2.offset == 0
    _, done = advance(tie2, [_contact("9", 50)], None)
    assert done == SearchCursor(start_ms=51)


def test_search_cursors_round_trip_and_a_corrupt_one_is_a_config_error() -> None:
    """The resume token encodes every field; garbage asks for --restart."""
    cursor = SearchCursor(7, 400, frozenset({"1", "2"}), 9, frozenset({"3"}), None)
    assert SearchCursor.decode(cursor.encode()) == cursor
    for bad in ("", "{}", "[1]", '{"v": 2}', "not json"):
        with pytest.raises(HubSpotConfigError, match="--restart"):
            SearchCursor.decode(bad)


def test_hubspot_timestamps_parse_to_epoch_milliseconds() -> None:
    """ISO-8601 with milliseconds (and epoch-ms strings) -> epoch ms."""
    assert parse_instant_ms("2024-03-05T10:11:12.345Z") == 1_709_633_472_345
    assert parse_instant_ms("1709633472345") == 1_709_633_472_345
    assert parse_instant_ms(None) is None and parse_instant_ms("soon") is None


# --- against the sandbox ---------------------------------------------------------------------


def test_an_incremental_window_of_more_than_10000_modified_contacts_is_read_completely(
    make_hubspot: Any, hubspot_client: ClientFactory
) -> None:
    """10,500 contacts modified on a 12,000-contact portal: the search is windowed past
    its 10,000 cap and returns every modified contact exactly once, nothing else, with
    companies resolved; the high-water mark is the newest modification."""
    server = make_hubspot(contacts=12_000, seed=11)
    before = server.admin("GET", "contacts")["max_lastmodifieddate"]
    modified = server.admin("POST", "modify", {"count": 10_500})["ids"]
    since = parse_instant_ms(before)
    assert since is not None
    pages = _scan(hubspot_client(server), since + 1, overlap_ms=0)
    got = Counter(_ids(pages))
    assert len(got) == 10_500 and max(got.values()) == 1
    assert set(got) == set(modified)
    newest = max(server.state.contacts[int(i)].modified_ms for i in modified)
    assert max(p.max_modified_ms or 0 for p in pages) == newest
    assert pages[0].total == 10_500 and pages[-1].next_after is None
    rows = rows_of(pages)
    assert rows.filter(pl.col("company_id").is_not_null()).height > 8_000
    searches = server.admin("GET", "counters")["requests"]["POST /crm/v3/objects/contacts/search"]
    assert searches == {"200": len(pages)}  # never paged past the cap (no 400)


def test_a_window_cut_inside_a_group_of_contacts_sharing_one_millisecond_loses_none(
    make_hubspot: Any, hubspot_client: ClientFactory
) -> None:
    """The 10,000th result falls inside a bulk-import group (same lastmodifieddate to the
    ms): the next window re-reads the group and emits each remaining member once."""
    server = make_hubspot(contacts=11_500, seed=4)
    live = _live_by_time(server)
    stamps = [ms for ms, _ in live]
    start = next(
        s
        for s in range(len(live) - RESULT_CAP)
        if (s == 0 or stamps[s - 1] != stamps[s])
        and stamps[s + RESULT_CAP - 2] == stamps[s + RESULT_CAP - 1] == stamps[s + RESULT_CAP]
    )
    pages = _scan(hubspot_client(server), stamps[start], overlap_ms=0)
    got = _ids(pages)
    assert len(got) == len(set(got))
    assert sorted(int(i) for i in got) == sorted(cid for _, cid in live[start:])


def test_overlap_reaches_back_before_the_high_water_mark(
    hubspot_portal: HubSpotServer, hubspot_client: ClientFactory
) -> None:
    """The scan starts ``overlap_ms`` before ``since_ms`` (search lag): exactly the
    contacts modified at or after that instant come back."""
    live = _live_by_time(hubspot_portal)
    since, overlap = live[-150][0], 30 * 24 * 3600 * 1000
    pages = _scan(hubspot_client(hubspot_portal), since, overlap_ms=overlap)
    expected = {cid for ms, cid in live if ms >= since - overlap}
    assert len(expected) > 150
    assert sorted(int(i) for i in _ids(pages)) == sorted(expected)


def test_resuming_a_search_from_a_committed_token_yields_the_rest_exactly_once(
    make_hubspot: Any, hubspot_client: ClientFactory
) -> None:
    """Stopped mid-way (even across a window change) and resumed with the last committed
    token, the scan ends with every contact exactly once."""
    server = make_hubspot(contacts=11_000, seed=9)

    async def head() -> list[ContactPage]:
        async with hubspot_client(server) as client:
            return await collect(search_modified_since(client, 0, overlap_ms=0), limit=52)

    first = run(head())
    token = first[-1].next_after
    assert token is not None and SearchCursor.decode(token).start_ms > 0  # in a later window
    rest = _scan(hubspot_client(server), 0, resume=token)
    got = _ids(first) + _ids(rest)
    assert len(got) == len(set(got))
    assert sorted(int(i) for i in got) == sorted(cid for _, cid in _live_by_time(server))


def test_more_than_10000_contacts_in_one_millisecond_are_still_read_once() -> None:
    """A bulk import of 10,050 contacts stamped with one millisecond cannot be windowed by
    time; the scan reads that millisecond by id and then goes on (emulated search)."""

    def contact(cid: int, ms: int) -> Contact:
        return Contact(cid, {"lastmodifieddate": iso_ms(BASE_MS + ms)}, 0, BASE_MS + ms, False, ())

    contacts = [contact(i, 5) for i in range(1, 10_051)]
    contacts += [contact(20_000 + i, 6 + i) for i in range(30)]
    by_ms = {c.id: c for c in contacts}

    cache: dict[tuple[object, ...], list[Contact]] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/contacts/search"):
            query = parse_search(orjson.loads(request.content))
            key = query.cache_key()
            if key not in cache:
                found = [c for c in by_ms.values() if matches(c, query.groups)]
                cache[key] = ordered(found, query.sort_prop, query.descending)
            hits = cache[key]
            end = min(query.after + query.limit, SANDBOX_CAP, len(hits))
            body: dict[str, Any] = {
                "total": len(hits),
                "results": [
                    render_object(c, ["lastmodifieddate"]) for c in hits[query.after : end]
                ],
            }
            if end < len(hits):
                body["paging"] = {"next": {"after": str(end)}}
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={"status": "COMPLETE", "results": []})  # no associations

    settings = HubSpotSettings(token="pat-na1-test", base_url="http://127.0.0.1:9")
    transport = httpx.MockTransport(handler)
    client = HubSpotClient(settings, clock=FakeClock(), transport=transport)  # pacing: instant
    pages = _scan(client, 0, overlap_ms=0)
    got = Counter(_ids(pages))
    assert len(got) == len(contacts) and max(got.values()) == 1
    assert max(p.max_modified_ms or 0 for p in pages) == BASE_MS + 35
