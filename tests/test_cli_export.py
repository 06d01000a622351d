"""``lgetl export leads`` against the real sandbox over HTTP: the issue's acceptance rules."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from etl.cli import app
from schemas.export import KNOWN_KINDS

N = 20_000


@pytest.fixture(autouse=True)
def _no_ambient_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LEADGENIUS_TOKEN", "LEADGENIUS_AUTH_FILE", "LEADGENIUS_API_KEY", "LGP_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))


@pytest.fixture
def synth(make_sandbox: Any) -> Any:
    """A sandbox whose demo company holds N synthetic enrich leads over four clients."""
    return make_sandbox(synthetic_leads=N, seed=11)


def export(sb: Any, tmp_path: Path, *args: str, account: Any = None, api_key: str = "") -> Any:
    acct = account or sb.demo
    argv = [
        "export", "leads", "--base-url", sb.base_url, "--api-key", api_key or acct.api_key,
        "--user-id", acct.user_id, "--company-id", acct.company_id,
        "--state", str(tmp_path / "state.sqlite"), "--rate", "0", "--progress", "off", *args,
    ]  # fmt: skip
    return CliRunner().invoke(app, argv)


def api_records(sb: Any, **params: str) -> list[dict[str, Any]]:
    """Every record of the list endpoint, straight from the API's JSON."""
    http = httpx.Client(
        base_url=sb.base_url, headers={"x-api-key": sb.demo.api_key, "x-user-id": sb.demo.user_id}
    )
    records, token = [], None
    while True:
        query = {"companyId": sb.demo.company_id, "limit": "5000", **params}
        if token:
            query["nextToken"] = token
        body = http.get("/api/enrich-leads/list", params=query).json()
        records += body["items"]
        token = body["nextToken"]
        if not token:
            return records


def expected(column: str, value: Any) -> Any:
    """The API's JSON value after the documented conversion of its column."""
    kind = KNOWN_KINDS.get(column, "string")
    if kind == "int64":
        return int(value)
    if kind == "float64":
        return float(value)
    if kind == "timestamp":
        return datetime.fromisoformat(value)
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def test_export_has_every_lead_once_in_one_schema_with_api_values(synth, tmp_path):
    """Row count = the sandbox's, ids unique, DuckDB reads all parts as one schema, and a
    sample of records equals the API's JSON field by field (after type conversion)."""
    out = tmp_path / "out"
    result = export(synth, tmp_path, "--out", str(out), "--page-size", "2000",
                    "--part-rows", "6000", "--summary-json", str(tmp_path / "s.json"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "export complete: 20000 rows in 4 parts" in result.stdout
    total = synth.admin.synthetic()["total"]
    con = duckdb.connect()
    rows, distinct = con.sql(
        f"select count(*), count(distinct id) from read_parquet('{out}/*.parquet')"
    ).fetchall()[0]
    assert rows == distinct == total == N
    schemas = [pq.read_schema(p) for p in sorted(out.glob("*.parquet"))]
    assert len(schemas) == 4 and all(s.equals(schemas[0]) for s in schemas)
    manifest = json.loads((out / "_manifest.json").read_text())
    assert [c["name"] for c in manifest["columns"]] == schemas[0].names
    assert manifest["rows"] == N and sum(p["rows"] for p in manifest["parts"]) == N
    assert synth.demo.api_key not in (out / "_manifest.json").read_text()
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["rows"] == N and summary["duplicates_dropped"] == 0

    sample = api_records(synth)[::397]
    table = ds.dataset(str(out), format="parquet").to_table(
        filter=ds.field("id").isin([r["id"] for r in sample])
    )
    exported = {row["id"]: row for row in table.to_pylist()}
    compared = 0
    for record in sample:
        row = exported[record["id"]]
        for column, value in record.items():
            assert row[column] == expected(column, value), (record["id"], column)
            compared += 1
        absent = set(row) - set(record)
        assert all(row[c] is None for c in absent)
    assert compared > 10 * len(sample)


def test_rerunning_a_complete_export_does_no_work(synth, tmp_path):
    """Same command again: "already complete", exit 0, no request to the list endpoint."""
    out = tmp_path / "out"
    assert export(synth, tmp_path, "--out", str(out)).exit_code == 0
    before = synth.admin.counters()["requests"]
    again = export(synth, tmp_path, "--out", str(out))
    assert again.exit_code == 0, again.output
    assert "already complete" in again.stdout
    assert synth.admin.counters()["requests"] == before


def test_fields_projection_exports_only_those_columns(synth, tmp_path):
    """--fields email,aiLeadScore: files hold id, email, aiLeadScore (typed int64)."""
    out = tmp_path / "out"
    result = export(synth, tmp_path, "--out", str(out), "--fields", "email,aiLeadScore")
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.schema.names == ["id", "email", "aiLeadScore"]
    assert str(table.schema.field("aiLeadScore").type) == "int64"
    assert table.num_rows == N
    api = {r["id"]: r for r in api_records(synth, fields="email,aiLeadScore")}
    for row in table.slice(0, 300).to_pylist():
        source = api[row["id"]]
        assert row["email"] == source.get("email")
        score = source.get("aiLeadScore")
        assert row["aiLeadScore"] == (None if score is None else int(score))


def test_client_filter_exports_only_that_client(synth, tmp_path):
    """--client-id <slug>: exactly that client's leads (the sandbox's true count)."""
    counts = synth.admin.synthetic()["clients"]
    slug = sorted(counts)[1]
    out = tmp_path / "out"
    result = export(synth, tmp_path, "--out", str(out), "--client-id", slug)
    assert result.exit_code == 0, result.output
    con = duckdb.connect()
    got = con.sql(
        f"select client_id, count(*), count(distinct id) from '{out}/*.parquet' group by 1"
    ).fetchall()
    assert got == [(slug, counts[slug], counts[slug])]


def test_partitioned_export_reads_back_per_client_with_hive_partitioning(synth, tmp_path):
    """--partition-by client_id: client_id=<slug>/ directories; DuckDB hive reading gives
    each client's true count."""
    out = tmp_path / "out"
    result = export(synth, tmp_path, "--out", str(out), "--partition-by", "client_id")
    assert result.exit_code == 0, result.output
    counts = synth.admin.synthetic()["clients"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(
        f"client_id={slug}" for slug in counts
    )
    con = duckdb.connect()
    got = con.sql(
        f"select client_id, count(*) from read_parquet('{out}/*/*.parquet', "
        "hive_partitioning = true, hive_types = {'client_id': VARCHAR}) group by 1"
    ).fetchall()
    assert dict(got) == counts


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_csv_and_ndjson_exports_read_back_in_duckdb(make_sandbox, tmp_path, fmt):
    """Other formats: same rows, ids unique, timestamps readable as timestamps."""
    sb = make_sandbox(synthetic_leads=3000, seed=5)
    out = tmp_path / "out"
    result = export(sb, tmp_path, "--out", str(out), "--format", fmt, "--part-rows", "1000",
                    "--page-size", "1000")  # fmt: skip
    assert result.exit_code == 0, result.output
    reader = "read_csv" if fmt == "csv" else "read_json"
    con = duckdb.connect()
    rows, distinct, newest = con.sql(
        f"select count(*), count(distinct id), max(updatedAt::timestamptz) "
        f"from {reader}('{out}/*.{fmt}')"
    ).fetchall()[0]
    assert rows == distinct == 3000
    assert newest.year >= 2025


def test_empty_result_writes_a_manifest_with_zero_rows(synth, tmp_path):
    """A company without leads: exit 0, no part, manifest with 0 rows."""
    out = tmp_path / "out"
    result = export(synth, tmp_path, "--out", str(out), account=synth.other)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["rows"] == 0 and manifest["parts"] == []
    assert list(out.glob("*.parquet")) == []


def test_invalid_api_key_is_a_clear_error_with_exit_2(synth, tmp_path):
    """A wrong API key: one line, exit 2, no traceback, the key not echoed."""
    wrong = "lgp_" + "0" * 40
    result = export(synth, tmp_path, "--out", str(tmp_path / "out"), api_key=wrong)
    assert result.exit_code == 2, result.output
    assert "api key" in result.stderr.lower()
    assert "Traceback" not in result.output
    assert wrong not in result.output


def test_a_5xx_storm_is_retried_and_the_export_completes(make_sandbox, tmp_path):
    """Every request fails for a while (5xx and dropped connections): the client retries,
    then the export completes with every lead once."""
    sb = make_sandbox(synthetic_leads=5000, seed=3, fault_rate=1.0)

    def end_storm() -> None:
        deadline = time.monotonic() + 30
        while sum(sb.admin.counters()["faults"].values()) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        sb.admin.set_config(fault_rate=0.0)

    calm = threading.Thread(target=end_storm)
    calm.start()
    out = tmp_path / "out"
    result = export(sb, tmp_path, "--out", str(out), "--page-size", "1000",
                    "--summary-json", str(tmp_path / "s.json"))  # fmt: skip
    calm.join()
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["retries"] >= 3
    con = duckdb.connect()
    assert con.sql(f"select count(distinct id) from '{out}/*.parquet'").fetchall()[0] == (5000,)
