"""Sandbox clients: CRUD, slug generation, get by id or slug, the purge timeout."""

from __future__ import annotations

import pytest


@pytest.fixture
def demo(sandbox):
    return sandbox.http(sandbox.demo)


def _create(http, name: str, **extra) -> dict:
    response = http.post("/api/clients", json={"clientName": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()["client"]


def test_create_client_returns_uuid_id_slug_and_owner(sandbox, demo):
    """POST /api/clients -> 201 with id, client_id slug, owner and company_id set."""
    client = _create(demo, "Acme Corp", companyURL="https://acme.test", description="d")
    assert len(client["id"]) == 36
    assert client["client_id"] == "acme-corp"
    assert client["clientName"] == "Acme Corp"
    assert client["companyURL"] == "https://acme.test"
    assert client["description"] == "d"
    assert client["owner"] == sandbox.demo.user_id
    assert client["company_id"] == sandbox.demo.company_id


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("  ACME  Corp, Inc.  ", "acme-corp-inc"),
        ("Société Générale", "soci-t-g-n-rale"),
        ("a--b__c", "a-b-c"),
        ("!!!", "client"),
    ],
)
def test_slug_is_lowercase_with_non_alphanumerics_collapsed_to_dashes(demo, name, slug):
    """Slug = lowercase, runs of non [a-z0-9] become one "-", trimmed."""
    assert _create(demo, name)["client_id"] == slug


def test_duplicate_names_get_numbered_slugs_within_a_company(sandbox, demo):
    """Same name twice -> acme, acme-2, acme-3; another company starts again at acme."""
    slugs = [_create(demo, "Acme")["client_id"] for _ in range(3)]
    assert slugs == ["acme", "acme-2", "acme-3"]
    assert _create(sandbox.http(sandbox.other), "Acme")["client_id"] == "acme"


def test_create_client_without_name_is_400(demo):
    """clientName is required."""
    response = demo.post("/api/clients", json={"companyURL": "x"})
    assert response.status_code == 400
    assert response.json()["errorType"] == "missing_required_field"


def test_list_clients_and_get_one_by_id_or_slug(demo):
    """GET lists all; ?clientId= accepts the UUID or the slug and returns that client."""
    a, b = _create(demo, "Alpha"), _create(demo, "Beta")
    listed = demo.get("/api/clients").json()
    assert listed["success"] is True
    assert [c["id"] for c in listed["clients"]] == [a["id"], b["id"]]
    for ref in (b["id"], b["client_id"]):
        one = demo.get("/api/clients", params={"clientId": ref})
        assert one.status_code == 200
        assert one.json()["client"]["id"] == b["id"]
    missing = demo.get("/api/clients", params={"clientId": "nope"})
    assert missing.status_code == 404
    assert missing.json()["errorType"] == "not_found"


def test_update_client_changes_fields_but_keeps_the_slug(demo):
    """PUT {id, clientName} renames; the slug used by leads does not change."""
    client = _create(demo, "Old Name")
    response = demo.put(
        "/api/clients", json={"id": client["id"], "clientName": "New Name", "description": "x"}
    )
    assert response.status_code == 200, response.text
    updated = response.json()["client"]
    assert updated["clientName"] == "New Name"
    assert updated["description"] == "x"
    assert updated["client_id"] == "old-name"


def test_update_unknown_client_is_404_and_missing_id_is_400(demo):
    """PUT needs an id of an existing client."""
    assert demo.put("/api/clients", json={"clientName": "x"}).status_code == 400
    assert demo.put("/api/clients", json={"id": "nope", "clientName": "x"}).status_code == 404


def test_delete_client_removes_it(demo):
    """DELETE ?id= -> 200, then the client is gone."""
    client = _create(demo, "Gone")
    assert demo.delete("/api/clients", params={"id": client["id"]}).status_code == 200
    assert demo.get("/api/clients", params={"clientId": client["id"]}).status_code == 404
    assert demo.delete("/api/clients", params={"id": client["id"]}).status_code == 404
    assert demo.delete("/api/clients").status_code == 400


def test_delete_with_purge_removes_the_clients_leads(sandbox, demo):
    """purge=true deletes the leads stored under the slug and under the UUID."""
    client = _create(demo, "Small")
    for i in range(3):
        demo.post("/api/leads", json={"client_id": "small", "email": f"p{i}@x.io"})
    demo.post("/api/leads", json={"client_id": client["id"], "email": "uuid@x.io"})
    response = demo.delete("/api/clients", params={"id": client["id"], "purge": "true"})
    assert response.status_code == 200, response.text
    assert response.json()["leadsDeleted"] == 4
    assert sandbox.admin.leads("small") == []
    assert sandbox.admin.leads(client["id"]) == []


def test_purge_of_a_client_with_more_than_1000_leads_times_out_with_504(sandbox, demo):
    """Purge above 1,000 leads -> 504 and nothing is deleted; 1,000 exactly still works."""
    big = _create(demo, "Big")
    leads = [{"client_id": "big", "email": f"p{i}@x.io"} for i in range(1001)]
    sandbox.admin.set_config(batch_persist="always")
    assert demo.post("/api/leads", json={"leads": leads}).json()["created"] == 1001
    response = demo.delete("/api/clients", params={"id": big["id"], "purge": "true"})
    assert response.status_code == 504
    assert len(sandbox.admin.leads("big")) == 1001
    assert demo.get("/api/clients", params={"clientId": "big"}).status_code == 200
    first = sandbox.admin.leads("big")[0]["id"]
    assert demo.delete("/api/leads", params={"id": first}).status_code == 200
    response = demo.delete("/api/clients", params={"id": big["id"], "purge": "true"})
    assert response.status_code == 200
    assert response.json()["leadsDeleted"] == 1000
