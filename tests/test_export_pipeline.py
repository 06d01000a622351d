"""The export loop (pipelines/leads_export.py) against an in-memory page source.

These tests drive resume, dedupe, drift and failure paths deterministically; the same
behaviours against the real sandbox over HTTP are in tests/test_cli_export.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from etl.clock import FakeClock
from etl.errors import ConfigError, Interrupted
from etl.signals import StopRequest
from etl.sinks.parts import read_manifest
from pipelines.export_plan import CHECKPOINT_KEY, ExportRequest
from pipelines.leads_export import ExportStopped, export_leads
from state import open_store


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_token: str | None


class ServerDown(Exception):
    pass


class FakeSource:
    """Pages by token ("0", "1", ...); can fail (like the client after its retries)."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages
        self.calls: list[str | None] = []
        self.fail_at: int | None = None
        self.error: Exception | None = None

    async def bulk_page(self, source: Any, *, next_token: str | None = None, **_: Any) -> Page:
        self.calls.append(next_token)
        index = int(next_token or 0)
        if self.fail_at is not None and index >= self.fail_at:
            from etl.client import ServerError

            raise self.error or ServerError("GET /api/enrich-leads/list: 503 after 5 retries")
        following = str(index + 1) if index + 1 < len(self.pages) else None
        return Page([dict(r) for r in self.pages[index]], following)


def _pages(count: int, size: int, start: int = 0) -> list[list[dict[str, Any]]]:
    return [
        [
            {"id": f"lead-{start + p * size + i:05d}", "client_id": f"c{(p * size + i) % 3}",
             "aiLeadScore": str(i % 100) if i % 2 else i % 100, "createdAt": "2025-01-01T00:00:00Z"}
            for i in range(size)
        ]
        for p in range(count)
    ]  # fmt: skip


@pytest.fixture
def store(tmp_path):
    opened = open_store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    yield opened
    opened.close()


def _request(out: Path, **options: Any) -> ExportRequest:
    options.setdefault("part_rows", 20)
    return ExportRequest.build(
        out_dir=out, company_id="co-1", base_url="http://sandbox.test", **options
    )


def _run(request, source, store, **kwargs):
    return asyncio.run(
        export_leads(
            request, client=source, store=store, clock=FakeClock(), durable=False, **kwargs
        )
    )


def _ids(out: Path) -> list[str]:
    ids: list[str] = []
    for part in read_manifest(out)["parts"]:
        ids += pq.read_table(out / part["path"], columns=["id"]).column("id").to_pylist()
    return ids


def test_every_page_is_exported_once_in_parts_of_part_rows(tmp_path, store):
    """5 pages of 10 rows with part_rows 20 -> 3 parts (20, 20, 10), manifest last."""
    out = tmp_path / "out"
    summary = _run(_request(out), FakeSource(_pages(5, 10)), store)
    manifest = read_manifest(out)
    assert summary.status == "complete"
    assert [p["rows"] for p in manifest["parts"]] == [20, 20, 10]
    assert manifest["rows"] == summary.rows == 50
    assert sorted(_ids(out)) == [f"lead-{i:05d}" for i in range(50)]


def test_duplicates_across_pages_are_dropped_and_counted(tmp_path, store):
    """An id seen on an earlier page is dropped; the summary counts it."""
    pages = _pages(2, 10)
    pages[1][0]["id"] = pages[0][3]["id"]
    pages[1][1]["id"] = pages[1][2]["id"]
    pages[1].append({"aiLeadScore": 1})  # no id: counted apart
    summary = _run(_request(tmp_path / "out"), FakeSource(pages), store)
    assert summary.rows == 18
    assert summary.duplicates_dropped == 2
    assert summary.rows_without_id == 1
    assert len(set(_ids(tmp_path / "out"))) == 18


def test_a_field_first_seen_late_becomes_a_column_of_every_part(tmp_path, store):
    """Unknown field "shoeSize" appears on page 4: earlier parts get it as nulls."""
    pages = _pages(4, 10)
    pages[3][5]["shoeSize"] = 44
    out = tmp_path / "out"
    summary = _run(_request(out), FakeSource(pages), store)
    manifest = read_manifest(out)
    assert summary.extra_columns == ["shoeSize"] == manifest["extra_columns"]
    schemas = [pq.read_schema(out / p["path"]) for p in manifest["parts"]]
    assert all(s.equals(schemas[0]) for s in schemas)
    assert schemas[0].names[-1] == "shoeSize"
    column = {c["name"]: c for c in manifest["columns"]}["shoeSize"]
    assert column == {"name": "shoeSize", "type": "string", "known": False, "in_files": True}
    values = [
        v for p in manifest["parts"] for v in pq.read_table(out / p["path"])["shoeSize"].to_pylist()
    ]
    assert [v for v in values if v is not None] == ["44"]


def test_resume_after_a_failure_continues_from_the_last_committed_page(tmp_path, store):
    """The API fails on page 4: what was converted is committed, exit 1, and the re-run
    fetches only the rest."""
    out = tmp_path / "out"
    pages = _pages(6, 10)
    pages[4][0]["id"] = pages[0][0]["id"]  # exported before the failure: still a duplicate
    source = FakeSource(pages)
    source.fail_at = 3
    with pytest.raises(ExportStopped) as failed:
        _run(_request(out), source, store)
    assert failed.value.exit_code == 1
    assert "re-run the same command to resume" in str(failed.value)
    assert read_manifest(out) is None
    source.fail_at = None
    source.calls.clear()
    summary = _run(_request(out), source, store)
    assert source.calls == ["3", "4", "5"]
    assert summary.resumed and summary.rows == 59 and summary.rows_this_run == 29
    assert summary.duplicates_dropped == 1
    assert sorted(_ids(out)) == [f"lead-{i:05d}" for i in range(60) if i != 40]


def test_bad_credentials_stop_with_exit_2(tmp_path, store):
    """An auth failure keeps its exit code 2 and its message."""
    from etl.client import AuthError

    source = FakeSource(_pages(2, 10))
    source.fail_at = 0
    source.error = AuthError("the API key was refused: check --api-key")
    with pytest.raises(ExportStopped) as failed:
        _run(_request(tmp_path / "out"), source, store)
    assert failed.value.exit_code == 2
    assert "API key was refused" in str(failed.value)


def test_uncommitted_files_of_a_crashed_run_are_removed(tmp_path, store):
    """Part files no checkpoint knows (crash between rename and commit) and temp files are
    deleted before resuming; committed parts stay."""
    out = tmp_path / "out"
    source = FakeSource(_pages(6, 10))
    source.fail_at = 2
    with pytest.raises(ExportStopped):
        _run(_request(out), source, store)
    (out / "part-00001.parquet").write_bytes(b"half a crash")
    (out / ".part-00002.parquet.tmp").write_bytes(b"temp")
    source.fail_at = None
    summary = _run(_request(out), source, store)
    assert summary.stray_files_removed == 2
    assert sorted(_ids(out)) == [f"lead-{i:05d}" for i in range(60)]


def test_a_complete_export_is_not_fetched_again(tmp_path, store):
    """With _manifest.json present for the same command, nothing is requested; exit 0."""
    out = tmp_path / "out"
    source = FakeSource(_pages(2, 10))
    _run(_request(out), source, store)
    source.calls.clear()
    summary = _run(_request(out), source, store)
    assert summary.status == "already_complete" and summary.rows == 20
    assert source.calls == []


def test_another_export_into_the_same_directory_is_refused(tmp_path, store):
    """A directory holding a complete export of other options needs --restart."""
    out = tmp_path / "out"
    _run(_request(out), FakeSource(_pages(2, 10)), store)
    with pytest.raises(ConfigError, match="--restart"):
        _run(_request(out, fields="email"), FakeSource(_pages(2, 10)), store)


def test_restart_replaces_the_previous_export(tmp_path, store):
    """--restart deletes the old parts and manifest and exports from the first page."""
    out = tmp_path / "out"
    _run(_request(out), FakeSource(_pages(3, 10)), store)
    source = FakeSource(_pages(1, 5, start=900))
    summary = _run(_request(out, fields="email"), source, store, restart=True)
    assert summary.rows == 5 and source.calls == [None]
    assert sorted(p.name for p in out.iterdir()) == ["_manifest.json", "part-00000.parquet"]


def test_part_files_no_job_recorded_are_not_deleted(tmp_path, store):
    """Without a checkpoint, existing part-*.parquet files mean "not ours": refuse."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "part-00000.parquet").write_bytes(b"someone else's")
    with pytest.raises(ConfigError, match="no export job recorded"):
        _run(_request(out), FakeSource(_pages(1, 5)), store)
    assert (out / "part-00000.parquet").read_bytes() == b"someone else's"


def test_a_stop_request_commits_and_exits_interrupted(tmp_path, store):
    """SIGTERM mid-export: the pages read so far are committed, exit 143, resume works."""
    out = tmp_path / "out"
    source = FakeSource(_pages(6, 10))
    stop = StopRequest()
    original = source.bulk_page

    async def stop_after_two(*args: Any, **kwargs: Any) -> Page:
        if len(source.calls) == 2:
            stop.request(15)
        return await original(*args, **kwargs)

    source.bulk_page = stop_after_two  # type: ignore[method-assign]
    with pytest.raises(Interrupted) as stopped:
        _run(_request(out), source, store, stop=stop)
    assert stopped.value.exit_code == 143
    job = store.find_job("export", str(out.resolve()))
    committed = store.get_checkpoint(job.id, CHECKPOINT_KEY)
    assert committed["rows"] >= 20 and not committed["exhausted"]
    source.bulk_page = original  # type: ignore[method-assign]
    assert _run(_request(out), source, store).rows == 60


def test_partitioning_writes_hive_directories_without_the_partition_column(tmp_path, store):
    """--partition-by client_id: client_id=<slug>/part-NNNNN.parquet, column moved to the path."""
    out = tmp_path / "out"
    _run(_request(out, partition_by="client_id"), FakeSource(_pages(3, 10)), store)
    manifest = read_manifest(out)
    dirs = sorted({p["path"].split("/")[0] for p in manifest["parts"]})
    assert dirs == ["client_id=c0", "client_id=c1", "client_id=c2"]
    first = manifest["parts"][0]
    assert first["partition"] == {"client_id": first["path"].split("/")[0].split("=")[1]}
    assert "client_id" not in pq.read_schema(out / first["path"]).names
    assert sum(p["rows"] for p in manifest["parts"]) == 30


def test_empty_result_writes_a_manifest_with_zero_rows(tmp_path, store):
    """No records at all: no part, and a manifest saying 0 rows."""
    out = tmp_path / "out"
    summary = _run(_request(out), FakeSource([[]]), store)
    manifest = read_manifest(out)
    assert summary.rows == 0 and manifest["rows"] == 0 and manifest["parts"] == []


def test_a_repeated_next_token_stops_instead_of_looping(tmp_path, store):
    """A server handing back the same cursor would page forever: stop with exit 1."""
    source = FakeSource(_pages(3, 5))

    async def stuck(source_name: Any, *, next_token: str | None = None, **_: Any) -> Page:
        return Page([{"id": f"x{next_token}"}], "1")

    source.bulk_page = stuck  # type: ignore[method-assign]
    with pytest.raises(ExportStopped, match="same nextToken"):
        _run(_request(tmp_path / "out"), source, store)


def test_an_unfinished_export_with_other_options_needs_restart(tmp_path, store):
    """Same directory, other options while the first export is unfinished: exit 2
    (SourceChanged); --restart starts the new export over."""
    from state import SourceChanged

    out = tmp_path / "out"
    source = FakeSource(_pages(4, 10))
    source.fail_at = 2
    with pytest.raises(ExportStopped):
        _run(_request(out), source, store)
    source.fail_at = None
    with pytest.raises(SourceChanged) as changed:
        _run(_request(out, fields="email"), source, store)
    assert changed.value.exit_code == 2
    summary = _run(_request(out, fields="email"), source, store, restart=True)
    assert summary.rows == 40 and not summary.resumed


def test_the_export_restores_the_garbage_collector_settings(tmp_path, store):
    """The export collects once a page and freezes older objects; afterwards the process
    has its own thresholds back and nothing stays frozen."""
    import gc

    before = gc.get_threshold()
    _run(_request(tmp_path / "out"), FakeSource(_pages(3, 10)), store)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
