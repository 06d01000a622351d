"""The allocator set-up of the ``lgetl`` entry point (jemalloc options, glibc thresholds)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from etl.allocator import JEMALLOC_OPTIONS
from tests.fixtures.fresh_python import run_python

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the option is only set on Linux"
)


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_python(code, unset=["_RJEM_MALLOC_CONF"], **env)


@linux_only
def test_jemalloc_takes_the_option_when_set_before_polars() -> None:
    # stats_print makes jemalloc print its options at exit: the option was parsed, and
    # nothing else complained.
    done = _python(
        "from etl.allocator import configure_jemalloc\n"
        "import os\n"
        "assert configure_jemalloc()\n"
        "os.environ['_RJEM_MALLOC_CONF'] += ',stats_print:true'\n"
        "import polars as pl\n"
        "pl.Series(range(1000)).sum()\n"
    )
    report = done.stdout + done.stderr
    assert 'opt.percpu_arena: "percpu"' in report
    assert "Invalid conf" not in report


@linux_only
def test_the_entry_point_sets_it() -> None:
    done = _python(
        "import importlib, os\n"
        "cli = importlib.import_module('etl.cli.app')\n"
        "cli.app = lambda **_: print(os.environ.get('_RJEM_MALLOC_CONF'))\n"
        "cli.main()\n"
    )
    assert done.stdout.strip() == JEMALLOC_OPTIONS


def test_a_user_setting_wins() -> None:
    done = _python(
        "from etl.allocator import configure_jemalloc\n"
        "import os\n"
        "print(configure_jemalloc(), os.environ['_RJEM_MALLOC_CONF'])\n",
        _RJEM_MALLOC_CONF="narenas:2",
    )
    assert done.stdout.split() == ["False", "narenas:2"]


def test_too_late_once_polars_is_loaded() -> None:
    # (polars' own import sets the variable: it is removed again so that only the
    # "polars is loaded" rule can refuse)
    done = _python(
        "import os, polars\n"
        "del os.environ['_RJEM_MALLOC_CONF']\n"
        "from etl.allocator import configure_jemalloc\n"
        "print(configure_jemalloc(), '_RJEM_MALLOC_CONF' in os.environ)\n"
    )
    assert done.stdout.split() == ["False", "False"]


_REUSE = """
import resource, sys
from etl.allocator import configure_glibc_malloc
tuned = configure_glibc_malloc()
def faults_of(make):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = make()
    del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
size = 16 << 20
first = faults_of(lambda: b"x" * size)
again = [faults_of(lambda: b"y" * size) for _ in range(3)]
print(tuned, first, max(again))
"""


@pytest.mark.skipif(os.confstr_names.get("CS_GNU_LIBC_VERSION") is None, reason="not glibc")
def test_glibc_reuses_a_freed_large_block() -> None:
    # 16 MB = 4,096 pages: the first block faults them in; with the thresholds set, the
    # next blocks reuse them (untuned glibc maps, then grows its heap, faulting again).
    tuned, first, again = _python(_REUSE).stdout.split()
    assert tuned == "True"
    assert int(first) > 3_000
    assert int(again) < 500


def test_glibc_thresholds_set_by_the_user_win() -> None:
    done = _python(_REUSE, MALLOC_MMAP_THRESHOLD_="131072")
    assert done.stdout.split()[0] == "False"
