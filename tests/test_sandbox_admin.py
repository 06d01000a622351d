"""Sandbox admin routes (/_sandbox): config, accounts, leads, counters, posts, reset."""

from __future__ import annotations

import httpx


def test_accounts_are_seeded_deterministically_in_two_companies(sandbox, make_sandbox):
    """demo/other logins, lgp_ keys, distinct companies; identical on every start."""
    accounts = sandbox.admin.accounts()
    assert accounts["demo"]["email"] == "demo@example.com"
    assert accounts["demo"]["password"] == "demo-password"
    assert accounts["other"]["email"] == "other@example.com"
    assert accounts["demo"]["company_id"] != accounts["other"]["company_id"]
    assert all(a["api_key"].startswith("lgp_") for a in accounts.values())
    assert accounts["demo"]["user_id"] == sandbox.demo.user_id
    assert make_sandbox(seed=7).admin.accounts() == accounts


def test_account_repr_hides_password_and_api_key(sandbox):
    """Secrets never appear in reprs."""
    text = repr(sandbox.demo)
    assert sandbox.demo.password not in text
    assert sandbox.demo.api_key not in text


def test_config_get_and_partial_update(sandbox):
    """POST /_sandbox/config changes only the given knobs and returns the new config."""
    before = sandbox.admin.config()
    assert before["rate_limit"] == 0
    after = sandbox.admin.set_config(latency_ms=5, fault_rate=0.5)
    assert after == {**before, "latency_ms": 5.0, "fault_rate": 0.5}
    assert sandbox.config.fault_rate == 0.5


def test_config_update_with_invalid_values_is_400_and_changes_nothing(sandbox):
    """Unknown keys, wrong types, out-of-range values and host/port changes are refused."""
    http = httpx.Client(base_url=sandbox.base_url)
    before = sandbox.admin.config()
    for bad in (
        {"nope": 1},
        {"fault_rate": 2},
        {"rate_limit": "10"},
        {"batch_persist": "sometimes"},
        {"port": 1},
        {"latency_ms": 1, "token_ttl": 0},
    ):
        response = http.post("/_sandbox/config", json=bad)
        assert response.status_code == 400, bad
        assert response.json()["success"] is False
    assert sandbox.admin.config() == before
    http.close()


def test_counters_count_requests_by_route_and_status(sandbox):
    """Every /api request is counted under "METHOD /path" and its status; admin is not."""
    demo = sandbox.http(sandbox.demo)
    demo.get("/api/clients")
    demo.get("/api/leads", params={"client_id": "nope"})
    sandbox.admin.config()
    counters = sandbox.admin.counters()
    assert counters["requests"] == {
        "POST /api/auth": {"200": 1},
        "GET /api/clients": {"200": 1},
        "GET /api/leads": {"404": 1},
    }
    assert counters["rate_limited"] == 0
    assert counters["faults"] == {}


def test_posts_and_stored_by_identity_prove_exactly_once(sandbox):
    """posts counts single-lead POSTs per identity key; stored_by_identity counts stored leads."""
    demo = sandbox.http(sandbox.demo)
    demo.post("/api/clients", json={"clientName": "Acme"})
    for lead in (
        {"email": "Ada@X.io"},
        {"email": "ada@x.io"},
        {"linkedinUrl": "https://linkedin.com/in/bob"},
        {"firstName": "Cy", "lastName": "Young", "companyName": "Acme"},
        {"phone": "1", "email": "bad@x.io"},
    ):
        demo.post("/api/leads", json={"client_id": "acme", **lead})
    demo.post("/api/leads", json={"leads": [{"client_id": "acme", "email": "batch@x.io"}]})
    assert sandbox.admin.posts() == {
        "ada@x.io": 2,
        "https://linkedin.com/in/bob": 1,
        "cy|young|acme": 1,
        "bad@x.io": 1,
    }
    assert sandbox.admin.stored_by_identity("acme") == {
        "ada@x.io": 2,
        "https://linkedin.com/in/bob": 1,
        "cy|young|acme": 1,
    }


def test_reset_drops_data_counters_and_posts_but_keeps_config(sandbox):
    """POST /_sandbox/reset empties the sandbox; tokens must be re-issued for refresh."""
    demo = sandbox.http(sandbox.demo)
    demo.post("/api/clients", json={"clientName": "Acme"})
    demo.post("/api/leads", json={"client_id": "acme", "email": "a@x.io"})
    sandbox.admin.set_config(index_lag_ms=1)
    sandbox.admin.reset()
    assert sandbox.admin.leads("acme") == []
    assert sandbox.admin.posts() == {}
    assert sandbox.admin.counters()["requests"] == {}
    assert sandbox.admin.config()["index_lag_ms"] == 1.0
    assert demo.get("/api/clients").json()["clients"] == []


def test_unknown_api_route_answers_the_json_error_body(sandbox):
    """A route the sandbox does not emulate -> 404 with the API error shape."""
    response = sandbox.http(sandbox.demo).get("/api/webhook-workbench")
    assert response.status_code == 404
    assert response.json()["errorType"] == "not_found"
