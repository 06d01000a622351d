"""Sandbox fault injection and latency: seeded, deterministic, counted, sometimes after store."""

from __future__ import annotations

import httpx
import pytest

from etl.sandbox.faults import AFTER_KINDS, BEFORE_KINDS, FaultInjector


def _outcome(http: httpx.Client, method: str, url: str, **kwargs) -> str:
    try:
        return str(http.request(method, url, **kwargs).status_code)
    except httpx.TransportError:
        return "drop"


def _api_key_client(handle) -> httpx.Client:
    return handle.http(handle.demo, api_key=True)  # no login request: keeps sequences equal


def test_same_seed_gives_the_same_fault_sequence(make_sandbox):
    """Two sandboxes with one seed answer the same request sequence identically."""
    runs = []
    for _ in range(2):
        handle = make_sandbox(fault_rate=0.4, seed=42)
        http = _api_key_client(handle)
        runs.append([_outcome(http, "GET", "/api/clients") for _ in range(40)])
    assert runs[0] == runs[1]
    assert set(runs[0]) - {"200"}, "a 40% fault rate produced no fault"
    other = make_sandbox(fault_rate=0.4, seed=43)
    http = _api_key_client(other)
    assert [_outcome(http, "GET", "/api/clients") for _ in range(40)] != runs[0]


def test_fault_draws_are_deterministic_per_seed():
    """The injector alone: same seed, same draws; every kind is reachable."""
    a, b = FaultInjector(5), FaultInjector(5)
    draws_a = [a.draw(0.5, mutating=True) for _ in range(500)]
    assert draws_a == [b.draw(0.5, mutating=True) for _ in range(500)]
    kinds = {(f.kind, f.after) for f in draws_a if f is not None}
    assert {k for k, after in kinds if not after} == set(BEFORE_KINDS)
    assert {k for k, after in kinds if after} == set(AFTER_KINDS)
    reads = [a.draw(1.0, mutating=False) for _ in range(100)]
    assert not any(f.after for f in reads if f is not None)


def test_every_fault_kind_is_injected_and_counted(sandbox):
    """fault_rate=1: 500, 502, 503, 504 and dropped connections all occur; all counted."""
    sandbox.admin.set_config(fault_rate=1.0, seed=3)
    http = _api_key_client(sandbox)
    outcomes = [_outcome(http, "GET", "/api/clients") for _ in range(100)]
    assert set(outcomes) == {"500", "502", "503", "504", "drop"}
    counters = sandbox.admin.counters()
    assert counters["faults"] == {k: outcomes.count(k) for k in set(outcomes)}
    assert counters["requests"]["GET /api/clients"] == counters["faults"]


def test_a_dropped_connection_is_a_transport_error_for_httpx(sandbox):
    """A drop reaches the client as a protocol/read error, not as an HTTP response."""
    sandbox.admin.set_config(fault_rate=1.0, seed=3)
    http = _api_key_client(sandbox)
    errors = []
    for _ in range(30):
        try:
            http.get("/api/clients")
        except httpx.TransportError as exc:
            errors.append(exc)
    assert errors
    assert all(isinstance(e, httpx.RemoteProtocolError | httpx.ReadError) for e in errors)


def test_some_failed_single_posts_stored_the_lead_anyway(sandbox):
    """After-store faults: the POST fails (5xx or drop) yet the lead exists (admin view)."""
    demo = _api_key_client(sandbox)
    demo.post("/api/clients", json={"clientName": "Acme"})
    sandbox.admin.set_config(fault_rate=1.0, seed=11)
    outcomes = {}
    for i in range(40):
        email = f"p{i}@x.io"
        outcomes[email] = _outcome(
            demo, "POST", "/api/leads", json={"client_id": "acme", "email": email}
        )
    assert not any(o == "201" for o in outcomes.values())
    stored = sandbox.admin.stored_by_identity("acme")
    counters = sandbox.admin.counters()
    assert 0 < len(stored) < 40
    assert len(stored) == counters["faults_after_store"]
    assert set(stored.values()) == {1}
    assert {outcomes[email] for email in stored} <= {"500", "502", "504", "drop"}
    # the posts counter saw exactly the requests that reached the handler
    assert sandbox.admin.posts() == dict.fromkeys(stored, 1)


def test_admin_routes_are_never_faulted(sandbox):
    """With every /api request failing, /_sandbox routes still answer."""
    sandbox.admin.set_config(fault_rate=1.0)
    for _ in range(20):
        assert sandbox.admin.config()["fault_rate"] == 1.0


@pytest.mark.parametrize("seed", [0, 1])
def test_latency_is_jittered_around_the_mean_and_seeded(fake_clock, make_inprocess_sandbox, seed):
    """latency_ms=100: each request waits 50..150 ms; the same seed waits the same."""
    waits = []
    for _ in range(2):
        app = make_inprocess_sandbox(fake_clock, latency_ms=100, seed=seed)
        fake_clock.sleeps.clear()
        for _ in range(50):
            app.get("/api/clients")
        waits.append(list(fake_clock.sleeps))
    assert waits[0] == waits[1]
    assert len(waits[0]) == 50
    assert all(0.05 <= w <= 0.15 for w in waits[0])
    assert len(set(waits[0])) > 40
    assert 0.08 < sum(waits[0]) / 50 < 0.12
