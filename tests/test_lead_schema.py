"""The outbound lead contract: sanitizing rules, derived fields, the pandera model, reasons."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from etl.sandbox.fields import CLIENT_FIELDS
from schemas.contract import LeadPayload, validate_leads
from schemas.errors import LeadContractError
from schemas.identity import split_identity
from schemas.lead import (
    DEFAULT_CAP,
    FIELD_CAPS,
    MAX_PAYLOAD_BYTES,
    OUTPUT_FIELDS,
    REASONS,
    sanitize_leads,
)
from schemas.sanitize import (
    _fix_where,
    _rewrite_line,
    _rewrite_text,
    clean_columns,
    clean_line,
    host_of,
    null_if_empty,
    per_distinct,
    punct_only,
)


def clean(rows: list[dict[str, str | None]], extras: list[str] = ()) -> pl.DataFrame:  # type: ignore[assignment]
    """Sanitize rows given as field -> raw string (extras: raw columns rendered to notes)."""
    columns = sorted({k for row in rows for k in row})
    raw = pl.DataFrame(
        {"_line": list(range(2, len(rows) + 2)), **{c: [r.get(c) for r in rows] for c in columns}},
        schema={"_line": pl.Int64, **dict.fromkeys(columns, pl.String)},
    )
    return sanitize_leads(raw, [(c, c) for c in extras])


def one(row: dict[str, str | None], extras: list[str] = ()) -> dict[str, object]:  # type: ignore[assignment]
    """The single sanitized row as a dict without nulls."""
    return {k: v for k, v in clean([row], extras).row(0, named=True).items() if v is not None}


def reasons(rows: list[dict[str, str | None]]) -> dict[int, tuple[str, str]]:
    _, problems = validate_leads(clean(rows))
    return {line: (reason, detail) for line, reason, detail in problems.rows()}


def test_output_fields_are_known_to_the_server_and_never_phone_or_client_id() -> None:
    """Bug 3: only keys of the server's field model; the loader adds client_id."""
    assert set(OUTPUT_FIELDS) <= CLIENT_FIELDS
    assert not {"phone", "client_id", "id", "owner", "company_id"} & set(OUTPUT_FIELDS)


def test_blank_values_become_absent_keys() -> None:
    """Bug 4: '' and whitespace-only values are null, never ''."""
    row = one({"email": "j@x.co", "title": "   ", "companyName": "", "city": "\u200b\t"})
    assert set(row) == {"_line", "_identity", "email", "firstName", "lastName", "companyDomain"}


def test_text_is_trimmed_collapsed_and_stripped_of_invisible_and_control_characters() -> None:
    """Runs of whitespace become one space; zero-width, bidi and control characters go."""
    row = one(
        {
            "email": "j@x.co",
            "firstName": "\u00a0 Mary \u200b  Ann\u200d ",
            "lastName": "van\t\tDijk",
            "companyName": "\u202eAcme\x00 Corp\x07",
        }
    )
    assert (row["firstName"], row["lastName"], row["companyName"]) == (
        "Mary Ann",
        "van Dijk",
        "Acme Corp",
    )


def test_notes_keep_their_lines_but_lose_control_characters() -> None:
    """Multi-line fields keep line breaks (CRLF -> LF), at most one blank line in a row."""
    row = one({"email": "j@x.co", "notes": "  a\r\nb\x00\t c \n\n\n\nd "})
    assert row["notes"] == "a\nb  c\n\nd"


def test_email_is_trimmed_lowercased_and_mailto_dropped() -> None:
    """The address is compared and sent in one canonical form."""
    row = one({"email": "  MAILTO:Jane.Doe@Acme.COM "})
    assert row["email"] == "jane.doe@acme.com"
    assert row["_identity"] == "email:jane.doe@acme.com"


@pytest.mark.parametrize(
    "email",
    ["plain", "a@b", "a@@b.co", "a b@c.co", "a@b.c", ".a@b.co", "a..b@c.co", "ü@x", "a@-b.co"],
)
def test_invalid_email_is_rejected_with_the_value_in_the_detail(email: str) -> None:
    """A bad address is an ``invalid_email`` reject, even if the row has other identity."""
    got = reasons([{"email": email, "linkedinUrl": "linkedin.com/in/x"}])
    assert got[2][0] == "invalid_email"
    assert email.lower() in got[2][1]


@pytest.mark.parametrize(
    ("email", "first", "last"),
    [
        ("jane.doe@x.co", "Jane", "Doe"),
        ("jane_doe-smith@x.co", "Jane", "Smith"),
        ("jdoe@x.co", "Jdoe", "-"),
        ("j.smith2+news@x.co", "J", "Smith"),
        ("4567@x.co", "4567", "-"),
        ("o'neil.ryan@x.co", "O'Neil", "Ryan"),
    ],
)
def test_missing_names_come_from_the_email_local_part(email: str, first: str, last: str) -> None:
    """jane.doe@ -> Jane / Doe; without a second word the last name is the '-' placeholder."""
    row = one({"email": email})
    assert (row["firstName"], row["lastName"]) == (first, last)


def test_given_names_win_and_each_missing_name_is_derived_alone() -> None:
    """A present first name stays; only the missing last name is taken from the email."""
    row = one({"email": "jane.doe@x.co", "firstName": "Janet"})
    assert (row["firstName"], row["lastName"]) == ("Janet", "Doe")


def test_names_come_from_full_name_then_linkedin_handle() -> None:
    """fullName splits at the first space; a LinkedIn handle loses its id suffix."""
    full = one({"email": "x@x.co", "fullName": "Mary Ann  Lee"})
    assert (full["firstName"], full["lastName"]) == ("Mary", "Ann Lee")
    handle = one({"linkedinUrl": "https://linkedin.com/in/jane-doe-8a1b2c3d/"})
    assert (handle["firstName"], handle["lastName"]) == ("Jane", "Doe")


@pytest.mark.parametrize("last", [".", "..", "_", "-.-", "—", "·", "()"])
def test_punctuation_only_last_name_becomes_the_placeholder(last: str) -> None:
    """Bug 6: the server 500s on these; '-' is the accepted placeholder."""
    assert one({"email": "bob@x.co", "lastName": last})["lastName"] == "-"


@pytest.mark.parametrize("last", ["-", "O'Brien", "Иванов", "李", "D'", "x."])
def test_real_last_names_are_kept(last: str) -> None:
    """Any letter or digit makes a name (the server's own ``[\\W_]+`` test)."""
    assert one({"email": "bob@x.co", "lastName": last})["lastName"] == last


def test_punct_only_matches_the_servers_python_rule_beyond_ascii() -> None:
    """Combining marks alone, CJK and Cyrillic are judged exactly as Python's ``re`` does."""
    values = ["\u0301", "\u0301a", "李", "・", "Ⅳ", "٣"]
    assert punct_only(pl.Series(values)).to_list() == [True, False, False, True, False, False]


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("linkedin.com/in/Jane-Doe/", "https://www.linkedin.com/in/jane-doe"),
        ("http://uk.linkedin.com/in/jd?trk=x", "https://www.linkedin.com/in/jd"),
        ("WWW.LINKEDIN.COM/IN/abc#top", "https://www.linkedin.com/in/abc"),
        ("https://www.linkedin.com/company/acme", "https://www.linkedin.com/company/acme"),
        ("jane-doe", "jane-doe"),
    ],
)
def test_linkedin_profile_urls_are_normalised_others_kept(value: str, url: str) -> None:
    """Recognised profile URLs take one canonical form; anything else stays as given."""
    assert one({"email": "a@x.co", "linkedinUrl": value})["linkedinUrl"] == url


@pytest.mark.parametrize(
    ("row", "domain"),
    [
        ({"companyDomain": "https://www.Acme.COM/about?x=1"}, "acme.com"),
        ({"companyDomain": "acme.co.uk."}, "acme.co.uk"),
        ({"companyDomain": "N/A", "companyUrl": "http://globex.io/"}, "globex.io"),
        ({"companyDomain": "bücher.de"}, "xn--bcher-kva.de"),
        ({"companyDomain": "not a host"}, None),
        ({"email": "jo@initech.com"}, "initech.com"),
        ({"email": "jo@GMAIL.com"}, None),
    ],
)
def test_company_domain_is_a_bare_host_from_url_or_email_but_not_free_mail(
    row: dict[str, str], domain: str | None
) -> None:
    """Host of the domain or URL column, else the email's domain unless free-mail."""
    assert one({"email": "jo@gmail.com", **row}).get("companyDomain") == domain


def test_notes_render_the_vendor_template_after_existing_notes() -> None:
    """## AI SCORE line, then ### sections, then extra columns, appended to the notes."""
    row = one(
        {
            "email": "a@x.co",
            "notes": "Met at a fair",
            "aiLeadScore": "85",
            "leadScore": "72",
            "justification": "Fit",
            "aiRecommendations": "Call",
            "sdrSynthesis": "Ready",
            "Shoe Size": "44",
        },
        extras=["Shoe Size"],
    )
    assert row["notes"] == (
        "Met at a fair\n\n## AI SCORE: 85 (72/100)\n\n### JUSTIFICATION\nFit\n\n"
        "### STRATEGIC RECOMMENDATIONS\nCall\n\n### SDR SYNTHESIS\nReady\n\n### Shoe Size\n44"
    )
    assert (row["aiLeadScore"], row["leadScore"]) == ("85", "72")  # fields stay too


@pytest.mark.parametrize(
    ("scores", "heading"),
    [
        ({"aiLeadScore": "Hot"}, "## AI SCORE: Hot"),
        ({"leadScore": "40"}, "## AI SCORE: - (40/100)"),
    ],
)
def test_score_heading_without_one_of_the_scores(scores: dict[str, str], heading: str) -> None:
    """A missing aiLeadScore shows '-', a missing leadScore drops the '(n/100)'."""
    assert one({"email": "a@x.co", **scores})["notes"] == heading


def test_rows_without_any_note_material_have_no_notes_key() -> None:
    """Empty sections are left out; nothing at all -> no notes."""
    rows = clean([{"email": "a@x.co", "justification": None, "extra": "  "}], ["extra"])
    assert rows["notes"].to_list() == [None]


def test_identity_prefers_email_then_linkedin_then_name_and_company() -> None:
    """Keys are '<kind>:<value>', normalised so that spelling variants match."""
    rows = clean(
        [
            {"email": "A@x.co", "linkedinUrl": "linkedin.com/in/a"},
            {"linkedinUrl": "https://LinkedIn.com/in/Ab/"},
            {"firstName": "Ann ", "lastName": "O'Lee", "companyName": "Initech, Inc."},
            {"firstName": "Ann", "companyName": "Initech"},
        ]
    )
    assert rows["_identity"].to_list() == [
        "email:a@x.co",
        "linkedin:https://www.linkedin.com/in/ab",
        "name:ann|o lee|initech inc",
        None,
    ]
    assert split_identity("name:ann|o lee|initech inc") == ("name", "ann|o lee|initech inc")
    with pytest.raises(ValueError, match="not an identity key"):
        split_identity("phone:123")


def test_missing_identity_is_rejected() -> None:
    """No email, LinkedIn, or first+last+company: the lead could not be found again."""
    got = reasons(
        [{"firstName": "Jo", "companyName": "Acme"}, {"firstName": "Jo", "lastName": "-"}]
    )
    assert {line: r for line, (r, _) in got.items()} == {
        2: "missing_identity",
        3: "missing_identity",
    }


def test_too_long_value_is_rejected_naming_the_field_never_truncated() -> None:
    """Each field has a cap at or below the server's limits; over it is a reject."""
    cap = FIELD_CAPS["title"]
    got = reasons(
        [
            {"email": "a@x.co", "title": "t" * (cap + 1)},
            {"email": "b@x.co", "city": "c" * DEFAULT_CAP},
        ]
    )
    assert got == {2: ("field_too_long", f"title has {cap + 1:,} characters; its cap is {cap:,}")}


def test_whole_payload_over_the_byte_budget_is_rejected() -> None:
    """Many big fields under their own caps can still exceed the item size."""
    fields = (
        "companyDescription", "aiPersona", "aiIntent", "aiPainPoints", "aiNextBestAction",
        "aiJustification", "justification", "recommendations", "aiRecommendations",
        "aiSdrSynthesis",
    )  # fmt: skip
    big = dict.fromkeys(fields, "é" * 16_000)  # each under its cap; with notes, over 350 KB
    got = reasons([{"email": "a@x.co", **big}])
    assert got[2][0] == "payload_too_large"
    assert MAX_PAYLOAD_BYTES < 400 * 1024


def test_formula_like_values_are_kept_verbatim() -> None:
    """=, +, -, @ prefixes are data for an API, not formulas: nothing is added or removed."""
    row = one(
        {
            "email": "a@x.co",
            "companyName": '=HYPERLINK("http://x.test","x")',
            "phoneNumber": "+1 555",
            "title": "@boss",
            "lastName": "-",
        }
    )
    assert (row["companyName"], row["phoneNumber"], row["title"], row["lastName"]) == (
        '=HYPERLINK("http://x.test","x")',
        "+1 555",
        "@boss",
        "-",
    )


def test_contract_rejects_what_the_sanitizer_should_never_produce() -> None:
    """The pandera model is the last guard: '' values, bad last names, no first name."""
    frame = pl.DataFrame(
        {
            "_line": [2, 3, 4],
            "_identity": ["email:a@x.co", "email:b@x.co", "email:c@x.co"],
            "firstName": ["A", "B", None],
            "lastName": ["Doe", "..", "-"],
            "title": ["", "ok", "ok"],
        }
    )
    valid, problems = validate_leads(frame)
    assert valid.height == 0
    assert [r for _, r, _ in problems.rows()] == [
        "empty_value",
        "invalid_last_name",
        "missing_name",
    ]


def test_contract_refuses_unknown_columns_as_a_bug() -> None:
    """A ``phone`` column can never reach the payload: strict schema -> LeadContractError."""
    frame = pl.DataFrame(
        {"_line": [2], "_identity": ["email:a@x.co"], "firstName": ["A"], "lastName": ["-"],
         "phone": ["1"]}
    )  # fmt: skip
    with pytest.raises(LeadContractError, match="phone"):
        validate_leads(frame)
    with pytest.raises(LeadContractError, match="not lead fields"):
        sanitize_leads(frame.drop("_identity"))


def test_strongest_reason_wins_when_a_row_breaks_several_rules() -> None:
    """One reason per row, in the documented order (invalid_email before the rest)."""
    got = reasons([{"email": "bad", "title": "t" * 300}])
    assert got[2][0] == "invalid_email"
    assert list(REASONS)[:2] == ["malformed_row", "invalid_email"]


def test_pandera_model_declares_the_bug_fields() -> None:
    """The DataFrameModel names the columns the server's bugs are about."""
    columns = LeadPayload.to_schema().columns
    assert {"_line", "_identity", "firstName", "lastName", "email"} <= set(columns)
    assert not columns["firstName"].nullable and not columns["lastName"].nullable


def test_internationalised_local_parts_are_valid_emails() -> None:
    """RFC 6531: letters beyond ASCII in the local part are valid (the API accepts them)."""
    assert one({"email": "Zoë.Müller@Acme.de"})["email"] == "zoë.müller@acme.de"
    assert one({"email": "françois@hooli.xyz"})["_identity"] == "email:françois@hooli.xyz"


REPEATED = st.lists(
    st.sampled_from(
        [None, "", "  Acme ", "https://www.Acme.com/x", "acme.com", "b\u00fccher.de", "n/a",
         "Head of\tGrowth", "van  Dijk", "\u200bZo\u00eb"]
    ),
    min_size=0,
    max_size=60,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(REPEATED)
@example(["  Acme ", "https://www.Acme.com/x", None, "b\u00fccher.de", "n/a"] * 12)
def test_per_distinct_gives_what_the_rule_gives_value_by_value(values: list[str | None]) -> None:
    """Computing a rule once per distinct value (when values repeat) changes no value;
    the explicit example repeats each value 12 times, so the per-distinct path runs."""
    s = pl.Series("v", values, dtype=pl.String)
    for rule in (host_of, clean_line):
        assert per_distinct(s, rule).to_list() == rule(s).to_list()
        assert per_distinct(s, rule).name == "v"
    # a raw domain column is cleaned along with the host rule, per distinct value
    assert host_of(s, clean=True).to_list() == host_of(clean_line(s)).to_list()


def test_per_distinct_keeps_the_series_when_the_rule_changes_nothing() -> None:
    s = pl.Series("v", ["Acme", None, "Beta"] * 10)
    assert per_distinct(s, lambda v: v.str.strip_chars()) is s
    assert per_distinct(s, lambda v: v.str.to_uppercase()).to_list() == ["ACME", None, "BETA"] * 10


@settings(max_examples=150, deadline=None)
@given(REPEATED, st.lists(st.text(max_size=6), max_size=60), st.integers(1, 40))
@example(["  Acme ", "Beta"] * 30, [], 1)  # repeats, dirty: per distinct value
@example(["Acme", "Beta", None] * 20, [], 1)  # repeats, clean: kept as it is
@example([" x "] * 3, [f" v{i} " for i in range(40)], 1)  # mostly dirty, distinct
@example(["a  b"], [f"v{i}" for i in range(50)], 1)  # a few dirty among distinct values
def test_clean_columns_gives_the_rule_value_by_value_whichever_way_it_goes(
    repeated: list[str | None], distinct: list[str], times: int
) -> None:
    """Repeating, mostly dirty or mixed columns (each picks another way to clean) come
    out as the rewrite rule gives value by value."""
    values = repeated * times + distinct
    frame = pl.DataFrame(
        {"one": values, "text": values}, schema=dict.fromkeys(("one", "text"), pl.String)
    )
    cleaned = clean_columns(frame, ["one"], ["text"])
    assert cleaned["one"].to_list() == null_if_empty(_rewrite_line(frame["one"])).to_list()
    assert cleaned["text"].to_list() == null_if_empty(_rewrite_text(frame["text"])).to_list()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, "a", "B", "c d"]), st.booleans()), min_size=1))
@example([(None, True), ("a", False)] + [("a", True)] * 38)  # all but one: put back
@example([("a", True)] * 3 + [("b", False)] * 2)  # most, with a zip
@example([(None, False), ("a", True)])  # every non-null value
def test_fix_where_rewrites_exactly_the_values_the_mask_picks(
    rows: list[tuple[str | None, bool]],
) -> None:
    """Whichever way it goes (few hits, every value, all but a few, a zip), the values
    the mask picks are rewritten and the others stay as they were."""
    s = pl.Series("v", [v for v, _ in rows], dtype=pl.String)
    mask = pl.Series([m for _, m in rows], dtype=pl.Boolean) & s.is_not_null()
    expected = [v.upper() if m else v for v, m in zip(s, mask, strict=True)]
    assert _fix_where(s, mask, lambda v: v.str.to_uppercase()).to_list() == expected
