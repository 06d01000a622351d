"""Header aliases, --map / --mapping overrides and the --extra policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.sources.errors import MappingError
from etl.sources.mapping import (
    ALIASES,
    DROPPED,
    TO_NOTES,
    load_mapping_file,
    normalise,
    parse_map_options,
    resolve_mapping,
)
from schemas.lead import OUTPUT_FIELDS


def mapping_of(columns: list[str], **kwargs: object) -> dict[str, str]:
    return resolve_mapping(columns, fields=OUTPUT_FIELDS, **kwargs).as_dict()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("First Name", "firstName"), ("first_name", "firstName"), ("firstname", "firstName"),
        ("Given Name", "firstName"), ("Phone", "phoneNumber"), ("Phone Number", "phoneNumber"),
        ("Mobile", "phoneNumber"), ("Mobile Phone", "phoneNumber"),
        ("phone_number", "phoneNumber"), ("mobilephone", "phoneNumber"),
        ("Company", "companyName"), ("Company Name", "companyName"),
        ("Organization", "companyName"), ("Website", "companyDomain"),
        ("Domain", "companyDomain"), ("Company Domain", "companyDomain"),
        ("LinkedIn", "linkedinUrl"), ("LinkedIn URL", "linkedinUrl"),
        ("linkedin_profile", "linkedinUrl"), ("Job Title", "title"), ("Position", "title"),
        ("jobtitle", "title"), ("Email Address", "email"), ("E-mail", "email"),
        ("EMAIL", "email"), ("company-url", "companyUrl"), ("AI Lead Score", "aiLeadScore"),
    ],
)  # fmt: skip
def test_header_aliases_match_whatever_the_case_spaces_dashes_underscores(
    header: str, field: str
) -> None:
    """The issue's alias list, matched case/space/dash/underscore-insensitively."""
    assert mapping_of([header]) == {header: field}


def test_every_alias_target_is_an_output_field() -> None:
    """Aliases never lead to a key the server does not know (e.g. ``phone``)."""
    assert set(ALIASES) <= set(OUTPUT_FIELDS)
    assert "phone" not in OUTPUT_FIELDS


def test_unknown_columns_go_to_notes_or_are_dropped() -> None:
    """--extra notes (default) renders unmapped columns into notes; --extra drop ignores."""
    assert mapping_of(["Email", "Shoe Size"]) == {"Email": "email", "Shoe Size": TO_NOTES}
    dropped = mapping_of(["Email", "Shoe Size"], extra="drop")
    assert dropped == {"Email": "email", "Shoe Size": DROPPED}


def test_second_column_for_a_taken_field_is_extra_and_reported() -> None:
    """Each field takes one column: the left-most wins, the other is an extra column."""
    result = resolve_mapping(["Phone", "Mobile"], fields=OUTPUT_FIELDS)
    assert result.as_dict() == {"Phone": "phoneNumber", "Mobile": TO_NOTES}
    assert result.shadowed == {"Mobile": "phoneNumber"}


def test_map_overrides_aliases_and_may_drop_or_send_to_notes() -> None:
    """--map SRC=DST wins over aliases; DST may be a field alias, 'drop' or 'extra'."""
    got = mapping_of(
        ["Tel", "Mobile", "Email", "Id"],
        overrides=(("Mobile", "phone"), ("Email", "extra"), ("id", "drop")),
    )
    assert got == {"Tel": TO_NOTES, "Mobile": "phoneNumber", "Email": TO_NOTES, "Id": DROPPED}


def test_a_mapped_column_pushes_the_alias_column_out() -> None:
    """An explicit mapping to a field beats a column that only matched by alias."""
    result = resolve_mapping(
        ["Phone", "Direct Line"], fields=OUTPUT_FIELDS, overrides=(("Direct Line", "phoneNumber"),)
    )
    assert result.as_dict() == {"Phone": TO_NOTES, "Direct Line": "phoneNumber"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ((("Nope", "email"),), "no column 'Nope'"),
        ((("Email", "emial"),), "did you mean email"),
        ((("Email", "client_id"),), "comes from --client"),
        ((("Email", "email"), ("Work", "email")), "both map to email"),
    ],
)
def test_bad_overrides_are_mapping_errors(
    overrides: tuple[tuple[str, str], ...], message: str
) -> None:
    """A missing column, an unknown field or two columns on one field: one clear error."""
    with pytest.raises(MappingError, match=message):
        resolve_mapping(["Email", "Work"], fields=OUTPUT_FIELDS, overrides=overrides)


def test_extra_policy_must_be_notes_or_drop() -> None:
    """Anything else is refused."""
    with pytest.raises(MappingError, match="--extra"):
        resolve_mapping(["a"], fields=OUTPUT_FIELDS, extra="keep")


def test_map_option_values_split_on_the_last_equals_sign() -> None:
    """A source column may contain '='; a value without one is refused."""
    assert parse_map_options(["a=b=c", " Tel = phone "]) == (("a=b", "c"), ("Tel", "phone"))
    with pytest.raises(MappingError, match="SOURCE_COLUMN=field"):
        parse_map_options(["phone"])


def test_mapping_file_is_a_columns_table(tmp_path: Path) -> None:
    """A TOML [columns] table; anything else (or bad TOML, or no file) is refused."""
    good = tmp_path / "m.toml"
    good.write_text('[columns]\n"Given" = "firstName"\n"Id" = "drop"\n', encoding="utf-8")
    assert load_mapping_file(good) == (("Given", "firstName"), ("Id", "drop"))
    bad = tmp_path / "bad.toml"
    bad.write_text('columns = "x"\n', encoding="utf-8")
    with pytest.raises(MappingError, match=r"\[columns\]"):
        load_mapping_file(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("[columns\n", encoding="utf-8")
    with pytest.raises(MappingError, match="not valid TOML"):
        load_mapping_file(broken)
    with pytest.raises(MappingError, match="no such file"):
        load_mapping_file(tmp_path / "missing.toml")


def test_normalise_ignores_case_spaces_dashes_and_underscores() -> None:
    """The matching key of a header name."""
    assert normalise(" E-mail_Address ") == normalise("emailaddress") == "emailaddress"
