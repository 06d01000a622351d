"""The pandera (polars) contract every export part must meet before it is written."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from schemas.export import Column, ColumnKind, ExportSchemaError

if TYPE_CHECKING:
    import pandera.polars as pap
    import pyarrow as pa


@lru_cache(maxsize=8)
def part_contract(columns: tuple[Column, ...]) -> pap.DataFrameSchema:
    """The pandera (polars) contract of a part: exactly these columns, in order, typed;
    ``id`` present, non-null and unique."""
    import pandera.polars as pap
    import polars as pl

    dtypes: dict[ColumnKind, Any] = {
        "string": pl.String,
        "int64": pl.Int64,
        "float64": pl.Float64,
        "timestamp": pl.Datetime("us", "UTC"),
    }
    spec = {
        c.name: pap.Column(
            dtypes[c.kind], nullable=c.name != "id", unique=c.name == "id", required=True
        )
        for c in columns
    }
    return pap.DataFrameSchema(spec, strict=True, ordered=True, name="export part")


def validate_part(table: pa.Table, columns: Sequence[Column]) -> None:
    """Check a part against its contract before it is written.

    Raises:
        ExportSchemaError: the table does not have the fixed columns and types.
    """
    import pandera.errors
    import polars as pl

    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    try:
        part_contract(tuple(columns)).validate(frame)
    except (pandera.errors.SchemaError, pandera.errors.SchemaErrors) as exc:
        raise ExportSchemaError(f"part does not match the export schema: {exc}") from exc


class PartValidator:
    """Validates each distinct part schema once, on real rows, with :func:`validate_part`;
    later pages with the same Arrow schema only get the cheap ``id`` null check (pandera
    costs ~20 ms a call, too much for every page of a million-row export)."""

    def __init__(self) -> None:
        self._validated: list[pa.Schema] = []

    def check(self, table: pa.Table, columns: Sequence[Column]) -> None:
        """Raise :class:`ExportSchemaError` if ``table`` breaks the part contract."""
        if any(table.schema.equals(known) for known in self._validated):
            if table.column("id").null_count:
                raise ExportSchemaError("part has rows without an id")
            return
        validate_part(table, columns)
        self._validated.append(table.schema)
