"""The outbound LeadGenius lead: its fields, caps, sanitizing and the pandera contract.

Input of :func:`sanitize_leads`: a polars frame of raw strings whose columns are already
named after lead fields (plus extra columns for ``notes``). Output: the payload frame,
``_line``, ``_identity`` and one column per field (null = absent key). :func:`validate_leads`
checks that frame against :class:`LeadPayload` lazily (every failure of every row at
once) and turns each failure into a per-row reason code (:data:`REASONS`).

Guarantees on every row that passes (the server's bugs 3, 4, 6 cannot happen): keys only
from :data:`OUTPUT_FIELDS` (never ``phone`` nor ``client_id``), no ``""`` value,
non-empty ``firstName`` and ``lastName``, no punctuation-only ``lastName`` but ``-``, no
value over its cap, under :data:`MAX_PAYLOAD_BYTES` in all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from schemas import sanitize as sz
from schemas.errors import LeadContractError
from schemas.identity import identity_key
from schemas.notes import render_notes

LINE, IDENTITY, REASON, DETAIL = "_line", "_identity", "_reason", "_detail"

#: Fields a payload may carry: string-valued fields of the server's EnrichLead input.
#: Left out on purpose: ``client_id`` (the loader adds the target), server-set fields,
#: engagement counters and processing statuses (typed or owned by the server).
OUTPUT_FIELDS: tuple[str, ...] = (
    "firstName", "lastName", "fullName", "email", "personalEmail", "title", "seniority",
    "department", "linkedinUrl", "twitterUrl", "phoneNumber", "mobileNumber", "city",
    "state", "country", "timezone", "headline", "photoUrl",
    "companyName", "companyDomain", "companyUrl", "companyLinkedinUrl", "industry",
    "subIndustry", "employeeCount", "employeeRange", "annualRevenue", "revenueRange",
    "foundedYear", "companyCity", "companyState", "companyCountry", "companyPhone",
    "companyDescription", "technologies", "fundingStage", "totalFunding",
    "lastFundingDate", "companyType", "naicsCode", "sicCode", "parentCompany",
    "aiLeadScore", "aiQualification", "aiJustification", "aiRecommendations",
    "aiSdrSynthesis", "aiPersona", "aiIntent", "aiPainPoints", "aiNextBestAction",
    "leadScore", "justification", "recommendations", "sdrSynthesis", "icpFit",
    "buyingIntentScore", "engagementScore",
    "notes", "source", "sourceId", "status", "stage", "tags", "listName", "campaignName",
    "assignedTo", "externalId", "crmId", "crmUrl", "hubspotId", "salesforceId",
)  # fmt: skip

#: Free text kept on several lines (other fields are one line, spaces collapsed).
MULTILINE_FIELDS: frozenset[str] = frozenset(
    {"notes", "companyDescription", "aiJustification", "aiRecommendations",
     "aiSdrSynthesis", "aiPersona", "aiIntent", "aiPainPoints", "aiNextBestAction",
     "justification", "recommendations", "sdrSynthesis"}
)  # fmt: skip
_URL_FIELDS = ("linkedinUrl", "twitterUrl", "photoUrl", "companyUrl", "companyLinkedinUrl")

#: Length caps in characters. The server's only limit is the 400 KB item (a 500); these
#: stay well below it and a longer value is a ``field_too_long`` reject, never truncated.
DEFAULT_CAP = 1_000
FIELD_CAPS: dict[str, int] = {
    **dict.fromkeys(("firstName", "lastName", "fullName", "title", "companyName"), 255),
    **dict.fromkeys(("email", "personalEmail"), 254),
    "companyDomain": 253,
    **dict.fromkeys(("phoneNumber", "mobileNumber", "companyPhone"), 64),
    **dict.fromkeys((*_URL_FIELDS, "crmUrl"), 2_048),
    **dict.fromkeys(MULTILINE_FIELDS - {"notes"}, 16_384),
    "notes": 65_536,
}
#: Whole payload, counted as the server does (key + UTF-8 value bytes); server: 409,600.
MAX_PAYLOAD_BYTES = 350_000

#: Reject reason codes, strongest first (a row gets the first that applies).
REASONS: dict[str, str] = {
    "malformed_row": "the record has more or fewer fields than the header (or an "
    "unterminated quote); the detail gives the counts",
    "invalid_email": "the email is not a valid address (after trimming and lowercasing)",
    "missing_identity": "no email, no LinkedIn URL, and not all of first name, last name "
    "and company: the lead could not be recognised again",
    "field_too_long": "a value is longer than the field's cap; the detail names the field",
    "payload_too_large": "the whole lead is over 350,000 bytes",
    "missing_name": "no first name, full name, email or LinkedIn handle to take one from",
    "empty_value": "internal guard: an empty string reached the payload",
    "invalid_last_name": "internal guard: a punctuation-only last name other than '-'",
    "duplicate_in_file": "an earlier row of the file has the same identity key; the "
    "detail names its line",
}
_RANK = {code: rank for rank, code in enumerate(REASONS)}


class LeadPayload(pa.DataFrameModel):
    """Contract of the outbound payload frame.

    Declared here: the bookkeeping columns and the fields the server's bugs are about;
    :func:`payload_schema` adds every other field of :data:`OUTPUT_FIELDS` as an optional
    string column. Length caps are one frame-wide check (one pass for all fields).
    """

    line: int = pa.Field(alias=LINE)
    identity: str = pa.Field(alias=IDENTITY, nullable=False)
    firstName: str = pa.Field(nullable=False)
    lastName: str = pa.Field(nullable=False)
    email: str | None = pa.Field(nullable=True, str_matches=sz.EMAIL_PATTERN)

    @pa.check("lastName", name="placeholder_last_name")
    @classmethod
    def _last_name(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Bug 6: punctuation-only last names 500, except exactly ``-``."""
        return data.lazyframe.select(
            pl.col(data.key).map_batches(
                lambda s: (s == "-") | ~sz.punct_only(s), return_dtype=pl.Boolean
            )
        )

    @pa.dataframe_check(name="field_caps")
    @classmethod
    def _caps(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Bug 4 and the caps: every present value has 1 to cap characters.

        A value never has more characters than bytes, so characters are counted only in
        the columns holding a value longer than the cap in bytes (cheaper, same answer).
        """
        fields = _fields(data.lazyframe)
        if not fields:
            return data.lazyframe.select(pl.lit(True))
        longest = data.lazyframe.select(pl.col(fields).str.len_bytes().max()).collect()
        return data.lazyframe.select(
            pl.all_horizontal(_length_ok(f, chars=(longest[f][0] or 0) > _cap(f)) for f in fields)
        )

    @pa.dataframe_check(name="payload_size")
    @classmethod
    def _size(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A lead over 400 KB fails with a 500; stay below :data:`MAX_PAYLOAD_BYTES`."""
        return data.lazyframe.select(_payload_bytes(_fields(data.lazyframe)) <= MAX_PAYLOAD_BYTES)

    class Config:
        """Unknown columns (``phone``, ``client_id``, ...) break the contract."""

        strict = True


def _fields(frame: pl.LazyFrame | pl.DataFrame) -> list[str]:
    return [c for c in frame.collect_schema().names() if c in OUTPUT_FIELDS]


def _cap(field: str) -> int:
    return FIELD_CAPS.get(field, DEFAULT_CAP)


def _length_ok(field: str, *, chars: bool = True) -> pl.Expr:
    """1 to cap characters (or null); ``chars=False`` counts bytes, the same answer when
    no value of the column has more bytes than the cap."""
    value = pl.col(field).str
    length = value.len_chars() if chars else value.len_bytes()
    return length.is_between(1, _cap(field)).fill_null(True)


def _payload_bytes(fields: Sequence[str]) -> pl.Expr:
    return pl.sum_horizontal(
        [(pl.col(c).str.len_bytes() + len(c.encode())).fill_null(0) for c in fields]
    )


def payload_schema(columns: Iterable[str] = OUTPUT_FIELDS) -> pa.DataFrameSchema:
    """:class:`LeadPayload` plus the other fields of :data:`OUTPUT_FIELDS` among
    ``columns`` (optional strings; default: all of them).

    Validating a frame against the schema of its own columns gives the same verdict as
    against the full one (absent optional columns are not checked, unknown ones break
    ``strict`` either way) and saves pandera a walk over ~70 absent columns per call.
    """
    return _payload_schema(frozenset(columns) & _OPTIONAL_FIELDS)


_OPTIONAL_FIELDS = frozenset(OUTPUT_FIELDS) - set(LeadPayload.to_schema().columns)


@cache
def _payload_schema(optional: frozenset[str]) -> pa.DataFrameSchema:
    schema = LeadPayload.to_schema()
    return schema.add_columns(
        {
            name: pa.Column(pl.String, nullable=True, required=False)
            for name in OUTPUT_FIELDS
            if name in optional
        }
    )


def sanitize_leads(raw: pl.DataFrame, extras: Sequence[tuple[str, str]] = ()) -> pl.DataFrame:
    """Clean mapped raw columns into the payload frame (see ``docs/csv.md``).

    Args:
        raw: ``_line`` plus String columns named after fields of :data:`OUTPUT_FIELDS`,
            plus the extra columns listed in ``extras``.
        extras: (column in ``raw``, section title) rendered into ``notes``, in order.

    Returns:
        ``_line``, ``_identity`` and the cleaned field columns (derived ``firstName``,
        ``lastName``, ``companyDomain`` and ``notes`` included).
    """
    height = raw.height
    extra_columns = [column for column, _ in extras]
    fields = [c for c in raw.columns if c != LINE and c not in extra_columns]
    unknown = [c for c in fields if c not in OUTPUT_FIELDS]
    if unknown:
        raise LeadContractError(f"columns {unknown} are not lead fields (a mapping bug)")
    texts = [c for c in fields if c in MULTILINE_FIELDS] + extra_columns
    # companyDomain is replaced by the host derived from it: cleaned along with that rule.
    lines = [c for c in fields if c not in MULTILINE_FIELDS and c != "companyDomain"]
    cleaned = sz.clean_columns(raw, lines, texts)
    cols: dict[str, pl.Series] = {name: cleaned[name] for name in fields if name in cleaned}
    for name in ("email", "personalEmail"):
        if name in cols:
            cols[name] = sz.normalise_email(cols[name])
    if "linkedinUrl" in cols:
        cols["linkedinUrl"] = sz.normalise_linkedin(cols["linkedinUrl"])
    _derive_domain(cols, raw["companyDomain"] if "companyDomain" in fields else None)
    _derive_names(cols, height)
    notes = render_notes(cols, [(title, cleaned[c]) for c, title in extras])
    if notes is not None:
        cols["notes"] = notes
    identity = identity_key(
        email=cols.get("email"),
        linkedin=cols.get("linkedinUrl"),
        first=cols.get("firstName"),
        last=cols.get("lastName"),
        company=cols.get("companyName"),
        height=height,
    )
    ordered = [cols[name] for name in OUTPUT_FIELDS if name in cols]
    return pl.DataFrame([raw[LINE], identity.alias(IDENTITY), *ordered])


def _derive_domain(cols: dict[str, pl.Series], given: pl.Series | None) -> None:
    """companyDomain: the ``given`` (raw) value as a host, else companyUrl's host, else the
    email's domain unless a free-mail provider (each later source only for rows still
    missing).

    Emails are not checked here: the contract rejects a row with an invalid one, so what
    is derived from it never leaves (and the address is matched against the pattern once).
    """
    donors: list[tuple[pl.Series, Callable[[pl.Series], pl.Series]]] = []
    if given is not None:
        donors.append((given, lambda v: sz.host_of(v, clean=True)))
    if "companyUrl" in cols:
        donors.append((cols["companyUrl"], sz.host_of))
    if "email" in cols:
        donors.append((cols["email"], sz.email_domain))
    if not donors:
        return
    first, rule = donors[0]
    domain = rule(first).alias("companyDomain")  # the rules keep nulls null
    for values, rule in donors[1:]:
        need = domain.is_null() & values.is_not_null()
        if need.all():
            domain = rule(values).alias("companyDomain")
        elif need.any():
            idx = need.arg_true()
            domain = domain.scatter(idx, rule(values.gather(idx)))
    cols["companyDomain"] = domain


def _derive_names(cols: dict[str, pl.Series], height: int) -> None:
    """Fill missing names from fullName, then the email local part, then the LinkedIn
    handle; a last name still missing is ``-``, a punctuation-only one too (bug 6).
    (An invalid email may lend a name: its row is rejected ``invalid_email`` anyway.)"""
    # (two Series: scatter below updates a Series in place)
    first, last = cols.get("firstName", _nulls(height)), cols.get("lastName", _nulls(height))
    # A punctuation-only last name (".", "_") is no name: derive one, else "-" (bug 6).
    last = sz.null_where(last, sz.punct_only(last).fill_null(False))
    donors: list[tuple[pl.Series, Callable[[pl.Series], tuple[pl.Series, pl.Series]]]] = []
    if "fullName" in cols:
        donors.append((cols["fullName"], sz.split_full_name))
    if "email" in cols:
        donors.append((cols["email"], sz.name_parts_from_email))
    if "linkedinUrl" in cols:
        donors.append((cols["linkedinUrl"], sz.name_parts_from_profile))
    for donor, split in donors:
        need = (first.is_null() | last.is_null()) & donor.is_not_null()
        if not need.any():
            continue
        idx = need.arg_true()
        d_first, d_last = split(donor.gather(idx))
        d_last = sz.null_where(d_last, sz.punct_only(d_last).fill_null(False))
        first = first.scatter(idx, _coalesce(first.gather(idx), d_first))
        last = last.scatter(idx, _coalesce(last.gather(idx), d_last))
    last = last.fill_null("-")
    cols["firstName"], cols["lastName"] = first.alias("firstName"), last.alias("lastName")


def _nulls(height: int) -> pl.Series:
    return pl.repeat(None, height, dtype=pl.String, eager=True)


def _coalesce(a: pl.Series, b: pl.Series) -> pl.Series:
    return pl.select(pl.coalesce(pl.lit(a), pl.lit(b))).to_series().alias(a.name)


def validate_leads(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Check the payload frame against the contract, all rows and checks at once.

    Returns:
        (valid rows, problems): problems has ``_line``, ``_reason``, ``_detail``, one
        row per failing input row with its strongest reason (:data:`REASONS` order).

    Raises:
        LeadContractError: a failure that is not about rows (an unknown column, a
            wrong dtype): a bug in the mapping or the sanitizer.
    """
    problems = contract_problems(frame)
    if not problems.height:
        return frame, problems.drop("index")
    failing = pl.repeat(False, frame.height, eager=True).scatter(problems["index"], True)
    return frame.filter(~failing), problems.drop("index")


def contract_problems(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`validate_leads` without the filtering: the problems, with ``index`` (the
    row's position in ``frame``, UInt32) before ``_line``, ``_reason``, ``_detail``.

    Raises:
        LeadContractError: as :func:`validate_leads`.
    """
    try:
        payload_schema(frame.columns).validate(frame, lazy=True)
    except SchemaErrors as exc:
        return _problems(frame, exc.failure_cases)
    return pl.DataFrame(
        schema={"index": pl.UInt32, LINE: pl.Int64, REASON: pl.String, DETAIL: pl.String}
    )


def _problems(frame: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    """Map pandera failure cases to one (reason, detail) per failing row (vectorised)."""
    if failures["index"].null_count():
        broken = failures.filter(pl.col("index").is_null())
        raise LeadContractError(
            "the lead frame breaks the payload contract (a bug, please report it): "
            + "; ".join(
                f"{check} {case!r}"
                for check, case in broken.select("check", "failure_case").iter_rows()
            )
        )
    column, check = pl.col("column"), pl.col("check")
    value = pl.col("failure_case").cast(pl.String)
    reason = (
        pl.when(column == IDENTITY)
        .then(pl.lit("missing_identity"))
        .when((check == "not_nullable") & (column == "firstName"))
        .then(pl.lit("missing_name"))
        .when((column == "email") & check.str.starts_with("str_matches"))
        .then(pl.lit("invalid_email"))
        .when(check == "field_caps")
        .then(pl.lit("field_too_long"))
        .when(check == "placeholder_last_name")
        .then(pl.lit("invalid_last_name"))
        .when(check == "payload_size")
        .then(pl.lit("payload_too_large"))
    )
    short = pl.when(value.str.len_chars() > 80).then(value.str.slice(0, 80) + "…").otherwise(value)
    detail = (
        pl.when(reason == "invalid_email")
        .then(pl.format("email '{}' is not a valid address", short))
        .when(reason == "invalid_last_name")
        .then(pl.format("lastName '{}' is punctuation only", short))
        .when(reason == "payload_too_large")
        .then(pl.lit(f"the lead is over {MAX_PAYLOAD_BYTES:,} bytes"))
        .otherwise(reason.replace_strict(REASONS, default=None))
    )
    found = failures.select(
        pl.col("index").cast(pl.UInt32), reason.alias(REASON), detail.alias(DETAIL)
    )
    if found[REASON].null_count():
        raise LeadContractError(f"unexpected contract failures: {failures.head(3).rows()}")
    best = (
        found.with_columns(rank=pl.col(REASON).replace_strict(_RANK, return_dtype=pl.Int64))
        .sort("index", "rank")
        .unique("index", keep="first", maintain_order=True)
        .drop("rank")
    )
    best = _explain_caps(frame, best)
    lines = frame.select(LINE).with_row_index("index")
    return best.join(lines, on="index").select("index", LINE, REASON, DETAIL).sort(LINE)


def _explain_caps(frame: pl.DataFrame, best: pl.DataFrame) -> pl.DataFrame:
    """Name the first field out of bounds in the detail of ``field_too_long`` (and of a
    value that is an empty string: ``empty_value``)."""
    capped = best.filter(pl.col(REASON) == "field_too_long")
    if not capped.height:
        return best
    rows = frame[capped["index"]]
    details = []
    for row in rows.select(_fields(rows)).iter_rows(named=True):
        reason, detail = "field_too_long", REASONS["field_too_long"]
        for name, value in row.items():
            cap = FIELD_CAPS.get(name, DEFAULT_CAP)
            if value == "":
                reason, detail = "empty_value", f"{name} is an empty string"
                break
            if value is not None and len(value) > cap:
                detail = f"{name} has {len(value):,} characters; its cap is {cap:,}"
                break
        details.append((reason, detail))
    fixed = capped.with_columns(
        pl.Series(REASON, [r for r, _ in details], dtype=pl.String),
        pl.Series(DETAIL, [d for _, d in details], dtype=pl.String),
    )
    return pl.concat([best.filter(pl.col(REASON) != "field_too_long"), fixed])
