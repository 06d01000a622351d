"""The jemalloc options the ``lgetl`` entry point sets before polars loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from etl.allocator import JEMALLOC_OPTIONS, configure_allocator

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the option is only set on Linux"
)


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**clean, **env},
        timeout=60,
    )


@linux_only
def test_jemalloc_takes_the_option_when_set_before_polars() -> None:
    # stats_print makes jemalloc print its options at exit: the option was parsed, and
    # nothing else complained.
    done = _python(
        "from etl.allocator import configure_allocator\n"
        "import os\n"
        "assert configure_allocator()\n"
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
        "from etl.allocator import configure_allocator\n"
        "import os\n"
        "print(configure_allocator(), os.environ['_RJEM_MALLOC_CONF'])\n",
        _RJEM_MALLOC_CONF="narenas:2",
    )
    assert done.stdout.split() == ["False", "narenas:2"]


def test_too_late_once_polars_is_loaded() -> None:
    import polars  # noqa: F401  (loaded by this test process anyway)

    before = os.environ.get("_RJEM_MALLOC_CONF")
    assert configure_allocator() is False
    assert os.environ.get("_RJEM_MALLOC_CONF") == before
