"""Job identity, resume, changed sources, restart, status, counters and runs."""

from __future__ import annotations

import threading

import pytest

from state import JobLocked, JobNotFound, SourceChanged


def test_same_kind_fingerprint_and_target_is_the_same_job(store):
    """Re-running the identical command finds the job it created before."""
    first = store.find_or_create_job("csv_import", "fp-a", "acme", {"rate": 100})
    again = store.find_or_create_job("csv_import", "fp-a", "acme", {"rate": 999})
    assert again.id == first.id
    assert again.options == {"rate": 100}  # options are fixed at creation


def test_a_finished_job_is_found_again_not_recreated(store):
    """Re-running a finished import returns the complete job (so it creates nothing)."""
    job = store.find_or_create_job("csv_import", "fp-a", "acme", {})
    store.set_job_status(job.id, "complete")
    again = store.open_job("csv_import", "fp-a", "acme", {})
    assert again.id == job.id
    assert again.status == "complete"
    assert again.finished


def test_kind_fingerprint_and_target_each_make_a_distinct_job(store):
    """Changing any part of the identity makes another job."""
    base = store.find_or_create_job("csv_import", "fp", "acme", {})
    others = {
        store.find_or_create_job("hubspot_import", "fp", "acme", {}).id,
        store.find_or_create_job("csv_import", "fp2", "acme", {}).id,
        store.find_or_create_job("csv_import", "fp", "globex", {}).id,
    }
    assert base.id not in others
    assert len(others) == 3


def test_concurrent_creators_of_one_identity_get_one_job(store, store_url, make_store):
    """Two processes starting the same command at once end up on the same job."""
    stores = [store, make_store(store_url), make_store(store_url), make_store(store_url)]
    barrier = threading.Barrier(len(stores))
    ids: list[int] = []

    def create(each):
        barrier.wait()
        ids.append(each.find_or_create_job("csv_import", "fp", "acme", {}).id)

    threads = [threading.Thread(target=create, args=(each,)) for each in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(ids) == len(stores)
    assert len(set(ids)) == 1
    assert len(store.list_jobs()) == 1


def test_changed_source_for_an_unfinished_job_is_refused(store):
    """Same kind and target, other fingerprint, previous job unfinished: exit 2 with advice."""
    job = store.open_job("csv_import", "fp-old", "acme", {})
    with pytest.raises(SourceChanged) as info:
        store.open_job("csv_import", "fp-new", "acme", {})
    assert info.value.exit_code == 2
    assert f"job {job.id}" in str(info.value)
    assert "--restart" in str(info.value)


def test_new_source_after_a_complete_job_starts_a_new_job(store):
    """Importing another file into the same client after the first finished is fine."""
    first = store.open_job("csv_import", "fp-1", "acme", {})
    store.set_job_status(first.id, "complete")
    second = store.open_job("csv_import", "fp-2", "acme", {})
    assert second.id != first.id


def test_find_job_reports_the_unfinished_job_of_a_target(store):
    """find_job tells the loader which job holds the target, and with which source."""
    job = store.open_job("csv_import", "fp-1", "acme", {})
    found = store.find_job("csv_import", "acme", unfinished=True)
    assert found is not None
    assert (found.id, found.fingerprint) == (job.id, "fp-1")
    assert store.find_job("csv_import", "globex") is None
    store.set_job_status(job.id, "complete")
    assert store.find_job("csv_import", "acme", unfinished=True) is None
    assert store.find_job("csv_import", "acme", fingerprint="fp-1").id == job.id


def test_restart_supersedes_the_unfinished_job_and_creates_a_new_one(store):
    """--restart: the old job becomes superseded (pointing at the new one)."""
    old = store.open_job("csv_import", "fp-old", "acme", {})
    new = store.open_job("csv_import", "fp-new", "acme", {"x": 1}, restart=True)
    assert new.id != old.id
    old_now = store.get_job(old.id)
    assert old_now.status == "superseded"
    assert old_now.superseded_by == new.id
    assert store.open_job("csv_import", "fp-new", "acme", {}).id == new.id
    assert store.find_job("csv_import", "acme", fingerprint="fp-old") is None


def test_restart_with_the_same_source_starts_over(store):
    """--restart on an unchanged source still gives a fresh job."""
    old = store.open_job("csv_import", "fp", "acme", {})
    new = store.open_job("csv_import", "fp", "acme", {}, restart=True)
    assert new.id != old.id
    assert store.open_job("csv_import", "fp", "acme", {}).id == new.id


def test_restart_refuses_while_the_old_job_is_running(store):
    """--restart must not pull a job from under a live process."""
    old = store.open_job("csv_import", "fp-old", "acme", {})
    store.acquire_lock(old.id)
    with pytest.raises(JobLocked):
        store.open_job("csv_import", "fp-new", "acme", {}, restart=True)
    assert store.get_job(old.id).status == "incomplete"


def test_get_job_of_unknown_id_is_a_clear_error(store):
    """`jobs show 999` exits 2 and points at `jobs list`."""
    with pytest.raises(JobNotFound, match="lgetl jobs list") as info:
        store.get_job(999)
    assert info.value.exit_code == 2


def test_list_jobs_is_newest_first_and_filters(store):
    """jobs list shows the newest first; kind, target and status filter it."""
    a = store.find_or_create_job("csv_import", "1", "acme", {})
    b = store.find_or_create_job("export", "2", "out", {})
    c = store.find_or_create_job("csv_import", "3", "globex", {})
    store.set_job_status(c.id, "complete")
    assert [job.id for job in store.list_jobs()] == [c.id, b.id, a.id]
    assert [job.id for job in store.list_jobs(kind="csv_import")] == [c.id, a.id]
    assert [job.id for job in store.list_jobs(target="out")] == [b.id]
    assert [job.id for job in store.list_jobs(statuses=["complete"])] == [c.id]
    assert len(store.list_jobs(limit=2)) == 2


def test_unknown_job_status_is_rejected(store):
    """A typo in a status is a programming error, caught before writing."""
    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    with pytest.raises(ValueError, match="not one of"):
        store.set_job_status(job.id, "done")


def test_counters_merge_or_add(store):
    """Counters replace by key, or sum numbers with add=True."""
    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    store.update_job_counters(job.id, {"requests": 5, "note": "a"})
    store.update_job_counters(job.id, {"requests": 2, "429s": 1}, add=True)
    assert store.update_job_counters(job.id, {"note": "b"}) == {
        "requests": 7,
        "429s": 1,
        "note": "b",
    }
    assert store.get_job(job.id).counters == {"requests": 7, "429s": 1, "note": "b"}


def test_runs_drive_the_job_status_and_accumulate_counters(store):
    """start_run marks the job running; finish_run records the outcome and adds counters."""
    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    run = store.start_run(job.id, pid=4242, host="host-a")
    assert store.get_job(job.id).status == "running"
    store.finish_run(run.id, "incomplete", {"created": 10, "requests": 12})
    assert store.get_job(job.id).status == "incomplete"
    run2 = store.start_run(job.id)
    store.finish_run(run2.id, "complete", {"created": 5, "requests": 5})
    finished = store.get_job(job.id)
    assert finished.status == "complete"
    assert finished.counters == {"created": 15, "requests": 17}
    runs = store.list_runs(job.id)
    assert [(r.outcome, r.pid, r.host) for r in runs[:1]] == [("incomplete", 4242, "host-a")]
    assert [r.outcome for r in runs] == ["incomplete", "complete"]
    assert all(r.ended_at is not None and r.ended_at >= r.started_at for r in runs)


def test_a_run_left_open_by_a_crash_is_closed_as_crashed(store):
    """A SIGKILLed run never finishes; the next start records it as crashed."""
    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    store.start_run(job.id)
    store.start_run(job.id)
    outcomes = [run.outcome for run in store.list_runs(job.id)]
    assert outcomes == ["crashed", None]
