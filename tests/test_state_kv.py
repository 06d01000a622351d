"""The cross-job ledger, per-job checkpoints and high-water marks."""

from __future__ import annotations

import pytest

from state import STALE_AFTER_S, LockLost


def test_ledger_lookup_finds_entries_across_chunks(store):
    """Lookups of more identities than one IN query holds return every known one."""
    known = [(f"p{i}@x.com", f"L{i}", None) for i in range(0, 1300, 2)]
    assert store.ledger_put("acme", known) == 650
    asked = [f"p{i}@x.com" for i in range(1300)] + ["p0@x.com"]  # a duplicate too
    found = store.ledger_lookup("acme", asked)
    assert len(found) == 650
    assert found["p1298@x.com"].lead_id == "L1298"
    assert "p1@x.com" not in found


def test_ledger_is_per_client(store):
    """The same person in two clients is two entries."""
    store.ledger_put("acme", [("a@x.com", "L1", None)])
    store.ledger_put("globex", [("a@x.com", "L2", None)])
    assert store.ledger_lookup("acme", ["a@x.com"])["a@x.com"].lead_id == "L1"
    assert store.ledger_lookup("globex", ["a@x.com"])["a@x.com"].lead_id == "L2"


def test_ledger_put_replaces_lead_and_content_hash(store, store_url, make_store, fake_clock):
    """An upsert keeps one entry per identity with the latest lead id, hash and time."""
    timed = make_store(store_url, clock=fake_clock)
    timed.ledger_put("acme", [("a@x.com", "L1", "h1")])
    fake_clock.advance(60)
    timed.ledger_put("acme", [("a@x.com", "L1", "h2")], job_id=None)
    entry = store.ledger_lookup("acme", ["a@x.com"])["a@x.com"]
    assert (entry.lead_id, entry.content_hash, entry.updated_at) == ("L1", "h2", fake_clock.time())


def test_checkpoints_are_per_job_and_replaced_on_put(store):
    """get returns the last value put for (job, key); other jobs and keys are separate."""
    a = store.find_or_create_job("export", "fp", "out-a", {})
    b = store.find_or_create_job("export", "fp", "out-b", {})
    assert store.get_checkpoint(a.id, "export") is None
    store.put_checkpoint(a.id, "export", {"next_token": "t1", "parts": ["part-00000"]})
    store.put_checkpoint(a.id, "export", {"next_token": "t2", "parts": ["p0", "p1"]})
    store.put_checkpoint(a.id, "staging", {"complete": True})
    store.put_checkpoint(b.id, "export", {"next_token": None})
    assert store.get_checkpoint(a.id, "export") == {"next_token": "t2", "parts": ["p0", "p1"]}
    assert store.get_checkpoints(a.id) == {
        "export": {"next_token": "t2", "parts": ["p0", "p1"]},
        "staging": {"complete": True},
    }
    assert store.get_checkpoint(b.id, "export") == {"next_token": None}
    store.delete_checkpoint(a.id, "staging")
    assert store.get_checkpoint(a.id, "staging") is None


def test_checkpoint_put_by_a_taken_over_process_is_refused(
    store, store_url, make_store, fake_clock
):
    """An exporter whose lock was taken over can't move the cursor under the new run."""
    job = store.find_or_create_job("export", "fp", "out", {})
    a = make_store(store_url, clock=fake_clock, host="host-a")
    b = make_store(store_url, clock=fake_clock, host="host-b")
    lock_a = a.acquire_lock(job.id, pid=1)
    a.put_checkpoint(job.id, "export", {"next_token": "t1"}, lock=lock_a)
    fake_clock.advance(STALE_AFTER_S + 1)
    b.acquire_lock(job.id, pid=2)
    with pytest.raises(LockLost):
        a.put_checkpoint(job.id, "export", {"next_token": "t2"}, lock=lock_a)
    assert store.get_checkpoint(job.id, "export") == {"next_token": "t1"}


def test_high_water_marks_per_source_and_target(store):
    """HubSpot's incremental mark is kept per (portal, client) and replaced on put."""
    assert store.get_high_water_mark("hubspot:123", "acme") is None
    store.put_high_water_mark("hubspot:123", "acme", {"lastmodifieddate": "2026-11-01T00:00:00Z"})
    store.put_high_water_mark("hubspot:123", "acme", {"lastmodifieddate": "2026-11-02T00:00:00Z"})
    store.put_high_water_mark("hubspot:123", "globex", {"lastmodifieddate": "x"})
    assert store.get_high_water_mark("hubspot:123", "acme") == {
        "lastmodifieddate": "2026-11-02T00:00:00Z"
    }
    assert store.get_high_water_mark("hubspot:999", "acme") is None
