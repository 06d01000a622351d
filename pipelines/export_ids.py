"""The ids an export has already written, kept compact for deduplication across pages.

Each id is reduced to a 128-bit key: a canonical UUID is its own value (exact), any other
id its BLAKE2b-128 digest (two different ids collide with a probability below 10^-24 for
10^7 ids). The keys are kept in a few sorted polars ``UInt128`` runs merged like a
log-structured tree: a lookup is a binary search per run, done in Rust for a whole page
at once. 16 bytes per id (1,000,000 ids ~ 16 MB, plus a transient copy while two runs
merge), instead of ~110 MB for a Python ``set`` of UUID strings.

Nothing here is persisted: the part files are the truth, so a resumed export rebuilds
the set from the ``id`` column of its committed parts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from schemas.export import json_text

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa


_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def id_key(value: Any) -> int:
    """The 128-bit key an id is remembered by.

    A canonical (lowercase, hyphenated) UUID is its own 128-bit value: exact, and
    computed for a whole page at once by :func:`id_keys`. Any other id (or a non-string
    id, by its JSON text) is its BLAKE2b-128 digest; a digest equal to some UUID's value
    has a probability of 2^-128.
    """
    text = value if isinstance(value, str) else json_text(value)
    if re.fullmatch(_UUID, text):
        return int(text.replace("-", ""), 16)
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return int.from_bytes(digest)


def id_keys(ids: Sequence[Any] | pa.Array) -> pl.Series:
    """The keys of a page's ids (null where the id is missing); see :func:`id_key`.

    Args:
        ids: the ids as sent, or a string Arrow array (the native page reader's).
    """
    import polars as pl
    import pyarrow as pa

    if isinstance(ids, pa.Array):
        text = pl.Series(pl.from_arrow(ids), dtype=pl.String)
    else:
        try:
            text = pl.Series(ids, dtype=pl.String)
        except (TypeError, pl.exceptions.PolarsError):  # non-string ids: one at a time
            return pl.Series([None if i is None else id_key(i) for i in ids], dtype=pl.UInt128)
    is_uuid = text.str.contains(_UUID).fill_null(True)
    keys = text.str.replace_all("-", "", literal=True).str.to_integer(
        base=16, dtype=pl.UInt128, strict=False
    )
    if not is_uuid.all():
        others = (~is_uuid).arg_true()
        digests = [id_key(text[i]) for i in others.to_list()]
        keys = keys.scatter(others, pl.Series(digests, dtype=pl.UInt128))
    return keys


class IdSet:
    """A set of ids, optimised for "which of these 5,000 are new?" against millions."""

    def __init__(self) -> None:
        self._runs: list[pl.Series] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __contains__(self, value: object) -> bool:
        return not self.new_mask(id_keys([value]))[0]

    def new_mask(self, keys: pl.Series) -> pl.Series:
        """Which keys are neither in the set nor repeated earlier in ``keys``.

        Does not add them: call :meth:`add_keys` once their rows are written.

        Args:
            keys: from :func:`id_keys`; a null key (no id) is never new.

        Returns:
            A boolean series, True for the first occurrence of a new key.
        """
        keep = keys.is_not_null() & keys.is_first_distinct()
        for run in self._runs:
            at = run.search_sorted(keys).clip(0, len(run) - 1)
            keep &= ~(run.gather(at) == keys).fill_null(False)
        return keep

    def add_keys(self, keys: pl.Series) -> None:
        """Remember keys (absent and distinct: the ones :meth:`new_mask` kept)."""
        if not len(keys):
            return
        self._size += len(keys)
        # Single-threaded sort: polars' parallel sort wakes its thread pool, which then
        # spins for more CPU than sorting 5,000 keys costs.
        self._runs.append(keys.sort(multithreaded=False))
        # Merge (linearly: both runs are sorted) while the newest run is at least a
        # quarter of the one before: O(log(n / page)) runs to search (about 3 for a
        # million ids), each key copied O(log n) times in total.
        while len(self._runs) > 1 and 4 * len(self._runs[-1]) >= len(self._runs[-2]):
            newest = self._runs.pop().to_frame("key")
            older = self._runs.pop().to_frame("key")
            self._runs.append(older.merge_sorted(newest, key="key").to_series())

    def add(self, ids: Sequence[Any]) -> None:
        """Remember ids known to be distinct and absent (a committed part's ids)."""
        self.add_keys(id_keys(ids))
