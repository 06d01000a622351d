"""The export's fixed schema and its JSON -> typed value rules (schemas/export.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.sandbox import fields as sandbox_fields
from schemas.export import (
    INVALID,
    KNOWN_COLUMNS,
    KNOWN_KINDS,
    Coercions,
    Column,
    ExportSchemaError,
    arrow_schema,
    column_for,
    export_columns,
    json_text,
    new_columns,
    records_to_table,
    to_float,
    to_int,
    to_timestamp,
)
from schemas.export_contract import PartValidator, validate_part


def test_known_columns_cover_the_sandbox_field_model():
    """Every field the EnrichLead model knows is a known column (schemas/ keeps a copy)."""
    assert set(KNOWN_KINDS) >= sandbox_fields.ALL_FIELDS
    assert len({c.name for c in KNOWN_COLUMNS}) == len(KNOWN_COLUMNS)
    assert KNOWN_COLUMNS[0].name == "id"


def test_scores_counts_and_times_have_numeric_and_timestamp_types():
    """Scores and counts are integers, *At fields are timestamps, text is string."""
    assert KNOWN_KINDS["aiLeadScore"] == "int64"
    assert KNOWN_KINDS["emailOpens"] == "int64"
    assert KNOWN_KINDS["annualRevenue"] == "float64"
    assert KNOWN_KINDS["createdAt"] == KNOWN_KINDS["updatedAt"] == "timestamp"
    assert KNOWN_KINDS["enrichedAt"] == "timestamp"
    assert KNOWN_KINDS["email"] == KNOWN_KINDS["technologies"] == "string"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(85, 85), ("85", 85), (" 85 ", 85), ("85.0", 85), (85.0, 85), (True, 1), ("", None)],
)
def test_int_columns_accept_numbers_and_numeric_strings(value, expected):
    """An int64 column takes ints, integral floats and numeric strings; blank is null."""
    assert to_int(value) == expected


@pytest.mark.parametrize("value", ["high", "85.5", 85.5, [1], {"a": 1}, 2**63, "1e400"])
def test_int_columns_reject_what_is_not_an_integer(value):
    """Text, fractions, nested values and out-of-range integers are invalid."""
    assert to_int(value) is INVALID


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_int_coercion_round_trips_numeric_strings(number):
    """A number sent as a string converts to the same integer."""
    assert to_int(str(number)) == number


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1.0), ("1.5e6", 1.5e6), (" 2.5 ", 2.5), ("", None)]
)
def test_float_columns_accept_numbers_and_numeric_strings(value, expected):
    """A float64 column takes numbers and numeric strings."""
    assert to_float(value) == expected


@pytest.mark.parametrize("value", ["nan", "inf", "lots", [1.0]])
def test_float_columns_reject_non_finite_and_text(value):
    """NaN/infinity and text are invalid floats."""
    assert to_float(value) is INVALID


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-02T03:04:05Z", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2025-01-02T05:04:05+02:00", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2025-01-02T03:04:05", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2025-01-02", datetime(2025, 1, 2, tzinfo=UTC)),
        (1735786800, datetime(2025, 1, 2, 3, 0, 0, tzinfo=UTC)),
        (1735786800000, datetime(2025, 1, 2, 3, 0, 0, tzinfo=UTC)),
    ],
)
def test_timestamps_are_converted_to_utc(value, expected):
    """ISO strings (any offset, or none = UTC) and epoch s/ms become UTC datetimes."""
    assert to_timestamp(value) == expected


def test_unparseable_timestamp_is_invalid():
    """A timestamp that is not ISO 8601 is invalid, not guessed."""
    assert to_timestamp("next tuesday") is INVALID
    assert to_timestamp(True) is INVALID


def test_string_columns_keep_strings_and_json_encode_the_rest():
    """Strings stay verbatim; numbers, booleans, lists and objects become compact JSON."""
    assert json_text("Ada") == "Ada"
    assert json_text(85) == "85"
    assert json_text(True) == "true"
    assert orjson.loads(json_text(["aws", {"x": 1}])) == ["aws", {"x": 1}]


def test_a_page_gets_the_fixed_schema_whatever_fields_it_sends():
    """Absent fields are null columns of their fixed type; the schema never depends on data."""
    columns = export_columns()
    sparse = records_to_table([{"id": "a"}], columns, Coercions())
    full = records_to_table(
        [{"id": "b", "aiLeadScore": 85, "createdAt": "2025-01-01T00:00:00Z"}],
        columns,
        Coercions(),
    )
    assert sparse.schema.equals(full.schema)
    assert sparse.schema.equals(arrow_schema(columns))
    assert sparse.column("aiLeadScore").null_count == 1


def test_mixed_score_types_in_one_page_convert_to_integers():
    """A score sent as "85" in one record and 85 in the next is int64 85 in both."""
    records = [{"id": "a", "aiLeadScore": "85"}, {"id": "b", "aiLeadScore": 7}, {"id": "c"}]
    table = records_to_table(records, export_columns(), Coercions())
    assert table.column("aiLeadScore").to_pylist() == [85, 7, None]


def test_a_fraction_in_an_int_column_is_invalid_even_when_every_value_is_a_number():
    """85.5 is nulled and counted (the rule), not truncated to 85; 85.0 and true convert."""
    coercions = Coercions()
    records = [{"id": "a", "aiLeadScore": 85.5}, {"id": "b", "aiLeadScore": 85.0},
               {"id": "c", "aiLeadScore": True}, {"id": "d", "aiLeadScore": 7}]  # fmt: skip
    table = records_to_table(records, export_columns(), coercions)
    assert table.column("aiLeadScore").to_pylist() == [None, 85, 1, 7]
    assert coercions.counts == {"aiLeadScore": 1}


def test_unconvertible_values_become_null_and_are_counted():
    """aiLeadScore "high" is nulled and counted per column, with a sample for the log."""
    coercions = Coercions()
    records = [{"id": "a", "aiLeadScore": "high"}, {"id": "b", "createdAt": "soon"}]
    table = records_to_table(records, export_columns(), coercions)
    assert table.column("aiLeadScore").to_pylist() == [None, None]
    assert coercions.counts == {"aiLeadScore": 1, "createdAt": 1}
    assert ("a", "aiLeadScore", "high") in coercions.samples


def test_nested_values_in_string_columns_are_json_text():
    """technologies ["aws","gcp"] is exported as the JSON text of the list."""
    records = [{"id": "a", "technologies": ["aws", "gcp"]}, {"id": "b", "technologies": "aws"}]
    table = records_to_table(records, export_columns(), Coercions())
    assert table.column("technologies").to_pylist() == ['["aws","gcp"]', "aws"]


def test_projection_keeps_id_first_and_types_unknown_fields_as_strings():
    """--fields email,aiLeadScore,shoeSize -> id, email, aiLeadScore (int), shoeSize (string)."""
    columns = export_columns(["email", "aiLeadScore", "shoeSize", "email"])
    assert [(c.name, c.kind, c.known) for c in columns] == [
        ("id", "string", True),
        ("email", "string", True),
        ("aiLeadScore", "int64", True),
        ("shoeSize", "string", False),
    ]


def test_new_columns_lists_unknown_fields_in_sorted_order():
    """Fields outside the column list are reported once, sorted, as string columns."""
    records = [{"id": "a", "zeta": 1}, {"id": "b", "alpha": [1], "email": "x@y.co"}]
    fresh = new_columns(records, export_columns())
    assert fresh == [Column("alpha", "string", False), Column("zeta", "string", False)]
    assert column_for("zeta") == fresh[1]


def test_contract_rejects_a_part_with_a_wrong_type():
    """pandera refuses a part whose aiLeadScore column is text."""
    columns = export_columns(["aiLeadScore"])
    bad = pa.table({"id": ["a"], "aiLeadScore": ["85"]})
    with pytest.raises(ExportSchemaError, match="aiLeadScore"):
        validate_part(bad, columns)


def test_contract_rejects_duplicate_or_missing_ids():
    """A part's ids are unique and never null."""
    columns = export_columns(["email"])
    dupes = records_to_table([{"id": "a"}, {"id": "a"}], columns, Coercions())
    with pytest.raises(ExportSchemaError):
        validate_part(dupes, columns)
    missing = records_to_table([{"email": "x@y.co"}], columns, Coercions())
    with pytest.raises(ExportSchemaError):
        PartValidator().check(missing, columns)


def test_validator_checks_each_schema_once_but_still_catches_null_ids():
    """After a schema passed, pages with the same schema still may not carry null ids."""
    columns = export_columns(["email"])
    validator = PartValidator()
    validator.check(records_to_table([{"id": "a"}], columns, Coercions()), columns)
    with pytest.raises(ExportSchemaError, match="without an id"):
        validator.check(records_to_table([{"email": "e"}], columns, Coercions()), columns)


def test_timestamp_columns_read_back_as_utc_datetimes_in_polars():
    """createdAt is Datetime(us, UTC) once read by polars (what warehouses see)."""
    table = records_to_table(
        [{"id": "a", "createdAt": "2025-03-04T05:06:07.250Z"}], export_columns(), Coercions()
    )
    frame = pl.from_arrow(table)
    assert frame.schema["createdAt"] == pl.Datetime("us", "UTC")
    assert frame["createdAt"][0] == datetime(2025, 3, 4, 5, 6, 7, 250000, tzinfo=UTC)
