"""Crash test: ``lgetl import hubspot`` SIGKILLed once while it extracts and once while it
loads, each time followed by the same command, ends with every HubSpot contact that has an
email stored exactly once in the client, and with extraction resumed from its checkpoint
rather than restarted.

The HubSpot side keeps a tight rate limit (10 requests per 10 s) so that extraction takes
several seconds; the LeadGenius side injects 5% faults (some after storing the lead) and
index lag, so ambiguous writes and reconciliation happen too. The test watches the state
store to pick its moments: a page committed but not the last one; rows done but many
still pending.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipelines.hubspot_import import KIND
from pipelines.hubspot_staging import CHECKPOINT
from state import Store, open_store
from tests.fixtures.hubspot_import import ImportStack

CONTACTS = 600


def command(stack: ImportStack, slug: str, state: str) -> list[str]:
    lg = stack.leadgenius
    return [
        sys.executable, "-m", "etl.cli", "import", "hubspot", "--client", slug,
        "--state", state, "--base-url", lg.base_url, "--api-key", lg.demo.api_key,
        "--user-id", lg.demo.user_id, "--rate", "6000", "--consistency-window", "0.3",
        "--hubspot-base-url", stack.hubspot.base_url, "--quiet",
    ]  # fmt: skip


def kill_when(cmd: list[str], env: dict[str, str], ready: Callable[[], bool], what: str) -> None:
    """Start the command, SIGKILL it as soon as ``ready()`` holds (polling the store)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while not ready():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the import ended ({proc.returncode}) before {what}: {err.decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"never reached {what}")
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert b"Traceback" not in err, err.decode()


def extraction(store: Store, slug: str) -> dict[str, Any] | None:
    job = store.find_job(KIND, slug)
    return None if job is None else store.get_checkpoint(job.id, CHECKPOINT)


def row_counts(store: Store, slug: str) -> dict[str, int]:
    job = store.find_job(KIND, slug)
    return {} if job is None else store.counts_by_status(job.id)


@pytest.mark.slow
def test_killed_during_extraction_and_loading_resumes_to_exactly_once(
    make_import_stack: Any, tmp_path: Path
) -> None:
    """SIGKILL mid-extraction, re-run, SIGKILL mid-load, re-run until exit 0: every
    contact with an email is stored once, none missing, the contact list read about once."""
    stack = make_import_stack(
        contacts=CONTACTS, seed=9, rate_limit_per_10s=10, fault_rate=0.05, index_lag_ms=50
    )
    slug = stack.create_client("Crash HubSpot")
    state = f"sqlite:///{tmp_path}/state.sqlite"
    env = {**os.environ, "HUBSPOT_ACCESS_TOKEN": stack.hubspot.token, "PYTHONUNBUFFERED": "1"}
    cmd = command(stack, slug, state)
    with open_store(state) as store:

        def mid_extraction() -> bool:
            saved = extraction(store, slug)
            return saved is not None and saved["pages"] >= 2 and not saved["done"]

        def mid_load() -> bool:
            saved, counts = extraction(store, slug), row_counts(store, slug)
            return (
                bool(saved and saved["done"]) and counts["done"] >= 50 and counts["pending"] >= 50
            )

        kill_when(cmd, env, mid_extraction, "a committed page before the last")
        kill_when(cmd, env, mid_load, "rows done while many are pending")
        for _ in range(5):
            done = subprocess.run(cmd, env=env, capture_output=True, timeout=180, check=False)
            assert b"Traceback" not in done.stderr, done.stderr.decode()
            if done.returncode == 0:
                break
            assert done.returncode == 1, done.stderr.decode()
        else:
            pytest.fail("the import never completed")
        counts = row_counts(store, slug)
    live = [c for c in stack.hubspot.state.contacts.values() if not c.archived]
    emails = {c.properties["email"].lower() for c in live if c.properties.get("email")}
    stored = stack.leadgenius.admin.stored_by_identity(slug)
    assert set(stored.values()) == {1}, "a contact was stored twice"
    assert set(stored) == emails
    assert counts["done"] == len(emails) and counts["rejected"] == len(live) - len(emails)
    requests = stack.hubspot.admin("GET", "/counters")["requests"]
    list_pages = requests["GET /crm/v3/objects/contacts"].get("200", 0)
    assert list_pages <= math.ceil(len(live) / 100) + 1, "extraction restarted from scratch"
