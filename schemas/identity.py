"""Identity keys: how a lead is recognised in the file, in the ledger and on the server.

The key is a string ``<kind>:<value>``, kinds in order of preference:

* ``email:<lowercased address>``
* ``linkedin:<https://www.linkedin.com/in/handle, lowercased>``
* ``name:<first>|<last>|<company>``: each lowercased, ASCII punctuation removed, spaces
  collapsed; needs all three (a ``-`` placeholder last name does not count).

No key -> the row is rejected ``missing_identity``. The loader looks a lead up by the
same parts (``/api/find-lead?email=`` or ``linkedinUrl=``, else by listing the client).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import polars as pl

IdentityKind = Literal["email", "linkedin", "name"]


def identity_key(
    *,
    email: pl.Series | None,
    linkedin: pl.Series | None,
    first: pl.Series | None,
    last: pl.Series | None,
    company: pl.Series | None,
    height: int,
) -> pl.Series:
    """The ``_identity`` column of a frame of cleaned payload columns (null = no key).

    Later kinds are computed only for the rows the earlier ones left without a key.
    """
    key = pl.repeat(None, height, dtype=pl.String, eager=True).alias("_identity")
    if email is not None:
        key = ("email:" + email).alias("_identity")
    if linkedin is not None:
        key = _fill(
            key, linkedin, lambda v: "linkedin:" + v.str.to_lowercase().str.strip_suffix("/")
        )
    if first is not None and last is not None and company is not None:
        parts = pl.DataFrame({"f": first, "l": last, "c": company})

        def by_name(rows: pl.DataFrame) -> pl.Series:
            last_real = pl.when(pl.col("l") != "-").then(pl.col("l"))
            expr = pl.concat_str(
                [pl.lit("name:"), _norm(pl.col("f")), pl.lit("|"), _norm(last_real),
                 pl.lit("|"), _norm(pl.col("c"))]
            )  # fmt: skip
            return rows.select(expr).to_series()

        missing = key.is_null()
        if missing.any():
            idx = missing.arg_true()
            key = key.scatter(idx, by_name(parts[idx]))
    return key


def _fill(key: pl.Series, values: pl.Series, make: Callable[[pl.Series], pl.Series]) -> pl.Series:
    missing = key.is_null() & values.is_not_null()
    if not missing.any():
        return key
    idx = missing.arg_true()
    return key.scatter(idx, make(values.gather(idx)))


def _norm(value: pl.Expr) -> pl.Expr:
    text = (
        value.str.to_lowercase()
        .str.replace_all(r"[!-/:-@\[-`{-~]+", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )
    return pl.when(text != "").then(text)


def split_identity(key: str) -> tuple[IdentityKind, str]:
    """``"email:jane@acme.com"`` -> ``("email", "jane@acme.com")``."""
    kind, sep, value = key.partition(":")
    if not sep or kind not in ("email", "linkedin", "name"):
        raise ValueError(f"not an identity key: {key!r}")
    return kind, value  # type: ignore[return-value]
