"""Job rows: idempotent staging, atomic claims, outcomes with the ledger, counts, requeue."""

from __future__ import annotations

import threading
import time

import pytest

from state import InvalidRequeue, Outcome, StagedRow


def rows(n: int, start: int = 1) -> list[StagedRow]:
    return [
        StagedRow(i, f"p{i}@x.com", {"email": f"p{i}@x.com", "firstName": f"P{i}"})
        for i in range(start, start + n)
    ]


@pytest.fixture
def job(store):
    return store.find_or_create_job("csv_import", "fp", "acme", {})


def test_staging_records_pending_rejected_and_skipped_rows(store, job):
    """Every input row is stored with its status, reason and detail."""
    staged = [
        *rows(3),
        StagedRow(4, None, None, "rejected", "missing_email", "email is empty"),
        StagedRow(5, "p5@x.com", {"email": "p5@x.com"}, "skipped", "exists"),
    ]
    assert store.stage_rows(job.id, staged) == 5
    counts = store.counts_by_status(job.id)
    assert (counts["pending"], counts["rejected"], counts["skipped"]) == (3, 1, 1)
    [rejected] = store.rows_in_status(job.id, ["rejected"])
    assert (rejected.row_no, rejected.reason, rejected.message) == (
        4,
        "missing_email",
        "email is empty",
    )
    assert rejected.payload is None


def test_staging_twice_neither_duplicates_nor_resets_rows(store, job):
    """Re-staging after a crash is a no-op for rows already there, whatever their status."""
    store.stage_rows(job.id, rows(10), chunk_size=3)
    [claimed] = store.claim_rows(job.id, 1)
    store.record_outcomes(job.id, [Outcome.done(claimed.row_no, "L1")])
    store.stage_rows(job.id, rows(12), chunk_size=3)
    counts = store.counts_by_status(job.id)
    assert counts["done"] == 1
    assert counts["pending"] == 11
    assert sum(counts.values()) == 12


def test_staging_refuses_statuses_other_than_pending_rejected_skipped(store, job):
    """Rows can't be staged as done or in_flight: only the protocol moves them there."""
    with pytest.raises(ValueError, match="cannot stage"):
        store.stage_rows(job.id, [StagedRow(1, "a", {}, "done")])


def test_checkpoint_commits_with_the_last_staged_chunk(store, job):
    """A page's rows and its cursor commit together (HubSpot `after` resume)."""
    for total in (7, 6, 0):  # a partial last chunk, an exact multiple, no rows at all
        store.stage_rows(job.id, rows(total), chunk_size=3, checkpoints={"after": {"n": total}})
        assert store.get_checkpoint(job.id, "after") == {"n": total}


def test_claim_moves_at_most_limit_pending_rows_in_row_order(store, job):
    """claim_rows takes the lowest pending rows, marks them in_flight, attempts + 1."""
    store.stage_rows(job.id, rows(100))
    claimed = store.claim_rows(job.id, 10)
    assert [row.row_no for row in claimed] == list(range(1, 11))
    assert all(row.attempts == 1 for row in claimed)
    assert claimed[0].identity == "p1@x.com"
    assert claimed[0].payload == {"email": "p1@x.com", "firstName": "P1"}
    counts = store.counts_by_status(job.id)
    assert (counts["in_flight"], counts["pending"]) == (10, 90)
    assert [row.row_no for row in store.claim_rows(job.id, 5)] == list(range(11, 16))


def test_claim_is_committed_before_it_returns(store, store_url, make_store, job):
    """in_flight is durable before the POST: another connection already sees it."""
    store.stage_rows(job.id, rows(3))
    store.claim_rows(job.id, 2)
    other = make_store(store_url)
    assert [row.row_no for row in other.rows_in_status(job.id, ["in_flight"])] == [1, 2]


def test_claim_of_an_empty_queue_returns_nothing(store, job):
    """No pending rows: an empty list, not an error."""
    assert store.claim_rows(job.id, 50) == []


def test_concurrent_claimers_never_get_the_same_row(store, store_url, make_store, job):
    """Four claimers on separate connections split the rows: disjoint, all covered."""
    store.stage_rows(job.id, rows(600))
    claimers = [store, make_store(store_url), make_store(store_url), make_store(store_url)]
    barrier = threading.Barrier(len(claimers))
    taken: list[list[int]] = [[] for _ in claimers]
    errors: list[BaseException] = []

    def claim_all(index):
        barrier.wait()
        try:
            while batch := claimers[index].claim_rows(job.id, 7):
                taken[index].extend(row.row_no for row in batch)
                time.sleep(0.002)  # "sending": lets the other claimers interleave
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(len(claimers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    everything = [row_no for part in taken for row_no in part]
    assert sorted(everything) == list(range(1, 601))
    assert all(taken)  # every claimer got rows: they really ran side by side
    assert store.counts_by_status(job.id)["in_flight"] == 600


def test_outcomes_set_every_status_and_done_writes_the_ledger(store, job):
    """One call settles a batch: done/updated fill the ledger, others don't."""
    store.stage_rows(job.id, rows(7))
    store.claim_rows(job.id, 7)
    store.record_outcomes(
        job.id,
        [
            Outcome.done(1, "L1", content_hash="h1"),
            Outcome.updated(2, "L2", content_hash="h2"),
            Outcome.rejected(3, "invalid_email", "400: email is invalid"),
            Outcome.pending(4, "connect error"),
            Outcome.unknown(5, "read timeout"),
            Outcome.failed(6, "http_503", "503 after 5 tries"),
            Outcome.skipped(7),
        ],
    )
    by_row = {row.row_no: row for row in store.rows_in_status(job.id, ["done", "updated"])}
    assert by_row[1].lead_id == "L1"
    assert by_row[2].status == "updated"
    counts = store.counts_by_status(job.id)
    assert [counts[s] for s in ("done", "updated", "rejected", "pending", "unknown")] == [1] * 5
    assert (counts["failed"], counts["skipped"], counts["in_flight"]) == (1, 1, 0)
    ledger = store.ledger_lookup("acme", [f"p{i}@x.com" for i in range(1, 8)])
    assert {k: (v.lead_id, v.content_hash) for k, v in ledger.items()} == {
        "p1@x.com": ("L1", "h1"),
        "p2@x.com": ("L2", "h2"),
    }


def test_ledger_client_defaults_to_the_job_target_and_can_be_overridden(store, job):
    """The ledger is keyed by the client slug: the job's target unless told otherwise."""
    store.stage_rows(job.id, rows(2))
    store.claim_rows(job.id, 2)
    store.record_outcomes(job.id, [Outcome.done(1, "L1")])
    store.record_outcomes(job.id, [Outcome.done(2, "L2")], client_id="other-slug")
    assert set(store.ledger_lookup("acme", ["p1@x.com", "p2@x.com"])) == {"p1@x.com"}
    assert set(store.ledger_lookup("other-slug", ["p1@x.com", "p2@x.com"])) == {"p2@x.com"}


def test_outcomes_and_ledger_commit_or_roll_back_together(store, job):
    """A failure late in record_outcomes leaves neither the row done nor the ledger entry."""
    store.stage_rows(job.id, rows(1))
    store.claim_rows(job.id, 1)
    # The driver raises it as TypeError or wraps it in StatementError: either way, late.
    with pytest.raises(Exception, match="not JSON serializable"):
        store.record_outcomes(job.id, [Outcome.done(1, "L1")], checkpoints={"bad": {"x": object()}})
    assert store.counts_by_status(job.id)["in_flight"] == 1
    assert store.ledger_lookup("acme", ["p1@x.com"]) == {}


def test_outcome_with_an_invalid_status_is_refused_before_writing(store, job):
    """in_flight (or a typo) is not an outcome; nothing of the batch is written."""
    store.stage_rows(job.id, rows(2))
    store.claim_rows(job.id, 2)
    with pytest.raises(ValueError, match="not an outcome status"):
        store.record_outcomes(job.id, [Outcome.done(1, "L1"), Outcome(2, "in_flight")])
    assert store.counts_by_status(job.id)["in_flight"] == 2


def test_reconcile_flow_unknown_rows_back_to_pending_or_done(store, job):
    """in_flight/unknown rows listed at start are settled as done or pending."""
    store.stage_rows(job.id, rows(3))
    store.claim_rows(job.id, 3)
    store.record_outcomes(job.id, [Outcome.unknown(2, "timeout")])
    open_rows = store.rows_in_status(job.id, ["in_flight", "unknown"])
    assert [(r.row_no, r.status) for r in open_rows] == [
        (1, "in_flight"),
        (2, "unknown"),
        (3, "in_flight"),
    ]
    store.record_outcomes(job.id, [Outcome.done(1, "L1"), Outcome.pending(2), Outcome.pending(3)])
    again = store.claim_rows(job.id, 10)
    assert [(r.row_no, r.attempts) for r in again] == [(2, 2), (3, 2)]


def test_rows_in_status_pages_and_iter_rows_reads_everything(store, job):
    """Keyset paging by row number; iter_rows walks all pages (rejects file)."""
    store.stage_rows(
        job.id, [StagedRow(i, None, None, "rejected", "bad", None) for i in range(1, 26)]
    )
    page = store.rows_in_status(job.id, ["rejected"], limit=10, after_row=10)
    assert [r.row_no for r in page] == list(range(11, 21))
    assert [r.row_no for r in store.iter_rows(job.id, ["rejected"], page_size=10)] == list(
        range(1, 26)
    )


def test_counts_by_reason_groups_rejects(store, job):
    """Rejects are summarised by reason code, largest first."""
    store.stage_rows(
        job.id,
        [
            StagedRow(1, None, None, "rejected", "missing_email"),
            StagedRow(2, None, None, "rejected", "missing_email"),
            StagedRow(3, None, None, "rejected", "bad_url"),
            StagedRow(4, None, None, "rejected", None),
            *rows(1, start=5),
        ],
    )
    assert store.counts_by_reason(job.id) == {
        "missing_email": 2,
        "bad_url": 1,
        "unspecified": 1,
    }


def test_counts_by_status_lists_every_status(store, job):
    """Zero counts are present, so a summary never misses a column."""
    counts = store.counts_by_status(job.id)
    assert set(counts) == {
        "pending",
        "in_flight",
        "done",
        "rejected",
        "unknown",
        "skipped",
        "updated",
        "failed",
    }
    assert set(counts.values()) == {0}


def test_requeue_sends_failed_and_server_rejected_rows_again(store, job):
    """`jobs retry` re-queues failed rows (attempts reset); a complete job reopens."""
    store.stage_rows(job.id, [*rows(3), StagedRow(9, None, None, "rejected", "missing_email")])
    store.claim_rows(job.id, 3)
    store.record_outcomes(
        job.id,
        [
            Outcome.failed(1, "http_503"),
            Outcome.rejected(2, "invalid_email", "400"),
            Outcome.done(3, "L3"),
        ],
    )
    store.set_job_status(job.id, "complete")
    assert store.requeue(job.id) == 1
    assert store.get_job(job.id).status == "incomplete"
    assert store.requeue(job.id, ["rejected"]) == 1  # the validation reject (row 9) stays
    pending = store.rows_in_status(job.id, ["pending"])
    assert [(r.row_no, r.attempts) for r in pending] == [(1, 0), (2, 0)]
    assert store.counts_by_status(job.id)["rejected"] == 1


@pytest.mark.parametrize("status", ["done", "unknown", "in_flight", "skipped"])
def test_requeue_refuses_rows_that_may_exist_in_the_api(store, job, status):
    """Re-sending done/unknown/in_flight rows could duplicate leads: exit 2 instead."""
    with pytest.raises(InvalidRequeue) as info:
        store.requeue(job.id, status)
    assert info.value.exit_code == 2


def test_last_errors_show_send_failures_newest_first(store, store_url, make_store, job, fake_clock):
    """jobs show lists the latest send errors, not validation rejects."""
    timed = make_store(store_url, clock=fake_clock)
    timed.stage_rows(job.id, [*rows(3), StagedRow(9, None, None, "rejected", "bad", "detail")])
    timed.claim_rows(job.id, 3)
    timed.record_outcomes(job.id, [Outcome.unknown(1, "read timeout")])
    fake_clock.advance(5)
    timed.record_outcomes(job.id, [Outcome.failed(2, "http_500", "500 Internal")])
    timed.record_outcomes(job.id, [Outcome.done(3, "L3")])
    errors = store.last_errors(job.id)
    assert [(e.row_no, e.message) for e in errors] == [(2, "500 Internal"), (1, "read timeout")]
    assert len(store.last_errors(job.id, limit=1)) == 1
