"""POST crm/v3/objects/contacts/search: filters, sorting, paging, the 10,000 cap, lag."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from etl.clock import FakeClock
from etl.sandbox.hubspot.records import iso_ms
from etl.sandbox.hubspot.search import parse_search
from etl.sandbox.hubspot.wire import ApiError
from tests.fixtures.hubspot import HubSpotServer

SEARCH = "/crm/v3/objects/contacts/search"


def _by_modified(prop_filter: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", **prop_filter}]}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "limit": 200,
        **extra,
    }


def _search_all(http: httpx.Client, body: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    results: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        response = http.post(SEARCH, json={**body, **({"after": after} if after else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        results.extend(page["results"])
        if "paging" not in page:
            return page["total"], results
        after = page["paging"]["next"]["after"]


def _live_modified(server: HubSpotServer) -> list[tuple[int, int]]:
    return sorted((c.modified_ms, c.id) for c in server.state.contacts.values() if not c.archived)


def test_gte_filter_with_epoch_ms_returns_exactly_the_later_contacts(
    hubspot_portal: HubSpotServer,
) -> None:
    """GTE keeps every live contact modified at or after the value, sorted ascending."""
    live = _live_modified(hubspot_portal)
    threshold = live[len(live) * 3 // 4][0]
    expected = [cid for ms, cid in live if ms >= threshold]
    with hubspot_portal.client() as http:
        total, results = _search_all(http, _by_modified({"operator": "GTE", "value": threshold}))
    assert total == len(expected) == len(results)
    assert [int(r["id"]) for r in results] == expected  # ascending, ties by ascending id


def test_iso_and_epoch_filter_values_are_equivalent(hubspot_portal: HubSpotServer) -> None:
    """A filter value in ISO-8601 selects the same contacts as the same instant in ms."""
    live = _live_modified(hubspot_portal)
    threshold = live[100][0]
    expected = sum(1 for ms, _ in live if ms < threshold)
    with hubspot_portal.client() as http:
        by_ms = http.post(SEARCH, json=_by_modified({"operator": "LT", "value": str(threshold)}))
        by_iso = http.post(
            SEARCH, json=_by_modified({"operator": "LT", "value": iso_ms(threshold)})
        )
    assert by_ms.json()["total"] == by_iso.json()["total"] == expected > 90


def test_strict_and_inclusive_bounds_differ_at_an_exact_timestamp(
    hubspot_portal: HubSpotServer,
) -> None:
    """GT/LT exclude a contact modified exactly at the value; GTE/LTE include it."""
    live = _live_modified(hubspot_portal)
    ms = live[len(live) // 2][0]
    at = sum(1 for m, _ in live if m == ms)
    totals = {}
    with hubspot_portal.client() as http:
        for op in ("GT", "GTE", "LT", "LTE"):
            response = http.post(SEARCH, json=_by_modified({"operator": op, "value": ms}))
            totals[op] = response.json()["total"]
    assert totals["GTE"] - totals["GT"] == at
    assert totals["LTE"] - totals["LT"] == at
    assert totals["GT"] + totals["LTE"] == len(live)


def test_between_is_inclusive_at_both_ends(hubspot_portal: HubSpotServer) -> None:
    """BETWEEN value..highValue keeps contacts modified at either bound."""
    live = _live_modified(hubspot_portal)
    low, high = live[500][0], live[900][0]
    expected = sum(1 for m, _ in live if low <= m <= high)
    with hubspot_portal.client() as http:
        body = _by_modified({"operator": "BETWEEN", "value": low, "highValue": iso_ms(high)})
        assert http.post(SEARCH, json=body).json()["total"] == expected >= 401


def test_descending_sort_breaks_ties_by_ascending_id(hubspot_portal: HubSpotServer) -> None:
    """DESCENDING orders by lastmodifieddate newest first; equal instants by ascending id."""
    live = _live_modified(hubspot_portal)
    expected = [cid for _, cid in sorted(live, key=lambda p: (-p[0], p[1]))][:200]
    with hubspot_portal.client() as http:
        body = {"sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}]}
        results = http.post(SEARCH, json={**body, "limit": 200}).json()["results"]
    assert [int(r["id"]) for r in results] == expected


def test_filter_groups_are_ored(hubspot_portal: HubSpotServer) -> None:
    """Two groups match contacts matching either group."""
    live = _live_modified(hubspot_portal)
    low, high = live[10][0], live[-10][0]
    expected = sum(1 for m, _ in live if m < low or m > high)
    groups = [
        {"filters": [{"propertyName": "lastmodifieddate", "operator": "LT", "value": low}]},
        {"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": high}]},
    ]
    with hubspot_portal.client() as http:
        assert http.post(SEARCH, json={"filterGroups": groups}).json()["total"] == expected


def test_search_results_carry_the_requested_and_the_always_returned_properties(
    hubspot_portal: HubSpotServer,
) -> None:
    """properties=[email] also returns createdate, hs_object_id and lastmodifieddate."""
    with hubspot_portal.client() as http:
        result = http.post(SEARCH, json={"properties": ["email"], "limit": 1}).json()["results"][0]
    assert set(result["properties"]) == {"email", "createdate", "hs_object_id", "lastmodifieddate"}


def test_search_never_returns_archived_contacts(hubspot_portal: HubSpotServer) -> None:
    """The total of an unfiltered search is the number of live contacts."""
    with hubspot_portal.client() as http:
        total = http.post(SEARCH, json={"limit": 1}).json()["total"]
    assert total == hubspot_portal.admin("GET", "contacts")["contacts"]


def test_search_limit_above_200_is_a_validation_error(hubspot_portal: HubSpotServer) -> None:
    """limit is 1..200 on search."""
    with hubspot_portal.client() as http:
        response = http.post(SEARCH, json={"limit": 201})
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def _one_filter(**fields: Any) -> dict[str, Any]:
    return {"filterGroups": [{"filters": [fields]}]}


@pytest.mark.parametrize(
    "body",
    [
        _one_filter(propertyName="lastmodifieddate", operator="NEAR", value="1"),
        _one_filter(propertyName="lastmodifieddate", operator="GT"),
        _one_filter(propertyName="createdate", operator="GT", value="soon"),
        _one_filter(propertyName="lastmodifieddate", operator="BETWEEN", value="1"),
        {"sorts": [{"propertyName": "lastmodifieddate", "direction": "UP"}]},
        {"after": "x"},
        {"filterGroups": [{"filters": []}] * 6},
    ],
)
def test_malformed_search_bodies_are_validation_errors(body: dict[str, Any]) -> None:
    """Unknown operators, missing values, bad dates, bad directions and too many groups."""
    with pytest.raises(ApiError) as caught:
        parse_search(body)
    assert caught.value.status == 400


def test_search_caps_at_10000_results(make_hubspot: Any) -> None:
    """Paging stops at 10,000: the last page points at after=10000, which is a 400."""
    server = make_hubspot(contacts=10_600, seed=2)
    with server.client() as http:
        last = http.post(SEARCH, json={"limit": 200, "after": "9800"}).json()
        beyond = http.post(SEARCH, json={"limit": 200, "after": last["paging"]["next"]["after"]})
        below = http.post(SEARCH, json={"limit": 200, "after": "9999"})
    assert last["total"] > 10_000
    assert len(last["results"]) == 200
    assert last["paging"]["next"]["after"] == "10000"
    assert beyond.status_code == 400
    assert beyond.json()["category"] == "VALIDATION_ERROR"
    assert below.status_code == 200 and len(below.json()["results"]) == 1


def test_modified_contacts_are_found_by_a_lastmodifieddate_search(make_hubspot: Any) -> None:
    """After _sandbox/modify, searching from the old high-water mark finds exactly them."""
    server = make_hubspot(contacts=300, seed=3)
    mark = server.admin("GET", "contacts")["max_lastmodifieddate"]
    done = server.admin("POST", "modify", {"count": 7})["ids"]
    with server.client() as http:
        total, results = _search_all(
            http, _by_modified({"operator": "GT", "value": mark}, properties=["jobtitle"])
        )
    assert total == 7
    assert [r["id"] for r in results] == done
    assert all("(rev 1)" in str(r["properties"]["jobtitle"]) for r in results)


def test_changes_reach_search_only_after_the_lag(make_hubspot: Any, fake_clock: FakeClock) -> None:
    """With search_lag_ms, the list shows a change at once but search only after the lag."""
    server = make_hubspot(contacts=100, seed=4, search_lag_ms=5_000, clock=fake_clock)
    mark = server.admin("GET", "contacts")["max_lastmodifieddate"]
    contact_id = server.admin("POST", "modify", {"count": 1})["ids"][0]
    query = _by_modified({"operator": "GT", "value": mark})
    with server.client() as http:
        listed = http.get(
            "/crm/v3/objects/contacts", params={"after": contact_id, "limit": 1}
        ).json()["results"][0]
        before = http.post(SEARCH, json=query).json()["total"]
        fake_clock.advance(4.9)
        almost = http.post(SEARCH, json=query).json()["total"]
        fake_clock.advance(0.2)
        after = http.post(SEARCH, json=query).json()
    assert listed["properties"]["lastmodifieddate"] > mark
    assert (before, almost, after["total"]) == (0, 0, 1)
    assert after["results"][0]["id"] == contact_id


def test_bulk_modification_gives_distinct_increasing_timestamps(make_hubspot: Any) -> None:
    """Each modified contact gets its own millisecond, so time windows can split a bulk."""
    server = make_hubspot(contacts=600, seed=5)
    done = server.admin("POST", "modify", {"count": 400})["ids"]
    stamps = [server.state.contacts[int(i)].modified_ms for i in done]
    assert stamps == sorted(set(stamps))


def test_created_contacts_appear_in_list_and_search(make_hubspot: Any) -> None:
    """_sandbox/create adds live contacts with an email that both list and search return."""
    server = make_hubspot(contacts=40, seed=6)
    before = server.admin("GET", "contacts")
    made = server.admin("POST", "create", {"count": 3})["ids"]
    with server.client() as http:
        query = _by_modified({"operator": "GT", "value": before["max_lastmodifieddate"]})
        total, results = _search_all(http, {**query, "properties": ["email"]})
        listed = http.get(
            "/crm/v3/objects/contacts", params={"after": made[0], "properties": "email"}
        ).json()["results"]
    assert total == 3 and [r["id"] for r in results] == made
    assert all(r["properties"]["email"] for r in results)
    assert [r["id"] for r in listed] == made
    assert server.admin("GET", "contacts")["with_email"] == before["with_email"] + 3
