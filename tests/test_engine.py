"""polars' default engine set by the ``lgetl`` entry point (in-memory for ``collect()``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from etl.engine import ENGINE

_VARIABLE = "POLARS_ENGINE_AFFINITY"
_STREAMING = "polars-stream:"  # what polars' verbose log prints when its streaming engine runs


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in (_VARIABLE, "POLARS_VERBOSE")}
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
