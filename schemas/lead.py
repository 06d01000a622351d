"""The outbound LeadGenius lead: its fields, caps, reason codes and sanitizing.

Input of :func:`sanitize_leads`: a polars frame of raw strings whose columns are already
named after lead fields (plus extra columns for ``notes``). Output: the payload frame,
``_line``, ``_identity`` and one column per field (null = absent key), which
:mod:`schemas.contract` then checks against the pandera model of the payload.

No pandera here: a CSV dry run imports it (with its backends, ~0.2 s) on a spare thread
while the file is being read (see :func:`pipelines.csv_prepare.prepare_csv`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

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
RANK = {code: rank for rank, code in enumerate(REASONS)}  # strongest first


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
