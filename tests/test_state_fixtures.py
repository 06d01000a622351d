"""The store fixtures other suites rely on: PostgreSQL isolation, skip-or-fail rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from state import open_store
from tests.fixtures.store import pg_unavailable, probe_pg

REPO = Path(__file__).resolve().parents[1]


def test_unreachable_postgres_skips_by_default():
    """Without LGETL_REQUIRE_PG a missing server skips the PostgreSQL tests."""
    with pytest.raises(pytest.skip.Exception, match="not reachable"):
        pg_unavailable("PostgreSQL not reachable at x", {})


def test_unreachable_postgres_fails_when_required():
    """With LGETL_REQUIRE_PG=1 (CI) a missing server is a failure, not a skip."""
    with pytest.raises(pytest.fail.Exception, match="LGETL_REQUIRE_PG=1"):
        pg_unavailable("PostgreSQL not reachable at x", {"LGETL_REQUIRE_PG": "1"})


def test_probe_reason_names_the_masked_url_and_the_fix():
    """The skip reason says where it looked (password masked) and which variable to set."""
    reason = probe_pg("postgresql+psycopg://u:s3cret@127.0.0.1:1/test")
    assert reason is not None
    assert reason.startswith("PostgreSQL not reachable at postgresql+psycopg://u:***@127.0.0.1:1")
    assert "s3cret" not in reason
    assert reason.endswith("set LGETL_TEST_PG_URL")


def test_pg_url_schema_is_used_by_a_subprocess(pg_url):
    """The isolated schema travels in the URL: a subprocess writes into it, not public."""
    schema = make_url(pg_url).query["options"].split("=", 1)[1]
    code = (
        "import sys; from state import open_store; "
        "print(open_store(sys.argv[1]).find_or_create_job('csv_import', 'fp', 'acme', {}).id)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, pg_url],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    job_id = int(out.stdout)
    store = open_store(pg_url)
    try:
        assert store.get_job(job_id).target == "acme"
    finally:
        store.close()
    base = make_url(pg_url).difference_update_query(["options"])
    engine = create_engine(base)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT table_schema FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            ).all()
    finally:
        engine.dispose()
    assert len(found) >= 7
