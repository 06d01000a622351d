"""Part files and the manifest (etl/sinks/parts.py): atomic, typed, format by format."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl.sinks.parts import (
    MANIFEST,
    PartWriter,
    list_parts,
    partition_dir,
    read_manifest,
    read_part_ids,
    remove_export,
    remove_strays,
    widen_part,
    write_manifest,
    write_part,
)

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("score", pa.int64()),
        ("createdAt", pa.timestamp("us", tz="UTC")),
        ("notes", pa.string()),
    ]
)


def _table(ids, schema=SCHEMA):
    n = len(ids)
    return pa.table(
        {
            "id": ids,
            "score": list(range(n)),
            "createdAt": [datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)] * n,
            "notes": ['say "hi", then\nleave'] + [None] * (n - 1),
        },
        schema=schema,
    )


def test_a_part_is_invisible_until_closed(tmp_path):
    """While written, a part lives under a hidden temp name; close renames it into place."""
    path = tmp_path / "part-00000.parquet"
    writer = PartWriter(path, "parquet", SCHEMA)
    writer.write(_table(["a", "b"]))
    assert not path.exists()
    assert list_parts(tmp_path) == []
    size = writer.close()
    assert path.stat().st_size == size
    assert [p.name for p in tmp_path.iterdir()] == ["part-00000.parquet"]


def test_an_aborted_part_leaves_nothing(tmp_path):
    """abort() removes the temp file; no part appears."""
    writer = PartWriter(tmp_path / "part-00000.csv", "csv", SCHEMA)
    writer.write(_table(["a"]))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_parquet_parts_keep_types_and_group_pages_into_row_groups(tmp_path):
    """Pages are buffered into row groups of about row_group_rows; types (int64, UTC
    timestamp) survive."""
    path = tmp_path / "part-00000.parquet"
    writer = PartWriter(path, "parquet", SCHEMA, row_group_rows=3)
    writer.write(_table(["a", "b"]))
    writer.write(_table(["c"]))
    writer.write(_table(["d"]))
    writer.close()
    assert [pq.ParquetFile(path).metadata.row_group(i).num_rows for i in range(2)] == [3, 1]
    back = pq.read_table(path)
    assert back.schema.equals(SCHEMA)
    assert back.column("id").to_pylist() == ["a", "b", "c", "d"]


def test_a_table_with_another_schema_is_refused(tmp_path):
    """A part never mixes schemas."""
    writer = PartWriter(tmp_path / "part-00000.parquet", "parquet", SCHEMA)
    other = pa.table({"id": ["a"]})
    with pytest.raises(ValueError, match="schema"):
        writer.write(other)
    writer.abort()


def test_csv_parts_have_a_header_iso_timestamps_and_rfc4180_quoting(tmp_path):
    """CSV: one header, timestamps as 2025-01-02T03:04:05.000000Z, quotes and newlines kept."""
    path = tmp_path / "part-00000.csv"
    write_part(_table(["a", "b"]), path, "csv")
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "score", "createdAt", "notes"]
    assert rows[1] == ["a", "0", "2025-01-02T03:04:05.000000Z", 'say "hi", then\nleave']
    assert rows[2][3] == ""
    assert read_part_ids(path, "csv") == ["a", "b"]


def test_ndjson_parts_have_one_object_per_line(tmp_path):
    """NDJSON: one JSON object per row, nulls included, ids readable back."""
    path = tmp_path / "part-00000.ndjson"
    write_part(_table(["a", "b"]), path, "ndjson")
    lines = path.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b"]
    assert json.loads(lines[1])["notes"] is None
    assert read_part_ids(path, "ndjson") == ["a", "b"]


def test_widening_adds_late_columns_as_nulls_parquet(tmp_path):
    """A part written before an extra column appeared gets it (all null), data unchanged."""
    path = tmp_path / "part-00000.parquet"
    write_part(_table(["a", "b"]), path, "parquet")
    wider = SCHEMA.append(pa.field("shoeSize", pa.string()))
    assert widen_part(path, "parquet", wider)
    back = pq.read_table(path)
    assert back.schema.equals(wider)
    assert back.column("shoeSize").null_count == 2
    assert back.column("score").to_pylist() == [0, 1]
    assert not widen_part(path, "parquet", wider)  # already wide: untouched


def test_widening_a_csv_part_keeps_its_text(tmp_path):
    """CSV widening appends an empty column and keeps every other value as written."""
    path = tmp_path / "part-00000.csv"
    write_part(_table(["a", "b"]), path, "csv")
    before = path.read_text().splitlines()
    wider = SCHEMA.append(pa.field("shoeSize", pa.string()))
    assert widen_part(path, "csv", wider)
    after = path.read_text().splitlines()
    assert after[0] == before[0] + ',"shoeSize"'
    assert after[1] == before[1]  # the quoted newline splits row "a" over two lines
    assert after[2:] == [line + "," for line in before[2:]]


def test_ndjson_parts_are_not_rewritten(tmp_path):
    """NDJSON readers treat a missing key as null: no rewrite."""
    path = tmp_path / "part-00000.ndjson"
    write_part(_table(["a"]), path, "ndjson")
    assert not widen_part(path, "ndjson", SCHEMA.append(pa.field("x", pa.string())))


def test_partition_directories_are_hive_style_and_escaped():
    """client_id=<slug>, URL-escaped; a missing value is Hive's default partition."""
    assert partition_dir("client_id", "acme-corp") == "client_id=acme-corp"
    assert partition_dir("client_id", "a/b c") == "client_id=a%2Fb%20c"
    assert partition_dir("client_id", None) == "client_id=__HIVE_DEFAULT_PARTITION__"


def test_strays_are_removed_but_foreign_files_are_kept(tmp_path):
    """Only our temp files and unrecorded part files go; a user's notes.txt stays."""
    (tmp_path / "part-00000.parquet").write_bytes(b"kept")
    (tmp_path / "part-00001.parquet").write_bytes(b"stray")
    (tmp_path / ".part-00002.parquet.tmp").write_bytes(b"temp")
    (tmp_path / "notes.txt").write_text("mine")
    hive = tmp_path / "client_id=x"
    hive.mkdir()
    (hive / "part-00003.parquet").write_bytes(b"stray")
    removed = remove_strays(tmp_path, keep={"part-00000.parquet"})
    assert sorted(removed) == [
        ".part-00002.parquet.tmp",
        "client_id=x/part-00003.parquet",
        "part-00001.parquet",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "part-00000.parquet"]


def test_remove_export_deletes_parts_and_manifest_only(tmp_path):
    """--restart clears the export's own files and nothing else."""
    write_part(_table(["a"]), tmp_path / "part-00000.parquet", "parquet")
    write_manifest(tmp_path, {"rows": 1})
    (tmp_path / "README").write_text("keep me")
    remove_export(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["README"]


def test_manifest_round_trips_and_absent_means_incomplete(tmp_path):
    """The manifest is written atomically and read back; no manifest -> None."""
    assert read_manifest(tmp_path) is None
    write_manifest(tmp_path, {"rows": 3, "parts": []})
    assert read_manifest(tmp_path) == {"rows": 3, "parts": []}
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST]


def test_duckdb_reads_all_parts_with_one_schema(tmp_path):
    """Parts written with one schema read back as one table in DuckDB."""
    for i, ids in enumerate([["a", "b"], ["c"]]):
        write_part(_table(ids), tmp_path / f"part-{i:05d}.parquet", "parquet")
    con = duckdb.connect()
    rows = con.sql(f"select count(*), count(distinct id) from '{tmp_path}/*.parquet'").fetchall()
    assert rows == [(3, 3)]
    described = con.sql(f"describe select * from '{tmp_path}/*.parquet'").fetchall()
    kinds = {row[0]: row[1] for row in described}
    assert kinds["createdAt"] == "TIMESTAMP WITH TIME ZONE"
    assert kinds["score"] == "BIGINT"


def test_statistics_are_written_only_for_the_chosen_columns(tmp_path):
    """statistics=[...] limits min/max statistics to those columns (cheaper writes)."""
    path = tmp_path / "part-00000.parquet"
    writer = PartWriter(path, "parquet", SCHEMA, statistics=["id", "createdAt"])
    writer.write(_table(["a", "b"]))
    writer.close()
    group = pq.ParquetFile(path).metadata.row_group(0)
    with_stats = {
        group.column(i).path_in_schema
        for i in range(group.num_columns)
        if group.column(i).is_stats_set
    }
    assert with_stats == {"id", "createdAt"}
