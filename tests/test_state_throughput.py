"""The loader's hot path, end to end, with its per-row cost printed (never asserted).

The figures print even under ``-q`` (capture is disabled for that line).
"""

from __future__ import annotations

import time

from state import Outcome, StagedRow

BATCH = 50
# PostgreSQL fsyncs each commit (~3-30 ms here): fewer rows keep the suite quick.
ROWS = {"sqlite": 20_000, "postgresql": 4_000}


def payload(i: int) -> dict[str, str]:
    return {
        "client_id": "acme",
        "firstName": f"First{i}",
        "lastName": f"Last{i}",
        "email": f"person{i}@example{i % 97}.com",
        "companyName": f"Company {i % 500}",
        "title": "Head of Growth",
        "linkedinUrl": f"https://www.linkedin.com/in/person-{i}",
    }


def test_claim_and_record_rows_in_batches_of_50(store, capsys):
    """Every staged row ends done with a ledger entry; prints per-row cost of the protocol."""
    rows = ROWS[store.backend]
    job = store.find_or_create_job("csv_import", "bench", "acme", {})
    lock = store.acquire_lock(job.id)
    staged = [StagedRow(i, f"person{i}@example.com", payload(i)) for i in range(1, rows + 1)]

    wall, cpu = time.perf_counter(), time.process_time()
    store.stage_rows(job.id, staged, lock=lock)
    stage_wall, stage_cpu = time.perf_counter() - wall, time.process_time() - cpu

    wall, cpu = time.perf_counter(), time.process_time()
    settled = 0
    while batch := store.claim_rows(job.id, BATCH, lock=lock):
        store.record_outcomes(
            job.id, [Outcome.done(row.row_no, f"lead-{row.row_no}") for row in batch], lock=lock
        )
        settled += len(batch)
    loop_wall, loop_cpu = time.perf_counter() - wall, time.process_time() - cpu

    assert settled == rows
    assert store.counts_by_status(job.id)["done"] == rows
    found = store.ledger_lookup("acme", (f"person{i}@example.com" for i in range(1, rows + 1)))
    assert len(found) == rows
    with capsys.disabled():
        print(
            f"\n[{store.backend}] {rows} rows, batches of {BATCH}: "
            f"claim+record {loop_wall / rows * 1e6:.0f} us/row wall, "
            f"{loop_cpu / rows * 1e6:.0f} us/row client CPU; "
            f"staging {stage_wall / rows * 1e6:.0f} us/row wall, "
            f"{stage_cpu / rows * 1e6:.0f} us/row client CPU"
        )
