"""The pandera contract of the outbound payload frame, and per-row reasons for failures.

:func:`validate_leads` checks the frame :func:`schemas.lead.sanitize_leads` builds against
:class:`LeadPayload` lazily (every failure of every row at once) and turns each failure
into a per-row reason code (:data:`schemas.lead.REASONS`).

Guarantees on every row that passes (the server's bugs 3, 4, 6 cannot happen): keys only
from :data:`~schemas.lead.OUTPUT_FIELDS` (never ``phone`` nor ``client_id``), no ``""``
value, non-empty ``firstName`` and ``lastName``, no punctuation-only ``lastName`` but
``-``, no value over its cap, under :data:`~schemas.lead.MAX_PAYLOAD_BYTES` in all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from schemas import sanitize as sz
from schemas.errors import LeadContractError
from schemas.lead import (
    DEFAULT_CAP,
    DETAIL,
    FIELD_CAPS,
    IDENTITY,
    LINE,
    MAX_PAYLOAD_BYTES,
    OUTPUT_FIELDS,
    RANK,
    REASON,
    REASONS,
)


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
        found.with_columns(rank=pl.col(REASON).replace_strict(RANK, return_dtype=pl.Int64))
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
