"""Seeding of the HubSpot emulation: deterministic, and messy in the documented ways."""

from __future__ import annotations

import pytest

from etl.errors import ConfigError
from etl.sandbox.hubspot import GENERIC_MAIL_DOMAINS, HubSpotConfig, HubSpotState, token_for_seed
from etl.sandbox.hubspot.records import association_entries


def _state(contacts: int, seed: int) -> HubSpotState:
    return HubSpotState(HubSpotConfig(contacts=contacts, seed=seed))


def test_same_seed_gives_the_same_portal() -> None:
    """Two portals from the same seed hold identical contacts and companies."""
    one, two = _state(1500, 3), _state(1500, 3)
    assert one.contacts == two.contacts
    assert one.companies == two.companies
    assert one.summary() == two.summary()


def test_another_seed_gives_another_portal() -> None:
    """A different seed changes the data."""
    assert _state(300, 1).contacts != _state(300, 2).contacts


def test_token_is_a_private_app_token_derived_from_the_seed() -> None:
    """The default token is pat-prefixed, stable per seed, different across seeds."""
    token = HubSpotConfig(seed=5).token
    assert token.startswith("pat-na1-")
    assert token == HubSpotConfig(seed=5).token == token_for_seed(5)
    assert token != HubSpotConfig(seed=6).token


def test_config_repr_hides_the_token() -> None:
    """Secrets never appear in reprs."""
    config = HubSpotConfig(seed=5)
    assert config.token not in repr(config)


def test_config_refuses_a_token_without_pat_prefix() -> None:
    """Private-app tokens start with pat-; anything else is a configuration mistake."""
    with pytest.raises(ConfigError):
        HubSpotConfig(token="abc")


def test_contacts_spread_over_about_a_sixth_as_many_companies() -> None:
    """N contacts come with about N/6 companies."""
    state = _state(1200, 0)
    assert len(state.contacts) == 1200
    assert len(state.companies) == 200


def test_company_property_is_almost_always_empty() -> None:
    """Bug 5: the contact company property is null or blank for the vast majority."""
    state = _state(3000, 0)
    filled = [c for c in state.contacts.values() if c.properties["company"]]
    assert 0 < len(filled) < 0.1 * len(state.contacts)


def test_seed_contains_every_documented_mess() -> None:
    """Missing names, dot last names, phone variants, no email, generic domains, archived."""
    contacts = list(_state(3000, 0).contacts.values())
    props = [c.properties for c in contacts]
    assert any(p["firstname"] is None for p in props)
    assert any(p["lastname"] is None for p in props)
    assert any(p["lastname"] == "." for p in props)
    assert any(p["phone"] and not p["mobilephone"] for p in props)
    assert any(p["mobilephone"] and not p["phone"] for p in props)
    assert any(p["mobilephone"] and p["phone"] for p in props)
    without_email = sum(1 for p in props if p["email"] is None)
    assert 0.04 * len(props) < without_email < 0.11 * len(props)
    domains = {str(p["email"]).split("@")[1] for p in props if p["email"]}
    assert domains & set(GENERIC_MAIL_DOMAINS)
    assert any(c.archived for c in contacts)
    assert any(len(c.associations) >= 2 for c in contacts)


def test_primary_company_is_listed_twice_labelled_and_unlabelled() -> None:
    """A primary association yields contact_to_company and contact_to_company_unlabeled."""
    state = _state(600, 0)
    contact = next(c for c in state.contacts.values() if any(a.primary for a in c.associations))
    primary = str(next(a.company_id for a in contact.associations if a.primary))
    types = {e["type"] for e in association_entries(contact) if e["id"] == primary}
    assert types == {"contact_to_company", "contact_to_company_unlabeled"}


def test_heavy_contacts_have_their_primary_company_beyond_the_first_hundred() -> None:
    """Heavy contacts exceed 100 association entries and their primary company sorts last."""
    state = _state(4000, 0)
    assert state.heavy_ids
    for contact_id in state.heavy_ids:
        contact = state.contacts[contact_id]
        entries = association_entries(contact)
        assert len(entries) > 100
        assert contact.properties["email"] and not contact.archived
        primary = next(a.company_id for a in contact.associations if a.primary)
        assert str(primary) not in {e["id"] for e in entries[:100]}


def test_some_companies_are_archived_and_some_lack_a_domain() -> None:
    """Archived companies (batch read 207s) and companies without a domain exist."""
    companies = list(_state(1200, 0).companies.values())
    assert any(c.archived for c in companies)
    assert any(c.properties["domain"] is None for c in companies)


def test_every_property_value_is_a_string_or_null() -> None:
    """HubSpot property values are strings or null, never numbers or booleans."""
    state = _state(500, 0)
    props = [c.properties for c in state.contacts.values()]
    props += [c.properties for c in state.companies.values()]
    assert all(v is None or isinstance(v, str) for p in props for v in p.values())


def test_timestamps_are_iso_utc_with_milliseconds() -> None:
    """createdate and lastmodifieddate look like 2024-01-02T03:04:05.678Z."""
    contact = next(iter(_state(10, 0).contacts.values()))
    for name in ("createdate", "lastmodifieddate"):
        value = str(contact.properties[name])
        assert len(value) == 24 and value[10] == "T" and value[19] == "." and value[-1] == "Z"


def test_summary_counts_what_an_importer_should_end_with() -> None:
    """Live contacts split into with/without email; archived ones are counted apart."""
    state = _state(2000, 4)
    summary = state.summary()
    live = [c for c in state.contacts.values() if not c.archived]
    assert summary["contacts"] == len(live)
    assert summary["archived"] == 2000 - len(live)
    assert summary["with_email"] == sum(1 for c in live if c.properties["email"])
    assert summary["with_email"] + summary["without_email"] == summary["contacts"]
    assert summary["expected_import"]["imported"] == summary["with_email"]


def test_empty_portal_seeds_nothing() -> None:
    """contacts=0 (the default) gives an empty portal, not an error."""
    state = _state(0, 0)
    assert not state.contacts and not state.companies
    assert state.summary()["contacts"] == 0
