"""Sandbox-only routes: modify, create, summary; and mounting under a prefix."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.hubspot import HubSpotServer

CONTACTS = "/crm/v3/objects/contacts"


def _get_contact(server: HubSpotServer, contact_id: str, props: str) -> dict[str, Any]:
    with server.client() as http:
        response = http.get(CONTACTS, params={"after": contact_id, "limit": 1, "properties": props})
    result = response.json()["results"][0]
    assert result["id"] == contact_id
    return result


def test_modify_by_ids_sets_properties_and_bumps_lastmodifieddate(make_hubspot: Any) -> None:
    """The given properties change and lastmodifieddate moves past the seeded maximum."""
    server = make_hubspot(contacts=50, seed=1)
    target = str(next(c.id for c in server.state.contacts.values() if not c.archived))
    mark = server.admin("GET", "contacts")["max_lastmodifieddate"]
    done = server.admin(
        "POST",
        "modify",
        {"ids": [target], "properties": {"phone": "+1 555 0000", "jobtitle": None}},
    )
    assert done == {"ids": [target], "modified": 1}
    result = _get_contact(server, target, "phone,jobtitle,lastmodifieddate")
    assert result["properties"]["phone"] == "+1 555 0000"
    assert result["properties"]["jobtitle"] is None
    assert result["properties"]["lastmodifieddate"] > mark
    assert result["updatedAt"] == result["properties"]["lastmodifieddate"]


def test_modify_by_count_changes_the_jobtitle_of_contacts_with_email(make_hubspot: Any) -> None:
    """count=N picks N live contacts that have an email and gives each a new jobtitle."""
    server = make_hubspot(contacts=200, seed=2)
    before = {cid: dict(c.properties) for cid, c in server.state.contacts.items()}
    done = server.admin("POST", "modify", {"count": 25})["ids"]
    assert len(set(done)) == 25
    for contact_id in done:
        contact = server.state.contacts[int(contact_id)]
        assert contact.properties["email"] and not contact.archived
        assert contact.properties["jobtitle"] != before[int(contact_id)]["jobtitle"]
    untouched = set(server.state.contacts) - {int(i) for i in done}
    assert all(server.state.contacts[i].properties == before[i] for i in untouched)


def test_modify_refuses_unknown_ids_and_bad_bodies(make_hubspot: Any) -> None:
    """Unknown ids are 404; ids with count, read-only properties and huge counts are 400."""
    server = make_hubspot(contacts=20, seed=3)
    some_id = str(next(iter(server.state.contacts)))
    with httpx.Client(base_url=f"{server.base_url}/_sandbox") as http:
        unknown = http.post("/modify", json={"ids": ["1"]})
        both = http.post("/modify", json={"ids": [some_id], "count": 1})
        read_only = http.post(
            "/modify", json={"ids": [some_id], "properties": {"lastmodifieddate": "x"}}
        )
        huge = http.post("/modify", json={"count": 10_000})
    assert unknown.status_code == 404
    assert unknown.json()["context"] == {"ids": ["1"]}
    assert [both.status_code, read_only.status_code, huge.status_code] == [400, 400, 400]


def test_sandbox_routes_need_no_token(make_hubspot: Any) -> None:
    """Admin routes are open (sandbox only) and live under the mount prefix."""
    server = make_hubspot(contacts=5)
    response = httpx.get(f"{server.base_url}/_sandbox/contacts")
    assert response.status_code == 200
    assert response.json()["contacts"] + response.json()["archived"] == 5


def test_unknown_route_is_a_json_404(hubspot_portal: HubSpotServer) -> None:
    """A path the emulation does not know answers HubSpot-style JSON, not HTML."""
    with hubspot_portal.client() as http:
        response = http.get("/crm/v3/objects/deals")
    assert response.status_code == 404
    assert response.json()["status"] == "error"
