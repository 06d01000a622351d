"""What every part of the store shares: the engine, transactions, the clock, lock checks."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, Self

from sqlalchemy import Connection, Engine, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from state.engine import WRITE_OPTION
from state.errors import LockLost, StateError, StateUnavailable
from state.models import jobs
from state.records import Lock


class WallClock(Protocol):
    """Anything with ``time()`` in epoch seconds (``etl.clock.Clock`` qualifies)."""

    def time(self) -> float:
        """Seconds since the epoch."""


class _SystemTime:
    def time(self) -> float:
        return time.time()


class StoreBase:
    """Engine, transactions and shared helpers; the public methods live in the mixins.

    Args:
        engine: from :func:`state.engine.create_store_engine`.
        display_url: the URL with its password masked.
        clock: source of timestamps (default: the system clock).
        host: this machine's name for locks and runs (default: ``socket.gethostname()``).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        display_url: str,
        clock: WallClock | None = None,
        host: str | None = None,
    ) -> None:
        self._engine = engine
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self._clock: WallClock = clock if clock is not None else _SystemTime()
        self.url = display_url
        self.host = host if host is not None else socket.gethostname()
        self.backend = engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def close(self) -> None:
        """Close every pooled connection; the store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _now(self) -> float:
        return self._clock.time()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE), committed on success."""
        with self._translate(), self._write_engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read transaction, rolled back at the end."""
        with self._translate(), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _translate(self, *, opening: bool = False) -> Iterator[None]:
        """Turn driver errors (busy, unreachable) into one clear line, no traceback.

        Args:
            opening: the store is being opened: raise StateUnavailable (exit 2).
        """
        # While opening, any database error (no such schema, no CREATE permission) means
        # the store is unusable as configured; later only connection-level errors are
        # expected, anything else is a bug and keeps its traceback.
        caught = DBAPIError if opening else (OperationalError, InterfaceError)
        try:
            yield
        except caught as exc:
            # The driver's message names host and port, never the password.
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            if opening:
                raise StateUnavailable(
                    f"cannot open state store {self.url}: {detail}; check --state / "
                    "LGETL_STATE, that the database is reachable and that this user may "
                    "create tables there"
                ) from None
            raise StateError(
                f"state store {self.url} failed: {detail}; check that it is reachable and "
                "not held by another tool, then re-run to resume"
            ) from None

    def _touch_lock(self, conn: Connection, lock: Lock | None) -> None:
        """Refresh ``lock``'s heartbeat inside ``conn``'s transaction, or raise LockLost."""
        if lock is None:
            return
        result = conn.execute(
            update(jobs)
            .where(jobs.c.id == lock.job_id, jobs.c.lock_token == lock.token)
            .values(lock_heartbeat=self._now())
        )
        if result.rowcount != 1:
            raise LockLost(lock.job_id)
