"""A client reference (slug, UUID or exact name) always resolves to the slug (bug 1 guard)."""

from __future__ import annotations

import pytest

from etl.client import ClientNotFoundError, match_client

CLIENTS = [
    {
        "id": "11111111-2222-3333-4444-555555555555",
        "client_id": "acme-corp",
        "clientName": "Acme Corp",
    },
    {"id": "66666666-7777-8888-9999-000000000000", "client_id": "globex", "clientName": "Globex"},
]


@pytest.mark.parametrize(
    ("ref", "how"),
    [
        ("acme-corp", "slug"),
        ("11111111-2222-3333-4444-555555555555", "id"),
        ("Acme Corp", "name"),
        ("acme corp", "name"),
    ],
)
def test_slug_uuid_and_name_all_resolve_to_the_slug(ref: str, how: str) -> None:
    """Whatever designates the client, the result carries its slug."""
    found = match_client(ref, CLIENTS)
    assert found.slug == "acme-corp"
    assert found.matched_by == how


def test_an_unknown_reference_lists_close_matches() -> None:
    """A typo gets a not-found error naming the likely intended client."""
    with pytest.raises(ClientNotFoundError) as info:
        match_client("acme-crop", CLIENTS)
    assert "acme-corp" in info.value.suggestions
    assert "lgetl clients list" in str(info.value)
    assert info.value.exit_code == 2


def test_an_ambiguous_case_insensitive_name_is_refused() -> None:
    """Two clients differing only by case cannot be chosen by a case-folded name."""
    clients = [
        {"id": "a", "client_id": "abc", "clientName": "ABC"},
        {"id": "b", "client_id": "abc-2", "clientName": "abc"},
    ]
    assert match_client("abc", clients).slug == "abc"  # exact slug first
    with pytest.raises(ClientNotFoundError, match="several clients"):
        match_client("Abc", clients)
