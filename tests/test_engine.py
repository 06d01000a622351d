"""polars settings: the default engine (``lgetl``) and the thread pool (``lgetl import csv``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl.engine import CSV_WORKERS, ENGINE

_VARIABLE = "POLARS_ENGINE_AFFINITY"
_STREAMING = "polars-stream:"  # what polars' verbose log prints when its streaming engine runs


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in (_VARIABLE, "POLARS_VERBOSE", "POLARS_MAX_THREADS")
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**clean, **env},
        timeout=60,
    )


_COLLECT = (
    "import polars as pl\npl.LazyFrame({'a': [1, 2, 3]}).select(pl.col('a').sum()).collect()\n"
)


def test_collect_runs_in_memory_once_it_is_set() -> None:
    """Without the setting, this polars streams a plain collect(); with it, it does not."""
    default = _python(_COLLECT, POLARS_VERBOSE="1")
    if _STREAMING not in default.stderr:
        pytest.skip("this polars does not stream collect() by default (or logs it otherwise)")
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


def test_a_user_setting_wins() -> None:
    done = _python(
        "from etl.engine import prefer_in_memory_engine\n"
        "import os\n"
        f"print(prefer_in_memory_engine(), os.environ[{_VARIABLE!r}])\n",
        POLARS_ENGINE_AFFINITY="streaming",
    )
    assert done.stdout.split() == ["False", "streaming"]


def test_too_late_once_polars_is_loaded() -> None:
    done = _python(
        "import os, polars\n"
        "from etl.engine import prefer_in_memory_engine\n"
        f"print(prefer_in_memory_engine(), {_VARIABLE!r} in os.environ)\n"
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


def test_a_user_pool_size_wins() -> None:
    done = _python(
        "from etl.engine import leave_cores_to_workers\n"
        "import polars as pl\n"
        "print(leave_cores_to_workers(), pl.thread_pool_size())\n",
        POLARS_MAX_THREADS="3",
    )
    assert done.stdout.split() == ["False", "3"]


def test_the_pool_is_not_resized_once_polars_is_loaded() -> None:
    done = _python(
        "import os, polars\n"
        "from etl.engine import leave_cores_to_workers\n"
        "print(leave_cores_to_workers(), 'POLARS_MAX_THREADS' in os.environ)\n"
    )
    assert done.stdout.split() == ["False", "False"]
