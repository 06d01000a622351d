"""Memory-allocator options for a process that runs the pipelines (the ``lgetl`` entry point).

A CSV run allocates and frees blocks of tens of megabytes many times over, and a page the
process has not used before costs a page fault when first touched (about a fifth of the
run's CPU time went to the kernel). Both allocators are set up to reuse freed memory:

* **polars' jemalloc** (Linux) reads ``_RJEM_MALLOC_CONF`` once, when polars is first
  imported (polars puts its own decay options in front). By default it gives threads up
  to four arenas per CPU, each keeping the pages its threads freed, so the run's threads
  (the reader, the workers, polars' pools) seldom reuse each other's memory. With one arena
  per CPU, a thread reuses what the last thread on its CPU freed.
* **glibc's malloc** (Python's own large objects: the 8 MB blocks read from the file, the
  pieces of ~24 MB cut from them) maps a large block afresh and unmaps it when freed. With
  the thresholds below, blocks come from the heap and freed ones are kept for the next
  (so a long-running process, such as ``lgetl sandbox serve``, keeps up to 256 MB of freed
  heap).

Measured with ``bench/csv_transform.py`` (2 cores, interleaved runs, 10 each, medians),
dry run: the jemalloc option 1.409 -> 1.380 s, peak RSS 862 -> 789 MB; then the glibc
thresholds 1.334 -> 1.311 s, CPU 2.15 -> 2.09 s, peak RSS 792 -> 834 MB.
"""

from __future__ import annotations

import ctypes
import os
import sys

from etl.engine import set_before_polars

#: The jemalloc option set (one arena per CPU, threads use the arena of their CPU).
JEMALLOC_OPTIONS = "percpu_arena:percpu"
_VARIABLE = "_RJEM_MALLOC_CONF"

#: glibc: blocks below this size come from the heap, not a mapping of their own ...
MMAP_THRESHOLD = 64 << 20
#: ... and the heap keeps up to this much free memory at its top for reuse.
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)


def configure_allocator() -> None:
    """Set up both allocators for this process (see the module docstring)."""
    configure_jemalloc()
    configure_glibc_malloc()


def configure_jemalloc() -> bool:
    """Set :data:`JEMALLOC_OPTIONS` for polars' allocator; whether it was set.

    Nothing is changed when polars is already loaded (too late), when the variable is set
    already (the user's choice wins), or off Linux (where polars' jemalloc builds lack
    the option or polars uses another allocator).
    """
    return sys.platform.startswith("linux") and set_before_polars(_VARIABLE, JEMALLOC_OPTIONS)


def configure_glibc_malloc() -> bool:
    """Apply :data:`MMAP_THRESHOLD` and :data:`TRIM_THRESHOLD` with glibc's ``mallopt``;
    whether both were applied (not on other C libraries). Settings in the environment
    win: either threshold variable (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``)
    or any ``glibc.malloc`` tunable in ``GLIBC_TUNABLES``."""
    user_set = {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"} & set(os.environ)
    if not _is_glibc() or user_set or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


def _is_glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError):  # no such name on this platform
        return False
