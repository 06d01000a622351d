"""Sandbox bulk extraction: enrich-leads/list and source-leads/list over synthetic data."""

from __future__ import annotations

import re
import tracemalloc

import pytest

from etl.sandbox import SandboxConfig, create_app
from etl.sandbox.synthetic import LATE_2

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def synth(make_sandbox):
    return make_sandbox(synthetic_leads=1000, seed=9)


def _pages(http, route: str, **params) -> list[dict]:
    pages, token = [], None
    while True:
        query = {**params, **({"nextToken": token} if token else {})}
        response = http.get(route, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True
        assert body["count"] == len(body["items"])
        pages.append(body)
        token = body["nextToken"]
        if token is None:
            return pages
        assert len(pages) < 1000, "pagination does not end"


def _items(http, route: str = "/api/enrich-leads/list", **params) -> list[dict]:
    return [item for page in _pages(http, route, **params) for item in page["items"]]


def test_synthetic_records_belong_to_four_seeded_clients_of_the_demo_company(synth):
    """The seeded clients are listed by /api/clients; true counts add up to N."""
    info = synth.admin.synthetic()
    assert info["total"] == 1000
    assert info["company_id"] == synth.demo.company_id
    assert sum(info["clients"].values()) == 1000
    assert len(info["clients"]) == 4
    listed = synth.http(synth.demo).get("/api/clients").json()["clients"]
    assert {c["client_id"] for c in listed} == set(info["clients"])


def test_export_of_all_pages_through_every_record_once(synth):
    """limit=300 over 1,000 records: 4 pages, unique ids, nextToken null at the end."""
    http = synth.http(synth.demo, api_key=True)
    pages = _pages(http, "/api/enrich-leads/list", companyId=synth.demo.company_id, limit=300)
    assert [p["count"] for p in pages] == [300, 300, 300, 100]
    ids = [item["id"] for page in pages for item in page["items"]]
    assert len(set(ids)) == 1000
    for client in ("ALL", "DEFAULT", ""):
        again = _items(http, companyId=synth.demo.company_id, clientId=client, limit=5000)
        assert [item["id"] for item in again] == ids


def test_export_of_one_client_matches_its_true_count(synth):
    """clientId filters to one client; the count equals the admin's true count."""
    http = synth.http(synth.demo)
    counts = synth.admin.synthetic()["clients"]
    for slug, expected in counts.items():
        items = _items(http, companyId=synth.demo.company_id, clientId=slug, limit=70)
        assert len(items) == expected
        assert {item["client_id"] for item in items} == {slug}
        assert len({item["id"] for item in items}) == expected


def test_default_limit_is_1000_and_max_is_5000(make_sandbox):
    """Without limit a page holds 1,000 records; limit above 5,000 is a 400."""
    handle = make_sandbox(synthetic_leads=6000)
    http = handle.http(handle.demo)
    company = handle.demo.company_id
    first = http.get("/api/enrich-leads/list", params={"companyId": company}).json()
    assert first["count"] == 1000
    big = http.get("/api/enrich-leads/list", params={"companyId": company, "limit": 5000}).json()
    assert big["count"] == 5000
    bad = http.get("/api/enrich-leads/list", params={"companyId": company, "limit": 5001})
    assert bad.status_code == 400


def test_records_are_wide_sparse_and_drifting(synth):
    """100-ish possible fields, few per record, late-only fields, scores as str and int."""
    items = _items(synth.http(synth.demo), companyId=synth.demo.company_id, limit=5000)
    keys = set().union(*items)
    assert len(keys) >= 80
    assert sum(len(item) for item in items) / len(items) < 25
    first_third, last_third = items[:300], items[-300:]
    assert not any(set(item) & LATE_2 for item in first_third)
    assert any(set(item) & LATE_2 for item in last_third)
    score_types = {
        type(item[k]) for item in items for k in ("aiLeadScore", "leadScore") if k in item
    }
    assert score_types == {str, int}
    assert any(isinstance(item.get("technologies"), list) for item in items)
    assert any(isinstance(item.get("totalFunding"), dict) for item in items)
    assert all(ISO.match(item["createdAt"]) and ISO.match(item["updatedAt"]) for item in items)


def test_records_are_deterministic_from_the_seed(make_sandbox):
    """Same seed -> same records; another seed -> other records."""
    firsts = []
    for seed in (1, 1, 2):
        handle = make_sandbox(synthetic_leads=50, seed=seed)
        http = handle.http(handle.demo)
        firsts.append(_items(http, companyId=handle.demo.company_id))
    assert firsts[0] == firsts[1]
    assert firsts[0] != firsts[2]


def test_fields_projection_keeps_id_and_the_requested_fields(synth):
    """fields=email,aiLeadScore -> only id plus those fields (when present)."""
    items = _items(
        synth.http(synth.demo), companyId=synth.demo.company_id, fields="email, aiLeadScore"
    )
    assert len(items) == 1000
    assert set().union(*items) == {"id", "email", "aiLeadScore"}
    assert all("id" in item for item in items)


def test_stored_leads_follow_the_synthetic_records(synth):
    """Really stored leads of the company are exported after the synthetic ones."""
    http = synth.http(synth.demo)
    http.post("/api/clients", json={"clientName": "Real"})
    lead = http.post("/api/leads", json={"client_id": "real", "email": "r@x.io"}).json()["lead"]
    alpha = http.post(
        "/api/leads", json={"client_id": "synthetic-alpha", "email": "a@x.io"}
    ).json()["lead"]
    company = synth.demo.company_id
    everything = _items(http, companyId=company, limit=999)
    assert len(everything) == 1002
    assert [item["id"] for item in everything[-2:]] == [lead["id"], alpha["id"]]
    real = _items(http, companyId=company, clientId="real")
    assert [item["id"] for item in real] == [lead["id"]]
    in_alpha = _items(http, companyId=company, clientId="synthetic-alpha", limit=400)
    assert len(in_alpha) == synth.admin.synthetic()["clients"]["synthetic-alpha"] + 1
    assert in_alpha[-1]["id"] == alpha["id"]


def test_source_leads_list_serves_its_own_records_without_stored_leads(synth):
    """source-leads: same paging contract, other ids, no stored enrich leads."""
    http = synth.http(synth.demo)
    http.post("/api/clients", json={"clientName": "Real"})
    http.post("/api/leads", json={"client_id": "real", "email": "r@x.io"})
    company = synth.demo.company_id
    sources = _items(http, "/api/source-leads/list", companyId=company, limit=400)
    enrich = _items(http, companyId=company, limit=400)
    assert len(sources) == 1000
    assert not {s["id"] for s in sources} & {e["id"] for e in enrich}


def test_bulk_list_parameter_errors(synth):
    """companyId required (400), another company's is 404, bad clientId 404, bad token 400."""
    demo, other = synth.http(synth.demo), synth.http(synth.other, api_key=True)
    company = synth.demo.company_id
    route = "/api/enrich-leads/list"
    assert demo.get(route).status_code == 400
    assert other.get(route, params={"companyId": company}).status_code == 404
    mine = other.get(route, params={"companyId": synth.other.company_id}).json()
    assert mine["items"] == []
    assert mine["nextToken"] is None
    assert demo.get(route, params={"companyId": company, "clientId": "nope"}).status_code == 404
    assert demo.get(route, params={"companyId": company, "nextToken": "zzz"}).status_code == 400
    token = demo.get(route, params={"companyId": company, "limit": 10}).json()["nextToken"]
    wrong_scope = demo.get(
        route, params={"companyId": company, "clientId": "synthetic-beta", "nextToken": token}
    )
    assert wrong_scope.status_code == 400


def test_a_million_synthetic_records_cost_little_memory():
    """Records are generated lazily: N=1,000,000 allocates almost nothing up front."""
    tracemalloc.start()
    try:
        app = create_app(SandboxConfig(synthetic_leads=1_000_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
    catalog = app.state.sandbox.synthetic
    assert catalog.record("enrich", 999_999) == catalog.record("enrich", 999_999)
    assert len(catalog.page("enrich", None, 999_990, 100, None)) == 10
    assert catalog.count(None) == 1_000_000
