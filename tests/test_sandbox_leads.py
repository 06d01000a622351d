"""Sandbox leads: create/list/update/delete (single and batch), find-lead, pagination."""

from __future__ import annotations

import pytest


@pytest.fixture
def demo(sandbox):
    http = sandbox.http(sandbox.demo)
    response = http.post("/api/clients", json={"clientName": "Acme"})
    assert response.status_code == 201
    http.client_uuid = response.json()["client"]["id"]
    return http


def _post(http, **lead) -> dict:
    response = http.post("/api/leads", json={"client_id": "acme", **lead})
    assert response.status_code == 201, response.text
    return response.json()["lead"]


def _list(http, **params) -> dict:
    response = http.get("/api/leads", params={"client_id": "acme", **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_single_post_stores_the_lead_with_server_fields(sandbox, demo):
    """POST one lead -> 201 {"success", "lead"} with id, owner, company_id, timestamps."""
    lead = _post(demo, firstName="Ada", lastName="Lovelace", email="ada@x.io", phoneNumber="1")
    assert lead["id"]
    assert lead["owner"] == sandbox.demo.user_id
    assert lead["company_id"] == sandbox.demo.company_id
    assert lead["client_id"] == "acme"
    assert lead["createdAt"].endswith("Z")
    assert lead["phoneNumber"] == "1"
    assert [s["id"] for s in sandbox.admin.leads("acme")] == [lead["id"]]


def test_server_fields_in_the_payload_are_ignored(demo):
    """owner/company_id/id sent by the client never override the server's values."""
    lead = _post(demo, email="a@x.io", owner="someone", company_id="c", id="mine")
    assert lead["owner"] != "someone"
    assert lead["company_id"] != "c"
    assert lead["id"] != "mine"


def test_post_without_client_id_is_400_and_unknown_client_is_404(demo):
    """client_id is required; a slug/UUID not of the caller's company is 404 not_found."""
    missing = demo.post("/api/leads", json={"email": "a@x.io"})
    assert missing.status_code == 400
    assert missing.json()["errorType"] == "missing_required_field"
    unknown = demo.post("/api/leads", json={"client_id": "nope", "email": "a@x.io"})
    assert unknown.status_code == 404
    assert unknown.json()["errorType"] == "not_found"


def test_bug1_lead_posted_with_the_client_uuid_is_stored_but_invisible_under_the_slug(
    sandbox, demo
):
    """201 with the UUID as client_id; never listed/found under the slug; admin sees it."""
    lead = _post(demo, client_id=demo.client_uuid, email="ghost@x.io")
    assert lead["client_id"] == demo.client_uuid
    assert _list(demo)["leads"] == []
    found = demo.get("/api/find-lead", params={"email": "ghost@x.io", "client_id": "acme"})
    assert found.json()["leads"] == []
    assert [s["id"] for s in sandbox.admin.leads(demo.client_uuid)] == [lead["id"]]
    assert sandbox.admin.leads("acme") == []


def test_bug2_batch_post_answers_201_with_the_count_but_persists_nothing(sandbox, demo):
    """{"leads": [...]} -> 201 created=N, yet nothing is stored (batch_persist=never)."""
    batch = [{"client_id": "acme", "email": f"b{i}@x.io"} for i in range(3)]
    response = demo.post("/api/leads", json={"leads": batch})
    assert response.status_code == 201
    assert response.json() == {"success": True, "created": 3, "skipped": []}
    assert _list(demo)["leads"] == []
    assert sandbox.admin.leads("acme") == []


def test_batch_post_persists_when_batch_persist_is_always(sandbox, demo):
    """The --batch-persist always switch makes batch creates real."""
    sandbox.admin.set_config(batch_persist="always")
    batch = [{"client_id": "acme", "email": f"b{i}@x.io"} for i in range(3)]
    batch.append({"client_id": "acme", "phone": "1"})
    body = demo.post("/api/leads", json={"leads": batch}).json()
    assert body["created"] == 3
    assert body["skipped"][0]["index"] == 3
    assert body["skipped"][0]["status"] == 500
    assert sorted(lead["email"] for lead in _list(demo)["leads"]) == [
        "b0@x.io",
        "b1@x.io",
        "b2@x.io",
    ]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"phone": "555"}, 500),  # bug 3
        ({"firstName": ""}, 500),  # bug 4
        ({"lastName": "."}, 500),  # bug 6
        ({"lastName": ".."}, 500),
        ({"lastName": "_"}, 500),
        ({"email": "not-an-email"}, 400),
    ],
)
def test_bugs_3_4_6_payloads_the_server_refuses(sandbox, demo, payload, status):
    """phone key, "" values and punctuation-only lastName -> 500 "no data returned"."""
    response = demo.post("/api/leads", json={"client_id": "acme", "firstName": "A", **payload})
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False
    if status == 500:
        assert body["error"] == "Failed to create lead - no data returned"
    assert sandbox.admin.leads("acme") == []


def test_bug6_a_single_dash_last_name_is_accepted(demo):
    """lastName "-" is the placeholder the server accepts."""
    assert _post(demo, firstName="Cher", lastName="-")["lastName"] == "-"


def test_bug7_total_is_the_page_size_and_pages_chain_with_next_token(demo):
    """total == len(leads) of the page; nextToken walks all leads exactly once."""
    ids = [_post(demo, email=f"p{i}@x.io")["id"] for i in range(7)]
    seen, token, totals = [], None, []
    while True:
        params = {"limit": 3, **({"nextToken": token} if token else {})}
        page = _list(demo, **params)
        totals.append(page["total"])
        assert page["total"] == len(page["leads"])
        seen += [lead["id"] for lead in page["leads"]]
        token = page["nextToken"]
        if token is None:
            break
    assert seen == ids
    assert totals == [3, 3, 1]


def test_list_default_limit_is_100_and_limits_out_of_range_are_400(sandbox, demo):
    """limit defaults to 100; 0, 1001 and non-numbers are refused."""
    sandbox.admin.set_config(batch_persist="always")
    demo.post(
        "/api/leads",
        json={"leads": [{"client_id": "acme", "email": f"p{i}@x.io"} for i in range(150)]},
    )
    first = _list(demo)
    assert first["total"] == 100
    assert first["nextToken"]
    assert _list(demo, limit=1000)["total"] == 150
    for bad in ("0", "1001", "ten"):
        response = demo.get("/api/leads", params={"client_id": "acme", "limit": bad})
        assert response.status_code == 400
        assert response.json()["errorType"] == "invalid_value"


def test_list_requires_client_id_and_rejects_foreign_tokens(demo):
    """No client_id -> 400; a nextToken that is not the server's -> 400."""
    assert demo.get("/api/leads").status_code == 400
    bad = demo.get("/api/leads", params={"client_id": "acme", "nextToken": "garbage"})
    assert bad.status_code == 400


def test_deleting_leads_does_not_shift_the_cursor(demo):
    """A page token stays valid when earlier leads are deleted meanwhile."""
    ids = [_post(demo, email=f"p{i}@x.io")["id"] for i in range(6)]
    page = _list(demo, limit=3)
    for lead_id in ids[:3]:
        demo.delete("/api/leads", params={"id": lead_id})
    rest = _list(demo, limit=3, nextToken=page["nextToken"])
    assert [lead["id"] for lead in rest["leads"]] == ids[3:]


def test_single_put_updates_fields_and_null_removes_one(demo):
    """PUT {id, ...} merges fields; a null value removes the field."""
    lead = _post(demo, email="a@x.io", title="CTO", notes="n")
    response = demo.put("/api/leads", json={"id": lead["id"], "title": "CEO", "notes": None})
    assert response.status_code == 200, response.text
    updated = response.json()["lead"]
    assert updated["title"] == "CEO"
    assert "notes" not in updated
    assert updated["email"] == "a@x.io"


def test_put_refusals_match_create_rules(demo):
    """PUT needs id (400); unknown id 404; phone/""/dot lastName still 500."""
    lead = _post(demo, email="a@x.io")
    assert demo.put("/api/leads", json={"title": "x"}).status_code == 400
    assert demo.put("/api/leads", json={"id": "nope", "title": "x"}).status_code == 404
    assert demo.put("/api/leads", json={"id": lead["id"], "phone": "1"}).status_code == 500
    assert demo.put("/api/leads", json={"id": lead["id"], "title": ""}).status_code == 500
    assert demo.put("/api/leads", json={"id": lead["id"], "lastName": "."}).status_code == 500


def test_batch_put_updates_every_valid_lead(demo):
    """{"leads": [{id, ...}]} -> 200 updated=N (reliable); bad items are listed as skipped."""
    a, b = _post(demo, email="a@x.io"), _post(demo, email="b@x.io")
    body = demo.put(
        "/api/leads",
        json={"leads": [{"id": a["id"], "title": "T"}, {"id": b["id"], "title": "T"}, {"id": "x"}]},
    ).json()
    assert body["updated"] == 2
    assert body["skipped"] == [
        {"index": 2, "id": "x", "status": 404, "error": "Lead not found", "errorType": "not_found"}
    ]
    assert {lead["title"] for lead in _list(demo)["leads"]} == {"T"}


def test_delete_single_and_batch(sandbox, demo):
    """DELETE ?id= removes one; DELETE {"ids": [...]} removes many and counts them."""
    ids = [_post(demo, email=f"p{i}@x.io")["id"] for i in range(4)]
    assert demo.delete("/api/leads", params={"id": ids[0]}).json()["deleted"] == 1
    assert demo.delete("/api/leads", params={"id": ids[0]}).status_code == 404
    body = demo.request("DELETE", "/api/leads", json={"ids": [*ids[1:], "missing"]}).json()
    assert body["deleted"] == 3
    assert body["notFound"] == ["missing"]
    assert sandbox.admin.leads("acme") == []
    assert demo.request("DELETE", "/api/leads", json={"ids": "x"}).status_code == 400
    assert demo.delete("/api/leads").status_code == 400


def test_find_lead_by_email_case_insensitive_and_by_linkedin(demo):
    """find-lead matches email (case-insensitive) and/or linkedinUrl, optionally per client."""
    lead = _post(demo, email="Ada@X.io", linkedinUrl="https://linkedin.com/in/ada")
    _post(demo, email="bob@x.io")
    by_email = demo.get("/api/find-lead", params={"email": "ada@x.io"}).json()
    assert [found["id"] for found in by_email["leads"]] == [lead["id"]]
    by_url = demo.get(
        "/api/find-lead", params={"linkedinUrl": "https://linkedin.com/in/ada", "client_id": "acme"}
    ).json()
    assert [found["id"] for found in by_url["leads"]] == [lead["id"]]
    both_mismatch = demo.get(
        "/api/find-lead", params={"email": "bob@x.io", "linkedinUrl": "https://linkedin.com/in/ada"}
    ).json()
    assert both_mismatch["leads"] == []
    assert demo.get("/api/find-lead").status_code == 400
    assert (
        demo.get("/api/find-lead", params={"email": "a@x.io", "client_id": "zz"}).status_code == 404
    )


def test_find_lead_sees_updated_email(demo):
    """After an email change, find-lead finds the new address and not the old one."""
    lead = _post(demo, email="old@x.io")
    demo.put("/api/leads", json={"id": lead["id"], "email": "new@x.io"})
    assert demo.get("/api/find-lead", params={"email": "old@x.io"}).json()["leads"] == []
    assert len(demo.get("/api/find-lead", params={"email": "new@x.io"}).json()["leads"]) == 1


def test_index_lag_hides_new_and_updated_leads_from_list_and_find(
    fake_clock, make_inprocess_sandbox
):
    """With index lag, list/find miss a lead until the lag has passed; admin sees it at once."""
    app = make_inprocess_sandbox(fake_clock, index_lag_ms=2000)
    headers = app.login(app.sandbox.accounts["demo"])
    app.post("/api/clients", json={"clientName": "Acme"}, headers=headers)
    lead = app.post(
        "/api/leads", json={"client_id": "acme", "email": "lag@x.io"}, headers=headers
    ).json()["lead"]

    def visible() -> tuple[int, int]:
        listed = app.get("/api/leads", params={"client_id": "acme"}, headers=headers).json()
        found = app.get("/api/find-lead", params={"email": "lag@x.io"}, headers=headers).json()
        return len(listed["leads"]), len(found["leads"])

    assert visible() == (0, 0)
    assert len(app.get("/_sandbox/leads", params={"client_id": "acme"}).json()["leads"]) == 1
    fake_clock.advance(1.999)
    assert visible() == (0, 0)
    fake_clock.advance(0.001)
    assert visible() == (1, 1)
    app.put("/api/leads", json={"id": lead["id"], "title": "CEO"}, headers=headers)
    assert visible() == (0, 0)
    fake_clock.advance(2)
    assert visible() == (1, 1)
