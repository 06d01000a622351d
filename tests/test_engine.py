"""polars settings: the default engine (``lgetl``) and the thread pool (``lgetl import csv``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from etl.engine import CSV_WORKERS, ENGINE
from tests.fixtures.fresh_python import run_python

_VARIABLE = "POLARS_ENGINE_AFFINITY"
_THREADS = "POLARS_MAX_THREADS"
_STREAMING = "polars-stream:"  # what polars' verbose log prints when its streaming engine runs


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_python(code, unset=[_VARIABLE, _THREADS, "POLARS_VERBOSE"], **env)


_COLLECT = (
    "import polars as pl\npl.LazyFrame({'a': [1, 2, 3]}).select(pl.col('a').sum()).collect()\n"
)


def test_collect_runs_in_memory_once_it_is_set() -> None:
    """With the setting, a plain collect() does not stream (the control, forced to stream,
    shows what polars' verbose log prints when it does)."""
    streamed = _python(_COLLECT, POLARS_VERBOSE="1", POLARS_ENGINE_AFFINITY="streaming")
    assert _STREAMING in streamed.stderr
    chosen = _python(
        "from etl.engine import prefer_in_memory_engine\n"
        "assert prefer_in_memory_engine()\n" + _COLLECT,
        POLARS_VERBOSE="1",
    )
    assert _STREAMING not in chosen.stderr
    assert "illegal value" not in chosen.stderr


def test_the_entry_point_sets_it() -> None:
    done = _python(
        "import importlib, os\n"
        "cli = importlib.import_module('etl.cli.app')\n"
        f"cli.app = lambda **_: print(os.environ.get({_VARIABLE!r}))\n"
        "cli.main()\n"
    )
    assert done.stdout.strip() == ENGINE


_SETTINGS = [
    ("prefer_in_memory_engine", _VARIABLE, "streaming"),
    ("leave_cores_to_workers", _THREADS, "3"),
]


@pytest.mark.parametrize(("function", "variable", "mine"), _SETTINGS)
def test_a_user_setting_wins(function: str, variable: str, mine: str) -> None:
    done = _python(
        f"from etl.engine import {function}\n"
        "import os\n"
        f"print({function}(), os.environ[{variable!r}])\n",
        **{variable: mine},
    )
    assert done.stdout.split() == ["False", mine]


@pytest.mark.parametrize(("function", "variable"), [(f, v) for f, v, _ in _SETTINGS])
def test_too_late_once_polars_is_loaded(function: str, variable: str) -> None:
    done = _python(
        "import os, polars\n"
        f"from etl.engine import {function}\n"
        f"print({function}(), {variable!r} in os.environ)\n"
    )
    assert done.stdout.split() == ["False", "False"]


def test_the_csv_command_leaves_polars_the_cores_its_workers_do_not_use(tmp_path: Path) -> None:
    """``lgetl import csv`` sizes polars' pool before polars loads: the cores its workers
    leave, at least 1."""
    path = tmp_path / "tiny.csv"
    path.write_text("Email,First Name\na@b.co,Ann\n", encoding="utf-8")
    done = _python(
        "import importlib, os, sys\n"
        "cli = importlib.import_module('etl.cli.app')\n"
        f"sys.argv = ['lgetl', 'import', 'csv', {str(path)!r}, '--dry-run']\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "import polars as pl\n"
        "from etl.engine import _usable_cores\n"
        f"print(pl.thread_pool_size(), max(1, _usable_cores() - {CSV_WORKERS}))\n"
    )
    pool, expected = done.stdout.split()[-2:]
    assert pool == expected
