"""polars' settings for a process that runs the pipelines: the default query engine (the
``lgetl`` entry point) and the thread pool's size (the CSV commands).

polars 2 runs ``LazyFrame.collect()`` on its streaming engine unless told otherwise, and
that engine sets up each query afresh: ~260 µs of CPU for a tiny one on this machine,
against ~60 µs on the in-memory engine. The CSV path checks each chunk of ~185,000 rows
with pandera, which calls ``collect()`` about 60 times per chunk on small queries; none
of them gains from streaming. With the in-memory engine as the default, the CSV dry run
took 1.784 -> 1.740 s (``bench/csv_transform.py``, interleaved runs, 10 each, medians;
with the variable set outside the process: 1.767 -> 1.710 s).

Queries that must stream still do: sinks (``sink_parquet``...) always run on the
streaming engine, and an ``engine=`` given to a call wins.

The CSV commands also size polars' thread pool (:func:`leave_cores_to_workers`): they check
chunks on :data:`CSV_WORKERS` threads of their own, whose polars calls are small (a chunk's
check makes ~350 of them); a pool thread per core on top of those only adds hand-offs. On
2 cores, with one pool thread instead of two: dry run 1.617 -> 1.567 s with three workers
(8 runs each); with two workers, 1.740 -> 1.684 s, CPU 2.87 -> 2.76 s (10 runs each; two
earlier A/Bs with the variable set outside: 1.719 -> 1.638 s and 1.666 -> 1.630 s), import
path 1.715 -> 1.678 s.
"""

from __future__ import annotations

import os
import sys

#: The default engine set for ``collect()``.
ENGINE = "in-memory"
_VARIABLE = "POLARS_ENGINE_AFFINITY"
_THREADS = "POLARS_MAX_THREADS"

#: Threads the CSV path parses and checks chunks on (:mod:`pipelines.csv_prepare`): more
#: than the 2 cores, as a worker waiting for the GIL or for polars leaves its core to
#: another. Dry run with 2, 3 and 4: 1.619, 1.561 and 1.552 s, peak RSS 894, 932 and
#: 1,120 MB (interleaved, 8 runs each; another A/B, 2 -> 3: 1.643 -> 1.584 s); the import
#: path took as long with 3 as with 2 (1.641 and 1.635 s).
CSV_WORKERS = 3


def prefer_in_memory_engine() -> bool:
    """Make :data:`ENGINE` polars' default for ``collect()``; whether it was set (see
    :func:`set_before_polars`)."""
    return set_before_polars(_VARIABLE, ENGINE)


def leave_cores_to_workers(workers: int = CSV_WORKERS) -> bool:
    """Size polars' thread pool to the cores that ``workers`` threads of our own leave
    (at least one thread); whether it was set (see :func:`set_before_polars`)."""
    return set_before_polars(_THREADS, str(max(1, _usable_cores() - workers)))


def set_before_polars(variable: str, value: str) -> bool:
    """Set the environment variable ``variable`` that polars (or its allocator) reads
    when it loads; whether it was set. Nothing is changed once polars is loaded (too
    late) or when the variable is set already (the user's choice wins)."""
    if "polars" in sys.modules or variable in os.environ:
        return False
    os.environ[variable] = value
    return True


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no CPU affinity on this platform
        return os.cpu_count() or 1
