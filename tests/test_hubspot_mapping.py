"""HubSpot -> LeadGenius mapping, then the same lead rules as a CSV import."""

from __future__ import annotations

from typing import Any

import polars as pl

from etl.sources.hubspot import extract_contacts
from schemas.hubspot import (
    CONTACT_FRAME_SCHEMA,
    HUBSPOT_REASONS,
    MISSING_EMAIL,
    empty_contact_frame,
    map_contacts,
    prepare_contacts,
)
from schemas.lead import OUTPUT_FIELDS
from tests.fixtures.hubspot import HubSpotServer
from tests.fixtures.hubspot_source import ClientFactory, collect, rows_of, run

ACME = {
    "company_id": "8000000001",
    "company_name": "Acme Robotics GmbH",
    "company_domain": "acmerobotics.de",
    "company_industry": "COMPUTER_SOFTWARE",
}


def _frame(*rows: dict[str, Any]) -> pl.DataFrame:
    """A page frame from partial rows (ids 1, 2, ... unless given)."""
    full = [{"id": str(i), "hs_object_id": str(i), **row} for i, row in enumerate(rows, start=1)]
    return pl.DataFrame(full, schema=CONTACT_FRAME_SCHEMA)


def _accepted(*rows: dict[str, Any]) -> list[dict[str, Any]]:
    return prepare_contacts(_frame(*rows)).accepted.to_dicts()


def test_contacts_without_email_are_rejected_missing_email() -> None:
    """No email, an empty one or only spaces: rejected ``missing_email``; every row is
    either accepted or rejected, and rejects keep the HubSpot columns."""
    prepared = prepare_contacts(
        _frame(
            {"email": None, "firstname": "Ann"},
            {"email": "  ", "firstname": "Ben"},
            {"email": "", "firstname": "Cy"},
            {"email": "dee@acme.io"},
        )
    )
    assert prepared.accepted["email"].to_list() == ["dee@acme.io"]
    assert prepared.rejected["_reason"].to_list() == [MISSING_EMAIL] * 3
    assert prepared.rejected["firstname"].to_list() == ["Ann", "Ben", "Cy"]
    assert prepared.rejected_counts() == {MISSING_EMAIL: 3}
    assert next(iter(HUBSPOT_REASONS)) == MISSING_EMAIL


def test_invalid_emails_get_the_lead_rules_reason() -> None:
    """An address that is there but malformed is the CSV rules' ``invalid_email``."""
    prepared = prepare_contacts(_frame({"email": "not-an-address"}))
    assert prepared.rejected["_reason"].to_list() == ["invalid_email"]


def test_the_company_comes_from_the_associated_company_never_the_company_property() -> None:
    """companyName/companyUrl are the chosen company's name and domain; the contact's
    own ``company`` property (stale or empty: bug 5) is never used."""
    with_company, without = _accepted(
        {"email": "ann@acmerobotics.de", "company": "Blue Holdings (old)", **ACME},
        {"email": "ben@example.org", "company": "Blue Holdings (old)"},
    )
    assert with_company["companyName"] == "Acme Robotics GmbH"
    assert with_company["companyUrl"] == "acmerobotics.de"
    assert with_company["companyDomain"] == "acmerobotics.de"
    assert without["companyName"] is None and without["companyUrl"] is None


def test_a_generic_mail_domain_never_becomes_a_company() -> None:
    """A company record named after or hosted on a free-mail domain gives no company,
    and a gmail address gives no companyDomain."""
    by_domain, by_name = _accepted(
        {"email": "ann@gmail.com", "company_id": "9", "company_name": "Gmail",
         "company_domain": "gmail.com"},
        {"email": "ben@yahoo.com", "company_id": "8", "company_name": "yahoo.com"},
    )  # fmt: skip
    for lead in (by_domain, by_name):
        assert lead["companyName"] is None and lead["companyUrl"] is None
        assert lead["companyDomain"] is None


def test_phone_falls_back_to_mobilephone_and_never_uses_a_phone_key() -> None:
    """``phone`` wins, a blank ``phone`` falls through to ``mobilephone``; the payload has
    ``phoneNumber`` only (bug 3)."""
    both, blank, mobile, none = _accepted(
        {"email": "a@x.io", "phone": "+1 415-555-0101", "mobilephone": "+1 415-555-0199"},
        {"email": "b@x.io", "phone": "   ", "mobilephone": "(212) 555-0102"},
        {"email": "c@x.io", "mobilephone": "555.010.0103 x12"},
        {"email": "d@x.io"},
    )
    assert [r["phoneNumber"] for r in (both, blank, mobile, none)] == [
        "+1 415-555-0101", "(212) 555-0102", "555.010.0103 x12", None,
    ]  # fmt: skip
    assert "phone" not in both and "mobilephone" not in both


def test_names_follow_the_lead_rules() -> None:
    """Missing names come from the email, ``.`` last names become the ``-`` placeholder,
    spaces are trimmed, job title goes to ``title``."""
    derived, dotted, padded = _accepted(
        {"email": "jane.doe@acme.io"},
        {"email": "li@acme.io", "firstname": "Li", "lastname": "."},
        {"email": "ol@acme.io", "firstname": " Olivia  ", "lastname": "Smith ", "jobtitle": "CTO"},
    )
    assert (derived["firstName"], derived["lastName"]) == ("Jane", "Doe")
    assert (dotted["firstName"], dotted["lastName"]) == ("Li", "-")
    assert (padded["firstName"], padded["lastName"], padded["title"]) == ("Olivia", "Smith", "CTO")


def test_lifecycle_lead_status_and_industry_become_notes_sections() -> None:
    """Stage, lead status and the company's industry are appended to ``notes`` as
    ``### TITLE`` sections (the vendor's notes layout), with HubSpot's labels."""
    (lead,) = _accepted(
        {
            "email": "ann@acmerobotics.de",
            "lifecyclestage": "salesqualifiedlead",
            "hs_lead_status": "ATTEMPTED_TO_CONTACT",
            **ACME,
        }
    )
    assert lead["notes"] == (
        "### LIFECYCLE STAGE\nSales Qualified Lead\n\n"
        "### LEAD STATUS\nAttempted to Contact\n\n"
        "### INDUSTRY\nComputer Software"
    )
    (bare,) = _accepted({"email": "ben@example.org", "lifecyclestage": "1234567"})
    assert bare["notes"] == "### LIFECYCLE STAGE\n1234567"  # a custom stage id, as is


def test_the_hubspot_id_is_the_row_key_and_the_hubspotid_field() -> None:
    """``_line`` is the contact id (stable across pages and re-runs) and ``hubspotId`` is
    sent to LeadGenius; only lead fields reach the payload."""
    frame = _frame({"email": "ann@acme.io"}).with_columns(
        pl.lit("33451").alias("id"), pl.lit("33451").alias("hs_object_id")
    )
    prepared = prepare_contacts(frame)
    (lead,) = prepared.accepted.to_dicts()
    assert lead["_line"] == 33451 and lead["hubspotId"] == "33451"
    assert lead["_identity"] == "email:ann@acme.io"
    assert set(prepared.accepted.columns) - {"_line", "_identity"} <= set(OUTPUT_FIELDS)


def test_an_empty_page_maps_to_empty_frames() -> None:
    """A page without contacts (search may yield one) prepares without error."""
    prepared = prepare_contacts(empty_contact_frame())
    assert prepared.accepted.height == prepared.rejected.height == 0
    assert map_contacts(empty_contact_frame()).height == 0


def test_the_whole_sandbox_portal_maps_to_the_expected_import(
    hubspot_portal: HubSpotServer, hubspot_client: ClientFactory
) -> None:
    """Extract + prepare over the seeded portal: imported and ``missing_email`` counts are
    the sandbox's expectations; no payload carries an empty string, a stale ``company``
    value or a punctuation-only last name other than ``-``; phones land in phoneNumber."""

    async def go() -> Any:
        async with hubspot_client(hubspot_portal) as client:
            return await collect(extract_contacts(client))

    rows = rows_of(run(go()))
    prepared = prepare_contacts(rows)
    expected = hubspot_portal.admin("GET", "contacts")["expected_import"]
    assert prepared.accepted.height == expected["imported"]
    assert prepared.rejected_counts() == {MISSING_EMAIL: expected["rejected_missing_email"]}
    accepted = prepared.accepted
    for column in accepted.columns[2:]:
        assert accepted.filter(pl.col(column) == "").height == 0, column
    stale = set(rows["company"].drop_nulls().to_list()) - {""}
    assert stale and accepted.filter(pl.col("companyName").is_in(list(stale))).height == 0
    assert set(accepted.filter(pl.col("lastName").str.contains(r"^\W+$"))["lastName"]) <= {"-"}
    with_email = rows.filter(pl.col("email").is_not_null())
    has_phone = with_email.filter(
        pl.col("phone").is_not_null() | pl.col("mobilephone").is_not_null()
    )
    assert accepted["phoneNumber"].drop_nulls().len() == has_phone.height
