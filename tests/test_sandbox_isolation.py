"""Sandbox multi-tenancy: a company never sees another company's clients or leads."""

from __future__ import annotations


def test_other_company_cannot_see_or_touch_demo_clients_and_leads(sandbox):
    """Every route answers 404 (or an empty list) for another company's records."""
    demo, other = sandbox.http(sandbox.demo), sandbox.http(sandbox.other, api_key=True)
    client = demo.post("/api/clients", json={"clientName": "Secret"}).json()["client"]
    lead = demo.post("/api/leads", json={"client_id": "secret", "email": "s@x.io"}).json()["lead"]

    assert other.get("/api/clients").json()["clients"] == []
    assert other.get("/api/clients", params={"clientId": client["id"]}).status_code == 404
    assert other.get("/api/clients", params={"clientId": "secret"}).status_code == 404
    assert (
        other.put("/api/clients", json={"id": client["id"], "clientName": "x"}).status_code == 404
    )
    assert other.delete("/api/clients", params={"id": client["id"]}).status_code == 404
    assert other.get("/api/leads", params={"client_id": "secret"}).status_code == 404
    assert (
        other.post("/api/leads", json={"client_id": "secret", "email": "x@x.io"}).status_code == 404
    )
    assert other.put("/api/leads", json={"id": lead["id"], "title": "x"}).status_code == 404
    assert other.delete("/api/leads", params={"id": lead["id"]}).status_code == 404
    assert other.request("DELETE", "/api/leads", json={"ids": [lead["id"]]}).json()["deleted"] == 0
    assert other.get("/api/find-lead", params={"email": "s@x.io"}).json()["leads"] == []
    listed = other.get("/api/enrich-leads/list", params={"companyId": sandbox.demo.company_id})
    assert listed.status_code == 404
    # nothing changed for the owner
    assert (
        demo.get("/api/leads", params={"client_id": "secret"}).json()["leads"][0]["id"]
        == lead["id"]
    )
    assert demo.get("/api/clients").json()["clients"][0]["clientName"] == "Secret"


def test_the_same_slug_in_two_companies_holds_separate_leads(sandbox):
    """Both companies can own an "acme" client; their leads never mix."""
    demo, other = sandbox.http(sandbox.demo), sandbox.http(sandbox.other)
    for http, email in ((demo, "d@x.io"), (other, "o@x.io")):
        http.post("/api/clients", json={"clientName": "Acme"})
        http.post("/api/leads", json={"client_id": "acme", "email": email})
    for http, email in ((demo, "d@x.io"), (other, "o@x.io")):
        leads = http.get("/api/leads", params={"client_id": "acme"}).json()["leads"]
        assert [lead["email"] for lead in leads] == [email]
    assert len(sandbox.admin.leads("acme")) == 2
