"""Schema creation on first use, version checks, migrations, backend settings."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from state import SCHEMA_VERSION, SchemaTooNew, StateUnavailable, open_store
from state.models import schema_version
from state.schema import ensure_schema, read_version


def test_first_open_creates_the_schema_at_the_current_version(store):
    """Opening an empty database creates every table and records SCHEMA_VERSION."""
    with store._engine.connect() as conn:
        assert read_version(conn) == SCHEMA_VERSION
        rows = conn.execute(schema_version.select()).all()
    assert [row.version for row in rows] == [SCHEMA_VERSION]


def test_reopening_keeps_data_and_adds_no_version_row(store, store_url, make_store):
    """A second open neither recreates tables nor re-records the version."""
    job = store.find_or_create_job("csv_import", "fp", "acme", {})
    again = make_store(store_url)
    assert again.get_job(job.id).fingerprint == "fp"
    with again._engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM lgetl_schema_version")).scalar() == 1


def test_a_newer_schema_is_refused_with_upgrade_advice(store, store_url):
    """A store written by a newer lgetl exits 2 and says to upgrade."""
    with store._engine.begin() as conn:
        conn.execute(schema_version.insert().values(version=SCHEMA_VERSION + 1, applied_at=0.0))
    with pytest.raises(SchemaTooNew) as info:
        open_store(store_url)
    assert info.value.exit_code == 2
    assert f"schema version {SCHEMA_VERSION + 1}" in str(info.value)
    assert "upgrade lgetl" in str(info.value)


def test_an_older_schema_runs_the_registered_migrations_once(store):
    """Opening an older store runs MIGRATIONS[old] and records the new version."""
    calls = []

    def add_column(conn):
        calls.append(1)
        conn.execute(text("ALTER TABLE lgetl_jobs ADD COLUMN note VARCHAR(20)"))

    steps = {SCHEMA_VERSION: add_column}
    for _ in range(2):
        version = ensure_schema(
            store._engine,
            now=1.0,
            display_url=store.url,
            migrations=steps,
            target_version=SCHEMA_VERSION + 1,
        )
        assert version == SCHEMA_VERSION + 1
    assert calls == [1]
    with store._engine.connect() as conn:
        assert read_version(conn) == SCHEMA_VERSION + 1
        conn.execute(text("SELECT note FROM lgetl_jobs"))


def test_concurrent_first_opens_create_the_schema_once(store_url):
    """Two processes opening a fresh store at once both succeed; one version row."""
    errors: list[BaseException] = []
    stores = []
    barrier = threading.Barrier(3)

    def opener():
        barrier.wait()
        try:
            stores.append(open_store(store_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with stores[0]._engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM lgetl_schema_version")).scalar() == 1
    for opened in stores:
        opened.close()


def test_sqlite_store_creates_its_directory_and_uses_wal(tmp_path):
    """SQLite: parent directories are created; WAL, synchronous=NORMAL, 10 s busy timeout."""
    path = tmp_path / "deep" / "er" / "state.sqlite"
    store = open_store(f"sqlite:///{path}")
    try:
        assert path.exists()
        with store._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.close()


def test_sqlite_full_synchronous_can_be_chosen(tmp_path):
    """sqlite_synchronous="FULL" trades speed for surviving power loss."""
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}", sqlite_synchronous="FULL")
    try:
        with store._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        store.close()


def test_sqlite_directory_that_cannot_be_created_is_a_config_error(tmp_path):
    """An impossible SQLite path exits 2 and says where to point --state instead."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateUnavailable) as info:
        open_store(f"sqlite:///{blocker}/sub/state.sqlite")
    assert info.value.exit_code == 2
    assert "LGETL_STATE" in str(info.value)


def test_unreachable_postgres_is_a_config_error_without_the_password():
    """A PostgreSQL URL nobody answers exits 2; the message masks the password."""
    with pytest.raises(StateUnavailable) as info:
        open_store("postgresql+psycopg://lg:s3cret@127.0.0.1:1/db")
    message = str(info.value)
    assert info.value.exit_code == 2
    assert "s3cret" not in message
    assert "lg:***@127.0.0.1:1/db" in message


def test_postgres_schema_that_does_not_exist_is_a_config_error(pg_url):
    """A search_path naming a missing schema exits 2 instead of a driver traceback."""
    missing = make_url(pg_url).update_query_dict({"options": "-csearch_path=lgetl_no_such"})
    with pytest.raises(StateUnavailable, match="cannot open state store") as info:
        open_store(missing.render_as_string(hide_password=False))
    assert info.value.exit_code == 2


def test_unsupported_backend_is_refused():
    """Only SQLite and PostgreSQL are supported."""
    with pytest.raises(StateUnavailable, match="not supported"):
        open_store("mysql://u@h/db")


def test_store_repr_and_errors_mask_the_password(pg_url):
    """A store opened with a password never shows it in its repr or its errors."""
    with_password = make_url(pg_url).set(password="s3cret").render_as_string(False)
    store = open_store(with_password)  # the test server trusts local connections
    try:
        assert "s3cret" not in repr(store)
        assert ":***@" in repr(store)
    finally:
        store.close()
