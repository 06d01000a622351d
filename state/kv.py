"""The cross-job ledger, per-job checkpoints and high-water marks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from state.base import StoreBase
from state.models import checkpoints, high_water_marks, ledger
from state.records import Json, LedgerEntry, Lock

LOOKUP_CHUNK = 500
"""Identities per ``IN (...)`` query: far below SQLite's and PostgreSQL's parameter limits."""


@cache
def upsert_statement(dialect: str, table: Table, update_columns: tuple[str, ...]) -> Insert:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE SET <update_columns>``."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    keys = [column.name for column in table.primary_key.columns]
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={name: stmt.excluded[name] for name in update_columns}
    )


def write_ledger(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Upsert ledger rows (dicts keyed by column name) in one executemany."""
    if rows:
        stmt = upsert_statement(
            conn.dialect.name, ledger, ("lead_id", "content_hash", "job_id", "updated_at")
        )
        conn.execute(stmt, rows)


def write_checkpoints(
    conn: Connection, job_id: int, values: Mapping[str, Json], now: float
) -> None:
    """Upsert the job's checkpoints ``{key: value}``."""
    if values:
        stmt = upsert_statement(conn.dialect.name, checkpoints, ("value", "updated_at"))
        conn.execute(
            stmt,
            [
                {"job_id": job_id, "key": key, "value": dict(value), "updated_at": now}
                for key, value in values.items()
            ],
        )


class KvMixin(StoreBase):
    """Ledger, checkpoints and high-water marks."""

    def ledger_lookup(self, client_id: str, identities: Iterable[str]) -> dict[str, LedgerEntry]:
        """What the ledger knows about these identities in this client.

        Args:
            client_id: the client slug.
            identities: identity keys (duplicates are fine); queried in chunks.

        Returns:
            ``{identity: LedgerEntry}`` for the identities found; missing ones are absent.
        """
        wanted = list(dict.fromkeys(identities))
        found: dict[str, LedgerEntry] = {}
        query = select(
            ledger.c.identity, ledger.c.lead_id, ledger.c.content_hash, ledger.c.updated_at
        ).where(ledger.c.client_id == client_id)
        with self._read() as conn:
            for start in range(0, len(wanted), LOOKUP_CHUNK):
                chunk = wanted[start : start + LOOKUP_CHUNK]
                for row in conn.execute(query.where(ledger.c.identity.in_(chunk))):
                    found[row[0]] = LedgerEntry(*row)
        return found

    def ledger_put(
        self,
        client_id: str,
        entries: Iterable[tuple[str, str, str | None]],
        *,
        job_id: int | None = None,
    ) -> int:
        """Record ``(identity, lead_id, content_hash)`` entries for a client, in one
        transaction (upsert). Imports normally write the ledger through
        :meth:`record_outcomes`; this is for leads found another way.

        Returns:
            The number of entries written.
        """
        now = self._now()
        rows = [
            {
                "client_id": client_id,
                "identity": identity,
                "lead_id": lead_id,
                "content_hash": content_hash,
                "job_id": job_id,
                "updated_at": now,
            }
            for identity, lead_id, content_hash in entries
        ]
        with self._write() as conn:
            write_ledger(conn, rows)
        return len(rows)

    def get_checkpoint(self, job_id: int, key: str) -> Json | None:
        """The job's checkpoint ``key`` (e.g. ``"export"``, ``"hubspot_after"``), or None."""
        with self._read() as conn:
            value: Json | None = conn.execute(
                select(checkpoints.c.value).where(
                    checkpoints.c.job_id == job_id, checkpoints.c.key == key
                )
            ).scalar()
        return value

    def get_checkpoints(self, job_id: int) -> dict[str, Json]:
        """All of the job's checkpoints, ``{key: value}``."""
        with self._read() as conn:
            rows = conn.execute(
                select(checkpoints.c.key, checkpoints.c.value).where(checkpoints.c.job_id == job_id)
            )
            return {key: value for key, value in rows}  # noqa: C416 (rows are Row objects)

    def put_checkpoint(
        self, job_id: int, key: str, value: Mapping[str, Any], *, lock: Lock | None = None
    ) -> None:
        """Store the job's checkpoint ``key`` in its own committed transaction.

        To commit a checkpoint atomically with staged rows or outcomes, pass
        ``checkpoints={key: value}`` to :meth:`stage_rows` or :meth:`record_outcomes`.

        Args:
            job_id: the job.
            key: checkpoint name.
            value: a JSON-able dict (replaces the previous value).
            lock: when given, refresh its heartbeat; raise LockLost if taken over.
        """
        with self._write() as conn:
            self._touch_lock(conn, lock)
            write_checkpoints(conn, job_id, {key: dict(value)}, self._now())

    def delete_checkpoint(self, job_id: int, key: str) -> None:
        """Forget the job's checkpoint ``key`` (no error if absent)."""
        with self._write() as conn:
            conn.execute(
                delete(checkpoints).where(checkpoints.c.job_id == job_id, checkpoints.c.key == key)
            )

    def get_high_water_mark(self, source: str, target: str) -> Json | None:
        """The high-water mark of ``source`` (e.g. ``"hubspot:<portal>"``) for ``target``
        (the client slug), or None before the first completed run."""
        with self._read() as conn:
            value: Json | None = conn.execute(
                select(high_water_marks.c.value).where(
                    high_water_marks.c.source == source, high_water_marks.c.target == target
                )
            ).scalar()
        return value

    def put_high_water_mark(self, source: str, target: str, value: Mapping[str, Any]) -> None:
        """Store the high-water mark (replacing it) in its own committed transaction."""
        stmt = upsert_statement(self.backend, high_water_marks, ("value", "updated_at"))
        with self._write() as conn:
            conn.execute(
                stmt,
                {
                    "source": source,
                    "target": target,
                    "value": dict(value),
                    "updated_at": self._now(),
                },
            )
