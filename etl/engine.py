"""polars' default query engine for a process that runs the pipelines (the ``lgetl`` entry
point).

polars 2 runs ``LazyFrame.collect()`` on its streaming engine unless told otherwise, and
that engine sets up each query afresh: ~260 µs of CPU for a tiny one on this machine,
against ~60 µs on the in-memory engine. The CSV path checks each chunk of ~185,000 rows
with pandera, which calls ``collect()`` about 60 times per chunk on small queries; none
of them gains from streaming. With the in-memory engine as the default, the CSV dry run
took 1.767 -> 1.710 s (``bench/csv_transform.py``, interleaved runs, 10 each, medians;
CPU 2.90 -> 2.86 s).

Queries that must stream still do: sinks (``sink_parquet``...) always run on the
streaming engine, and an ``engine=`` given to a call wins.
"""

from __future__ import annotations

import os
import sys

#: The default engine set for ``collect()``.
ENGINE = "in-memory"
_VARIABLE = "POLARS_ENGINE_AFFINITY"


def prefer_in_memory_engine() -> bool:
    """Make :data:`ENGINE` polars' default for ``collect()``; whether it was set.

    Nothing is changed when polars is already loaded (it reads the variable when it
    loads) or when the variable is set already (the user's choice wins).
    """
    if "polars" in sys.modules or _VARIABLE in os.environ:
        return False
    os.environ[_VARIABLE] = ENGINE
    return True
