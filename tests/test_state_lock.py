"""One live process per job: contention, takeover of dead or silent holders, LockLost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from state import STALE_AFTER_S, JobLocked, LockInfo, LockLost, holder_is_live

REPO = Path(__file__).resolve().parents[1]

# Opens the store, says "ready", waits for "go", races for the lock, reports, then holds it
# until stdin closes (a winner that exited would leave a dead lock, inviting a takeover).
RACER = """
import sys
from state import JobLocked, open_store
store = open_store(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
try:
    store.acquire_lock(int(sys.argv[2]))
    print("won", flush=True)
except JobLocked:
    print("locked", flush=True)
sys.stdin.read()
"""

# Takes the lock and dies without releasing it, like a SIGKILLed loader.
HOLD_AND_DIE = """
import os, sys
from state import open_store
open_store(sys.argv[1]).acquire_lock(int(sys.argv[2]))
print(os.getpid(), flush=True)
os._exit(0)
"""


def python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_second_acquirer_gets_job_locked_naming_the_holder(
    store, store_url, make_store, fake_clock
):
    """The second process exits 1 with 'job N is running (pid, host, since); wait or stop'."""
    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    a = make_store(store_url, clock=fake_clock, host="host-a")
    b = make_store(store_url, clock=fake_clock, host="host-b")
    a.acquire_lock(job.id, pid=1234)
    with pytest.raises(JobLocked) as info:
        b.acquire_lock(job.id, pid=5678)
    assert info.value.exit_code == 1
    assert str(info.value) == (
        f"job {job.id} is running (pid 1234 on host-a since 2027-01-15 08:00:00 UTC); "
        "wait for it or stop it"
    )


def test_two_stores_in_one_live_process_exclude_each_other(store, store_url, make_store):
    """A live pid on this host holds the lock even against another store instance."""
    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    store.acquire_lock(job.id)
    with pytest.raises(JobLocked):
        make_store(store_url).acquire_lock(job.id)


def test_only_one_of_several_racing_processes_gets_the_lock(store, store_url):
    """Four processes acquiring at the same instant: exactly one wins."""
    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    racers = [python(RACER, store_url, str(job.id)) for _ in range(4)]
    try:
        for racer in racers:
            assert racer.stdout.readline().strip() == "ready"
        for racer in racers:
            racer.stdin.write("go\n")
            racer.stdin.flush()
        results = sorted(racer.stdout.readline().strip() for racer in racers)
    finally:
        for racer in racers:
            racer.stdin.close()
            racer.wait(30)
    assert results == ["locked", "locked", "locked", "won"]


def test_lock_of_a_dead_process_is_taken_over(store, store_url):
    """A holder that died (same host, pid gone) does not block the re-run."""
    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    dead = python(HOLD_AND_DIE, store_url, str(job.id))
    dead_pid = int(dead.stdout.readline())
    dead.wait(30)
    held = store.get_job(job.id).lock
    assert held is not None
    assert held.pid == dead_pid
    assert store.live_lock_holder(job.id) is None
    lock = store.acquire_lock(job.id)
    assert store.get_job(job.id).lock.pid == os.getpid()
    assert lock.pid == os.getpid()


def test_other_host_lock_is_respected_until_its_heartbeat_goes_stale(
    store, store_url, make_store, fake_clock
):
    """Another host's pid can't be checked: its lock holds until silent > stale_after."""
    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    a = make_store(store_url, clock=fake_clock, host="host-a")
    b = make_store(store_url, clock=fake_clock, host="host-b")
    lock_a = a.acquire_lock(job.id, pid=1)
    fake_clock.advance(STALE_AFTER_S - 10)
    with pytest.raises(JobLocked):
        b.acquire_lock(job.id, pid=2)
    a.heartbeat(lock_a)
    fake_clock.advance(STALE_AFTER_S - 10)
    with pytest.raises(JobLocked):
        b.acquire_lock(job.id, pid=2)
    fake_clock.advance(20)
    lock_b = b.acquire_lock(job.id, pid=2)
    assert lock_b.host == "host-b"


def test_live_pid_with_a_stale_heartbeat_is_taken_over(store, store_url, make_store, fake_clock):
    """Same host, pid alive but silent for > stale_after (pid reused, or hung): taken over."""
    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    a = make_store(store_url, clock=fake_clock, host="host-a")
    a.acquire_lock(job.id, pid=os.getpid())
    fake_clock.advance(STALE_AFTER_S + 1)
    assert a.acquire_lock(job.id, pid=os.getpid()).since == fake_clock.time()


def test_a_taken_over_process_is_stopped_before_writing(store, store_url, make_store, fake_clock):
    """After a takeover, the old holder's next write raises LockLost and writes nothing."""
    from state import StagedRow

    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    store.stage_rows(job.id, [StagedRow(1, "a@x.com", {"email": "a@x.com"})])
    a = make_store(store_url, clock=fake_clock, host="host-a")
    b = make_store(store_url, clock=fake_clock, host="host-b")
    lock_a = a.acquire_lock(job.id, pid=1)
    fake_clock.advance(STALE_AFTER_S + 1)
    b.acquire_lock(job.id, pid=2)
    with pytest.raises(LockLost) as info:
        a.claim_rows(job.id, 10, lock=lock_a)
    assert info.value.exit_code == 1
    with pytest.raises(LockLost):
        a.heartbeat(lock_a)
    assert a.counts_by_status(job.id)["pending"] == 1
    assert a.release_lock(lock_a) is False
    assert store.get_job(job.id).lock.host == "host-b"


def test_release_frees_the_lock_and_locked_context_always_releases(store, store_url, make_store):
    """After release (or leaving `with store.locked(...)`, even on error) anyone can take it."""
    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    lock = store.acquire_lock(job.id)
    assert store.release_lock(lock) is True
    assert store.get_job(job.id).lock is None
    with pytest.raises(RuntimeError), store.locked(job.id) as held:
        assert store.live_lock_holder(job.id).pid == held.pid
        raise RuntimeError("boom")
    assert store.live_lock_holder(job.id) is None
    make_store(store_url).acquire_lock(job.id)


def test_holder_liveness_rule():
    """Stale anywhere -> dead; same host -> pid must exist; other host -> alive if fresh."""
    info = LockInfo(pid=10, host="a", since=0.0, heartbeat=100.0)
    alive = {10: True}.get

    def live(**kw):
        return holder_is_live(info, is_alive=lambda pid: bool(alive(pid)), **kw)

    assert live(host="a", now=150.0)
    assert not live(host="a", now=100.0 + STALE_AFTER_S + 1)
    assert live(host="b", now=150.0)
    assert not live(host="b", now=100.0 + STALE_AFTER_S + 1)
    dead_info = LockInfo(pid=11, host="a", since=0.0, heartbeat=100.0)
    assert not holder_is_live(dead_info, host="a", now=150.0, is_alive=lambda pid: False)
    assert holder_is_live(dead_info, host="b", now=150.0, is_alive=lambda pid: False)
