"""The messy-CSV corpus (tests/data/csv): each file gives its documented error or rows."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from etl.sources import errors
from etl.sources.errors import SourceInputError
from pipelines.csv_prepare import CsvOptions, iter_payloads, prepare_csv

CORPUS = Path(__file__).parent / "data" / "csv"
EXPECTED: dict[str, dict[str, object]] = tomllib.loads(
    (CORPUS / "expected.toml").read_text(encoding="utf-8")
)


def test_corpus_has_at_least_25_files_and_each_is_described() -> None:
    """Every data file of the corpus has an expectation, and there are at least 25."""
    files = {p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".tsv")}
    assert len(files) >= 25
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_gives_its_documented_outcome(name: str) -> None:
    """The error class, or the counts, rejects, dialect and payloads listed for the file."""
    want = EXPECTED[name]
    path = CORPUS / name
    if "error" in want:
        error_class = getattr(errors, str(want["error"]))
        with pytest.raises(error_class) as caught:
            prepare_csv(path, CsvOptions())
        assert isinstance(caught.value, SourceInputError)
        assert str(path) in str(caught.value)  # the message names the file
        return
    prepared = prepare_csv(path, CsvOptions())
    assert prepared.rows_read == want["rows_read"]
    assert prepared.accepted.height == want["accepted"]
    assert prepared.rejected_counts() == want.get("rejected", {})
    assert prepared.accepted.height + prepared.rejected.height == prepared.rows_read
    if "rejected_lines" in want:
        assert prepared.rejected["_line"].to_list() == want["rejected_lines"]
    if "encoding" in want:
        assert prepared.encoding == want["encoding"]
    if "delimiter" in want:
        assert prepared.delimiter == want["delimiter"]
    payloads = {line: p for batch in iter_payloads(prepared.accepted) for line, _, p in batch}
    for key, fields in want.items():
        if key.startswith("payload_"):
            payload = payloads[int(key.removeprefix("payload_"))]
            assert {k: payload.get(k) for k in fields} == fields  # type: ignore[attr-defined]


@pytest.mark.parametrize("chunk_bytes", [32 << 20, 1 << 20], ids=["fast", "csv-module"])
def test_ten_megabyte_single_field_is_rejected_field_too_long(
    tmp_path: Path, chunk_bytes: int
) -> None:
    """A 10 MB value is read whole (no field-size limit, no crash) and rejected, naming
    the field; the rows around it are unaffected. Chunks smaller than the field hand it
    to the csv-module reader."""
    path = tmp_path / "huge.csv"
    big = "x" * (10 << 20)
    path.write_text(
        f'Email,Notes\nbefore@acme.com,ok\nhuge@acme.com,"{big}"\nafter@acme.com,ok\n',
        encoding="utf-8",
    )
    prepared = prepare_csv(path, CsvOptions(chunk_bytes=chunk_bytes))
    assert prepared.slow_path == (chunk_bytes < len(big))
    assert prepared.rows_read == 3
    assert prepared.rejected_counts() == {"field_too_long": 1}
    (row,) = prepared.rejected.select("_line", "_detail").rows()
    assert row[0] == 3
    assert row[1].startswith("notes has 10,485,760 characters")
    assert prepared.accepted["email"].to_list() == ["before@acme.com", "after@acme.com"]
