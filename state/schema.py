"""Create the schema on first use, check its version, migrate older stores.

``lgetl_schema_version`` holds one row per version applied; the store's version is the
largest. A store newer than :data:`state.models.SCHEMA_VERSION` is refused (an older
lgetl must not write rows it does not understand). To change the schema: bump
``SCHEMA_VERSION``, change the tables in ``state.models``, and register
``MIGRATIONS[old] = function(conn)`` bringing a store from ``old`` to ``old + 1``; it runs
inside the same transaction as the version row it adds.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, func, inspect, select

from state.engine import WRITE_OPTION
from state.errors import SchemaTooNew
from state.models import SCHEMA_VERSION, metadata, schema_version

Migration = Callable[[Connection], None]

MIGRATIONS: dict[int, Migration] = {}
"""``MIGRATIONS[n]`` upgrades a store at version ``n`` to ``n + 1``. None yet."""

# Serializes first-use schema creation between processes on one PostgreSQL database
# (concurrent CREATE TABLE of the same name fails there); the value spells "lgetl".
_PG_ADVISORY_KEY = 0x6C6765746C


def read_version(conn: Connection) -> int | None:
    """The store's schema version, or None when the store is empty."""
    if not inspect(conn).has_table(schema_version.name):
        return None
    found: int | None = conn.execute(select(func.max(schema_version.c.version))).scalar()
    return found


def ensure_schema(
    engine: Engine,
    *,
    now: float,
    display_url: str,
    migrations: dict[int, Migration] | None = None,
    target_version: int = SCHEMA_VERSION,
) -> int:
    """Create or migrate the schema so it is at ``target_version``; return that version.

    Args:
        engine: the store's engine.
        now: epoch seconds recorded as ``applied_at``.
        display_url: the masked URL, for error messages.
        migrations: override of :data:`MIGRATIONS` (tests).
        target_version: override of :data:`SCHEMA_VERSION` (tests).

    Raises:
        SchemaTooNew: the store was written by a newer release.
    """
    steps = MIGRATIONS if migrations is None else migrations
    with engine.connect() as conn:
        found = read_version(conn)
        conn.rollback()
    if found == target_version:
        return found
    _refuse_newer(found, target_version, display_url)
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_ADVISORY_KEY})")
        found = read_version(conn)  # again, under the lock: another process may have won
        _refuse_newer(found, target_version, display_url)
        if found is None:
            metadata.create_all(conn, checkfirst=True)
            conn.execute(schema_version.insert().values(version=target_version, applied_at=now))
            return target_version
        for version in range(found, target_version):
            step = steps.get(version)
            if step is None:
                raise RuntimeError(f"no migration registered from schema version {version}")
            step(conn)
            conn.execute(schema_version.insert().values(version=version + 1, applied_at=now))
    return target_version


def _refuse_newer(found: int | None, known: int, display_url: str) -> None:
    if found is not None and found > known:
        raise SchemaTooNew(found=found, known=known, url=display_url)
