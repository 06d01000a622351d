"""GET crm/v3/objects/contacts and the v4 association batch read, over HTTP under /hubspot."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.hubspot import HubSpotServer

CONTACTS = "/crm/v3/objects/contacts"
V4_READ = "/crm/v4/associations/contacts/companies/batch/read"


def _all_pages(http: httpx.Client, params: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    response = http.get(CONTACTS, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        results.extend(body["results"])
        if "paging" not in body:
            return results
        response = http.get(body["paging"]["next"]["link"])


def test_paging_to_the_end_returns_every_live_contact_once(hubspot_portal: HubSpotServer) -> None:
    """Following paging links returns each live contact once, by ascending id, then stops."""
    with hubspot_portal.client() as http:
        results = _all_pages(http, {"limit": 100})
    ids = [int(r["id"]) for r in results]
    assert ids == sorted(set(ids))
    assert len(ids) == hubspot_portal.admin("GET", "contacts")["contacts"]
    assert all(r["archived"] is False for r in results)


def test_paging_link_keeps_the_mount_prefix_and_query(hubspot_portal: HubSpotServer) -> None:
    """The next link is an absolute URL under /hubspot carrying limit and after."""
    with hubspot_portal.client() as http:
        body = http.get(CONTACTS, params={"limit": 3, "properties": "email"}).json()
    nxt = body["paging"]["next"]
    link = httpx.URL(nxt["link"])
    assert str(link).startswith(f"{hubspot_portal.base_url}{CONTACTS}?")
    assert link.params["after"] == nxt["after"]
    assert link.params["limit"] == "3"
    assert int(nxt["after"]) > int(body["results"][-1]["id"])


def test_after_cursor_resumes_where_the_previous_page_ended(
    hubspot_portal: HubSpotServer,
) -> None:
    """Requesting with the returned after gives the next contacts, no overlap, no gap."""
    with hubspot_portal.client() as http:
        both = http.get(CONTACTS, params={"limit": 10}).json()["results"]
        first = http.get(CONTACTS, params={"limit": 5}).json()
        second = http.get(
            CONTACTS, params={"limit": 5, "after": first["paging"]["next"]["after"]}
        ).json()
    assert [r["id"] for r in first["results"] + second["results"]] == [r["id"] for r in both]


def test_archived_true_lists_only_archived_contacts(hubspot_portal: HubSpotServer) -> None:
    """archived=true returns exactly the archived contacts; they are absent otherwise."""
    with hubspot_portal.client() as http:
        archived = _all_pages(http, {"limit": 100, "archived": "true"})
    assert len(archived) == hubspot_portal.admin("GET", "contacts")["archived"] > 0
    assert all(r["archived"] is True and "archivedAt" in r for r in archived)


def test_requested_properties_are_returned_as_strings_or_null(
    hubspot_portal: HubSpotServer,
) -> None:
    """Exactly the requested (known) properties come back, unset ones as null."""
    wanted = ["email", "phone", "mobilephone", "company", "jobtitle"]
    with hubspot_portal.client() as http:
        results = http.get(CONTACTS, params={"limit": 100, "properties": ",".join(wanted)}).json()[
            "results"
        ]
    for result in results:
        assert sorted(result["properties"]) == sorted(wanted)
    values = [v for r in results for v in r["properties"].values()]
    assert None in values
    assert all(v is None or isinstance(v, str) for v in values)


def test_default_properties_without_a_properties_parameter(hubspot_portal: HubSpotServer) -> None:
    """Without properties, HubSpot's default set is returned."""
    with hubspot_portal.client() as http:
        result = http.get(CONTACTS, params={"limit": 1}).json()["results"][0]
    assert set(result["properties"]) == {
        "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname",
    }  # fmt: skip


def test_limit_above_100_is_a_validation_error(hubspot_portal: HubSpotServer) -> None:
    """limit must be 1..100; 101 is refused with a VALIDATION_ERROR body."""
    with hubspot_portal.client() as http:
        response = http.get(CONTACTS, params={"limit": 101})
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_embedded_associations_list_the_primary_company_twice(
    hubspot_portal: HubSpotServer,
) -> None:
    """associations=companies embeds entries; a primary company appears labelled and not."""
    with hubspot_portal.client() as http:
        results = http.get(CONTACTS, params={"limit": 100, "associations": "companies"}).json()[
            "results"
        ]
    twice = 0
    for result in results:
        entries = result.get("associations", {}).get("companies", {}).get("results", [])
        labelled = {e["id"] for e in entries if e["type"] == "contact_to_company"}
        unlabelled = {e["id"] for e in entries if e["type"] == "contact_to_company_unlabeled"}
        assert labelled <= unlabelled
        twice += len(labelled)
    assert twice > 0
    assert any("associations" not in r for r in results)  # contacts without a company


def _heavy(server: HubSpotServer) -> dict[str, Any]:
    heavy = server.admin("GET", "contacts")["heavy_associations"]
    return max(heavy, key=lambda h: h["companies"])


def test_embedded_associations_are_cut_at_100_with_their_own_paging(
    hubspot_portal: HubSpotServer,
) -> None:
    """A contact with more than 100 associations embeds 100 and a paging.next.after."""
    heavy = _heavy(hubspot_portal)
    with hubspot_portal.client() as http:
        result = http.get(
            CONTACTS, params={"limit": 1, "after": heavy["id"], "associations": "companies"}
        ).json()["results"][0]
    assert result["id"] == heavy["id"]
    embedded = result["associations"]["companies"]
    assert len(embedded["results"]) == 100
    assert embedded["paging"]["next"]["after"]
    assert heavy["primary_company_id"] not in {e["id"] for e in embedded["results"]}


def _v4_all(http: httpx.Client, contact_id: str, after: str | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        item = {"id": contact_id, **({"after": after} if after else {})}
        response = http.post(V4_READ, json={"inputs": [item]})
        assert response.status_code == 200, response.text
        result = response.json()["results"][0]
        found.extend(result["to"])
        if "paging" not in result:
            return found
        after = result["paging"]["next"]["after"]


def test_v4_batch_read_completes_truncated_associations(hubspot_portal: HubSpotServer) -> None:
    """Embedded 100 + v4 from the embedded cursor cover every company, primary included."""
    heavy = _heavy(hubspot_portal)
    assert heavy["companies"] > 500  # so v4 itself pages too
    with hubspot_portal.client() as http:
        result = http.get(
            CONTACTS, params={"limit": 1, "after": heavy["id"], "associations": "companies"}
        ).json()["results"][0]
        embedded = result["associations"]["companies"]
        rest = _v4_all(http, heavy["id"], embedded["paging"]["next"]["after"])
        everything = _v4_all(http, heavy["id"], None)
    seen = {e["id"] for e in embedded["results"]} | {str(t["toObjectId"]) for t in rest}
    assert len(seen) == heavy["companies"] == len(everything)
    primary = [t for t in everything if any(a["typeId"] == 1 for a in t["associationTypes"])]
    assert [str(t["toObjectId"]) for t in primary] == [heavy["primary_company_id"]]
    assert primary[0]["associationTypes"][0]["typeId"] == 279  # unlabelled listed first


def test_v4_to_object_id_is_sometimes_a_number_sometimes_a_string(
    hubspot_portal: HubSpotServer,
) -> None:
    """Parsers must accept both forms of toObjectId."""
    with hubspot_portal.client() as http:
        everything = _v4_all(http, _heavy(hubspot_portal)["id"], None)
    kinds = {type(t["toObjectId"]) for t in everything}
    assert kinds == {int, str}


def test_v4_reports_contacts_without_associations_as_207_errors(
    hubspot_portal: HubSpotServer,
) -> None:
    """Unknown contacts (or ones without companies) come back as errors in a 207."""
    heavy = _heavy(hubspot_portal)
    with hubspot_portal.client() as http:
        response = http.post(V4_READ, json={"inputs": [{"id": heavy["id"]}, {"id": "999"}]})
    assert response.status_code == 207
    body = response.json()
    assert [r["from"]["id"] for r in body["results"]] == [heavy["id"]]
    assert body["numErrors"] == 1
    assert body["errors"][0]["context"] == {"fromObjectId": ["999"]}


def test_v4_refuses_more_than_1000_inputs(hubspot_portal: HubSpotServer) -> None:
    """At most 1,000 inputs per v4 batch read; 1,001 is a 400, 1,000 is served."""
    ids = [str(i) for i in sorted(hubspot_portal.state.contacts)[:1001]]
    with hubspot_portal.client() as http:
        too_many = http.post(V4_READ, json={"inputs": [{"id": i} for i in ids]})
        allowed = http.post(V4_READ, json={"inputs": [{"id": i} for i in ids[:1000]]})
    assert too_many.status_code == 400
    assert too_many.json()["category"] == "VALIDATION_ERROR"
    assert allowed.status_code in (200, 207)
    body = allowed.json()
    assert len(body["results"]) + body.get("numErrors", 0) == 1000


def test_v4_garbage_paging_token_is_a_validation_error(hubspot_portal: HubSpotServer) -> None:
    """An after token the server never issued is refused, not silently reset."""
    heavy = _heavy(hubspot_portal)
    with hubspot_portal.client() as http:
        response = http.post(V4_READ, json={"inputs": [{"id": heavy["id"], "after": "%%%"}]})
    assert response.status_code == 400
