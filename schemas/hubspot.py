"""HubSpot contact frames and their mapping to LeadGenius lead fields (pure polars, no I/O).

The HubSpot source (``etl/sources/hubspot.py``) yields pages as a frame of raw strings
with :data:`CONTACT_FRAME_SCHEMA`: the contact's properties plus its chosen company's
properties (``company_*``). :func:`map_contacts` renames and combines them into
LeadGenius fields, then :func:`prepare_contacts` runs the same ``schemas.lead`` sanitize
and validate rules as a CSV import, so names are derived from emails, ``-`` fills a
missing last name, and so on. Mapping (the vendor's guide; ``docs/hubspot.md``):

===============================  ==================================================
HubSpot                          LeadGenius
===============================  ==================================================
``hs_object_id``                 ``_line`` (row key, Int64) and ``hubspotId``
``email`` (required)             ``email``; none -> rejected ``missing_email``
``firstname`` / ``lastname``     ``firstName`` / ``lastName`` (derived from the email
                                 when missing, ``-`` placeholder last name)
``jobtitle``                     ``title``
``phone``, else ``mobilephone``  ``phoneNumber`` (never a ``phone`` key: bug 3)
primary company ``name``         ``companyName`` (never the contact's ``company``
                                 property: bug 5)
primary company ``domain``       ``companyUrl`` (and, derived, ``companyDomain``)
``lifecyclestage``,              ``notes`` sections ``### LIFECYCLE STAGE``,
``hs_lead_status``, company      ``### LEAD STATUS``, ``### INDUSTRY`` (human labels)
``industry``
===============================  ==================================================

A company whose name or domain is a free-mail provider (``gmail.com``, ...) is a junk
record auto-created from an address: it gives neither ``companyName`` nor ``companyUrl``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from schemas import sanitize as sz
from schemas.contract import validate_leads
from schemas.lead import DETAIL, IDENTITY, LINE, REASON, REASONS, sanitize_leads

#: Contact properties requested from HubSpot (``HUBSPOT_API.md``).
CONTACT_PROPERTIES: tuple[str, ...] = (
    "firstname", "lastname", "email", "phone", "mobilephone", "jobtitle", "company",
    "lifecyclestage", "hs_lead_status", "createdate", "lastmodifieddate", "hs_object_id",
)  # fmt: skip

#: Company properties requested in the companies batch read.
COMPANY_PROPERTIES: tuple[str, ...] = (
    "name", "domain", "industry", "city", "country", "phone", "hs_lastmodifieddate",
)  # fmt: skip

#: Columns of a page frame, all raw strings (null = HubSpot sent null or nothing).
#: ``id`` is the object id; ``company_id`` the chosen company (see the primary rule).
CONTACT_FRAME_SCHEMA: dict[str, type[pl.DataType]] = {
    "id": pl.String,
    **dict.fromkeys(CONTACT_PROPERTIES, pl.String),
    "company_id": pl.String,
    **{f"company_{name}": pl.String for name in COMPANY_PROPERTIES},
}

MISSING_EMAIL = "missing_email"
#: Reject reasons of a HubSpot import: ``missing_email`` first, then the lead rules'.
HUBSPOT_REASONS: dict[str, str] = {
    MISSING_EMAIL: "the HubSpot contact has no email address (required for a HubSpot import)",
    **{code: text for code, text in REASONS.items() if code != "malformed_row"},
}

#: Extra columns rendered into ``notes`` as ``### <title>`` sections, in this order.
NOTE_SECTIONS: tuple[tuple[str, str], ...] = (
    ("_hs_lifecyclestage", "LIFECYCLE STAGE"),
    ("_hs_lead_status", "LEAD STATUS"),
    ("_hs_industry", "INDUSTRY"),
)

#: HubSpot's internal values of the default lifecycle stages and lead statuses -> labels
#: shown in HubSpot; other (custom) values are kept as they are.
LIFECYCLE_LABELS: dict[str, str] = {
    "subscriber": "Subscriber", "lead": "Lead",
    "marketingqualifiedlead": "Marketing Qualified Lead",
    "salesqualifiedlead": "Sales Qualified Lead", "opportunity": "Opportunity",
    "customer": "Customer", "evangelist": "Evangelist", "other": "Other",
}  # fmt: skip
LEAD_STATUS_LABELS: dict[str, str] = {
    "NEW": "New", "OPEN": "Open", "IN_PROGRESS": "In Progress", "OPEN_DEAL": "Open Deal",
    "UNQUALIFIED": "Unqualified", "ATTEMPTED_TO_CONTACT": "Attempted to Contact",
    "CONNECTED": "Connected", "BAD_TIMING": "Bad Timing",
}  # fmt: skip


def empty_contact_frame() -> pl.DataFrame:
    """A page frame with no rows (the fixed schema, so pages always concatenate)."""
    return pl.DataFrame(schema=CONTACT_FRAME_SCHEMA)


def _label(s: pl.Series, labels: dict[str, str]) -> pl.Series:
    cleaned = sz.clean_line(s)
    return cleaned.replace(labels)


def _industry_label(s: pl.Series) -> pl.Series:
    """``COMPUTER_SOFTWARE`` -> ``Computer Software`` (HubSpot's enum values)."""
    cleaned = sz.clean_line(s)
    enum = cleaned.str.contains(r"^[A-Z0-9_]+$").fill_null(False)
    pretty = cleaned.str.replace_all("_", " ").str.to_titlecase()
    return pl.select(
        pl.when(pl.lit(enum)).then(pl.lit(pretty)).otherwise(pl.lit(cleaned))
    ).to_series()


def _generic_company(name: pl.Series, domain: pl.Series) -> pl.Series:
    """True where the company record stands for a free-mail provider."""
    free = list(sz.FREE_MAIL_DOMAINS)
    by_domain = sz.host_of(domain, clean=True).is_in(free).fill_null(False)
    by_name = sz.clean_line(name).str.to_lowercase().is_in(free).fill_null(False)
    return by_domain | by_name


def map_contacts(frame: pl.DataFrame) -> pl.DataFrame:
    """Rename and combine HubSpot columns into LeadGenius fields (raw strings).

    Args:
        frame: a page frame (:data:`CONTACT_FRAME_SCHEMA`).

    Returns:
        ``_line`` (Int64, the contact id), the lead field columns ``email``, ``firstName``,
        ``lastName``, ``title``, ``phoneNumber``, ``companyName``, ``companyUrl``,
        ``hubspotId``, and the :data:`NOTE_SECTIONS` extra columns. Values are not
        cleaned yet except where a choice depends on it (blank ``phone`` falls through to
        ``mobilephone``; a free-mail company is dropped).
    """
    generic = _generic_company(frame["company_name"], frame["company_domain"])
    none = pl.lit(None, dtype=pl.String)
    phone = pl.coalesce(
        pl.lit(sz.clean_line(frame["phone"])), pl.lit(sz.clean_line(frame["mobilephone"]))
    )
    return frame.select(
        pl.col("id").cast(pl.Int64).alias(LINE),
        pl.col("email"),
        pl.col("firstname").alias("firstName"),
        pl.col("lastname").alias("lastName"),
        pl.col("jobtitle").alias("title"),
        phone.alias("phoneNumber"),
        pl.when(pl.lit(generic)).then(none).otherwise(pl.col("company_name")).alias("companyName"),
        pl.when(pl.lit(generic)).then(none).otherwise(pl.col("company_domain")).alias("companyUrl"),
        pl.col("id").alias("hubspotId"),
        pl.lit(_label(frame["lifecyclestage"], LIFECYCLE_LABELS)).alias("_hs_lifecyclestage"),
        pl.lit(_label(frame["hs_lead_status"], LEAD_STATUS_LABELS)).alias("_hs_lead_status"),
        pl.lit(_industry_label(frame["company_industry"])).alias("_hs_industry"),
    )


@dataclass(frozen=True)
class PreparedContacts:
    """One page of contacts after mapping, sanitizing and validating.

    Attributes:
        accepted: ``_line`` (the contact id), ``_identity`` and the payload columns, the
            same shape as a CSV import's accepted rows (``hubspotId`` included).
        rejected: ``_line``, ``_reason``, ``_detail`` and the raw page columns.
    """

    accepted: pl.DataFrame
    rejected: pl.DataFrame

    def rejected_counts(self) -> dict[str, int]:
        """Reason code -> rows, in :data:`HUBSPOT_REASONS` order."""
        counts = dict(self.rejected[REASON].value_counts().iter_rows())
        return {code: counts[code] for code in HUBSPOT_REASONS if code in counts}


def prepare_contacts(frame: pl.DataFrame) -> PreparedContacts:
    """Map a page frame and apply the lead rules: every row is accepted or rejected.

    Contacts without an email (null, blank, or nothing left after cleaning) are rejected
    ``missing_email`` before the lead rules run; the rest get the CSV import's checks
    (``invalid_email``, ``field_too_long``, ...).

    Args:
        frame: a page frame (:data:`CONTACT_FRAME_SCHEMA`).

    Returns:
        Accepted and rejected rows; ``accepted.height + rejected.height == frame.height``.
    """
    mapped = map_contacts(frame)
    has_email = sz.normalise_email(sz.clean_line(mapped["email"])).is_not_null()
    no_email = mapped.filter(~has_email).select(
        LINE,
        pl.lit(MISSING_EMAIL).alias(REASON),
        pl.lit(HUBSPOT_REASONS[MISSING_EMAIL]).alias(DETAIL),
    )
    extras = [(column, title) for column, title in NOTE_SECTIONS]
    valid, problems = validate_leads(sanitize_leads(mapped.filter(has_email), extras))
    raw = frame.with_columns(pl.col("id").cast(pl.Int64).alias(LINE))
    reasons = pl.concat([no_email, problems.cast({LINE: pl.Int64})])
    rejected = raw.join(reasons, on=LINE).select(LINE, REASON, DETAIL, *frame.columns).sort(LINE)
    if valid.height + rejected.height != frame.height:
        raise AssertionError(  # a bug: rows must never vanish
            f"{frame.height} contacts but {valid.height} accepted + {rejected.height} rejected"
        )
    return PreparedContacts(accepted=valid, rejected=rejected)


__all__ = [
    "COMPANY_PROPERTIES",
    "CONTACT_FRAME_SCHEMA",
    "CONTACT_PROPERTIES",
    "HUBSPOT_REASONS",
    "IDENTITY",
    "MISSING_EMAIL",
    "NOTE_SECTIONS",
    "PreparedContacts",
    "empty_contact_frame",
    "map_contacts",
    "prepare_contacts",
]
