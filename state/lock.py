"""Job locks: one live process per job, taken over from dead or silent holders.

The lock is five columns of the job row (pid, host, token, since, heartbeat). Taking it is
a conditional ``UPDATE ... WHERE lock_token IS NULL`` (or ``= <the dead holder's token>``)
inside a write transaction, and succeeds only when exactly one row changed, so two
processes racing for it on SQLite or PostgreSQL cannot both win.

A holder is considered alive while its heartbeat is younger than ``stale_after`` and, when
it runs on this host, its pid exists. Write methods given the :class:`~state.records.Lock`
refresh the heartbeat in the same transaction and raise :class:`~state.errors.LockLost`
once another process has taken over, so a taken-over process stops before writing.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, RowMapping, select, update

from state.base import StoreBase
from state.errors import JobLocked, JobNotFound
from state.models import jobs
from state.records import Lock, LockInfo

STALE_AFTER_S = 120.0
"""A holder silent for longer than this is presumed dead (another host, or pid reuse)."""

_LOCK_COLUMNS = (
    jobs.c.lock_pid,
    jobs.c.lock_host,
    jobs.c.lock_token,
    jobs.c.lock_since,
    jobs.c.lock_heartbeat,
)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            # Field 3, after the parenthesised command name, is the state; Z = zombie.
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def holder_is_live(
    info: LockInfo,
    *,
    host: str,
    now: float,
    stale_after: float = STALE_AFTER_S,
    is_alive: Callable[[int], bool] = pid_alive,
) -> bool:
    """The lock rule: a stale heartbeat is dead anywhere; on this host the pid must exist.

    Args:
        info: the stored holder.
        host: this machine's name.
        now: current epoch seconds.
        stale_after: heartbeat age beyond which the holder is presumed dead.
        is_alive: pid check (injectable for tests).
    """
    if now - info.heartbeat > stale_after:
        return False
    if info.host == host:
        return is_alive(info.pid)
    return True


def lock_info(mapping: RowMapping) -> LockInfo | None:
    """The lock columns of a job row (its ``_mapping``) as a :class:`LockInfo`, or None."""
    if mapping["lock_token"] is None:
        return None
    return LockInfo(
        pid=int(mapping["lock_pid"]),
        host=str(mapping["lock_host"]),
        since=float(mapping["lock_since"]),
        heartbeat=float(mapping["lock_heartbeat"]),
    )


class LockMixin(StoreBase):
    """Acquire, refresh and release job locks."""

    stale_after: float = STALE_AFTER_S

    def acquire_lock(self, job_id: int, *, pid: int | None = None, host: str | None = None) -> Lock:
        """Take the job's lock, or raise JobLocked naming the live holder.

        A lock whose holder is dead (same host, pid gone) or silent (heartbeat older than
        ``stale_after``) is taken over. Call :meth:`heartbeat` (or pass the lock to the
        write methods) at least every ``stale_after / 4`` seconds.

        Args:
            job_id: the job.
            pid: the holder's pid (default: this process).
            host: the holder's host name (default: this store's host).

        Returns:
            The held lock; release it with :meth:`release_lock`.

        Raises:
            JobLocked: another live process holds it (exit code 1).
            JobNotFound: no such job.
        """
        pid = os.getpid() if pid is None else pid
        host = self.host if host is None else host
        with self._write() as conn:
            return self._acquire(conn, job_id, pid=pid, host=host)

    def _acquire(self, conn: Connection, job_id: int, *, pid: int, host: str) -> Lock:
        row = conn.execute(
            select(*_LOCK_COLUMNS).where(jobs.c.id == job_id).with_for_update()
        ).one_or_none()
        if row is None:
            raise JobNotFound(job_id)
        self.check_not_locked(job_id, lock_info(row._mapping), host=host)
        held = row._mapping["lock_token"]
        now = self._now()
        token = secrets.token_hex(16)
        free = jobs.c.lock_token.is_(None) if held is None else jobs.c.lock_token == held
        result = conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, free)
            .values(
                lock_pid=pid,
                lock_host=host,
                lock_token=token,
                lock_since=now,
                lock_heartbeat=now,
            )
        )
        if result.rowcount != 1:
            # Unreachable while the row lock / BEGIN IMMEDIATE serializes us; kept so that
            # a future change to the transaction setup fails safe rather than double-runs.
            raise JobLocked(job_id=job_id, pid=-1, host="unknown", since=now)
        return Lock(job_id=job_id, token=token, pid=pid, host=host, since=now)

    def check_not_locked(self, job_id: int, info: LockInfo | None, *, host: str) -> None:
        """Raise JobLocked when ``info`` names a live holder."""
        if info is not None and holder_is_live(
            info, host=host, now=self._now(), stale_after=self.stale_after
        ):
            raise JobLocked(job_id=job_id, pid=info.pid, host=info.host, since=info.since)

    def live_lock_holder(self, job_id: int) -> LockInfo | None:
        """Who runs the job right now, or None when nobody (alive) holds its lock."""
        with self._read() as conn:
            row = conn.execute(select(*_LOCK_COLUMNS).where(jobs.c.id == job_id)).one_or_none()
        if row is None:
            raise JobNotFound(job_id)
        info = lock_info(row._mapping)
        if info is None:
            return None
        live = holder_is_live(info, host=self.host, now=self._now(), stale_after=self.stale_after)
        return info if live else None

    def heartbeat(self, lock: Lock) -> None:
        """Refresh the lock's heartbeat.

        Raises:
            LockLost: another process took the lock over; stop writing.
        """
        with self._write() as conn:
            self._touch_lock(conn, lock)

    def release_lock(self, lock: Lock) -> bool:
        """Release the lock; False if it was no longer ours (taken over meanwhile)."""
        with self._write() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == lock.job_id, jobs.c.lock_token == lock.token)
                .values(
                    lock_pid=None,
                    lock_host=None,
                    lock_token=None,
                    lock_since=None,
                    lock_heartbeat=None,
                )
            )
        return result.rowcount == 1

    @contextmanager
    def locked(
        self, job_id: int, *, pid: int | None = None, host: str | None = None
    ) -> Iterator[Lock]:
        """``with store.locked(job.id) as lock:`` acquires, yields, and always releases."""
        lock = self.acquire_lock(job_id, pid=pid, host=host)
        try:
            yield lock
        finally:
            self.release_lock(lock)
