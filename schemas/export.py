"""Exported enrich-lead columns, their fixed types, and the JSON -> Arrow conversion rules.

Every part of an export has the same schema: the *known* columns below, always present
and always of the same type (absent fields are nulls), followed by the *extra* columns
(fields this module does not know) as strings, in the order they were first seen.

Conversion of one JSON value into its column's type (pure functions, no I/O):

=========  ==============================================================================
kind       rule
=========  ==============================================================================
string     strings as they are; any other value as its compact JSON text
           (``85`` -> ``"85"``, ``["aws","gcp"]`` -> ``'["aws","gcp"]'``, ``true`` -> ``"true"``)
int64      integers; integral floats (``85.0``); numeric strings (``"85"``, ``" 85 "``,
           ``"85.0"``); booleans as 1/0
float64    numbers; numeric strings (``"1.5e6"``); booleans as 1/0; non-finite -> invalid
timestamp  ISO 8601 strings (``Z``, offsets, or none meaning UTC; a bare date is midnight
           UTC), stored as UTC microseconds; numbers are epoch seconds, or milliseconds
           when above 10^11
=========  ==============================================================================

An empty (or blank) string in a numeric or timestamp column is a null. A value that
cannot be converted (``aiLeadScore: "high"``) becomes a null and is counted as a
*coercion warning* for its column (summary and manifest), never a failed export.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, Literal

import orjson

from etl.errors import EtlError

if TYPE_CHECKING:
    import pyarrow as pa

ColumnKind = Literal["string", "int64", "float64", "timestamp"]


class ExportSchemaError(EtlError):
    """A part does not match the export's fixed schema (a bug: report it with the manifest)."""


@dataclass(frozen=True)
class Column:
    """One exported column.

    Attributes:
        name: the API field name, kept verbatim.
        kind: its fixed type.
        known: False for a field this module does not know (exported as a string).
    """

    name: str
    kind: ColumnKind
    known: bool = True


_INT = (
    "aiLeadScore", "leadScore", "icpFit", "buyingIntentScore", "engagementScore",
    "employeeCount", "foundedYear", "emailOpens", "emailClicks", "emailReplies",
    "emailBounces", "meetingsBooked", "callsMade", "linkedinConnections", "linkedinMessages",
    "websiteVisits", "sequenceStep",
)  # fmt: skip
_FLOAT = ("annualRevenue",)
_TIME = (
    "createdAt", "updatedAt", "lastFundingDate", "lastContactedAt", "lastRepliedAt",
    "lastActivityAt", "emailVerifiedAt", "enrichedAt",
)  # fmt: skip

# The EnrichLead field model, copied (not imported) from the sandbox: schemas/ imports no
# I/O code. Order = column order of every part.
_KNOWN_NAMES: tuple[str, ...] = (
    "id", "client_id", "company_id", "owner", "createdAt", "updatedAt",
    # identity
    "firstName", "lastName", "fullName", "email", "personalEmail", "title", "seniority",
    "department", "linkedinUrl", "twitterUrl", "phoneNumber", "mobileNumber", "city", "state",
    "country", "timezone", "headline", "photoUrl", "middleName", "skills", "languages",
    # company
    "companyName", "companyDomain", "companyUrl", "companyLinkedinUrl", "industry",
    "subIndustry", "employeeCount", "employeeRange", "annualRevenue", "revenueRange",
    "foundedYear", "companyCity", "companyState", "companyCountry", "companyPhone",
    "companyDescription", "technologies", "fundingStage", "totalFunding", "lastFundingDate",
    "companyType", "naicsCode", "sicCode", "parentCompany", "companyTwitterUrl",
    "companyFacebookUrl", "websiteTraffic",
    # AI enrichment
    "aiLeadScore", "aiQualification", "aiJustification", "aiRecommendations",
    "aiSdrSynthesis", "aiPersona", "aiIntent", "aiPainPoints", "aiNextBestAction",
    "leadScore", "justification", "recommendations", "sdrSynthesis", "icpFit",
    "buyingIntentScore", "engagementScore",
    # engagement
    "emailOpens", "emailClicks", "emailReplies", "emailBounces", "meetingsBooked",
    "callsMade", "linkedinConnections", "linkedinMessages", "websiteVisits",
    "lastContactedAt", "lastRepliedAt", "lastActivityAt", "sequenceName", "sequenceStep",
    # meta
    "notes", "source", "sourceId", "status", "stage", "tags", "listName",
    "campaignName", "assignedTo", "emailStatus", "emailVerifiedAt", "enrichedAt",
    "enrichmentProvider", "copyrightStatus", "processingStatus", "externalId", "crmId",
    "crmUrl", "hubspotId", "salesforceId",
)  # fmt: skip


def _kind_of(name: str) -> ColumnKind:
    if name in _INT:
        return "int64"
    if name in _FLOAT:
        return "float64"
    if name in _TIME:
        return "timestamp"
    return "string"


#: Every known column, in export order.
KNOWN_COLUMNS: tuple[Column, ...] = tuple(Column(n, _kind_of(n)) for n in _KNOWN_NAMES)
#: Known column name -> kind.
KNOWN_KINDS: dict[str, ColumnKind] = {c.name: c.kind for c in KNOWN_COLUMNS}


def column_for(name: str) -> Column:
    """The column a field is exported as: its known type, else an extra string column."""
    kind = KNOWN_KINDS.get(name)
    return Column(name, kind) if kind is not None else Column(name, "string", known=False)


def export_columns(fields: Sequence[str] | None = None) -> tuple[Column, ...]:
    """The fixed leading columns of an export.

    Args:
        fields: the ``--fields`` projection, or None for every known column.

    Returns:
        All known columns, or ``id`` followed by the projected fields (each with its known
        type, or string if unknown), without duplicates.
    """
    if not fields:
        return KNOWN_COLUMNS
    names = dict.fromkeys(["id", *fields])
    return tuple(column_for(n) for n in names)


# --- one value -> one typed value ---------------------------------------------------

#: What a coercer returns for a value it cannot convert.
INVALID: Any = object()


def json_text(value: Any) -> str:
    """A value as stored in a string column: strings verbatim, anything else as JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def to_int(value: Any) -> int | None:
    """Coerce one JSON value to an int64 value, None (blank) or :data:`INVALID`."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else INVALID
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**63 else INVALID
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return to_int(int(text))
        except ValueError:
            pass
        try:
            return to_int(float(text))
        except (ValueError, OverflowError):
            return INVALID
    return INVALID


def to_float(value: Any) -> float | None:
    """Coerce one JSON value to a float64 value, None (blank) or :data:`INVALID`."""
    if isinstance(value, bool | int):
        return float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else INVALID
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return INVALID
        return number if math.isfinite(number) else INVALID
    return INVALID


def to_timestamp(value: Any) -> datetime | None:
    """Coerce one JSON value to an aware UTC datetime, None (blank) or :data:`INVALID`."""
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (ValueError, OverflowError, OSError):
            return INVALID
    if not isinstance(value, str):
        return INVALID
    text = value.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return INVALID
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --- a page of records -> an Arrow table ---------------------------------------------


@dataclass
class Coercions:
    """Values that could not be converted (nulled), per column, with a few samples."""

    counts: dict[str, int] = field(default_factory=dict)
    samples: list[tuple[str, str, str]] = field(default_factory=list)  # (id, column, value)
    max_samples: int = 5

    def add(self, column: str, record_id: Any, value: Any) -> None:
        """Count one unconvertible value of ``column``."""
        self.counts[column] = self.counts.get(column, 0) + 1
        if len(self.samples) < self.max_samples:
            self.samples.append((str(record_id), column, json_text(value)[:80]))

    @property
    def total(self) -> int:
        """All warnings so far."""
        return sum(self.counts.values())


@cache
def arrow_type(kind: ColumnKind) -> pa.DataType:
    """The Arrow type of a column kind (timestamps are UTC microseconds)."""
    import pyarrow as pa

    return {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }[kind]


def arrow_schema(columns: Iterable[Column]) -> pa.Schema:
    """The Arrow schema of an export with these columns."""
    return _arrow_schema(tuple(columns))


@lru_cache(maxsize=32)
def _arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([pa.field(c.name, arrow_type(c.kind)) for c in columns])


_COERCERS = {"int64": to_int, "float64": to_float, "timestamp": to_timestamp}


def _typed_array(
    column: Column, values: list[Any], ids: list[Any], out: Coercions, slow: set[str]
) -> pa.Array:
    """One column of a page; C++ fast path first, per-value coercion when it refuses.

    A column whose fast path failed once (mixed types, like scores sent as 85 and "85")
    goes to ``slow`` and skips the doomed attempt on later pages.
    """
    import polars as pl
    import pyarrow as pa
    import pyarrow.compute as pc

    target = arrow_type(column.kind)
    if column.name not in slow:
        try:
            if column.kind == "timestamp":
                return pc.cast(pa.array(values, pa.string()), target)
            if column.kind == "int64":
                # Not pa.array: it truncates 85.5 to 85. polars refuses every float (and
                # takes booleans as 1/0, like to_int), so fractions reach to_int.
                return pl.Series(values, dtype=pl.Int64, strict=True).to_arrow()
            return pa.array(values, target)
        except (
            pa.ArrowInvalid,
            pa.ArrowTypeError,
            OverflowError,
            TypeError,
            pl.exceptions.PolarsError,
        ):
            slow.add(column.name)
    if column.kind == "string":
        return pa.array([v if v is None or type(v) is str else json_text(v) for v in values])
    coerce = _COERCERS[column.kind]
    converted = [None if v is None else coerce(v) for v in values]
    if INVALID in converted:  # rare: find which records, for the warning count
        for i, typed in enumerate(converted):
            if typed is INVALID:
                out.add(column.name, ids[i], values[i])
                converted[i] = None
    return pa.array(converted, target)


class Page:
    """One page of records gathered column by column (the transposition is done once).

    Args:
        records: the API's JSON objects.
    """

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        n = self.rows = len(records)
        # Scatter each record's (few) present keys: the cost follows the values actually
        # sent, not rows x columns, because the records are sparse. This loop is the
        # export's hottest Python code: a defaultdict keeps it to two subscripts a value.
        gathered: defaultdict[str, list[Any]] = defaultdict(lambda: [None] * n)
        for i, record in enumerate(records):
            for key, value in record.items():
                gathered[key][i] = value
        self.values = dict(gathered)

    def new_columns(self, columns: Sequence[Column]) -> list[Column]:
        """Fields of this page not in ``columns``, as extra columns in a stable order."""
        known = {c.name for c in columns}
        return [column_for(name) for name in sorted(self.values.keys() - known)]

    def table(
        self, columns: Sequence[Column], coercions: Coercions, slow: set[str] | None = None
    ) -> pa.Table:
        """The page as a table with exactly ``columns`` (absent fields are nulls; fields
        not in ``columns`` are left out: extend it with :meth:`new_columns` first).

        Args:
            columns: the export's columns.
            coercions: where unconvertible values are counted.
            slow: names of columns known to need per-value coercion (kept across pages
                by the caller; updated here).
        """
        import pyarrow as pa

        slow = set() if slow is None else slow
        n = self.rows
        ids = self.values.get("id") or [None] * n
        arrays = []
        nulls: dict[ColumnKind, pa.Array] = {}  # one all-null array per type, shared
        for column in columns:
            values = self.values.get(column.name)
            if values is not None:
                arrays.append(_typed_array(column, values, ids, coercions, slow))
                continue
            empty = nulls.get(column.kind)
            if empty is None:
                empty = nulls[column.kind] = pa.nulls(n, arrow_type(column.kind))
            arrays.append(empty)
        return pa.Table.from_arrays(arrays, schema=arrow_schema(columns))


def records_to_table(
    records: Sequence[dict[str, Any]], columns: Sequence[Column], coercions: Coercions
) -> pa.Table:
    """One page's table with exactly ``columns`` (see :meth:`Page.table`)."""
    return Page(records).table(columns, coercions)


def new_columns(records: Sequence[dict[str, Any]], columns: Sequence[Column]) -> list[Column]:
    """Fields of ``records`` not in ``columns``, as extra columns in a stable order."""
    return Page(records).new_columns(columns)
