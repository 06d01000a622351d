"""The CSV import pipeline against the real sandbox over HTTP: every accepted row exists
exactly once in the client, re-runs create nothing, ambiguous failures are reconciled
instead of duplicated, and known identities are skipped or updated."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any

import pytest

from etl.client import LeadGeniusClient, resolve_settings
from etl.clock import SystemClock
from etl.progress import NoProgress
from etl.signals import StopRequest
from pipelines.csv_import import ImportOptions, run_csv_import
from pipelines.csv_prepare import CsvOptions
from state import open_store


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def people(start: int, stop: int) -> list[dict[str, str]]:
    return [
        {
            "First Name": f"Ann{i}",
            "Last Name": f"Lee{i}",
            "Email": f"ann.lee{i}@acme-{i % 7}.com",
            "Company": f"Acme {i % 7}",
            "Phone": f"+1 415 555 {i:04d}",
        }
        for i in range(start, stop)
    ]


def import_file(
    sb: Any,
    state_url: str,
    path: Path,
    *,
    client_name: str = "Acme Imports",
    **options: Any,
) -> dict[str, Any]:
    """Run one import like the CLI does, without signals or progress output."""
    settings = resolve_settings(
        base_url=sb.base_url, api_key=sb.demo.api_key, user_id=sb.demo.user_id, rate=0, env={}
    )
    opts = ImportOptions(client_name=client_name, consistency_window=0.2, **options)

    async def main() -> dict[str, Any]:
        with open_store(state_url) as store:
            async with LeadGeniusClient(settings) as api:
                return await run_csv_import(
                    path,
                    CsvOptions(),
                    opts,
                    api=api,
                    store=store,
                    clock=SystemClock(),
                    progress=NoProgress(),
                    stop=StopRequest(),
                )

    return asyncio.run(main())


def slug_of(sb: Any, name: str) -> str:
    with sb.http(sb.demo) as http:
        clients = http.get("/api/clients").json()["clients"]
    return next(c["client_id"] for c in clients if c["clientName"] == name)


def test_every_accepted_row_is_created_exactly_once(sandbox: Any, tmp_path: Path) -> None:
    """40 good rows + 2 bad ones: 40 leads stored once each, 2 rejects, exit state complete."""
    rows = people(0, 40)
    rows.append({**rows[0], "Email": "not-an-email"})
    rows.append({**rows[1]})  # duplicate identity in file
    path = write_csv(tmp_path / "leads.csv", rows)
    summary = import_file(sandbox, f"sqlite:///{tmp_path}/s.sqlite", path)
    assert summary["complete"], summary
    assert summary["rows_read"] == 42 and summary["accepted"] == 40
    assert summary["created"] == 40 and summary["rejected"] == 2
    stored = sandbox.admin.stored_by_identity(slug_of(sandbox, "Acme Imports"))
    assert len(stored) == 40 and set(stored.values()) == {1}
    lead = sandbox.admin.leads(slug_of(sandbox, "Acme Imports"))[0]
    assert "phone" not in lead and lead["phoneNumber"].startswith("+1 415")


def test_rerunning_a_finished_import_creates_nothing(sandbox: Any, tmp_path: Path) -> None:
    """The same command again resumes the finished job: no request creates anything."""
    path = write_csv(tmp_path / "leads.csv", people(0, 10))
    state = f"sqlite:///{tmp_path}/s.sqlite"
    first = import_file(sandbox, state, path)
    posts_before = sum(sandbox.admin.posts().values())
    second = import_file(sandbox, state, path)
    assert first["created"] == 10 and second["this_run"]["created"] == 0
    assert second["job_id"] == first["job_id"] and second["complete"]
    assert sum(sandbox.admin.posts().values()) == posts_before


def test_overlapping_second_file_creates_only_new_identities(sandbox: Any, tmp_path: Path) -> None:
    """Rows whose identity the ledger knows for this client are skipped, the rest created."""
    state = f"sqlite:///{tmp_path}/s.sqlite"
    import_file(sandbox, state, write_csv(tmp_path / "a.csv", people(0, 10)))
    summary = import_file(sandbox, state, write_csv(tmp_path / "b.csv", people(5, 15)))
    assert summary["created"] == 5 and summary["skipped"] == 5
    stored = sandbox.admin.stored_by_identity(slug_of(sandbox, "Acme Imports"))
    assert len(stored) == 15 and set(stored.values()) == {1}


def test_on_existing_update_puts_known_identities(sandbox: Any, tmp_path: Path) -> None:
    """--on-existing update: known identities are updated (batch PUT), never re-created."""
    state = f"sqlite:///{tmp_path}/s.sqlite"
    import_file(sandbox, state, write_csv(tmp_path / "a.csv", people(0, 6)))
    changed = [{**r, "Company": "Renamed Inc"} for r in people(0, 6)]
    summary = import_file(
        sandbox, state, write_csv(tmp_path / "b.csv", changed), on_existing="update"
    )
    assert summary["updated"] == 6 and summary["created"] == 0
    leads = sandbox.admin.leads(slug_of(sandbox, "Acme Imports"))
    assert len(leads) == 6 and {lead["companyName"] for lead in leads} == {"Renamed Inc"}
    assert sandbox.admin.counters()["requests"].get("PUT /api/leads", {})


@pytest.mark.parametrize("seed", [1, 2])
def test_faults_after_store_are_reconciled_not_duplicated(
    make_sandbox: Any, tmp_path: Path, seed: int
) -> None:
    """With 30% faults (half after storing) and index lag, every identity ends stored once."""
    sb = make_sandbox(fault_rate=0.3, seed=seed, index_lag_ms=100)
    path = write_csv(tmp_path / "leads.csv", people(0, 60))
    summary: dict[str, Any] = {}
    for _ in range(5):  # a run may end incomplete when lookups fail too; re-run resumes
        summary = import_file(sb, f"sqlite:///{tmp_path}/s.sqlite", path, max_attempts=20)
        if summary["complete"]:
            break
    assert summary["complete"], summary
    stored = sb.admin.stored_by_identity(summary["client"]["slug"])
    assert len(stored) == 60 and set(stored.values()) == {1}
    assert sb.admin.counters()["faults"], "the test must actually inject faults"


def test_update_skips_identities_whose_data_did_not_change(sandbox: Any, tmp_path: Path) -> None:
    """--on-existing update PUTs only rows whose payload differs from the last write."""
    state = f"sqlite:///{tmp_path}/s.sqlite"
    import_file(sandbox, state, write_csv(tmp_path / "a.csv", people(0, 6)))
    rows = people(0, 6)
    rows[0] = {**rows[0], "Company": "Changed Ltd"}
    summary = import_file(sandbox, state, write_csv(tmp_path / "b.csv", rows), on_existing="update")
    assert summary["updated"] == 1 and summary["skipped"] == 5
    assert summary["rejected_by_reason"] == {}


def test_restart_never_recreates_leads_the_old_job_may_have_sent(
    sandbox: Any, tmp_path: Path
) -> None:
    """--restart on a changed file first looks up the old job's in-flight rows: a lead
    that was sent before a crash reaches the ledger and is skipped, not created twice."""
    state = f"sqlite:///{tmp_path}/s.sqlite"
    first = write_csv(tmp_path / "a.csv", people(0, 10))
    stopped = StopRequest()
    stopped.request()  # stage the job, send nothing
    settings = resolve_settings(
        base_url=sandbox.base_url, api_key=sandbox.demo.api_key, user_id=sandbox.demo.user_id,
        rate=0, env={},
    )  # fmt: skip

    async def stage_then_crash() -> str:
        with open_store(state) as store:
            async with LeadGeniusClient(settings) as api:
                summary = await run_csv_import(
                    first, CsvOptions(), ImportOptions(client_name="Acme Imports"),
                    api=api, store=store, clock=SystemClock(), progress=NoProgress(),
                    stop=stopped,
                )  # fmt: skip
                slug = summary["client"]["slug"]
                # the crash: three rows committed in_flight and sent, outcome never recorded
                for row in store.claim_rows(summary["job_id"], 3):
                    await api.create_lead({**(row.payload or {}), "client_id": slug})
                return slug

    slug = asyncio.run(stage_then_crash())
    changed = write_csv(tmp_path / "b.csv", people(0, 12))
    summary = import_file(sandbox, state, changed, restart=True)
    assert summary["complete"], summary
    assert summary["created"] == 9 and summary["skipped"] == 3
    stored = sandbox.admin.stored_by_identity(slug)
    assert len(stored) == 12 and set(stored.values()) == {1}


def test_tokens_expiring_during_the_import_cause_no_failure(
    make_sandbox: Any, tmp_path: Path
) -> None:
    """Bearer auth with 3-second tokens over a ~8-second import: the client renews the
    session before expiry (or after a 401 token_expired) and no row fails or is lost."""
    sb = make_sandbox(token_ttl=3, latency_ms=40, seed=5)
    path = write_csv(tmp_path / "leads.csv", people(0, 400))
    settings = resolve_settings(
        base_url=sb.base_url, email=sb.demo.email, password=sb.demo.password, rate=0, env={}
    )
    opts = ImportOptions(client_name="Token Test", consistency_window=0.2, concurrency=2)

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        with open_store(f"sqlite:///{tmp_path}/s.sqlite") as store:
            async with LeadGeniusClient(settings) as api:
                summary = await run_csv_import(
                    path, CsvOptions(), opts, api=api, store=store, clock=SystemClock(),
                    progress=NoProgress(), stop=StopRequest(),
                )  # fmt: skip
                return summary, api.stats.as_dict()

    summary, stats = asyncio.run(main())
    assert summary["complete"] and summary["created"] == 400, summary
    assert summary["this_run"]["seconds"] > 6, "the run must outlive two token lifetimes"
    assert stats["refreshes"] + stats["relogins"] >= 2, stats
    stored = sb.admin.stored_by_identity(summary["client"]["slug"])
    assert len(stored) == 400 and set(stored.values()) == {1}
