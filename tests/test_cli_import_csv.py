"""``lgetl import csv --dry-run``: the report, the files it writes, and its input errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.cli.app import app

CORPUS = Path(__file__).parent / "data" / "csv"


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, ["import", "csv", *args])


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the dry run tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.usefixtures("no_network")
def test_dry_run_prints_counts_reasons_mapping_and_three_samples(tmp_path: Path) -> None:
    """Rows read, accepted, rejected by reason, the mapping chosen, 3 JSON payloads."""
    path = tmp_path / "leads.csv"
    rows = [f"user{i}@acme.com,User{i},Acme" for i in range(5)] + ["bad,Bad,Acme", "x,y"]
    path.write_text("E-mail,Given Name,Organization\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = invoke(str(path), "--dry-run", "--client", "acme-corp")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = result.output.splitlines()  # type: ignore[attr-defined]
    assert "rows read: 7" in out
    assert "accepted: 5" in out
    assert "rejected: 2" in out
    assert "  malformed_row: 1" in out
    assert "  invalid_email: 1" in out
    assert "  E-mail -> email" in out
    assert "  Organization -> companyName" in out
    samples = [json.loads(line) for line in out if line.startswith("{")]
    assert len(samples) == 3
    assert samples[0] == {
        "firstName": "User0", "lastName": "-", "email": "user0@acme.com",
        "companyName": "Acme", "companyDomain": "acme.com",
    }  # fmt: skip
    assert out[-1] == "dry run: nothing was sent into client 'acme-corp'."


@pytest.mark.usefixtures("no_network")
def test_dry_run_says_when_irregular_quoting_needed_the_slower_reader(tmp_path: Path) -> None:
    """A quote inside an unquoted field is read as the csv module reads it, and the
    report says why that file was slower to read; a regular file gets no such note."""
    path = tmp_path / "stray.csv"
    path.write_text('Email,Last Name\ndan@x.com,O"Brien\n', encoding="utf-8")
    out = invoke(str(path), "--dry-run").output.splitlines()  # type: ignore[attr-defined]
    assert out[1].startswith("note: irregular quoting")
    assert "accepted: 1" in out
    assert any('"lastName": "O\\"Brien"' in line for line in out)
    path.write_text('Email,Last Name\ndan@x.com,"O""Brien"\n', encoding="utf-8")
    out = invoke(str(path), "--dry-run").output.splitlines()  # type: ignore[attr-defined]
    assert not any(line.startswith("note:") for line in out)


@pytest.mark.usefixtures("no_network")
def test_dry_run_writes_rejects_and_summary_json(tmp_path: Path) -> None:
    """--rejects: source columns + _line/_reason/_detail; --summary-json: the counts."""
    rejects, summary = tmp_path / "r" / "rejects.csv", tmp_path / "s" / "summary.json"
    result = invoke(
        str(CORPUS / "ragged_rows.csv"),
        "--dry-run",
        "--rejects",
        str(rejects),
        "--summary-json",
        str(summary),
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "First Name,Last Name,Email,Company,_line,_reason,_detail"
    assert lines[1] == 'Too,Few,few@x.com,,3,malformed_row,"expected 4 fields, found 3"'
    data = json.loads(summary.read_text(encoding="utf-8"))
    assert (data["rows_read"], data["accepted"], data["rejected"]) == (4, 2, {"malformed_row": 2})
    assert data["dry_run"] is True
    assert data["mapping"]["Company"] == "companyName"


def test_map_extra_delimiter_and_encoding_options_reach_the_reader(tmp_path: Path) -> None:
    """--map, --extra drop, --delimiter tab and --encoding are applied."""
    path = tmp_path / "t.txt"
    path.write_bytes("Mail\tTel\tColour\nré@x.com\t0123\tblue\n".encode("cp1252"))
    result = invoke(
        str(path),
        "--dry-run",
        "--delimiter",
        "tab",
        "--encoding",
        "cp1252",
        "--map",
        "Mail=email",
        "--map",
        "Tel=phoneNumber",
        "--extra",
        "drop",
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "  Colour -> (dropped)" in result.output  # type: ignore[attr-defined]
    # cp1252 decoded (é intact) and the RFC 6531 address accepted
    assert '"email": "ré@x.com"' in result.output  # type: ignore[attr-defined]
    assert "accepted: 1" in result.output  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "the file is empty"),
        ("header_only.csv", "no data rows"),
        ("duplicate_header.csv", "both named 'Name'"),
        ("binary.csv", "looks binary"),
        ("xlsx_renamed.csv", "export the sheet as CSV"),
        ("missing.csv", "no such file"),
    ],
)
def test_input_errors_are_one_red_line_and_exit_2(name: str, message: str) -> None:
    """Empty, header-only, duplicate headers, binary, missing: exit 2, no traceback."""
    result = invoke(str(CORPUS / name), "--dry-run")
    assert result.exit_code == 2
    assert message in result.stderr  # type: ignore[attr-defined]
    assert result.stderr.count("\n") == 1  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_undecodable_file_with_forced_encoding_exits_2() -> None:
    """--encoding utf-8 on cp1252 bytes: a clear error naming the encoding."""
    result = invoke(str(CORPUS / "cp1252.csv"), "--dry-run", "--encoding", "utf-8")
    assert result.exit_code == 2
    assert "not valid utf-8" in result.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "nocolon"], "SOURCE_COLUMN=field"),
        (["--map", "Nope=email"], "no column 'Nope'"),
        (["--delimiter", ";;"], "--delimiter"),
        (["--encoding", "nope-42"], "unknown encoding"),
        (["--mapping", "/nonexistent/m.toml"], "no such file"),
    ],
)
def test_option_errors_exit_2(args: list[str], message: str) -> None:
    """Bad options are usage errors with a hint."""
    result = invoke(str(CORPUS / "clean_basic.csv"), "--dry-run", *args)
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert message in result.stderr  # type: ignore[attr-defined]


def test_command_is_documented_with_an_example() -> None:
    """Every command has a docstring with an Example: line."""
    from etl.cli.imports import csv_command

    assert "Example: lgetl import csv" in (csv_command.__doc__ or "")


def test_import_module_does_not_load_polars_or_pandera() -> None:
    """``lgetl --help`` stays fast: the command module imports heavy libraries lazily."""
    code = (
        "import sys, etl.cli.imports; "
        "print(sorted(m for m in ('polars', 'pandera') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
