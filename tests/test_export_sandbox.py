"""The export pipeline with the real client and the sandbox over HTTP, on a fake clock
(retry backoff takes no real time)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from etl.client import LeadGeniusClient, resolve_settings
from etl.clock import FakeClock
from etl.sinks.parts import read_manifest
from pipelines.export_plan import ExportRequest
from pipelines.leads_export import ExportStopped, export_leads
from state import open_store


@pytest.fixture
def store(tmp_path):
    opened = open_store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    yield opened
    opened.close()


def run_export(sb: Any, store: Any, out: Path, *, stop_storm_after: int | None = None, **opts):
    """Run one export; with ``stop_storm_after``, every request fails from that page on."""
    settings = resolve_settings(
        base_url=sb.base_url, api_key=sb.demo.api_key, user_id=sb.demo.user_id, rate=0, env={}
    )
    request = ExportRequest.build(
        out_dir=out, company_id=sb.demo.company_id, base_url=sb.base_url, **opts
    )

    async def main() -> Any:
        clock = FakeClock()
        async with LeadGeniusClient(settings, clock=clock) as client:
            if stop_storm_after is not None:
                original = client.bulk_page
                calls = 0

                async def stormy(*args: Any, **kwargs: Any) -> Any:
                    nonlocal calls
                    calls += 1
                    if calls == stop_storm_after + 1:
                        await asyncio.to_thread(sb.admin.set_config, fault_rate=1.0)
                    return await original(*args, **kwargs)

                client.bulk_page = stormy  # type: ignore[method-assign]
            return await export_leads(request, client=client, store=store, clock=clock)

    return asyncio.run(main())


def _ids(out: Path) -> list[str]:
    ids: list[str] = []
    for part in read_manifest(out)["parts"]:
        ids += pq.read_table(out / part["path"], columns=["id"]).column("id").to_pylist()
    return ids


def test_a_storm_outlasting_the_retries_exits_1_and_the_rerun_completes(
    make_sandbox, store, tmp_path
):
    """5xx on every request after page 3: retries run out, exit 1 with a resume hint, the
    committed parts stay; once the API is back the same command finishes, no id lost or
    doubled."""
    sb = make_sandbox(synthetic_leads=4000, seed=2)
    out = tmp_path / "out"
    opts = {"page_size": 500, "part_rows": 1000}
    with pytest.raises(ExportStopped) as stopped:
        run_export(sb, store, out, stop_storm_after=3, **opts)
    assert stopped.value.exit_code == 1
    assert "re-run the same command to resume" in str(stopped.value)
    assert sum(sb.admin.counters()["faults"].values()) >= 6  # 1 try + 5 retries
    assert read_manifest(out) is None
    committed = list(out.glob("part-*.parquet"))
    assert committed  # pages 1-3 were written before the storm
    sb.admin.set_config(fault_rate=0.0)
    summary = run_export(sb, store, out, **opts)
    assert summary.resumed
    ids = _ids(out)
    assert len(ids) == len(set(ids)) == 4000


def test_source_leads_are_exported_from_their_own_endpoint(make_sandbox, store, tmp_path):
    """--source source reads /api/source-leads/list (the manifest says which)."""
    sb = make_sandbox(synthetic_leads=1500, seed=4)
    out = tmp_path / "out"
    summary = run_export(sb, store, out, source="source", page_size=1000)
    manifest = read_manifest(out)
    assert manifest["source"]["endpoint"] == "/api/source-leads/list"
    assert summary.rows == 1500
    assert sb.admin.counters()["requests"].get("GET /api/source-leads/list")
