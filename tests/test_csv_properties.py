"""Property tests: whatever the rows, every payload is one the sandbox server accepts, and
every row read is accounted for exactly once."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.sandbox.fields import CLIENT_FIELDS
from etl.sandbox.rules import check_lead
from pipelines.csv_prepare import CsvOptions, iter_payloads, prepare_csv
from schemas.contract import validate_leads
from schemas.lead import sanitize_leads

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Any text: letters of every script, marks, punctuation, controls, zero-width, whitespace.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
PUNCT = st.text(st.sampled_from(list(".-_'\"·—()[]!?,;:/\\ \t\u200b")), min_size=1, max_size=5)
HUGE = st.sampled_from([256, 1_001, 16_385, 66_000]).map(lambda n: "ä" * n)  # around caps
VALUE = st.one_of(st.none(), st.just(""), ANY_TEXT, PUNCT, HUGE)
EMAIL = st.one_of(
    VALUE, st.emails(), st.emails().map(lambda e: f"  {e.upper()} "), st.emails().map(str.title)
)
LINKEDIN = st.one_of(
    VALUE,
    st.from_regex(r"(https?://)?(www\.)?linkedin\.com/in/[A-Za-z0-9\-]{1,20}/?", fullmatch=True),
)
ROW = st.fixed_dictionaries(
    {
        "firstName": VALUE,
        "lastName": st.one_of(VALUE, PUNCT),
        "fullName": VALUE,
        "email": EMAIL,
        "linkedinUrl": LINKEDIN,
        "companyName": VALUE,
        "companyDomain": VALUE,
        "phoneNumber": VALUE,
        "notes": VALUE,
        "leadScore": VALUE,
        "justification": VALUE,
        "extra": VALUE,
    }
)


def payloads_of(rows: list[dict[str, str | None]]) -> list[dict[str, object]]:
    columns = list(rows[0])
    raw = pl.DataFrame(
        {"_line": list(range(2, len(rows) + 2)), **{c: [r[c] for r in rows] for c in columns}},
        schema={"_line": pl.Int64, **dict.fromkeys(columns, pl.String)},
    )
    valid, problems = validate_leads(sanitize_leads(raw, [("extra", "Extra")]))
    assert valid.height + problems.height == len(rows)
    # The contract's internal guards never fire: the sanitizer alone upholds bugs 4 and 6.
    assert not {"empty_value", "invalid_last_name"} & set(problems["_reason"])
    return [payload for batch in iter_payloads(valid) for _, _, payload in batch]


@SETTINGS
@given(st.lists(ROW, min_size=1, max_size=12))
def test_every_payload_passes_the_sandbox_lead_rules(rows: list[dict[str, str | None]]) -> None:
    """With a client_id added, the server's validator accepts every payload (201): no ''
    value, no phone key, only known keys, names present, no punctuation-only last name."""
    for payload in payloads_of(rows):
        assert check_lead({**payload, "client_id": "acme-corp"}) is None, payload
        assert "" not in payload.values()
        assert "phone" not in payload and "client_id" not in payload
        assert set(payload) <= CLIENT_FIELDS
        assert payload["firstName"] and payload["lastName"]
        assert all(isinstance(v, str) for v in payload.values())


def write_csv(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    out = csv.writer(buffer)
    out.writerow(["First Name", "Last Name", "Email", "Company", "LinkedIn", "Phone", "Misc"])
    out.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


CELL = st.one_of(
    st.just(""),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12),
    st.emails(),
    st.sampled_from(["a,b", 'say "hi"', "two\nlines", "cr\rlf\r\n", " ", "-", "."]),
)


@SETTINGS
@given(st.lists(st.lists(CELL, min_size=7, max_size=7), min_size=1, max_size=40))
def test_every_row_is_accepted_or_rejected_once_whatever_the_chunking(
    rows: list[list[str]],
) -> None:
    """accepted + rejected == rows read == rows written, each line once; tiny chunks (and
    the csv-module path they force) give the same result as one chunk."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.csv"
        write_csv(path, rows)
        whole = prepare_csv(path, CsvOptions())
        tiny = prepare_csv(path, CsvOptions(chunk_bytes=53))
    assert whole.rows_read == len(rows)
    lines = whole.accepted["_line"].to_list() + whole.rejected["_line"].to_list()
    assert len(lines) == len(set(lines)) == len(rows)
    assert tiny.accepted.equals(whole.accepted)
    assert tiny.rejected.select("_line", "_reason").equals(
        whole.rejected.select("_line", "_reason")
    )
    for payload in (p for batch in iter_payloads(whole.accepted) for _, _, p in batch):
        assert check_lead({**payload, "client_id": "acme-corp"}) is None
