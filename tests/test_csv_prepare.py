"""prepare_csv: the read -> map -> sanitize -> validate composition the loader stages."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest

from etl.sources.csv_module import RawChunk, empty_chunk
from etl.sources.mapping import DROPPED, TO_NOTES
from pipelines.csv_prepare import (
    CsvOptions,
    Prepared,
    _warmed_up,
    iter_payloads,
    payload_columns,
    prepare_csv,
    write_rejects,
)

MESSY = (
    "First Name,Last Name,Email,Company,Shoe Size\n"
    "Jane,Doe,jane@acme.com,Acme,40\n"
    "Bad,Row,not-an-email,Acme,41\n"
    "Short,Row\n"
    "Janet,Doe,JANE@acme.com,Acme,42\n"
    ",,,,\n"
    "Jo,Ng,jo@globex.com,Globex,\n"
)


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    path = tmp_path / "messy.csv"
    path.write_text(MESSY, encoding="utf-8")
    return path


def test_every_row_is_accepted_or_rejected_with_its_source_columns(messy: Path) -> None:
    """accepted + rejected == rows_read; rejects keep the source values as strings."""
    prepared = prepare_csv(messy, CsvOptions())
    assert (prepared.rows_read, prepared.accepted.height, prepared.rejected.height) == (6, 2, 4)
    assert prepared.rejected.columns == [
        "_line", "_reason", "_detail", "First Name", "Last Name", "Email", "Company", "Shoe Size",
    ]  # fmt: skip
    assert prepared.rejected.select("_line", "_reason").rows() == [
        (3, "invalid_email"),
        (4, "malformed_row"),
        (5, "duplicate_in_file"),
        (6, "missing_identity"),
    ]
    assert prepared.rejected.row(2)[2] == "same identity as line 2 (email:jane@acme.com)"
    assert prepared.rejected.row(0)[3:] == ("Bad", "Row", "not-an-email", "Acme", "41")
    assert prepared.accepted["_line"].to_list() == [2, 7]


def test_summary_counts_by_reason_and_shows_the_mapping(messy: Path) -> None:
    """The dry-run / --summary-json summary."""
    summary = prepare_csv(messy, CsvOptions(extra="drop")).summary()
    assert summary["rows_read"] == 6
    assert summary["accepted"] == 2
    assert summary["rejected"] == {
        "malformed_row": 1, "invalid_email": 1, "missing_identity": 1, "duplicate_in_file": 1
    }  # fmt: skip
    assert summary["mapping"] == {
        "First Name": "firstName", "Last Name": "lastName", "Email": "email",
        "Company": "companyName", "Shoe Size": DROPPED,
    }  # fmt: skip


def test_duplicates_are_found_across_chunks_first_row_kept(tmp_path: Path) -> None:
    """The first row of an identity is kept, later ones name its line, even chunks apart."""
    lines = ["Email,First Name"] + [f"u{i % 50}@x.co,N{i}" for i in range(200)]
    path = tmp_path / "dups.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    prepared = prepare_csv(path, CsvOptions(chunk_bytes=256))
    assert prepared.accepted["_line"].to_list() == list(range(2, 52))
    assert prepared.rejected_counts() == {"duplicate_in_file": 150}
    first_of = dict(zip(prepared.rejected["_line"], prepared.rejected["_detail"], strict=True))
    assert first_of[152] == "same identity as line 2 (email:u0@x.co)"


def test_fingerprint_follows_the_bytes_and_the_options_not_the_chunking(
    messy: Path, tmp_path: Path
) -> None:
    """Same file + options -> same value; a byte or an option changed -> another."""
    base = prepare_csv(messy, CsvOptions()).fingerprint
    assert prepare_csv(messy, CsvOptions()).fingerprint == base
    assert prepare_csv(messy, CsvOptions(chunk_bytes=64)).fingerprint == base
    changed = tmp_path / "changed.csv"
    changed.write_text(MESSY.replace("Acme,40", "Acme,49"), encoding="utf-8")
    others = [
        prepare_csv(changed, CsvOptions()).fingerprint,
        prepare_csv(messy, CsvOptions(extra="drop")).fingerprint,
        prepare_csv(messy, CsvOptions(maps=(("Shoe Size", "drop"),))).fingerprint,
        prepare_csv(messy, CsvOptions(delimiter=",")).fingerprint,
    ]
    assert len({base, *others}) == 5
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\n"Shoe Size" = "drop"\n', encoding="utf-8")
    with_file = prepare_csv(messy, CsvOptions(mapping_file=mapping)).fingerprint
    mapping.write_text('[columns]\n"Shoe Size" = "extra"\n', encoding="utf-8")
    assert prepare_csv(messy, CsvOptions(mapping_file=mapping)).fingerprint != with_file


def test_mapping_file_then_map_options_apply(messy: Path, tmp_path: Path) -> None:
    """--mapping first, --map after (later wins)."""
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\n"Shoe Size" = "drop"\n"Company" = "title"\n', encoding="utf-8")
    prepared = prepare_csv(
        messy, CsvOptions(mapping_file=mapping, maps=(("Company", "companyName"),))
    )
    assert prepared.mapping["Shoe Size"] == DROPPED
    assert prepared.mapping["Company"] == "companyName"


def test_iter_payloads_yields_batches_of_line_identity_and_non_null_fields(messy: Path) -> None:
    """Per-row dicts are built only here, in batches, without null keys."""
    prepared = prepare_csv(messy, CsvOptions())
    batches = list(iter_payloads(prepared.accepted, batch=1))
    assert [len(b) for b in batches] == [1, 1]
    line, identity, payload = batches[1][0]
    assert (line, identity) == (7, "email:jo@globex.com")
    assert payload == {
        "firstName": "Jo", "lastName": "Ng", "email": "jo@globex.com",
        "companyName": "Globex", "companyDomain": "globex.com",
    }  # fmt: skip
    assert "_line" not in payload_columns(prepared.accepted)


def test_rejects_file_has_source_columns_then_line_reason_detail_and_reimports(
    messy: Path, tmp_path: Path
) -> None:
    """The rejects CSV can be fixed and imported again as is (its extra columns ignored)."""
    prepared = prepare_csv(messy, CsvOptions())
    out = tmp_path / "out" / "rejects.csv"
    write_rejects(prepared.rejected, out)
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == "First Name,Last Name,Email,Company,Shoe Size,_line,_reason,_detail"
    again = prepare_csv(out, CsvOptions())
    assert again.rows_read == prepared.rejected.height
    assert again.mapping["_reason"] == DROPPED
    assert again.mapping["Shoe Size"] == TO_NOTES


def test_prepared_rejected_counts_are_in_reason_order(messy: Path) -> None:
    """Reasons are listed strongest first, as documented."""
    prepared: Prepared = prepare_csv(messy, CsvOptions())
    assert list(prepared.rejected_counts()) == [
        "malformed_row", "invalid_email", "missing_identity", "duplicate_in_file"
    ]  # fmt: skip


@pytest.mark.parametrize("keep", [0, 1, 150])
def test_keeping_a_few_accepted_rows_changes_nothing_else(tmp_path: Path, keep: int) -> None:
    """A dry run keeps only its samples: the counts, the rejects and the first accepted
    rows are those of the full preparation, across chunks."""
    path = tmp_path / "many.csv"
    rows = [f"P{i},Q,p{i % 170}@acme.com" for i in range(400)]  # every 170th a duplicate
    path.write_text("First Name,Last Name,Email\n" + "\n".join(rows) + "\nshort\n")
    options = CsvOptions(chunk_bytes=2_000)
    full = prepare_csv(path, options)
    few = prepare_csv(path, options, keep_accepted=keep)
    assert few.summary() == full.summary()
    assert few.accepted_rows == full.accepted_rows == full.accepted.height == 170
    assert few.accepted.equals(full.accepted.head(keep))
    assert few.rejected.equals(full.rejected)


def test_the_warm_up_check_runs_first_and_its_failure_reaches_the_caller() -> None:
    """The check's first run (on a chunk without rows, on the spare thread) happens
    before any real chunk is checked; what it raises is raised by the real checks."""
    seen: list[int] = []

    def check(chunk: RawChunk) -> tuple[pl.DataFrame, pl.DataFrame]:
        seen.append(chunk.rows.height)
        return chunk.rows, chunk.malformed

    chunk = RawChunk(pl.DataFrame({"_line": [2], "a": ["x"]}), empty_chunk(["a"]).malformed)
    with ThreadPoolExecutor(1) as spare:
        assert _warmed_up(spare, check, ("a",))(chunk)[0].equals(chunk.rows)
    assert seen == [0, 1]

    def broken(chunk: RawChunk) -> tuple[pl.DataFrame, pl.DataFrame]:
        raise ValueError("no backend")

    with ThreadPoolExecutor(1) as spare, pytest.raises(ValueError, match="no backend"):
        _warmed_up(spare, broken, ("a",))(chunk)
