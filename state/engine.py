"""Engines for the two supported backends, configured for the store's access pattern.

SQLite: WAL (readers never block the writer), ``synchronous=NORMAL`` (a commit is not
fsynced; see docs/state.md for the trade-off), a 10 s busy timeout, foreign keys on, and
transactions begun by us rather than by the ``sqlite3`` module: write transactions use
``BEGIN IMMEDIATE`` so the write lock is taken up front and two writers queue on the busy
timeout instead of failing with "database is locked" halfway through.

PostgreSQL: psycopg 3, READ COMMITTED; the store's statements are written so that this is
enough (conditional UPDATEs, ``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from state.errors import StateUnavailable
from state.url import mask_url, sqlite_path

BUSY_TIMEOUT_S = 10.0
PG_CONNECT_TIMEOUT_S = 10
WRITE_OPTION = "lgetl_write"
"""Execution option marking a connection whose transactions must begin IMMEDIATE."""


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_store_engine(url: str, *, sqlite_synchronous: str = "NORMAL") -> Engine:
    """Create the engine for ``url`` (SQLite or PostgreSQL), creating SQLite's directory.

    Args:
        url: a SQLAlchemy URL.
        sqlite_synchronous: ``"NORMAL"`` (default) or ``"FULL"`` (fsync every commit:
            survives power loss, costs a few ms per transaction).

    Raises:
        StateUnavailable: unsupported backend, or the SQLite directory cannot be created.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if sqlite_synchronous not in ("NORMAL", "FULL"):
            raise ValueError(
                f"sqlite_synchronous must be NORMAL or FULL, not {sqlite_synchronous!r}"
            )
        return _sqlite_engine(url, sqlite_synchronous)
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise StateUnavailable(
                f"state store {mask_url(parsed)}: only the psycopg 3 driver is installed; "
                "write the URL as postgresql+psycopg://user@host/db"
            )
        return create_engine(
            parsed,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
            pool_pre_ping=True,
        )
    raise StateUnavailable(
        f"state store {mask_url(parsed)}: backend {backend!r} is not supported; "
        "use a SQLite path or a postgresql+psycopg:// URL"
    )


def _set_wal(cursor: sqlite3.Cursor) -> None:
    """Switch a new database file to WAL. The switch needs the file to itself and SQLite
    answers "database is locked" at once (no busy wait) while another connection of a
    process opening the same fresh store holds it: retry for up to the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_engine(url: str, synchronous: str) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        directory = os.path.dirname(path)
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise StateUnavailable(
                f"cannot create the state directory {directory} ({exc.strerror}); "
                "create it, or point --state / LGETL_STATE elsewhere"
            ) from None
    kwargs: dict[str, Any] = {}
    if path is None:
        # An in-memory database exists once per connection: share one connection.
        kwargs["poolclass"] = StaticPool
    engine = create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        **kwargs,
    )
    wal = path is not None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Take BEGIN away from the sqlite3 module (it skips BEGIN before SELECT and DDL).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        if wal:
            _set_wal(cursor)
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine
